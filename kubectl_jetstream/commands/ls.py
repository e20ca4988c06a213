"""ls: every stream on the server (all pages), natscli's columns, its kind (stream, kv, objects), and which
are unmanaged or missing."""

from ..kinds import address, kind_of
from ..output import dump, table


def add_arguments(parser):
    parser.add_argument("-o", "--output", choices=("json", "yaml", "name", "wide"), default=None,
                        help="output format: json|yaml|name|wide (default: a table)")
    parser.add_argument("-w", "--watch", action="store_true",
                        help="keep listing every --interval, with message and byte rates (Ctrl-C ends it)")
    parser.add_argument("--interval", metavar="DURATION", default="2s",
                        help="how often --watch lists (default 2s)")


def run(ctx, args):
    if not args.watch:
        if args.output == "name":  # names only: no streams.d, no stream infos (the server's names API)
            return ctx.run(_names(ctx))
        return ctx.run(_ls(ctx, args, ctx.load_specs(required=False)))
    from .watch import watch, watch_interval  # watch imports connect and plan: heavy, not for `ls -o name`

    interval = watch_interval(args)
    try:
        return ctx.run(watch(ctx, args, ctx.load_specs(required=False), interval))
    except KeyboardInterrupt:  # how a watch ends, as with kubectl get -w
        return 0


async def _names(ctx):
    async with ctx.jetstream() as js:
        names = await js.stream_names()
    if names:
        # plan.name_order is code point order, as sorted() is: plan is not imported to keep -o name light
        ctx.echo("\n".join(address(name) for name in sorted(names)))
    return 0


async def _ls(ctx, args, specs):
    from ..plan import name_order  # heavy: not for --help or -o name
    from .streamtable import missing_names, table_rows  # health and its dataclasses: not for -o name

    table_output = args.output in (None, "wide")
    async with ctx.jetstream() as js:
        if table_output:  # the CONSUMER STATE column needs the consumer lists too
            server = await js.snapshot()
            infos = list(server.values())
        else:
            infos = await js.list_streams()
        server_name = js.server_name
    infos.sort(key=lambda i: name_order(i["config"]["name"]))
    defined = {s.name: s for s in specs or []}
    missing = missing_names(infos, defined)
    fmt = args.output
    if fmt in ("json", "yaml"):
        items = []
        for info in infos:
            item = {"name": info["config"]["name"], "kind": kind_of(info["config"]).name, **info}
            if specs is not None:
                item["managed"] = item["name"] in defined
            items.append(item)
        for name in missing:
            items.append({"name": name, "kind": kind_of(dict(defined[name].config, name=name)).name,
                          "managed": True, "missing": True, "config": defined[name].config})
        items.sort(key=lambda item: name_order(item["name"]))
        dump(ctx, items, fmt)
    else:
        headers, rows = table_rows(infos, specs, wide=fmt == "wide", server_name=server_name)
        if rows:
            table(ctx, headers, rows)
        else:
            ctx.stderr.write("No streams found.\n")
    return 0
