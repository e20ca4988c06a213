"""purge: remove messages from streams, all or by subject, sequence or count kept."""
from ..errors import UsageError
from ..subjects import stream_subjects, subject_problem, subjects_overlap
from .destructive import add_target_arguments, counts, run_destructive, target_names

_UINT64_MAX = 2 ** 64 - 1  # the server reads seq and keep as uint64


def add_arguments(parser):
    add_target_arguments(parser, "purge")
    parser.add_argument("--subject", metavar="SUBJECT", help="only purge messages on this subject (wildcards allowed)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seq", type=int, metavar="N", help="purge messages with a sequence below N (N >= 1)")
    which.add_argument("--keep", type=int, metavar="N", help="keep the newest N messages")


def check_arguments(args):
    """Before the server is contacted. The server reads `seq: 0` as "not set" and purges everything, and
    answers a negative number with a Go unmarshal error: both are refused here."""
    if args.seq is not None and not 1 <= args.seq <= _UINT64_MAX:
        raise UsageError(f"--seq {args.seq}: must be a sequence of 1 or more (messages below it are purged; "
                         "to purge every message leave --seq out)")
    if args.keep is not None and not 0 <= args.keep <= _UINT64_MAX:
        raise UsageError(f"--keep {args.keep}: must be 0 or more (the number of newest messages kept)")
    if args.subject is not None:
        problem = subject_problem(args.subject)
        if problem:
            raise UsageError(f"--subject: {problem}")


def stored_subjects(config):
    """The subjects a stream stores messages under, or None when they cannot be known from its config
    (mirrors and sources bring their origin's subjects)."""
    if config.get("mirror") or config.get("sources"):
        return None
    subjects = stream_subjects(config)
    dest = (config.get("subject_transform") or {}).get("dest")
    return subjects + [dest] if dest else subjects


def check_subject(subject, server, names):
    """--subject must be able to match messages of every stream named: exit 2 before anything is sent."""
    problems = []
    for name in names:
        subjects = stored_subjects((server.get(name) or {}).get("config") or {})
        if subjects is not None and not any(subjects_overlap(subject, s) for s in subjects):
            problems.append(f"stream {name} (its subjects: {', '.join(subjects)})")
    if problems:
        raise UsageError(f"--subject {subject} matches no subject of {'; '.join(problems)}; nothing was purged")


def run(ctx, args):
    check_arguments(args)
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

    check = (lambda server, found: check_subject(args.subject, server, found)) if args.subject else None
    return ctx.run(run_destructive(ctx, args, "purge", names, purge, detail, check=check))
