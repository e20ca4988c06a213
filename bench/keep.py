#!/usr/bin/env python3
"""`recreate --keep-messages` benchmark (issue 14): `make bench` runs it after bench/run.py, or
`python bench/keep.py [--messages N] [--size BYTES] [--store-dir DIR] [--json PATH]`.

On its own nats-server: a file stream of N messages (default 1,000,000 of 100 bytes, on 5 subjects), then
  floor    the server sourcing that stream into a new one (`sources: [{name: BENCH}]`), timed until it holds
           every message: the least one copy costs on this machine (the migration makes two: to the backup
           and back)
  migrate  `kubectl-jetstream recreate BENCH --keep-messages --yes -o json` to `storage: memory`, timed as a
           user runs it, with the window (publishes failing) it reports
and prints the ratio migrate / floor. Writes bench/keep_results.json.
"""
import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

import nats  # noqa: E402

from natsserver import NatsServer  # noqa: E402


async def api(nc, subject, payload=None):
    msg = await nc.request("$JS.API." + subject, json.dumps(payload).encode() if payload is not None else b"",
                           timeout=30)
    reply = json.loads(msg.data)
    if "error" in reply:
        raise RuntimeError(f"{subject}: {reply['error']}")
    return reply


async def fill(url, count, size):
    nc = await nats.connect(url)
    await api(nc, "STREAM.CREATE.BENCH", {"name": "BENCH", "subjects": ["bench.>"], "storage": "file"})
    payload = b"x" * size
    for i in range(count):
        await nc.publish(f"bench.s{i % 5}", payload)
        if i % 10000 == 9999:
            await nc.flush()
    await nc.flush()
    await wait_for(nc, "BENCH", count)
    await nc.close()


async def wait_for(nc, stream, count, timeout=600):
    deadline = time.monotonic() + timeout
    while (await api(nc, f"STREAM.INFO.{stream}"))["state"]["messages"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{stream} did not reach {count} messages")
        await asyncio.sleep(0.01)


async def floor(url, count):
    """Seconds the server takes to source BENCH into a new stream."""
    nc = await nats.connect(url)
    start = time.perf_counter()
    await api(nc, "STREAM.CREATE.FLOOR", {"name": "FLOOR", "storage": "memory", "sources": [{"name": "BENCH"}]})
    await wait_for(nc, "FLOOR", count)
    seconds = time.perf_counter() - start
    await api(nc, "STREAM.DELETE.FLOOR")
    await nc.close()
    return seconds


def migrate(url, folder):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kubectl_jetstream", "recreate", "BENCH", "--keep-messages",
                           "--yes", "-o", "json", "-f", str(folder), "--nats-url", url],
                          capture_output=True, text=True, cwd=REPO, timeout=1800)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"recreate --keep-messages failed ({proc.returncode}): {proc.stderr}")
    return seconds, json.loads(proc.stdout)[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100, help="payload bytes")
    parser.add_argument("--store-dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--json", default=str(BENCH / "keep_results.json"))
    args = parser.parse_args(argv)
    store = tempfile.mkdtemp(prefix="kjs-keep-", dir=args.store_dir)
    with NatsServer(store_dir=store) as server:
        print(f"filling BENCH with {args.messages:,} messages of {args.size} bytes ...", file=sys.stderr)
        asyncio.run(fill(server.url, args.messages, args.size))
        floor_s = asyncio.run(floor(server.url, args.messages))
        folder = Path(tempfile.mkdtemp(prefix="kjs-keep-files-"))
        (folder / "bench.yaml").write_text("name: BENCH\nsubjects: [bench.>]\nstorage: memory\n")
        migrate_s, record = migrate(server.url, folder)
    results = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "loadavg": os.getloadavg()},
        "messages": args.messages, "size": args.size, "floor_s": round(floor_s, 3),
        "migrate_s": round(migrate_s, 3), "ratio": round(migrate_s / floor_s, 2), "window_ms": record["window_ms"],
        "steps": record["steps"], "after": record["after"],
    }
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"| recreate --keep-messages, {args.messages:,} x {args.size} B, file -> memory | {migrate_s:.2f} s | "
          f"{results['ratio']}x the server sourcing it once ({floor_s:.2f} s) | window {record['window_ms']} ms |")
    return 0 if record["after"]["messages"] == args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
