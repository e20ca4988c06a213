"""init: create or update streams and consumers so the server matches streams.d (never deletes without --prune)."""
from ..confirm import add_guard_arguments, confirm, describe_streams
from ..errors import UsageError
from ..output import add_output_argument
from .common import add_stream_names, select_specs, stream_names
from .report import print_plan, plan_exit_status
from .wait import wait_until_ready


def add_arguments(parser):
    add_stream_names(parser)
    parser.add_argument("--prune", action="store_true",
                        help="also delete streams no file defines, and durable consumers of managed streams "
                             "that their file does not list (asks first); only kinds the files declare (streams, kv, objects)")
    parser.add_argument("--wait", metavar="DURATION", default=None,
                        help="first wait up to DURATION for NATS and JetStream to be ready (like `wait`)")
    add_guard_arguments(parser)
    add_output_argument(parser)


def run(ctx, args):
    specs = select_specs(ctx.load_specs(), stream_names(args))
    if args.prune and stream_names(args):
        raise UsageError("--prune works on the whole streams.d; do not name streams with it")
    return ctx.run(_init(ctx, args, specs), kube_early=not args.wait)


async def _init(ctx, args, specs):
    from ..plan import deletion_loss, message_loss, plan  # plan, apply and asyncio: heavy, not for --help

    if args.wait:
        await wait_until_ready(ctx, args.wait)
    async with ctx.jetstream() as js:
        server = await js.snapshot()
        actions = plan(specs, server, prune=args.prune)
        deletes = [a for a in actions if a.action == "delete"]  # only with --prune
        lossy = [(a, message_loss(a, (server.get(a.stream) or {}).get("state"))) for a in actions]
        lossy = [(a, f"this update removes messages: {why}") for a, why in lossy if why]
        await _count_subjects(js, deletes, server)
        lossy += deletion_loss(deletes, server)  # consumers of interest streams hold messages
        if lossy and args.dry_run:
            for action, why in lossy:
                ctx.warn(f"{action.stream}: {why}")
        if not args.dry_run:
            if deletes or lossy:
                _confirm_destruction(ctx, deletes, lossy, server)  # Refused: then nothing at all is applied
            from ..apply import apply_actions

            await apply_actions(ctx, js, actions)
        ctx.log(f"{js.writes} write requests sent")
    print_plan(ctx, actions, dry_run=args.dry_run)
    return plan_exit_status(actions)


async def _count_subjects(js, deletes, server):
    """Per-subject message counts of the interest streams whose consumers --prune deletes: with them
    `deletion_loss` counts the messages that go (read-only requests, also for --dry-run)."""
    import asyncio

    from ..plan import drops_with_consumers

    names = sorted({a.stream for a in deletes if a.consumer is not None
                    and (server[a.stream].get("state") or {}).get("messages")
                    and drops_with_consumers(server[a.stream].get("config"))})
    for name, counts in zip(names, await asyncio.gather(*(js.subject_counts(n) for n in names))):
        server[name]["subject_counts"] = counts


def _confirm_destruction(ctx, deletes, lossy, server):
    """--prune deletions and changes that remove messages (tighter limits, consumers of interest streams):
    shown, then confirmed like purge or delete."""
    streams = [a.stream for a in deletes if a.consumer is None]
    consumers = [f"{a.stream}/{a.consumer}" for a in deletes if a.consumer]
    parts = []
    if deletes:
        ctx.stderr.write("--prune will delete:\n")
        describe_streams(ctx, streams, server)
        for name in consumers:
            ctx.stderr.write(f"  consumer {name}\n")
        dropping = [a.stream for a, _ in lossy if a.action == "delete"]
        parts.append(f"delete {len(streams)} unmanaged stream(s) and {len(consumers)} consumer(s)"
                     + (f" (removing messages of {', '.join(dropping)})" if dropping else ""))
    if lossy:
        ctx.stderr.write("These changes remove messages:\n")
        describe_streams(ctx, list(dict.fromkeys(a.stream for a, _ in lossy)), server)
        for action, why in lossy:
            ctx.stderr.write(f"  {action.stream}: {why}\n")
    updates = [a for a, _ in lossy if a.action == "update"]
    if updates:
        parts.append(f"apply {len(updates)} update(s) that remove messages")
    return confirm(ctx, " and ".join(parts))
