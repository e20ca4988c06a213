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
        spec = specs[outcome.stream]
        await js.delete_stream(spec.name)
        outcome.result = "deleted"
        try:
            await create_from_spec(js, spec)
        except JetStreamAPIError as exc:
            exc.description = f"deleted, but re-creating failed: {exc.description}"
            raise
        outcome.result = f"recreated ({len(spec.consumers)} consumer(s))"
        outcome.after = {"messages": 0, "bytes": 0}

    # A defined stream that is not on the server has nothing to lose: it is simply created.
    async def create_missing(js, outcome):
        spec = specs[outcome.stream]
        await create_from_spec(js, spec)
        outcome.result = f"created ({len(spec.consumers)} consumer(s))"
        outcome.after = {"messages": 0, "bytes": 0}

    return ctx.run(run_destructive(ctx, args, "recreate", list(specs), recreate, create_missing=create_missing))


async def create_from_spec(js, spec):
    await js.create_stream(dict(spec.config))
    for consumer in spec.consumers:
        await js.create_consumer(spec.name, consumer)
