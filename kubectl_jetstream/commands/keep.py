"""recreate --keep-messages [--abort]: the plan, the guard, the steps of kubectl_jetstream/migrate.py, the report.

Streams are migrated one after another, so each one's window (publishes failing) is its own and is measured.
Where the backup already exists, the server's state says where an earlier run stopped and the run goes on from
there (or, with --abort, back).
"""
import json

from ..apply import create_from_spec, prove_accepted
from ..confirm import confirm, describe_streams
from ..errors import ExitStatus, JetStreamAPIError, UsageError
from ..kinds import BACKUP_OF, STEP
from ..migrate import (ORIGINAL, Migration, MigrationError, ack_floor, backup_name, consumer_positions, durables,
                       recorded_consumers, removed_by_target)
from ..spec.load import StreamSpec
from ..units import human_bytes
from .common import select_specs
from .destructive import Outcome, counts, report

MIN_VERSION = (2, 12)  # mirror promotion
RESET_VERSION = (2, 14)  # CONSUMER.RESET


def run_keep(ctx, args, names):
    specs = {s.name: s for s in ctx.load_specs()}
    if not args.abort:
        select_specs(list(specs.values()), names)  # a name no file defines is refused here
    return ctx.run(_keep(ctx, args, names, specs))


async def _keep(ctx, args, names, specs):
    async with ctx.jetstream() as js:
        version = tuple(int(p) for p in (js.server_version or "0.0").split(".")[:2] if p.isdigit())
        if version < MIN_VERSION:
            raise UsageError(f"--keep-messages needs nats-server 2.12 or later (mirror promotion); this server is "
                             f"{js.server_version}")
        plans = [await prepare(ctx, js, args, name, specs.get(name), version) for name in names]
        todo = [p for p in plans if p.phase not in ("create", "nothing")]
        show(ctx, args, todo)
        proceed = confirm(ctx, f"recreate {len(todo)} stream(s) keeping their messages"
                          if not args.abort else f"abort the migration of {len(todo)} stream(s)") if todo else False
        outcomes = []
        for p in plans:
            outcome = Outcome(p.name, "abort" if args.abort else "recreate")
            outcome.before = counts(p.data)
            outcomes.append(outcome)
            if p.phase == "nothing":
                outcome.result = p.note
                continue
            if args.dry_run or (todo and not proceed):
                outcome.result = "dry run"
                continue
            if p.phase == "create":
                await create_from_spec(ctx, js, specs[p.name])
                outcome.result, outcome.after = f"created ({len(p.consumers)} consumer(s))", counts(None)
                continue
            try:
                await carry_out(ctx, js, p, outcome)
            except (JetStreamAPIError, MigrationError) as exc:
                if p.phase == "new" or getattr(exc, "untouched", False):  # nothing changed
                    outcome.result, outcome.error = "refused", str(exc)
                else:
                    outcome.result = f"stopped at step {p.migration.step or p.step}"
                    outcome.error = (f"{exc}; every message is in {backup_name(p.name)}: run the same command "
                                     f"again to finish, or add --abort to put {p.name} back as it was")
            outcome.extra = {"steps": p.migration.steps, "window_ms": p.migration.window_ms,
                             "consumers": [{"name": n, "ack_floor": f, "resumes_at": s, "note": note}
                                           for n, f, s, note in p.positions]}
    report(ctx, args, outcomes)
    for o in outcomes:
        if o.extra.get("window_ms") is not None:
            ctx.stderr.write(f"{o.stream}: subjects unavailable for {o.extra['window_ms']} ms\n")
    return ExitStatus.PARTIAL if any(o.error for o in outcomes) else ExitStatus.OK


class Plan:
    def __init__(self, name):
        self.name, self.phase, self.step, self.note = name, "", "", ""
        self.orig = self.backup = self.data = self.target = None
        self.consumers, self.old_consumers, self.positions, self.loss = [], [], [], ""
        self.migration = None
        self.version = (0, 0)


