"""version: the plugin's version; with a reachable server also the NATS server version and JetStream API level.

Like `kubectl version`: the plugin's own version always comes first; the server is asked when there is a way to
it (--nats-url, or any Kubernetes configuration), and when it cannot be reached the error follows the plugin
version and the exit status says so (3). `--client` never contacts anything. Without --nats-url and without
any Kubernetes configuration the plugin version alone is printed, without importing nats or kubernetes.
"""
import os
import platform

from .. import __version__
from ..errors import ToolError
from ..output import add_output_argument, dump


def add_arguments(parser):
    parser.add_argument("--client", action="store_true", help="print the plugin version only; contact nothing")
    add_output_argument(parser)


def kubernetes_configured(args):
    if args.kubeconfig or args.context or args.cluster or args.user or args.namespace or args.service:
        return True
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = paths or [os.path.expanduser("~/.kube/config")]
    return any(os.path.isfile(p) and os.path.getsize(p) > 0 for p in paths)


def run(ctx, args):
    info = {"plugin": {"version": f"v{__version__}", "python": platform.python_version()}}
    failure = None
    if not args.client and (args.nats_url or kubernetes_configured(args)):
        try:
            info["server"] = ctx.run(_server_info(ctx))
        except ToolError as exc:
            failure = exc
    if args.output:
        dump(ctx, info, args.output)
    else:
        ctx.echo(f"Plugin Version: v{__version__}")
        ctx.echo(f"Python Version: {info['plugin']['python']}")
        server = info.get("server")
        if server:
            ctx.echo(f"NATS Server Version: {server['version']}")
            ctx.echo(f"JetStream API Level: {server['api_level']}")
    if failure is not None:
        raise failure  # after the plugin version, like `kubectl version` without a cluster
    return 0


def server_version(raw):
    """v2.15.1, as `kubectl version` writes versions."""
    return f"v{raw}" if raw and not str(raw).startswith("v") else str(raw or "unknown")


async def _server_info(ctx):
    async with ctx.jetstream() as js:
        account = await js.check_jetstream()
        return {"version": server_version(js.server_version), "api_level": (account.get("api") or {}).get("level"),
                "via": "direct" if ctx.args.nats_url else "kubernetes"}
