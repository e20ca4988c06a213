"""check: JetStream health in one command (`nats server check jetstream` and the consumers that look stuck).

Exit 0 when every check passes, 1 when one fails (like `diff`: found something), 3 when NATS cannot be reached.
"""
from ..errors import JS_ERR_CLUSTER_NOT_AVAILABLE, ExitStatus, JetStreamAPIError, JetStreamNotEnabled
from ..health import Check, assess, consumer_checks, stream_checks, usage_checks
from ..output import dump, table
from .common import add_threshold_arguments, thresholds


def add_arguments(parser):
    parser.add_argument("-o", "--output", choices=("json", "yaml"), default=None,
                        help="output format: json|yaml (default: a table)")
    add_threshold_arguments(parser)
    parser.add_argument("--max-usage", type=int, metavar="PERCENT", default=90,
                        help="memory or storage use of an account limit that fails the check (default 90)")


def run(ctx, args):
    limits = thresholds(args)
    return ctx.run(_check(ctx, args, limits))


async def _check(ctx, args, limits):
    async with ctx.jetstream(check=False) as js:
        checks = await gather_checks(js, limits)
    failed = [c for c in checks if not c.ok]
    if args.output:
        dump(ctx, {"ok": not failed, "checks": [c.as_dict() for c in checks]}, args.output)
    else:
        table(ctx, ["check", "status", "detail"], [[c.check, c.status, c.detail] for c in checks])
    return ExitStatus.DIFFERENCES if failed else ExitStatus.OK


async def gather_checks(js, limits):
    cluster = js.server_info.get("cluster")
    version = f"nats-server {js.server_version}" if js.server_version else "nats-server"
    try:
        account = await js.check_jetstream()
    except JetStreamNotEnabled as exc:  # the server answers, JetStream does not: a finding, not unreachable
        return [Check("jetstream", "FAIL", f"not enabled: {exc}")]
    except JetStreamAPIError as exc:
        if exc.err_code == JS_ERR_CLUSTER_NOT_AVAILABLE:
            # The server answers $JS.API.INFO with this while its cluster has no meta leader.
            return [Check("jetstream", "OK", f"enabled on {version}"),
                    Check("meta leader", "FAIL", f"cluster {cluster or '?'} has no meta leader: {exc.description}")]
        raise
    api = (account.get("api") or {}).get("level")
    checks = [Check("jetstream", "OK", f"enabled on {version}" + (f", API level {api}" if api is not None else ""))]
    if cluster:
        checks.append(Check("meta leader", "OK", f"cluster {cluster} has a meta leader (it answered the API)",
                            {"cluster": cluster}))
    else:
        checks.append(Check("meta leader", "OK", "not clustered (a single server)"))
    checks += usage_checks(account, limits)
    server = await js.snapshot()
    infos = list(server.values())
    checks += stream_checks(infos)
    entries = []
    for name in sorted(server):
        entries += assess(name, server[name]["consumer_infos"], limits)
    checks += consumer_checks(entries)
    return checks
