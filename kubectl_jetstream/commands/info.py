"""info: one stream's configuration, state, cluster placement and consumers."""
from ..health import assess, worst_first
from ..kinds import BACKUP_OF, backup_label
from ..output import add_output_argument, dump, to_yaml
from ..units import human_bytes, human_count
from .common import stream_names
from .consumers import show


def add_arguments(parser):
    parser.add_argument("streams", nargs=1, metavar="STREAM", help="stream name")
    add_output_argument(parser)


def run(ctx, args):
    return ctx.run(_info(ctx, args, stream_names(args)[0]))


async def _info(ctx, args, name):
    async with ctx.jetstream() as js:
        info = await js.stream_info(name)
        consumers = await js.list_consumers(name) if (info.get("state") or {}).get("consumer_count") else []
    for key in ("type", "total", "offset", "limit", "ts"):  # response envelope, not stream data
        info.pop(key, None)
    info["consumers"] = consumers
    if args.output:
        dump(ctx, info, args.output)
        return 0
    from ..resources import document_for  # the spec loaders behind it: heavy, not for --help

    config = info["config"]
    state = info.get("state") or {}
    ctx.echo(f"Stream {config['name']} (created {info.get('created', '?')})")
    label = backup_label(config)
    if label:  # recreate --keep-messages stopped half-way
        of = config["metadata"][BACKUP_OF]
        ctx.echo(f"This is the {label} of `recreate --keep-messages`: run `kubectl jetstream recreate {of} "
                 f"--keep-messages` to finish, or add --abort to put {of} back as it was")
    ctx.echo("")
    ctx.echo("Configuration:")
    ctx.echo(indent(to_yaml(document_for(config, []))))
    cluster = info.get("cluster")
    if cluster:
        ctx.echo("Cluster:")
        if cluster.get("name"):  # a standalone server has none
            ctx.echo(f"  name: {cluster['name']}")
        ctx.echo(f"  leader: {cluster.get('leader') or '-'}")
        for replica in cluster.get("replicas") or []:
            health = "current" if replica.get("current") else "outdated"
            if replica.get("offline"):
                health = "OFFLINE"
            ctx.echo(f"  replica: {replica.get('name')} {health}, seen {replica.get('active', 0) / 1e9:.2f}s ago, "
                     f"{replica.get('lag', 0)} operations behind")
        ctx.echo("")
    ctx.echo("State:")
    ctx.echo(f"  messages: {human_count(state.get('messages'))}")
    ctx.echo(f"  bytes: {human_bytes(state.get('bytes'))}")
    ctx.echo(f"  first sequence: {state.get('first_seq', 0)} @ {state.get('first_ts', '')}")
    ctx.echo(f"  last sequence: {state.get('last_seq', 0)} @ {state.get('last_ts', '')}")
    ctx.echo(f"  deleted messages: {state.get('num_deleted', 0)}")
    ctx.echo(f"  active subjects: {state.get('num_subjects', 0)}")
    ctx.echo(f"  consumers: {state.get('consumer_count', 0)}")
    if consumers:
        ctx.echo("")
        show(ctx, worst_first(assess(name, consumers)), None, with_stream=False)
    return 0


def indent(text, prefix="  "):
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())
