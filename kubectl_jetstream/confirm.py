"""The guard in front of every destructive action: show, then ask on a terminal, refuse without one.

Destructive commands' --help imports this module for its flags: units, asyncio, signal and threading are
imported where they are used."""
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
    try:
        answer = _ask(ctx, f"{what[0].upper()}{what[1:]}. Proceed? [y/N] ", stdin)
    except BaseException:  # Ctrl-C: end the prompt's line before "interrupted"
        ctx.stderr.write("\n")
        raise
    if answer.strip().lower() in ("y", "yes"):
        return True
    raise Refused("aborted; nothing was changed")


def _ask(ctx, prompt, stdin):
    """Print `prompt` and read a line, but Ctrl-C ends the read at once. Inside asyncio.run, SIGINT only
    cancels the main task and the read would go on until Enter; here the handler also raises CancelledError
    out of the read, so the command unwinds as a cancelled task (connections closed) and asyncio.run raises
    KeyboardInterrupt."""
    import asyncio
    import signal
    import threading

    previous = signal.getsignal(signal.SIGINT)
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop
        task = None
    if task is None or threading.current_thread() is not threading.main_thread() or not callable(previous):
        ctx.stderr.write(prompt)
        ctx.stderr.flush()
        return stdin.readline()

    def interrupt(signum, frame):
        previous(signum, frame)  # asyncio's own handler: records the interrupt, cancels the main task
        raise asyncio.CancelledError

    signal.signal(signal.SIGINT, interrupt)  # before the prompt shows: no moment where Ctrl-C is lost
    try:
        if task.cancelling():  # Ctrl-C came after the last await, before the handler
            raise asyncio.CancelledError
        ctx.stderr.write(prompt)
        ctx.stderr.flush()
        return stdin.readline()
    finally:
        signal.signal(signal.SIGINT, previous)