async def prepare(ctx, js, args, name, spec, version):
    """Where the stream stands (phase), what it becomes (target) and what that costs (positions, loss)."""
    p = Plan(name)
    infos = await js.stream_infos([name, backup_name(name)])
    p.orig, p.backup = infos.get(name), infos.get(backup_name(name))
    meta = ((p.backup or {}).get("config") or {}).get("metadata") or {}
    if p.backup and meta.get(BACKUP_OF) != name:
        raise UsageError(f"{backup_name(name)} exists and is not a backup of {name}; rename or delete it first")
    record = json.loads(meta[ORIGINAL]) if p.backup else None
    p.step = meta.get(STEP, "")
    if p.backup is None:
        if args.abort:
            p.phase, p.note = "nothing", "no migration to abort"
            return p
        if p.orig is None:  # nothing to keep: created from its file, as plain `recreate` does
            p.phase, p.consumers = "create", spec.consumers
            return p
        p.phase = "new"
    elif p.orig is not None and p.orig.get("created") == record["created"]:
        p.phase = "original"
    elif p.orig is None:
        p.phase = "deleted"
    elif (p.orig["config"].get("mirror") or {}).get("name") == backup_name(name):
        p.phase = "restoring"
    elif p.step == "promoting":
        p.phase = "promoted"
    else:
        raise UsageError(f"{name} exists but is not the stream being migrated; {backup_name(name)} holds the "
                         f"messages of the old {name} and is left alone")
    p.data = p.orig if p.phase in ("new", "original") else p.backup
    if args.abort:
        if p.phase == "promoted":
            raise UsageError(f"{name} already has its new configuration; run without --abort to finish")
        p.target = record["config"]
        p.consumers = [c["config"] for c in record["consumers"]]
    else:
        if spec.config.get("mirror"):
            raise UsageError(f"{spec.path}: {name} is a mirror: its messages come from its origin; use recreate "
                             f"without --keep-messages")
        for key, why in (("first_seq", "the messages keep their sequence numbers"),
                         ("allow_msg_counter", "a counter stream cannot be filled by copying")):
            if spec.config.get(key):
                raise UsageError(f"{spec.path}: {key}: cannot be used with --keep-messages ({why}); use recreate "
                                 f"without it")
        p.target, p.consumers = spec.config, spec.consumers
    if p.phase == "new":
        if p.orig["config"].get("mirror"):
            raise UsageError(f"{name} is a mirror on the server; --keep-messages does not migrate mirrors")
        infos = durables(await js.list_consumers(name))
        p.old_consumers = [{"name": c["name"], "floor": ack_floor(c)} for c in infos]
        await preflight(ctx, js, p)
    else:
        p.old_consumers = recorded_consumers(record)
    p.version = version
    p.positions = positions(p.old_consumers, p.consumers, version)
    p.loss = removed_by_target(p.target, (p.data or {}).get("state") or {}, p.positions)
    if p.loss and p.target.get("discard") == "new":
        raise UsageError(f"{name}: the new configuration holds fewer messages ({p.loss}) and discards new ones: "
                         f"the copy back would stop at the limit; raise the limit or use discard: old")
    return p


def positions(old_consumers, consumers, version):
    rows = consumer_positions(old_consumers, consumers)
    if version < RESET_VERSION:
        rows = [(n, f, None, note or "this server cannot place consumers (2.14+): starts as its file says")
                for n, f, _, note in rows]
    return rows


async def preflight(ctx, js, p):
    """The account must hold a second copy of the stream (and the new stream beside the backup): refused before
    anything is asked or sent."""
    account = await js.check_jetstream()
    limits, size = account.get("limits") or {}, (p.orig.get("state") or {}).get("bytes", 0)
    need = {}
    for storage in (p.orig["config"].get("storage", "file"), p.target.get("storage", "file")):
        need[storage] = need.get(storage, 0) + size
    for storage, extra in need.items():
        key, used = ("max_memory", "memory") if storage == "memory" else ("max_storage", "storage")
        limit = limits.get(key, -1)
        if limit is not None and limit >= 0 and account.get(used, 0) + extra > limit:
            raise MigrationError(f"{p.name}: the account cannot hold the copy: {human_bytes(extra)} more {storage} "
                                 f"storage needed, {human_bytes(max(0, limit - account.get(used, 0)))} free of "
                                 f"{human_bytes(limit)} ($JS.API.INFO); nothing was changed")


