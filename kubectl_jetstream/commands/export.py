"""export: server streams (with their durable consumers) as canonical streams.d files.

`init` on exported files is a no-op: the files carry every non-default setting, in human units.
"""
import os

from ..errors import ExitStatus, UsageError
from ..output import to_yaml
from .common import add_stream_names, stream_names


def add_arguments(parser):
    add_stream_names(parser, help_text="streams to export (default: every stream on the server)")
    parser.add_argument("-d", "--dir", metavar="DIR", default=None,
                        help="write one file per stream, DIR/<name>.yaml (default: print YAML documents to stdout)")


def run(ctx, args):
    return ctx.run(_export(ctx, args, stream_names(args)))


def file_names(streams):
    """{stream: file name}: the lower-cased name, as streams.d names its files. Names that differ only in
    case (ORDERS, orders) would share it, so each of them gets a digest of its exact spelling too
    (orders-1a2b3c4d.yaml): no two files collide, not even on a case-insensitive file system."""
    groups = {}
    for name in streams:
        groups.setdefault(name.casefold(), []).append(name)
    out = {}
    for names in groups.values():
        for name in names:
            if len(names) == 1:
                out[name] = f"{name.lower()}.yaml"
            else:
                import hashlib  # 3 ms (OpenSSL): only when names collide in case

                out[name] = f"{name.lower()}-{hashlib.sha256(name.encode()).hexdigest()[:8]}.yaml"
    return out


def _write_files(ctx, folder, documents):
    """Every file planned first (two streams never share one: exit 2 before anything is written), then each
    written to a temporary file and renamed over its target. A folder or file that cannot be written is
    exit 2 with one line."""
    names = file_names(documents)
    taken = {}
    for stream, file in names.items():
        if file.casefold() in taken:  # a stream literally named like another's digest name
            raise UsageError(f"export: streams {taken[file.casefold()]} and {stream} would both be written to "
                             f"{file}; nothing was written (export them in separate runs)")
        taken[file.casefold()] = stream
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"export: {folder} exists and is not a folder; nothing was written") from None
    except OSError as exc:
        raise UsageError(f"export: cannot create the folder {folder}: {exc.strerror or exc}") from None
    for stream, document in documents.items():
        path = os.path.join(folder, names[stream])
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            with open(temporary, "w", encoding="utf-8") as f:
                f.write(to_yaml(document))
            os.replace(temporary, path)
        except OSError as exc:
            if os.path.lexists(temporary):
                os.unlink(temporary)
            raise UsageError(f"export: cannot write {path}: {exc.strerror or exc}") from None
        ctx.echo(f"wrote {path}")


async def _export(ctx, args, names):
    from ..plan import name_order  # plan and resources: heavy, not for --help
    from ..resources import document_for

    async with ctx.jetstream() as js:
        server = await js.snapshot(names=set(names) if names else None)
    missing = [n for n in names if n not in server]
    for name in missing:
        ctx.stderr.write(f"error: stream {name} not found\n")
    chosen = names or sorted(server, key=name_order)
    documents = {n: document_for(server[n]["config"], list(server[n]["consumers"].values()))
                 for n in chosen if n in server}
    if args.dir:
        _write_files(ctx, args.dir, documents)
    else:
        ctx.echo("\n---\n".join(to_yaml(d).rstrip("\n") for d in documents.values()))
    return ExitStatus.PARTIAL if missing else ExitStatus.OK
