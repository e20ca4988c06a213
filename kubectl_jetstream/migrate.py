"""recreate --keep-messages: give a stream a configuration it cannot take in place, keeping its messages.

The server copies, not this tool: the backup `<STREAM>_kjs_backup` is a *mirror* of the stream (no subjects of
its own, same storage and replicas), and the new stream is created as a mirror of the backup, then promoted
(mirror removed, subjects set; nats-server 2.12+). Mirroring keeps every message's subject, payload, headers,
sequence number and timestamp, so consumers resume at their own ack floor (CONSUMER.RESET, 2.14+) and sourcing
of the stream's own sources resumes from the kept Nats-Stream-Source headers.

Steps, recorded in the backup's metadata so that `ls`/`info` show them and a rerun resumes:
  backup    backup created, copying while the stream still takes messages
  sealed    the stream sealed (publishes now fail: the window starts), backup catching up
  verified  backup == stream (messages, first/last sequence, bytes); consumers' ack floors recorded; the
            backup stops mirroring and denies purges and message deletes
  deleted   the stream deleted
  restoring the new stream created as a mirror of the backup, its consumers created paused
  promoting copy verified, consumers placed; the new stream takes its subjects (the window ends)
then the consumers are resumed and the backup deleted. `--abort` runs the same steps with the recorded old
configuration and consumers as the target.
"""
import asyncio
import json
import os
import signal
import time

from .errors import JetStreamAPIError, ToolError
from .kinds import BACKUP_OF, STEP
from .plan import Action, Change, message_loss
from .subjects import consumer_filters
from .units import human_bytes

ORIGINAL = "kubectl-jetstream.io/original"  # JSON: the stream's config, created time, consumers and floors
SEALED_AT = "kubectl-jetstream.io/sealed-at"  # unix ms: when publishes started to fail
PAUSED = "2999-01-01T00:00:00Z"
# what a mirror may not have: the new stream gets these when it is promoted
NOT_ON_A_MIRROR = ("subjects", "sources", "sealed", "first_seq", "allow_atomic", "allow_batched",
                   "allow_msg_schedules", "subject_delete_marker_ttl")
STALL_SECONDS = 30  # a copy that makes no progress for this long is reported, never waited on forever


class MigrationError(ToolError):
    """The migration stopped; the backup holds every message and the error says how to go on (or, when
    `untouched`, nothing had changed)."""
    exit_status = 4

    def __init__(self, message, untouched=False):
        super().__init__(message)
        self.untouched = untouched


def backup_name(name):
    return f"{name[:200]}_kjs_backup"