async def prove(ctx, js, p):
    """The server must accept the new configuration and consumers (on a temporary stream) before anything."""
    try:
        await prove_accepted(ctx, js, StreamSpec(name=p.name, config=p.target, consumers=p.consumers, path=""))
    except JetStreamAPIError as exc:
        raise MigrationError(f"the new configuration was not accepted, nothing was changed: "
                             f"{exc.description}") from None


def show(ctx, args, plans):
    if not plans:
        return
    ctx.stderr.write("Will abort the migration of:\n" if args.abort else "Will recreate, keeping the messages:\n")
    describe_streams(ctx, [p.name for p in plans], {p.name: p.data for p in plans})
    for p in plans:
        w = ctx.stderr.write
        if p.phase != "new":
            w(f"    {p.name} stopped at step {p.step}: {'going back' if args.abort else 'finishing'} from there\n")
        w(f"    messages are copied by the server to {backup_name(p.name)} and back, keeping subjects, payloads, "
          f"headers, order, sequence numbers and timestamps (max_age still counts from the original time)\n")
        w(f"    publishes to {p.name}'s subjects fail from when it is sealed until the copy back is done\n")
        if p.loss:
            w(f"    the new configuration removes messages: {p.loss}\n")
        for name, floor, start, note in p.positions:
            where = f"ack floor {floor:,} → resumes at {start:,}" if start else (
                f"ack floor {floor:,}" if floor is not None else "")
            w(f"    consumer {name}: {where}{'; ' if where and note else ''}{note}\n")
    ctx.stderr.flush()


async def carry_out(ctx, js, p, outcome):
    progress = _progress(ctx) if ctx.stderr.isatty() else None
    m = p.migration = Migration(ctx, js, p.name, progress)
    abort = ctx.args.abort
    if p.phase == "new":
        await prove(ctx, js, p)
        # the backup's create reply is its info: nothing to fetch again
        p.backup, p.phase = await m.start(p.orig, await js.list_consumers(p.name)), "original"
    if p.phase == "original":
        meta = p.backup["config"]["metadata"]
        if abort and meta.get(STEP) == "backup" and not p.orig["config"].get("sealed"):
            await js.delete_stream(m.bk)  # the stream was never sealed: it is as it was
            m.mark("backup deleted")
            outcome.result, outcome.after = "aborted (untouched)", counts(p.orig)
            return
        if meta.get(STEP) in ("backup", "sealed"):
            await m.seal_and_verify(p.orig, p.backup)
        await js.delete_stream(p.name)
        m.mark("deleted")
        await m.set_step(p.backup, "deleted")
        p.phase = "deleted"
    # the ack floors recorded when the stream was sealed and verified are the ones that count
    record = json.loads(p.backup["config"]["metadata"][ORIGINAL])
    p.old_consumers = recorded_consumers(record)
    p.positions = positions(p.old_consumers, p.consumers, p.version)
    if p.phase == "restoring" and abort:  # a partial copy under the new configuration: the backup has it all
        await js.delete_stream(p.name)
        m.mark("deleted the partial copy")
        p.phase = "deleted"
    if p.phase == "deleted":
        await m.restore(p.backup, p.target, p.consumers)
        p.phase = "restoring"
    await m.finish(p.backup, p.target, p.consumers, p.positions, bool(p.loss))
    outcome.after = counts(await js.stream_info(p.name))
    outcome.result = "restored" if abort else f"recreated ({len(p.consumers)} consumer(s)), messages kept"


def _progress(ctx):
    def show(text):
        ctx.stderr.write("\r\033[K" + text)
        ctx.stderr.flush()
    return show

