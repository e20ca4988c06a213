"""delete: delete streams; their consumers and messages go with them."""
from .destructive import add_target_arguments, run_destructive, target_names


def add_arguments(parser):
    add_target_arguments(parser, "delete")


def run(ctx, args):
    names = target_names(ctx, args, "delete")

    async def delete(js, outcome, info):
        await js.delete_stream(outcome.stream)
        outcome.result = "deleted"
        outcome.after = {"messages": 0, "bytes": 0}

    return ctx.run(run_destructive(ctx, args, "delete", names, delete))
