"""The guard in front of every destructive action: show, then ask on a terminal, refuse without one."""
import sys

from .errors import Refused


def add_guard_arguments(parser):
    parser.add_argument("-y", "--yes", "--force", dest="yes", action="store_true",
                        help="do not ask for confirmation (needed when there is no terminal)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done and change nothing")


def describe_streams(ctx, names, server):
    """One line per stream with its message count, bytes and consumers (on stderr), before it is touched."""
    from .units import human_bytes, human_count

    for name in names:
        state = (server.get(name) or {}).get("state") or {}
        ctx.stderr.write(f"  {name}: {human_count(state.get('messages'))} messages, "
                         f"{human_bytes(state.get('bytes'))}, {state.get('consumer_count', 0)} consumer(s)\n")
    ctx.stderr.flush()


def confirm(ctx, what, stdin=None):
    """Return True to proceed. `what` describes the action, e.g. "purge 2 streams".

    --dry-run never proceeds; --yes always does; otherwise a terminal must answer y/yes.
    """
    args = ctx.args
    if args.dry_run:
        ctx.echo(f"dry run: would {what}; nothing was changed")
        return False
    if args.yes:
        return True
    stdin = stdin or sys.stdin
    if not (stdin and stdin.isatty()):
        raise Refused(f"refusing to {what} without confirmation: no terminal to ask on; add --yes to proceed")
    ctx.stderr.write(f"{what[0].upper()}{what[1:]}. Proceed? [y/N] ")
    ctx.stderr.flush()
    answer = stdin.readline()
    if answer.strip().lower() in ("y", "yes"):
        return True
    raise Refused("aborted; nothing was changed")
