"""Command line: argparse and dispatch only.

kubectl passes every flag after the plugin name, so the shared flags are accepted both before and after the
subcommand (`kubectl jetstream ls -n ns -o json`). Command modules are imported only for the subcommand that
runs, and they import nats/kubernetes inside `run`, so `--help` and `version` stay fast.
"""
import argparse
import importlib
import os
import signal
import sys

from . import __version__
from .errors import ExitStatus, ToolError, exit_status_of

COMMANDS = {
    "init": "Create or update streams and consumers to match streams.d",
    "diff": "Show field-level differences between the server and streams.d",
    "ls": "List the streams on the server",
    "info": "Show one stream's configuration, state and consumers",
    "consumers": "List consumers with their backlog and health, worst first",
    "check": "Check JetStream health: meta leader, replicas, limits, stuck consumers",
    "view": "Show a stream's messages, read-only (no consumer, no ack)",
    "export": "Write server streams as streams.d files",
    "purge": "Remove messages from streams",
    "delete": "Delete streams (and their consumers)",
    "recreate": "Delete streams and create them again from streams.d",
    "wait": "Wait until NATS and JetStream are ready",
    "version": "Print the plugin version (and the server's, when reachable)",
    "completion": "Print a shell completion script (bash or zsh)",
    "job": "Print a ConfigMap and Job that run this tool inside the cluster",
}

def program_name():
    """`kubectl jetstream` when run by kubectl (which exports KUBECTL_PATH to its plugins), else the script's."""
    return "kubectl jetstream" if os.environ.get("KUBECTL_PATH") else "kubectl-jetstream"


def env_default(*names):
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def add_common_arguments(parser, suppress):
    """Flags every command accepts. With `suppress`, an absent flag leaves the value set before the
    subcommand alone (argparse would otherwise overwrite it with the subparser's default)."""

    def default(value):
        return argparse.SUPPRESS if suppress else value

    general = parser.add_argument_group("general")
    general.add_argument("-v", "--verbose", action="count", default=default(0),
                         help="say which path to NATS was taken; repeat for tracebacks and API detail")
    general.add_argument("-f", "--filename", action="append", metavar="PATH", default=default(None),
                         help="stream definition file or folder (repeatable; default ./streams.d)")

    nats = parser.add_argument_group("NATS connection")
    nats.add_argument("--nats-url", metavar="URL", default=default(env_default("NATS_URL")),
                      help="connect directly to this NATS server, or a comma-separated list of them (env NATS_URL); "
                           "skips Kubernetes")
    nats.add_argument("--creds", metavar="FILE", default=default(env_default("NATS_CREDS")),
                      help="NATS user credentials file (env NATS_CREDS)")
    nats.add_argument("--nkey", metavar="FILE", default=default(env_default("NATS_NKEY")),
                      help="NATS NKey seed file (env NATS_NKEY)")
    nats.add_argument("--nats-user", metavar="USER", default=default(env_default("NATS_USER")),
                      help="NATS user name (env NATS_USER); --user is kubectl's kubeconfig user")
    nats.add_argument("--password", metavar="PASSWORD", default=default(env_default("NATS_PASSWORD")),
                      help="NATS password (env NATS_PASSWORD)")
    nats.add_argument("--token", metavar="TOKEN", default=default(env_default("NATS_TOKEN")),
                      help="NATS authentication token (env NATS_TOKEN)")
    nats.add_argument("--tls-ca", metavar="FILE", default=default(env_default("NATS_CA")),
                      help="CA certificate to verify the NATS server (env NATS_CA)")
    nats.add_argument("--tls-cert", metavar="FILE", default=default(env_default("NATS_CERT")),
                      help="client certificate for NATS TLS (env NATS_CERT)")
    nats.add_argument("--tls-key", metavar="FILE", default=default(env_default("NATS_KEY")),
                      help="client key for NATS TLS (env NATS_KEY)")
    nats.add_argument("--js-domain", metavar="DOMAIN", default=default(env_default("NATS_JS_DOMAIN")),
                      help="JetStream domain: API requests go to $JS.DOMAIN.API (env NATS_JS_DOMAIN)")
    nats.add_argument("--timeout", metavar="DURATION", default=default(env_default("NATS_TIMEOUT")),
                      help="connect and per-request timeout (default 5s, env NATS_TIMEOUT); "
                           "for `wait`, the whole wait (default 60s)")

    kube = parser.add_argument_group("Kubernetes")
    kube.add_argument("-n", "--namespace", default=default(None),
                      help="namespace of the NATS Service (default: the context's, else default)")
    kube.add_argument("--context", default=default(None), help="kubeconfig context to use")
    kube.add_argument("--kubeconfig", metavar="FILE", default=default(None),
                      help="kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    kube.add_argument("--cluster", default=default(None), help="kubeconfig cluster to use")
    kube.add_argument("--user", default=default(None), help="kubeconfig user to use")
    kube.add_argument("--request-timeout", metavar="DURATION", default=default(None),
                      help="timeout for Kubernetes API requests (e.g. 10s; default none)")
    kube.add_argument("--service", metavar="NAME", default=default(None),
                      help="NATS Service name (default: discovered in the namespace)")
    kube.add_argument("--port", metavar="PORT", default=default(None),
                      help="NATS Service port, name or number (default: port named nats or client, else 4222)")
    kube.add_argument("--creds-secret", metavar="NAME[/KEY]", default=default(None),
                      help="read NATS credentials from this Secret (default key nats.creds)")
    kube.add_argument("--token-secret", metavar="NAME[/KEY]", default=default(None),
                      help="read a NATS token from this Secret (default key token)")
    kube.add_argument("--user-secret", metavar="NAME", default=default(None),
                      help="read NATS username/password keys from this Secret")


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
    code = _main(sys.argv[1:], program=True)
    _exit_without_teardown(code)
    return code


def _exit_without_teardown(code):
    """Exit at once when run as a program. The interpreter's teardown frees every module and object one by
    one: 0.15 s once the kubernetes client (hundreds of pydantic models) is loaded, a tenth of a port-forwarded
    `ls`. What teardown does that matters is done first: atexit handlers (the kubernetes client's temp-file
    cleanup, weakref finalizers) and flushing stdout and stderr. With a non-daemon thread still running,
    exit normally so that it is waited for."""
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        return
    import atexit

    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if run_exitfuncs is None:
        return
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be said anyway
            pass
    os._exit(code)


def _main(argv, program=False):
    parser = build_parser(words=set(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help(sys.stderr)
        return int(ExitStatus.USAGE)
    # Die quietly when piped into `head`.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from .context import PluginContext

    ctx = PluginContext(args)
    ctx.may_fork = program  # the Kubernetes side in a child process (kube/child.py); not inside a caller's process
    if ctx.verbosity < 2:
        # asyncio logs transport chatter on stderr (e.g. "returning true from eof_received() has no effect
        # when using ssl" after every TLS connection); it is noise unless debugging.
        import logging

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
