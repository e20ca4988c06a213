"""wait: block until the NATS Service has a ready pod, the server accepts connections and JetStream answers.

Replaces `until nats server check jetstream; do sleep 1; done`. Retries with backoff; at the deadline exits 3
saying which step never became ready.
"""
import time

from ..errors import ToolError, Unreachable, UsageError

ATTEMPT_TIMEOUT = 5.0


def add_arguments(parser):
    """For `wait`, the shared --timeout flag is the whole wait (default 60s); each attempt gets at most 5s."""


def run(ctx, args):
    ctx.run(wait_until_ready(ctx, args.timeout or "60s", announce=True), kube_early=False)
    return 0


STEPS = {
    "connect": "the NATS server to accept connections",
    "jetstream": "JetStream to answer ($JS.API.INFO)",
}


async def wait_until_ready(ctx, duration, announce=False):
    """Retry with backoff until JetStream answers; at the deadline raise Unreachable naming the step that
    never became ready (the Kubernetes steps are kube/reach.wait_for_ready_pod's)."""
    import asyncio  # asyncio, connect and kube here: `init --help` imports this module

    from ..connect import check_flags
    from ..units import parse_duration_flag

    limit = parse_duration_flag(duration, "--wait" if ctx.args.command == "init" else "--timeout")
    check_flags(ctx.nats_options, ctx.kube_options)  # a usage error is not worth waiting for the pod first
    deadline = time.monotonic() + limit
    if not ctx.nats_options.url:
        from ..kube.reach import wait_for_ready_pod

        await asyncio.get_running_loop().run_in_executor(None, wait_for_ready_pod, ctx.kube_options, deadline,
                                                         ctx.log)
        ctx.log("the NATS Service has a ready pod")
    delay, last, step = 0.1, None, "connect"
    while True:
        try:
            attempt = min(ATTEMPT_TIMEOUT, max(deadline - time.monotonic(), 0.1))
            async with ctx.jetstream(timeout=attempt, check=True):
                pass
            if announce:
                ctx.echo("NATS is ready: JetStream answers")
            return
        except UsageError:
            raise
        except ToolError as exc:
            if getattr(exc, "fatal", False):  # wrong credentials or TLS: waiting will not fix it
                raise
            last, step = exc, getattr(exc, "step", "connect")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            where = STEPS.get(step, step)
            raise Unreachable(f"timed out after {duration} waiting for {where}: {last}")
        ctx.log(f"not ready yet ({last}); retrying in {min(delay, remaining):.1f}s")
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 2.0)
