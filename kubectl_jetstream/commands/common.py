"""Helpers shared by the subcommands: stream name arguments and streams.d selection."""
from ..errors import UsageError


def add_stream_names(parser, help_text="stream names (default: every stream defined in streams.d)"):
    parser.add_argument("streams", nargs="*", metavar="STREAM", help=help_text)


def stream_names(args):
    """Stream names from the command line; TYPE/NAME as `ls -o name` prints it (`stream/ORDERS`,
    `kv/config`, `obj/files`) is accepted too."""
    from ..kinds import stream_name

    return [stream_name(n) for n in getattr(args, "streams", []) or []]


def select_specs(specs, names):
    """The specs named on the command line (all when none); an unknown name is a usage error."""
    if not names:
        return list(specs)
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UsageError(f"not defined in streams.d: {', '.join(unknown)} "
                         f"(defined: {', '.join(sorted(by_name)) or 'none'})")
    return [by_name[n] for n in dict.fromkeys(names)]
