"""ls --watch: list again every --interval with message and byte rates, like `kubectl get -w`.

On a terminal the table is redrawn in place (as watch(1) does); otherwise the first table is printed whole and
then one plain line for each stream whose row changed, so a pipe or a log gets only what happened.
"""
import asyncio
import time
from datetime import datetime

from ..errors import UsageError
from ..output import table_text
from ..plan import name_order
from ..units import human_bytes, parse_duration_flag
from .streamtable import table_rows

RATE_HEADERS = ["msgs/s", "bytes/s"]
CLEAR = "\x1b[H\x1b[2J"  # cursor home, erase the screen


def watch_interval(args):
    """--interval in seconds; --watch with -o json|yaml|name is refused (exit 2) before connecting."""
    if args.output in ("json", "yaml", "name"):
        raise UsageError(f"--watch shows the table: use it without -o, or with -o wide (not -o {args.output})")
    return parse_duration_flag(args.interval, "--interval")


def rates(before, after):
    """(messages/s, bytes/s) between two (monotonic seconds, stream state) samples, or None for the first.

    Messages count what was published (the last sequence moved), so a stream at its limits that drops as
    many as it gets still shows its traffic. Bytes are the stored bytes' growth when nothing was removed in
    between, else the published count times the stream's mean message size."""
    if before is None or after[0] <= before[0]:
        return None
    seconds = after[0] - before[0]
    old, new = before[1], after[1]
    published = max(0, int(new.get("last_seq") or 0) - int(old.get("last_seq") or 0))
    grown = int(new.get("messages") or 0) - int(old.get("messages") or 0)
    if grown == published:
        size = max(0, int(new.get("bytes") or 0) - int(old.get("bytes") or 0))
    else:
        messages = int(new.get("messages") or 0)
        size = published * (int(new.get("bytes") or 0) / messages if messages else 0)
    return published / seconds, size / seconds


def rate_cells(rate):
    if rate is None:
        return ["-", "-"]
    return [f"{rate[0]:.1f}", f"{human_bytes(rate[1])}/s"]


async def watch(ctx, args, specs, interval):
    terminal = ctx.stdout.isatty()
    wide = args.output == "wide"
    samples, printed = {}, {}
    async with ctx.jetstream() as js:
        while True:
            server = await js.snapshot()
            now = time.monotonic()
            infos = sorted(server.values(), key=lambda i: name_order(i["config"]["name"]))
            current = {i["config"]["name"]: (now, i.get("state") or {}) for i in infos}

            def extra(info):
                name = info["config"]["name"]
                return rate_cells(rates(samples.get(name), current[name]))

            headers, rows = table_rows(infos, specs, wide=wide, extra_headers=RATE_HEADERS, extra=extra,
                                       server_name=js.server_name)
            samples = current
            text = table_text(headers, rows) if rows else "No streams found."
            if terminal:
                title = f"Every {args.interval}: kubectl jetstream ls" + (" -o wide" if wide else "")
                ctx.stdout.write(f"{CLEAR}{title}    {datetime.now():%Y-%m-%d %H:%M:%S}\n\n{text}\n")
                ctx.stdout.flush()
            else:
                print_changes(ctx, headers, rows, text, printed)
            await asyncio.sleep(interval)


def print_changes(ctx, headers, rows, text, printed):
    """The whole table the first time, then the line of each stream whose row changed (the LAST MESSAGE
    age alone, which grows every second, is not a change)."""
    lines = text.splitlines()
    age = headers.index("last message")
    if None not in printed:  # the first listing
        printed[None] = True
        ctx.echo(text)
    else:
        for row, line in zip(rows, lines[1:]):
            key = row[:age] + row[age + 1:]
            if printed.get(row[0]) != key:
                ctx.echo(line)
    for row in rows:
        printed[row[0]] = row[:age] + row[age + 1:]
