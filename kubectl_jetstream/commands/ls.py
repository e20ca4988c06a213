"""ls: every stream on the server (all pages), natscli's columns, its kind (stream, kv, objects), and which
are unmanaged or missing."""

from ..kinds import address, backup_label, kind_of
from ..output import dump, join_subjects, table
from ..units import age_seconds, human_age, human_bytes, human_count, format_duration, format_size


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
    from .watch import watch, watch_interval

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
    from ..plan import name_order

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


def missing_names(infos, defined):
    on_server = {i["config"]["name"] for i in infos}
    return [name for name in defined if name not in on_server]


def table_rows(infos, specs, wide=False, extra_headers=(), extra=None, server_name=None):
    """(headers, rows) of the table, in name order; `extra(info)` gives the cells of `extra_headers` (ls
    --watch: rates); `server_name` is the server answering (the leader of a standalone server's streams)."""
    from ..plan import name_order

    defined = {s.name: s for s in specs or []}
    backups = {i["config"]["name"]: backup_label(i["config"]) for i in infos}
    rows = []
    for info in infos:
        name = info["config"]["name"]
        # a backup left by recreate --keep-messages stopped half-way says so
        status = backups[name] or ("" if specs is None else "managed" if name in defined else "unmanaged")
        cells = row(info, status, wide=wide, health=consumer_summary(info), server_name=server_name)
        cells[-1:-1] = extra(info) if extra else []
        rows.append(cells)
    for name in missing_names(infos, defined):
        cells = missing_row(defined[name], wide=wide)
        cells[-1:-1] = ["-"] * len(extra_headers)
        rows.append(cells)
    rows.sort(key=lambda r: name_order(r[0]))
    headers = ["name", "kind", "subjects", "storage", "replicas", "messages", "bytes", "consumers",
               "consumer state", "last message"]
    if wide:
        headers += ["retention", "max age", "max msgs", "max bytes", "leader", "replicas ok"]
    headers += list(extra_headers)
    if specs is not None or any(backups.values()):
        headers.append("status")
    else:
        rows = [r[:-1] for r in rows]
    return headers, rows


def row(info, status, wide=False, health="-", server_name=None):
    config, state = info["config"], info.get("state") or {}
    cells = [config["name"], kind_of(config).name, join_subjects(config.get("subjects")), config.get("storage", ""),
             str(config.get("num_replicas", 1)), human_count(state.get("messages")),
             human_bytes(state.get("bytes")), str(state.get("consumer_count", 0)), health, last_message_age(state)]
    if wide:
        cells += [config.get("retention", ""), format_duration(config.get("max_age", 0)) if config.get("max_age") else "unlimited",
                  limit(config.get("max_msgs")), limit(format_size(config.get("max_bytes", -1))),
                  *cluster_cells(info, server_name)]
    return cells + [status]


def missing_row(spec, wide=False):
    config = spec.config
    cells = [spec.name, kind_of(dict(config, name=spec.name)).name, join_subjects(config.get("subjects") or [spec.name]), config.get("storage", "file"),
             str(config.get("num_replicas", 1)), "-", "-", "-", "-", "-"]
    if wide:
        cells += ["-"] * 6
    return cells + ["missing (defined, not on server)"]


def consumer_summary(info):
    """`2 behind`, `ok` or `-` (no consumers): health.py's states of the stream's consumers."""
    from ..health import consumer_state, summary

    return summary([consumer_state(c)[0] for c in info.get("consumer_infos") or []])


def limit(value):
    return "unlimited" if value in (None, -1, 0) else str(value)


def cluster_cells(info, server_name=None):
    """LEADER and REPLICAS OK. A standalone server lists its streams without cluster information: the
    stream lives on the server answering, which is its leader, and its one replica is that server."""
    if "cluster" not in info and server_name:
        return [server_name, "1/1"]
    cluster = info.get("cluster") or {}
    leader = cluster.get("leader", "")
    replicas = cluster.get("replicas") or []
    total = 1 + len(replicas)
    healthy = 1 if leader else 0
    healthy += sum(1 for r in replicas if r.get("current") and not r.get("offline"))
    return [leader or "-", f"{healthy}/{total}"]


def last_message_age(state):
    return human_age(age_seconds(state.get("last_ts"))) if state.get("messages") else "never"
