"""recreate: delete streams and create them again from streams.d, with their consumers.

This is what `init` recommends when a change cannot be made in place (storage, retention to/from workqueue...).
A name that streams.d does not define is refused before anything happens.
"""
from ..errors import JetStreamAPIError
from .common import select_specs
from .destructive import add_target_arguments, run_destructive, target_names


def add_arguments(parser):
    add_target_arguments(parser, "recreate")


def run(ctx, args):
    specs = {s.name: s for s in select_specs(ctx.load_specs(), target_names(ctx, args, "recreate"))}

    async def recreate(js, outcome, info):
        await js.delete_stream(outcome.stream)
        outcome.result = "deleted"
        try:
            await create_from_spec(ctx, js, specs[outcome.stream])
        except JetStreamAPIError as exc:
            exc.description = f"deleted, but creating it again failed: {exc.description}"
            raise
        outcome.result = f"recreated ({len(specs[outcome.stream].consumers)} consumer(s))"
        outcome.after = {"messages": 0, "bytes": 0}

    # A defined stream that is not on the server has nothing to lose: it is simply created.
    async def create_missing(js, outcome):
        await create_from_spec(ctx, js, specs[outcome.stream])
        outcome.result = f"created ({len(specs[outcome.stream].consumers)} consumer(s))"
        outcome.after = {"messages": 0, "bytes": 0}

    return ctx.run(run_destructive(ctx, args, "recreate", list(specs), recreate, create_missing=create_missing))


async def create_from_spec(ctx, js, spec):
    """Create the stream and its consumers as `init` would on an empty server (plan order: create, then
    seal when sealed, then consumers); the first refusal is raised."""
    from ..apply import apply_actions
    from ..plan import plan

    actions = await apply_actions(ctx, js, plan([spec], {}))
    failed = next((a for a in actions if a.result == "failed"), None)
    if failed:
        raise JetStreamAPIError(None, None, f"{failed.target}: {failed.error}")
