"""Carry out planned actions against the server: concurrently, every outcome recorded, nothing raised mid-way.

Order matters: streams before their consumers; consumer deletions before stream deletions. Failures are
per action (the rest still apply) so the caller can report everything and exit 4.
"""
import asyncio

from .errors import JetStreamAPIError

PAST = {"create": "created", "update": "updated", "delete": "deleted"}


def outcome_of(action, error):
    action.result = "failed" if error else PAST.get(action.action, action.action)
    action.error = error


async def apply_actions(ctx, js, actions):
    """Apply create/update/delete actions; sets `.result` and `.error` on every action."""
    for action in actions:
        if action.action in ("unchanged", "replace"):
            outcome_of(action, None)
            action.result = action.action

    def pick(kind, of_stream):
        return [a for a in actions if a.action == kind and (a.consumer is None) == of_stream]

    failed_streams = set()

    async def run(action, call):
        try:
            await call
        except JetStreamAPIError as exc:
            outcome_of(action, str(exc))
            if action.consumer is None:
                failed_streams.add(action.stream)
            return
        outcome_of(action, None)
        ctx.done.append(f"{action.result} {label(action)}")

    await asyncio.gather(*(run(a, js.create_stream(a.config)) for a in pick("create", True)),
                         *(run(a, js.update_stream(a.config)) for a in pick("update", True)))
    await asyncio.gather(*(run(a, js.delete_consumer(a.stream, a.consumer)) for a in pick("delete", False)))
    consumer_writes = []
    for kind in ("create", "update"):
        for a in pick(kind, False):
            if a.stream in failed_streams:
                outcome_of(a, f"not applied: stream {a.stream} failed")
                continue
            consumer_writes.append(run(a, js.create_consumer(a.stream, a.config, action=kind)))
    await asyncio.gather(*consumer_writes)
    await asyncio.gather(*(run(a, js.delete_stream(a.stream)) for a in pick("delete", True)))
    return actions


def label(action):
    return f"{action.stream}/{action.consumer}" if action.consumer else action.stream


def failures(actions):
    return [a for a in actions if getattr(a, "result", None) == "failed"]
