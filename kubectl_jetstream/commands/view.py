"""view: the messages of a stream, read-only.

Messages are read with $JS.API.STREAM.MSG.GET (jetstream.get_message), one request per message, never through
a consumer: nothing is created, acknowledged or subscribed, so a `workqueue` or `interest` stream keeps exactly
the messages it had and its consumer list does not change. (An ordered ephemeral consumer would also be
harmless once gone, but it is server state while it lives, needs create/delete permissions, and on an
`interest` stream it is interest; DIRECT.GET needs `allow_direct` on the stream, MSG.GET does not.)
"""
import base64
import json
from datetime import datetime, timedelta, timezone

from ..errors import UsageError
from ..output import dump
from ..subjects import subject_problem
from ..units import UnitError, age_seconds, human_age, human_bytes, human_count, parse_duration, parse_size, parse_ts
from .common import stream_names

DEFAULT_MAX_BYTES = "4KiB"


def add_arguments(parser):
    parser.add_argument("streams", nargs=1, metavar="STREAM", help="stream name")
    parser.add_argument("--last", type=int, metavar="N", default=10,
                        help="how many messages: the newest N, or the first N from --seq/--since (default 10)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--since", metavar="DURATION|TIME",
                       help="start at the first message this long ago (10m) or at/after this time (RFC 3339)")
    start.add_argument("--seq", type=int, metavar="N", help="start at stream sequence N")
    parser.add_argument("--subject", metavar="FILTER", help="only messages on subjects matching FILTER")
    parser.add_argument("--max-bytes", metavar="SIZE", default=DEFAULT_MAX_BYTES,
                        help=f"cut payloads longer than this in the text view (default {DEFAULT_MAX_BYTES}; 0: never)")
    parser.add_argument("-o", "--output", choices=("json", "yaml"), default=None,
                        help="output format: json|yaml, payloads whole and base64 (default: text)")


def options(args):
    """Validated flags: (stream, count, start seq, since datetime, subject, max bytes); exit 2 on bad input."""
    from ..spec.names import name_problem  # imports schema: not for --help

    stream = stream_names(args)[0]
    problem = name_problem(stream)
    if problem:
        raise UsageError(problem)
    if args.last < 1:
        raise UsageError(f"--last: must be at least 1, got {args.last}")
    if args.seq is not None and args.seq < 1:
        raise UsageError(f"--seq: must be at least 1, got {args.seq}")
    if args.subject is not None and subject_problem(args.subject):
        raise UsageError(f"--subject: {subject_problem(args.subject)}")
    try:
        max_bytes = parse_size(args.max_bytes)
    except UnitError as exc:
        raise UsageError(f"--max-bytes: {exc}") from None
    return stream, args.last, args.seq, since_time(args.since), args.subject, max(max_bytes, 0)


def since_time(value):
    """10m (ago) or an RFC 3339 / ISO 8601 time (a time without a zone is local) -> aware datetime."""
    if value is None:
        return None
    try:
        ago = parse_duration(value)
    except UnitError:
        ago = None
    if ago is not None:
        if ago <= 0:
            raise UsageError(f"--since: must be a positive duration or a time, got {value!r}")
        return datetime.now(timezone.utc) - timedelta(microseconds=ago / 1000)
    try:
        when = parse_ts(value.strip().replace(" ", "T", 1)) if value.strip() else None
    except ValueError:
        when = None
    if when is None:
        raise UsageError(f"--since: expected a duration (10m, 2h) or a time (2026-01-31T12:00:00Z), got {value!r}")
    return when if when.tzinfo else when.astimezone()


def run(ctx, args):
    return ctx.run(_view(ctx, args, *options(args)))


async def _view(ctx, args, stream, count, seq, since, subject, max_bytes):
    async with ctx.jetstream() as js:
        state = (await js.stream_info(stream)).get("state") or {}
        messages = await select(js, stream, state, count, seq, since, subject)
    if args.output:
        dump(ctx, [record(m) for m in messages], args.output)
        return 0
    if not messages:
        ctx.stderr.write(f"No messages in {stream}" + (f" on {subject}" if subject else "") + ".\n")
    for message in messages:
        ctx.echo(render(message, max_bytes))
    return 0


