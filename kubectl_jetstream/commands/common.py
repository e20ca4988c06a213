"""Helpers shared by the subcommands: stream name arguments, streams.d selection, health thresholds.

Every command's --help imports this module: kinds, health and connect are imported where they are used."""
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


def add_threshold_arguments(parser):
    """When a consumer is `behind` or `stalled` (health.py); `check` adds --max-usage."""
    from ..health import Thresholds

    default = Thresholds()
    group = parser.add_argument_group("consumer health")
    group.add_argument("--max-pending", type=int, metavar="N", default=default.max_pending,
                       help=f"more unprocessed messages than this: behind (default {default.max_pending})")
    group.add_argument("--max-ack-pending", type=int, metavar="N", default=default.max_ack_pending,
                       help=f"more messages awaiting an ack than this: behind (default {default.max_ack_pending})")
    group.add_argument("--max-redelivered", type=int, metavar="N", default=default.max_redelivered,
                       help=f"more messages being redelivered than this: stalled (default {default.max_redelivered})")
    group.add_argument("--idle", metavar="DURATION", default="5m",
                       help="work waiting and no delivery or ack for this long: stalled (default 5m)")


def thresholds(args):
    """The Thresholds of the flags, validated (exit 2 before anything is contacted)."""
    from ..health import Thresholds
    from ..units import parse_duration_flag

    for flag in ("max_pending", "max_ack_pending", "max_redelivered", "max_usage"):
        value = getattr(args, flag, 0)
        if value is not None and value < 0:
            raise UsageError(f"--{flag.replace('_', '-')}: must not be negative, got {value}")
    limits = Thresholds(max_pending=args.max_pending, max_ack_pending=args.max_ack_pending,
                        max_redelivered=args.max_redelivered, idle_s=parse_duration_flag(args.idle, "--idle"))
    if getattr(args, "max_usage", None) is not None:
        limits.max_usage = args.max_usage
    return limits
