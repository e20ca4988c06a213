"""consumers: every consumer of the given (or all) streams with its backlog and health, worst first."""
from ..errors import JS_ERR_STREAM_NOT_FOUND, JetStreamAPIError
from ..health import assess, consumer_ages, is_push, worst_first
from ..output import dump, table
from ..subjects import consumer_filters
from ..units import format_duration, human_age, human_count
from .common import add_stream_names, add_threshold_arguments, stream_names, thresholds

HEADERS = ["stream", "consumer", "unprocessed", "ack pending", "redelivered", "waiting", "last delivered",
           "last ack", "state"]
WIDE_HEADERS = ["kind", "mode", "ack policy", "ack wait", "filter", "reason"]


def add_arguments(parser):
    add_stream_names(parser, "streams whose consumers to list (default: every stream)")
    parser.add_argument("--all", action="store_true", help="ephemeral consumers too (default: durable only)")
    parser.add_argument("-o", "--output", choices=("json", "yaml", "name", "wide"), default=None,
                        help="output format: json|yaml|name|wide (default: a table)")
    add_threshold_arguments(parser)


def run(ctx, args):
    limits = thresholds(args)
    return ctx.run(_consumers(ctx, args, stream_names(args), limits))


async def _consumers(ctx, args, names, limits):
    wanted = set(names) if names else None
    async with ctx.jetstream() as js:
        server = await js.snapshot(names=wanted)
    missing = [n for n in names if n not in server]
    entries = []
    for name in sorted(server):  # only the wanted streams: snapshot(names) fetched no others
        entries += assess(name, server[name]["consumer_infos"], limits, ephemeral=args.all)
    entries = worst_first(entries)
    show(ctx, entries, args.output)
    if not entries and args.output not in ("json", "yaml"):
        ctx.stderr.write("No consumers found.\n")
    if missing:
        raise JetStreamAPIError(404, JS_ERR_STREAM_NOT_FOUND, f"stream not found: {', '.join(missing)}")
    return 0


def show(ctx, entries, fmt, with_stream=True):
    """Print (stream, info, state, reason) entries as `consumers` does; `info` uses it without the stream."""
    if fmt == "name":
        for stream, info, _, _ in entries:
            ctx.echo(f"consumer/{stream}/{info['name']}")
    elif fmt in ("json", "yaml"):
        dump(ctx, [record(*e) for e in entries], fmt)
    elif entries:
        headers = HEADERS + (WIDE_HEADERS if fmt == "wide" else [])
        rows = [row(*e, wide=fmt == "wide") for e in entries]
        if not with_stream:
            headers, rows = headers[1:], [r[1:] for r in rows]
        table(ctx, headers, rows)


def record(stream, info, state, reason):
    item = {"stream": stream, **info, "health": {"state": state, "reason": reason}}
    item.pop("type", None)  # the response envelope
    return item


def row(stream, info, state, reason, wide=False):
    config = info.get("config") or {}
    delivered_age, ack_age = consumer_ages(info)
    cells = [stream, info["name"], human_count(info.get("num_pending")), human_count(info.get("num_ack_pending")),
             human_count(info.get("num_redelivered")),
             "-" if is_push(info) else human_count(info.get("num_waiting")),
             human_age(delivered_age), human_age(ack_age), state]
    if wide:
        filters = consumer_filters(config)
        cells += ["durable" if config.get("durable_name") else "ephemeral", "push" if is_push(info) else "pull",
                  config.get("ack_policy", ""),
                  format_duration(config["ack_wait"]) if config.get("ack_wait") else "-",
                  ", ".join(filters) or "-", reason or "-"]
    return cells