# -- which messages ---------------------------------------------------------------------------------------
async def select(js, stream, state, count, seq=None, since=None, subject=None):
    first, last = int(state.get("first_seq") or 0), int(state.get("last_seq") or 0)
    if not state.get("messages") or last < first:
        return []
    if since is not None:
        seq = await first_since(js, stream, first, last, since, subject)
    if seq is not None:
        return await forward(js, stream, max(seq, first), last, subject, count)
    return await newest(js, stream, first, last, subject, count)


async def forward(js, stream, seq, upto, subject, count=None):
    """Messages from `seq` to `upto` (at most `count`), each found with next_by_subj: gaps cost nothing."""
    found = []
    while seq <= upto and (count is None or len(found) < count):
        message = await js.get_message(stream, seq, subject)
        if message is None or message["seq"] > upto:
            break
        found.append(message)
        seq = message["seq"] + 1
    return found


async def newest(js, stream, first, last, subject, count):
    """The newest `count` messages: windows back from the end, doubling, so a sparse subject costs a few
    requests per window rather than one per sequence."""
    found, hi, width = [], last, count
    while hi >= first and len(found) < count:
        lo = max(first, hi - width + 1)
        found = await forward(js, stream, lo, hi, subject) + found
        hi, width = lo - 1, width * 2
    return found[-count:]


async def first_since(js, stream, first, last, since, subject):
    """The first sequence whose message is at or after `since` (binary search: times grow with sequences)."""
    lo, hi = first, last + 1
    while lo < hi:
        mid = (lo + hi) // 2
        message = await js.get_message(stream, mid, subject)
        if message is None or parse_ts(message["time"]) >= since:
            hi = mid
        else:
            lo = message["seq"] + 1
    return lo


# -- how they look ----------------------------------------------------------------------------------------
def headers_of(message):
    """{name: [values]} from the message's base64 NATS/1.0 header block."""
    raw = base64.b64decode(message.get("hdrs") or "")
    headers = {}
    for line in raw.decode("utf-8", "replace").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.setdefault(name.strip(), []).append(value.strip())
    return headers


def record(message):
    data = message.get("data") or ""
    return {"seq": message["seq"], "subject": message["subject"], "time": message["time"],
            "headers": headers_of(message), "size": len(base64.b64decode(data)), "data": data}


def render(message, max_bytes):
    payload = base64.b64decode(message.get("data") or "")
    age = age_seconds(message["time"])
    ago = "?" if age is None else human_age(age)
    lines = [f"[{message['seq']}] Subject: {message['subject']} Received: {message['time']} ({ago} ago) "
             f"Size: {human_bytes(len(payload))}"]
    for name, values in headers_of(message).items():
        lines += [f"  {name}: {value}" for value in values]
    lines += ["", *payload_lines(payload, max_bytes), ""]
    return "\n".join(lines)


def payload_lines(payload, max_bytes):
    """JSON pretty-printed, text as is, anything else (or text with control characters) as a hex dump;
    longer than `max_bytes` (0: no limit) is cut, saying by how much."""
    if not payload:
        return ["(empty payload)"]
    text = as_text(payload)
    if text is not None and text.lstrip()[:1] in ("{", "["):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    if text is not None:
        body = text.encode()
        shown = body if not max_bytes else body[:max_bytes]
        lines = shown.decode("utf-8", "ignore").splitlines()
        rest = len(body) - len(shown)
    else:
        shown = payload if not max_bytes else payload[:max_bytes]
        lines = hex_dump(shown)
        rest = len(payload) - len(shown)
    if rest:
        lines.append(f"... {human_count(rest)} more bytes (--max-bytes {max_bytes})")
    return lines


def as_text(payload):
    """The payload as text if it is UTF-8 without control characters (which could drive the terminal)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in text):
        return None
    return text


def hex_dump(data):
    """hexdump -C: offset, 16 bytes in hex, the printable ones as ASCII."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<48}  |{ascii_}|")
    return lines
