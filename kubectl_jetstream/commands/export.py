"""export: server streams (with their durable consumers) as canonical streams.d files.

`init` on exported files is a no-op: the files carry every non-default setting, in human units.
"""
import os

from ..output import to_yaml
from .common import add_stream_names, stream_names


def add_arguments(parser):
    add_stream_names(parser, help_text="streams to export (default: every stream on the server)")
    parser.add_argument("-d", "--dir", metavar="DIR", default=None,
                        help="write one file per stream, DIR/<name>.yaml (default: print YAML documents to stdout)")


def run(ctx, args):
    return ctx.run(_export(ctx, args, stream_names(args)))


def file_name(stream):
    return stream.lower() + ".yaml"


async def _export(ctx, args, names):
    from ..errors import ExitStatus
    from ..resources import document_for

    async with ctx.jetstream() as js:
        server = await js.snapshot(names=set(names) if names else None)
    missing = [n for n in names if n not in server]
    for name in missing:
        ctx.stderr.write(f"error: stream {name} not found\n")
    chosen = names or sorted(server)
    documents = {n: document_for(server[n]["config"], list(server[n]["consumers"].values()))
                 for n in chosen if n in server}
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
        for name, document in documents.items():
            path = os.path.join(args.dir, file_name(name))
            with open(path, "w", encoding="utf-8") as f:
                f.write(to_yaml(document))
            ctx.echo(f"wrote {path}")
    else:
        ctx.echo("\n---\n".join(to_yaml(d).rstrip("\n") for d in documents.values()))
    return ExitStatus.PARTIAL if missing else ExitStatus.OK