def fault_point(step):
    """Test hook: KUBECTL_JETSTREAM_KILL_AT=<step> kills this process (SIGKILL) when the step is reached, so
    the tests can prove that every step survives a crash."""
    if os.environ.get("KUBECTL_JETSTREAM_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


# -- pure: what the migration will do ------------------------------------------------------------------
def consumer_positions(old_consumers, new_consumers):
    """[(name, ack floor before, start after, note)] for the consumers the target defines."""
    floors = {c["name"]: c for c in old_consumers}
    rows = []
    for config in new_consumers:
        name = config.get("durable_name") or config.get("name")
        old = floors.get(name)
        policy = config.get("deliver_policy", "all")
        if old is None:
            rows.append((name, None, None, f"new consumer: starts as its file says (deliver {policy})"))
        elif policy not in ("all", "by_start_sequence", "by_start_time"):
            rows.append((name, old["floor"], None, f"deliver {policy}: cannot be placed; starts as its file says"))
        else:
            rows.append((name, old["floor"], max(old["floor"] + 1, config.get("opt_start_seq") or 0), ""))
    kept = {r[0] for r in rows}
    rows += [(c["name"], c["floor"], None, "not in the files: deleted") for c in old_consumers if c["name"] not in kept]
    return rows


def removed_by_target(config, state, positions):
    """Why the target configuration keeps fewer messages than the backup holds ("" when it keeps all)."""
    fields = ("max_msgs", "max_bytes", "max_age", "max_msgs_per_subject", "retention")
    changes = [Change(f, None, config.get(f)) for f in fields if config.get(f) not in (None, -1, 0, "limits")]
    reasons = [message_loss(Action(config["name"], None, "update", changes, config), state)] if changes else []
    if config.get("retention") == "workqueue":
        for name, floor, start, _ in positions:
            acked = min(state.get("messages", 0), (floor or 0) - state.get("first_seq", 1) + 1)
            if start and acked > 0:
                reasons.append(f"workqueue: the up to {acked:,} messages {name} has acknowledged are removed")
    return "; ".join(r for r in reasons if r)


def ack_floor(consumer_info):
    """The stream sequence below which a consumer has acknowledged everything."""
    return consumer_info.get("ack_floor", {}).get("stream_seq", 0)


def recorded_consumers(record):
    """[{"name", "floor"}] of the consumers recorded in the backup (floors from when the stream was sealed)."""
    return [{"name": c["name"], "floor": c.get("floor", 0)} for c in record["consumers"]]


def durables(consumer_infos):
    """Ephemeral consumers end with their clients: only durable ones are carried over."""
    return [c for c in consumer_infos if (c.get("config") or {}).get("durable_name")]


def without(config, *keys):
    return {k: v for k, v in config.items() if k not in keys}


# -- I/O: the steps ----------------------------------------------------------------------------------------
class Migration:
    def __init__(self, ctx, js, name, progress):
        self.ctx, self.js, self.name, self.bk = ctx, js, name, backup_name(name)
        self.progress = progress  # callable(text) or None
        self.steps = []  # [{"step", "seconds"}]
        self.step = ""  # the last step recorded in the backup by this run
        self.window_ms = None
        self._t = time.monotonic()

    def mark(self, step):
        now = time.monotonic()
        self.steps.append({"step": step, "seconds": round(now - self._t, 3)})
        self._t = now
        self.ctx.done.append(f"{self.name}: {step}")
        self.ctx.log(f"{self.name}: {step} ({self.steps[-1]['seconds']}s)", 1)

    async def set_step(self, backup, step, **extra):
        config = backup["config"]
        config["metadata"] = dict(config.get("metadata") or {}, **{STEP: step}, **extra)
        backup["config"] = (await self.js.update_stream(config))["config"]
        self.step = step
        fault_point(step)

    async def start(self, orig, consumers):
        """Create the backup as a mirror of the stream, recording what is needed to finish or abort."""
        config, state = orig["config"], orig.get("state") or {}
        record = {"config": config, "created": orig.get("created"),
                  "consumers": [{"name": c["name"], "config": c["config"]} for c in durables(consumers)]}
        backup = {"name": self.bk, "mirror": {"name": self.name}, "storage": config.get("storage", "file"),
                  "num_replicas": config.get("num_replicas", 1), "retention": "limits", "discard": "new",
                  # reserves the room (the server refuses a reservation it cannot hold) and never drops a message
                  "max_bytes": headroom(state.get("bytes", 0)),
                  "metadata": {BACKUP_OF: self.name, STEP: "backup", ORIGINAL: json.dumps(record)}}
        if config.get("placement"):
            backup["placement"] = config["placement"]
        created = await self.js.create_stream(backup)
        self.step = "backup"
        self.mark("backup")
        fault_point("backup")
        return created

    async def wait_copy(self, target, source, what, exact=True, fault=""):
        """Until `target` (a mirror) holds what `source` holds; progress on a terminal; a stall is an error."""
        total = source["state"]["last_seq"]
        first = source["state"].get("first_seq", 1)
        started = last_change = time.monotonic()
        seen, shown = None, False
        stall = float(os.environ.get("KUBECTL_JETSTREAM_STALL_SECONDS") or STALL_SECONDS)  # tests shorten it
        if fault:
            fault_point(fault)
        while True:
            info = await self.js.stream_info(target)
            state = info.get("state") or {}
            lag = (info.get("mirror") or {}).get("lag", 0)
            done = state.get("last_seq", 0) >= total and lag == 0
            if done and (not exact or state.get("messages") == source["state"].get("messages")):
                if shown:
                    self.progress("")  # clears the progress line
                return info
            now = time.monotonic()
            if (state.get("last_seq"), state.get("messages")) != seen:
                seen, last_change = (state.get("last_seq"), state.get("messages")), now
            elif now - last_change > stall:
                raise MigrationError(f"copying {what} stopped at sequence {state.get('last_seq', 0):,} of "
                                     f"{total:,} for {stall:g}s (store full?)")
            if self.progress and now - started > 1:
                shown = True
                copied = max(0, state.get("last_seq", 0) - first + 1)
                rate = copied / (now - started)
                left = (total - first + 1 - copied) / rate if rate else 0
                self.progress(f"{self.name}: copying {what}: {copied:,}/{total - first + 1:,} messages, "
                              f"{human_bytes(state.get('bytes', 0))}, {rate:,.0f} msg/s, {left:.0f}s left")
            await asyncio.sleep(0.05)

    async def seal_and_verify(self, orig, backup):
        """Seal the stream (nothing more arrives or leaves), let the backup catch up and match it exactly."""
        meta = backup["config"].get("metadata") or {}
        if SEALED_AT not in meta:  # most of the copy happens while the stream still takes messages
            try:
                await self.wait_copy(self.bk, orig, "into the backup", exact=False, fault="copy")
            except MigrationError as exc:  # nothing but the backup has changed yet: it goes
                await self.js.delete_stream(self.bk)
                raise MigrationError(f"{exc}; {self.name} is untouched and the backup was removed",
                                     untouched=True) from None
            self.mark("copied")
        if not orig["config"].get("sealed"):
            config = dict(orig["config"], sealed=True)
            orig["config"] = (await self.js.update_stream(config))["config"]
        if SEALED_AT not in meta:
            await self.set_step(backup, "sealed", **{SEALED_AT: str(int(time.time() * 1000))})
        orig = await self.js.stream_info(self.name)
        config = backup["config"]
        if config.get("max_bytes", -1) < headroom(orig["state"].get("bytes", 0)):
            backup["config"] = (await self.js.update_stream(
                dict(config, max_bytes=headroom(orig["state"]["bytes"]))))["config"]
        await self.wait_copy(self.bk, orig, "the last messages into the backup", exact=False)
        for _ in range(3):
            orig = await self.js.stream_info(self.name, deleted_details=True)
            await self.trim(self.bk, orig["state"])
            copy = await self.js.stream_info(self.bk)
            mismatch = compare(orig["state"], copy["state"], same_storage=True)
            if not mismatch:
                break
        else:
            raise MigrationError(f"the backup does not match {self.name}: {mismatch}; nothing was deleted")
        self.mark("verified")
        consumers = await self.js.list_consumers(self.name)
        record = json.loads(meta[ORIGINAL])
        floors = {c["name"]: ack_floor(c) for c in consumers}
        for c in record["consumers"]:
            c["floor"] = floors.get(c["name"], 0)
        # The backup stops mirroring (the new stream will mirror it: a cycle otherwise) and is protected; with
        # neither subjects nor a mirror the server gives it its own name as subject.
        config = without(backup["config"], "mirror", "subjects")
        config.update(deny_delete=True, deny_purge=True)
        backup["config"] = (await self.js.update_stream(config))["config"]
        await self.set_step(backup, "verified", **{ORIGINAL: json.dumps(record)})
        return backup

    async def trim(self, name, state):
        """Remove from the backup what the sealed stream no longer holds (acknowledged on a workqueue or interest
        stream, deleted by hand) after it was copied."""
        copy = (await self.js.stream_info(name))["state"]
        if copy.get("first_seq", 0) < state.get("first_seq", 0):
            await self.js.purge_stream(name, seq=state["first_seq"])
        gone = [s for s in state.get("deleted") or [] if s >= max(copy.get("first_seq", 0), state["first_seq"])]
        await asyncio.gather(*(self.js.request(f"STREAM.MSG.DELETE.{name}", {"seq": s, "no_erase": True}, write=True)
                               for s in gone), return_exceptions=True)

    async def restore(self, backup, target, consumers):
        """The target stream as a mirror of the backup, its consumers paused until they are placed."""
        config = without(target, *NOT_ON_A_MIRROR)
        config["mirror"] = {"name": self.bk}
        await self.js.create_stream(config)
        await self.create_consumers(consumers)
        await self.set_step(backup, "restoring")
        self.mark("restoring")

    async def create_consumers(self, consumers):
        """Paused until placed: a client pulling meanwhile must not get messages it had acknowledged."""
        have = {c["name"] for c in await self.js.list_consumers(self.name)}
        for consumer in consumers:
            if consumer["durable_name"] not in have:
                paused = dict(consumer, pause_until=consumer.get("pause_until") or PAUSED)
                await self.js.create_consumer(self.name, paused)

    async def finish(self, backup, target, consumers, positions, lossy):
        """Wait for the copy, verify, place the consumers, promote the stream, resume the consumers."""
        meta = backup["config"]["metadata"]
        bkinfo = await self.js.stream_info(self.bk)
        current = (await self.js.stream_info(self.name))["config"]  # only consumers change until it is promoted
        mirroring = (current.get("mirror") or {}).get("name") == self.bk
        if mirroring and meta.get(STEP) != "promoting":
            await self.create_consumers(consumers)  # those an interrupted run had not created yet
            await self.wait_copy(self.name, bkinfo, "back", exact=not lossy, fault="copy-back")
            self.mark("copied back")
            for name, _, start, _ in positions:
                if start:
                    try:
                        await self.js.request(f"CONSUMER.RESET.{self.name}.{name}", {"seq": start}, write=True)
                    except JetStreamAPIError as exc:  # e.g. a by_start_time consumer whose time is later
                        self.ctx.warn(f"{self.name}: consumer {name} cannot resume at {start}: {exc.description}; "
                                      f"it starts as its file says")
                        continue
                    if target.get("retention") == "workqueue":
                        await self.purge_acked(consumers, name, start)
            new = await self.js.stream_info(self.name)
            if not lossy:
                same = target.get("storage", "file") == backup["config"].get("storage", "file")
                mismatch = compare(bkinfo["state"], new["state"], same, target.get("retention", "limits") != "limits")
                if mismatch:
                    raise MigrationError(f"the new {self.name} does not match its backup: {mismatch}; the backup "
                                         f"{self.bk} is kept")
            self.mark("verified copy")
            await self.set_step(backup, "promoting")
        if mirroring:
            promoted = dict(target, metadata=dict(current.get("metadata") or {}, **(target.get("metadata") or {})))
            if promoted.get("sealed"):  # sealing comes after the subjects, as `init` does
                promoted["sealed"] = False
            await self.js.update_stream(promoted)
            sealed_at = int(meta.get(SEALED_AT, 0))
            self.window_ms = max(0, int(time.time() * 1000) - sealed_at) if sealed_at else None
            if target.get("sealed"):
                await self.js.update_stream(dict(promoted, sealed=True))
        self.mark("promoted")
        fault_point("promoted")
        for consumer in consumers:
            if not consumer.get("pause_until"):
                await self.js.request(f"CONSUMER.PAUSE.{self.name}.{consumer['durable_name']}", {}, write=True)
        await self.js.delete_stream(self.bk)
        self.mark("backup deleted")

    async def purge_acked(self, consumers, name, start):
        config = next(c for c in consumers if c["durable_name"] == name)
        for subject in consumer_filters(config) or [None]:  # None: the whole stream
            await self.js.purge_stream(self.name, subject=subject, seq=start)


def compare(expected, actual, same_storage, fewer_allowed=False):
    """What differs between two stream states holding the same messages ("" when nothing)."""
    problems = []
    if actual.get("messages") != expected.get("messages") and not (
            fewer_allowed and actual.get("messages", 0) <= expected.get("messages", 0)):
        problems.append(f"messages {actual.get('messages')} != {expected.get('messages')}")
    if not fewer_allowed:
        for key in ("first_seq", "last_seq"):
            if expected.get("messages") and actual.get(key) != expected.get(key):
                problems.append(f"{key} {actual.get(key)} != {expected.get(key)}")
        if same_storage and actual.get("bytes") != expected.get("bytes"):
            problems.append(f"bytes {actual.get('bytes')} != {expected.get('bytes')}")
        elif not same_storage:
            # a file store record is 14 bytes larger than a memory store one, 18 with headers
            n, diff = expected.get("messages", 0), abs(actual.get("bytes", 0) - expected.get("bytes", 0))
            if not 14 * n <= diff <= 18 * n:
                problems.append(f"bytes {actual.get('bytes')} vs {expected.get('bytes')}")
    return ", ".join(problems)


def headroom(size):
    return size + size // 8 + 65536
