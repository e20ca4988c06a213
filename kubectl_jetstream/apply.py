"""Carry out planned actions against the server: every outcome recorded, nothing raised mid-way.

The plan's order matters within a stream (create before seal, a consumer lowered before the stream's
consumer_limits, the stream before its consumers), so each stream's actions run one after another in plan
order; different streams run concurrently, bounded by the JetStream client's request window. Failures are
per action so the caller can report everything and exit 4.
"""
import asyncio
import dataclasses

from .errors import JetStreamAPIError
from .plan import plan

PAST = {"create": "created", "update": "updated", "delete": "deleted"}


def by_stream(actions):
    """{stream: [actions in plan order]}, streams in order of first appearance."""
    groups = {}
    for action in actions:
        groups.setdefault(action.stream, []).append(action)
    return groups


def request_for(js, action):
    if action.consumer is None:
        calls = {"create": js.create_stream, "update": js.update_stream}
        if action.action == "delete":
            return js.delete_stream(action.stream)
        return calls[action.action](action.config)
    if action.action == "delete":
        return js.delete_consumer(action.stream, action.consumer)
    return js.create_consumer(action.stream, action.config, action=action.action)


async def apply_actions(ctx, js, actions):
    """Apply create/update/delete actions; sets `.result` and `.error` on every action."""

    async def apply_stream(group):
        blocked = None  # once the stream itself fails, the rest of its actions cannot apply
        for action in group:
            action.error = ""
            if action.action in ("unchanged", "replace"):
                action.result = action.action
            elif blocked:
                action.result, action.error = "failed", f"not applied: {blocked}"
            else:
                try:
                    await request_for(js, action)
                except JetStreamAPIError as exc:
                    action.result, action.error = "failed", str(exc)
                    if action.consumer is None:
                        blocked = f"stream {action.stream} failed"
                    continue
                action.result = PAST[action.action]
                ctx.done.append(f"{action.result} {action.target}")

    await asyncio.gather(*(apply_stream(group) for group in by_stream(actions).values()))
    return actions


async def create_from_spec(ctx, js, spec):
    """Create the stream and its consumers as `init` would on an empty server (plan order: create, then
    seal when sealed, then consumers); the first refusal is raised."""
    actions = await apply_actions(ctx, js, plan([spec], {}))
    failed = next((a for a in actions if a.result == "failed"), None)
    if failed:
        raise JetStreamAPIError(None, None, f"{failed.target}: {failed.error}")


def check_name(name):
    """The temporary stream that proves a configuration: its name says what it is."""
    return f"{name[:200]}_kjs_check"


async def prove_accepted(ctx, js, spec):
    """Create `spec` under a temporary name without subjects (its own subjects are still held by the stream
    it will replace), with its consumers, then delete it: the server has then accepted the configuration,
    the consumers and the storage it reserves. Raises JetStreamAPIError naming what it refused."""
    config = {k: v for k, v in spec.config.items() if k not in ("subjects", "sealed")}
    config["name"] = check_name(spec.name)
    trial = dataclasses.replace(spec, name=config["name"], config=config)
    if await js.stream_infos([config["name"]]):
        # The trial stream is deleted afterwards: never one that this tool did not make.
        raise JetStreamAPIError(None, None, f"{config['name']}, the name used to try it, is taken by an existing "
                                            f"stream; rename or delete that stream first")
    try:
        await create_from_spec(_Quiet(), js, trial)
    except JetStreamAPIError as exc:
        exc.description = exc.description.replace(config["name"], spec.name)
        raise
    finally:
        try:
            await js.delete_stream(config["name"])
        except JetStreamAPIError:
            pass  # never created


class _Quiet:
    """A context whose `done` list is private: the trial stream is not something the command changed."""

    def __init__(self):
        self.done = []
