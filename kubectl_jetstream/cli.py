"""Command line: argparse and dispatch only.

kubectl passes every flag after the plugin name, so the shared flags are accepted both before and after the
subcommand (`kubectl jetstream ls -n ns -o json`). Command modules are imported only for the subcommand that
runs, and they import nats/kubernetes inside `run`, so `--help` and `version` stay fast.
"""
import argparse
import atexit
import contextlib
import importlib
import io
import os
import signal
import sys

from . import __version__
from .commands import COMMANDS
from .context import PluginContext
from .errors import ExitStatus, ToolError, exit_status_of
from .flags import add_common_arguments, hide_secrets


def program_name():
    """`kubectl jetstream` when run by kubectl (which exports KUBECTL_PATH to its plugins), else the script's."""
    return "kubectl jetstream" if os.environ.get("KUBECTL_PATH") else "kubectl-jetstream"


def build_parser(prog=None, words=None):
    """The whole parser; with `words` (the command line), only the subcommands named in it get their
    arguments (and their modules imported): the one that runs is always among them, and the others only need
    their name and help line. A command's module costs its imports (platform, fractions, ...) otherwise."""
    prog = prog or program_name()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Declare NATS JetStream streams in streams.d/ and bring a server to them, "
                    "through the Kubernetes API or a NATS URL.",
        epilog="Exit codes: 0 ok, 1 diff found differences or check found a problem, 2 usage/invalid definitions/refused, "
               "3 cannot reach Kubernetes or NATS, 4 the server rejected some operations, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"kubectl-jetstream {__version__}")
    add_common_arguments(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if words is None or name in words:
            command_module(name).add_arguments(cmd)
            add_common_arguments(cmd, suppress=True)
    return parser


def command_module(name):
    return importlib.import_module(f".commands.{name}", __package__)


def main(argv=None):
    if argv is not None:  # called in-process (tests): an ordinary function
        return _main(list(argv))
    returned = []
    atexit.register(_exit_without_teardown, returned)  # before the command registers any: so it runs last
    returned.append(_main(sys.argv[1:], program=True))
    return returned[0]


def _exit_without_teardown(returned):
    """The last exit handler of a program run: flush stdout and stderr and end the process with main's exit
    status, skipping the interpreter's teardown, which frees every module and object one by one: 0.15 s once
    the kubernetes client (hundreds of pydantic models) is loaded, a tenth of a port-forwarded `ls`. What
    teardown does that matters has been done by then: the interpreter waits for non-daemon threads before it
    runs the exit handlers, and runs them last registered first (the kubernetes client's temp-file cleanup,
    weakref finalizers). When main raised instead of returning, teardown runs as usual."""
    if not returned:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be said anyway
            pass
    os._exit(returned[0])


def kubectl_complete(argv=None):
    """`kubectl_complete-jetstream WORDS...` (console script and release executable): kubectl's plugin
    completion protocol, answered from the parser with the subcommands named in WORDS built."""
    from .completion import print_completion  # a completion needs none of what a command run imports

    words = (sys.argv[1:] if argv is None else list(argv)) or [""]
    print_completion(build_parser(prog="kubectl jetstream", words=set(words)), words)
    return 0


def _main(argv, program=False):
    parser = build_parser(words=set(argv))
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):  # argparse quotes words back (`ambiguous option: --tok=X`)
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    finally:
        sys.stderr.write(hide_secrets(errors.getvalue(), argv))
    if not args.command:
        parser.print_help(sys.stderr)
        return int(ExitStatus.USAGE)
    # Die quietly when piped into `head` (a program only: not the process of a caller, such as a test run).
    if program and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ctx = PluginContext(args)
    ctx.parser = parser  # what `completion __complete` reads (commands cannot import cli: it imports them)
    ctx.may_fork = program  # the Kubernetes side in a child process (kube/child.py); not inside a caller's process
    if ctx.verbosity < 2:
        # asyncio logs transport chatter on stderr (e.g. "returning true from eof_received() has no effect
        # when using ssl" after every TLS connection); it is noise unless debugging.
        import logging  # not for --help: 5 ms

        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        return int(command_module(args.command).run(ctx, args))
    except ToolError as exc:
        ctx.report(exc)
        if exc.exit_status == ExitStatus.UNREACHABLE:  # lost NATS half-way: say what had been done
            ctx.report_progress("before the failure")
        return int(exc.exit_status)
    except KeyboardInterrupt:
        ctx.report_interrupt()
        return int(ExitStatus.INTERRUPTED)
    except Exception as exc:  # a bug, or an error class not mapped yet: still one line without -v
        ctx.report(exc, unexpected=True)
        return int(exit_status_of(exc))
