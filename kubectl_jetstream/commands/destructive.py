"""What purge, delete and recreate share: choosing the streams, showing them, asking, and reporting.

Each stream is handled on its own: a missing stream or a server refusal (deny_purge) is reported
for that stream and gives exit 4, and the other streams are still processed.
"""
from ..confirm import add_guard_arguments, confirm, describe_streams
from ..errors import ExitStatus, JetStreamAPIError, UsageError
from ..output import add_output_argument, dump, table
from ..units import human_bytes, human_count
from .common import stream_names


def add_target_arguments(parser, verb):
    parser.add_argument("streams", nargs="*", metavar="STREAM", help=f"streams to {verb}")
    parser.add_argument("--all", action="store_true",
                        help=f"{verb} every stream defined in streams.d (never streams the files do not name)")
    parser.add_argument("--ignore-not-found", action="store_true",
                        help="a named stream that does not exist is not an error")
    add_guard_arguments(parser)
    add_output_argument(parser)


def target_names(ctx, args, verb):
    names = stream_names(args)
    if args.all and names:
        raise UsageError(f"{verb}: give stream names or --all, not both")
    if not args.all and not names:
        raise UsageError(f"{verb}: name at least one stream, or use --all for every stream in streams.d")
    if args.all:
        return [s.name for s in ctx.load_specs()]
    return list(dict.fromkeys(names))


class Outcome:
    def __init__(self, stream, action):
        self.stream = stream
        self.action = action
        self.result = ""
        self.error = ""
        self.before = None  # {"messages", "bytes"}
        self.after = None
        self.extra = {}  # more keys for -o json|yaml

    def record(self):
        record = {"stream": self.stream, "action": self.action, "result": self.result}
        if self.error:
            record["error"] = self.error
        if self.before is not None:
            record["before"] = self.before
        if self.after is not None:
            record["after"] = self.after
        record.update(self.extra)
        return record


def counts(info):
    state = (info or {}).get("state") or {}
    return {"messages": state.get("messages", 0), "bytes": state.get("bytes", 0)}


async def run_destructive(ctx, args, verb, names, act, describe_extra="", create_missing=None, check=None):
    """Look the streams up, show them, confirm, then `await act(js, outcome, info)` for each found stream.

    `create_missing(js, outcome)`, when given, handles named streams that are not on the server (recreate
    creates them) instead of reporting them as not found. `check(server, found_names)`, when given, may
    raise a UsageError once the streams are known, before anything is shown, asked or sent.
    """
    async with ctx.jetstream() as js:
        server = await js.stream_infos(names)
        outcomes = [Outcome(name, verb) for name in names]
        found = [o for o in outcomes if o.stream in server]
        absent = [o for o in outcomes if o.stream not in server]
        for o in found:
            o.before = counts(server[o.stream])
        if create_missing is None:
            for o in absent:
                o.result = "not found"
                o.error = "" if args.ignore_not_found else f"stream {o.stream} not found"
            absent = []
        if check is not None:
            check(server, [o.stream for o in found])
        show_targets(ctx, verb, found, server, describe_extra)
        proceed = confirm(ctx, f"{verb} {len(found)} stream(s)") if found else not args.dry_run

        async def one(o, call):
            try:
                await call
                ctx.done.append(f"{o.result or verb} {o.stream}")
            except JetStreamAPIError as exc:
                o.result = "failed"
                o.error = exc.description

        if proceed:
            import asyncio  # here: 30 ms that `purge --help` (which imports this module) does not need

            await asyncio.gather(*(one(o, act(js, o, server[o.stream])) for o in found),
                                 *(one(o, create_missing(js, o)) for o in absent))
        else:
            for o in found + absent:
                o.result = "dry run"
    report(ctx, args, outcomes)
    return ExitStatus.PARTIAL if any(o.error for o in outcomes) else ExitStatus.OK


def show_targets(ctx, verb, found, server, extra):
    if not found:
        return
    ctx.stderr.write(f"Will {verb}{extra}:\n")
    describe_streams(ctx, [o.stream for o in found], server)


def transition(before, after, key, fmt):
    if before is None:
        return "-"
    if after is None:
        return fmt(before[key])
    return f"{fmt(before[key])} → {fmt(after[key])}"


def report(ctx, args, outcomes):
    if args.output:
        dump(ctx, [o.record() for o in outcomes], args.output)
    else:
        rows = [[o.stream, o.action, o.result, transition(o.before, o.after, "messages", human_count),
                 transition(o.before, o.after, "bytes", human_bytes)] for o in outcomes]
        table(ctx, ["stream", "action", "result", "messages", "bytes"], rows)
    for o in outcomes:
        if o.error:
            ctx.stderr.write(f"error: {o.stream}: {o.error}\n")
