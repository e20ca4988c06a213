"""purge: remove messages from streams, all or by subject, sequence or count kept."""
from .destructive import add_target_arguments, counts, run_destructive, target_names


def add_arguments(parser):
    add_target_arguments(parser, "purge")
    parser.add_argument("--subject", metavar="SUBJECT", help="only purge messages on this subject (wildcards allowed)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seq", type=int, metavar="N", help="purge messages with a sequence below N")
    which.add_argument("--keep", type=int, metavar="N", help="keep the newest N messages")


def run(ctx, args):
    names = target_names(ctx, args, "purge")
    detail = ""
    if args.subject:
        detail += f" messages on {args.subject}"
    if args.seq is not None:
        detail += f" below sequence {args.seq}"
    if args.keep is not None:
        detail += f" keeping the newest {args.keep}"

    async def purge(js, outcome, info):
        reply = await js.purge_stream(outcome.stream, subject=args.subject, seq=args.seq, keep=args.keep)
        outcome.result = f"purged {reply.get('purged', 0)}"
        outcome.after = counts(await js.stream_info(outcome.stream))

    return ctx.run(run_destructive(ctx, args, "purge", names, purge, detail))
