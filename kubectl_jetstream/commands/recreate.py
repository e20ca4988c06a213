"""recreate: delete streams and create them again from streams.d, with their consumers.

This is what `init` recommends when a change cannot be made in place (storage, retention to/from workqueue...).
A name that streams.d does not define is refused before anything happens. Before a stream is deleted the
server must have accepted its new configuration on a temporary stream; if the create after the delete still
fails, the stream is created again with its old configuration and consumers.
"""
from ..errors import JetStreamAPIError, UsageError
from .common import select_specs
from .destructive import add_target_arguments, run_destructive, target_names


def add_arguments(parser):
    add_target_arguments(parser, "recreate")
    parser.add_argument("--keep-messages", action="store_true",
                        help="copy the messages to a backup stream, recreate, copy them back; consumers keep "
                             "their place (a rerun finishes an interrupted run)")
    parser.add_argument("--abort", action="store_true",
                        help="with --keep-messages: put an interrupted migration's stream back as it was")


def run(ctx, args):
    from ..apply import create_from_spec, prove_accepted  # apply, migrate and keep: heavy, not for --help
    from ..migrate import durables

    if args.abort and not args.keep_messages:
        raise UsageError("--abort goes with --keep-messages")
    if args.keep_messages:
        from .keep import run_keep

        return run_keep(ctx, args, target_names(ctx, args, "recreate"))

    specs = {s.name: s for s in select_specs(ctx.load_specs(), target_names(ctx, args, "recreate"))}

    async def recreate(js, outcome, info):
        spec = specs[outcome.stream]
        try:
            await prove_accepted(ctx, js, spec)
        except JetStreamAPIError as exc:
            exc.description = f"the new configuration was not accepted, stream untouched: {exc.description}"
            raise
        old_consumers = [c["config"] for c in durables(await js.list_consumers(spec.name))]
        await js.delete_stream(spec.name)
        outcome.result, outcome.after = "deleted", {"messages": 0, "bytes": 0}
        try:
            await create_from_spec(ctx, js, spec)
        except JetStreamAPIError as exc:
            # Whatever was created from the file goes; the old configuration comes back (the messages do not).
            await restore(js, info["config"], old_consumers, exc)
            raise
        outcome.result = f"recreated ({len(spec.consumers)} consumer(s))"

    # A defined stream that is not on the server has nothing to lose: it is simply created.
    async def create_missing(js, outcome):
        await create_from_spec(ctx, js, specs[outcome.stream])
        outcome.result = f"created ({len(specs[outcome.stream].consumers)} consumer(s))"
        outcome.after = {"messages": 0, "bytes": 0}

    return ctx.run(run_destructive(ctx, args, "recreate", list(specs), recreate, create_missing=create_missing))


async def restore(js, config, consumers, failure):
    """After a failed create: the stream with its old configuration and consumers; `failure` says so."""
    what = f"deleted, but creating it from its file failed: {failure.description}"
    try:
        try:
            await js.delete_stream(config["name"])
        except JetStreamAPIError:
            pass  # the failed create left nothing
        await js.create_stream(config)
        for consumer in consumers:
            await js.create_consumer(config["name"], consumer)
    except JetStreamAPIError as exc:
        failure.description = f"{what}; creating it again with its old configuration failed too: {exc.description}"
        return
    failure.description = (f"{what}; created it again with its old configuration and {len(consumers)} "
                           f"consumer(s) (its messages are gone)")
