"""diff: field-level differences between the server (live) and streams.d (desired), like `kubectl diff`.

Exit 0 when in sync, 1 when there are differences. Streams on the server that no file defines, and durable
consumers of managed streams that their file does not list (both what `init --prune` deletes), are listed as
unmanaged, which is not a difference.
"""
from ..errors import ExitStatus
from ..output import add_output_argument, dump
from .common import add_stream_names, select_specs, stream_names
from .report import action_record


def add_arguments(parser):
    add_stream_names(parser)
    add_output_argument(parser)


def run(ctx, args):
    specs = select_specs(ctx.load_specs(), stream_names(args))
    return ctx.run(_diff(ctx, args, specs))


async def _diff(ctx, args, specs):
    from ..plan import name_order, plan, unmanaged, unmanaged_consumers  # heavy, not for --help

    async with ctx.jetstream() as js:
        server = await js.snapshot()
    actions = [a for a in plan(specs, server) if a.action != "unchanged"]
    others = unmanaged(specs, server) if not stream_names(args) else []
    consumers = [{"stream": s.name, "consumer": name} for s in sorted(specs, key=lambda s: name_order(s.name))
                 for name in unmanaged_consumers(s, server.get(s.name))]
    paths = {s.name: s.path for s in specs}
    if args.output:
        dump(ctx, {"differences": [action_record(a) for a in actions], "unmanaged": others,
                   "unmanaged_consumers": consumers}, args.output)
    else:
        for action in actions:
            print_unified(ctx, action, paths.get(action.stream, "streams.d"))
        if others:
            ctx.echo(f"# unmanaged (on the server, defined by no file): {', '.join(others)}")
        if consumers:
            ctx.echo("# unmanaged consumers (on the server, listed by no file): "
                     + ", ".join(f"{c['stream']}/{c['consumer']}" for c in consumers))
    return ExitStatus.DIFFERENCES if actions else ExitStatus.OK


def print_unified(ctx, action, path):
    name = f"{action.stream}/{action.consumer}" if action.consumer else action.stream
    live = "/dev/null" if action.action == "create" else f"server/{name}"
    ctx.echo(f"--- {live}")
    ctx.echo(f"+++ {path}#{name}")
    note = f" ({action.reason})" if action.reason else ""
    ctx.echo(f"@@ {action.action}{note} @@")
    for change in action.changes:
        old, new = change.display_values() if hasattr(change, "display_values") else (change.old, change.new)
        if change.old is not None or action.action != "create":
            ctx.echo(f"-{change.field}: {old}")
        ctx.echo(f"+{change.field}: {new}")
