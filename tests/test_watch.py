"""`ls --watch`: a real nats-server, the CLI as a subprocess on a pipe and on a pseudo-terminal, ended by SIGINT
(Ctrl-C) with exit 0."""
import queue
import signal
import subprocess
import threading
import time

import probe
from runner import Terminal, run_cli, spawn_cli

DEADLINE = 30  # generous: only catches a hang


def start(cwd, *args, **popen):
    """Run in `cwd` (no streams.d there, so no STATUS column)."""
    return spawn_cli("ls", "--watch", *args, cwd=cwd, **popen)


def test_watch_prints_changed_lines_when_piped_and_ctrl_c_is_exit_0(nats_server, tmp_path):
    url = nats_server.url
    probe.add_stream(url, {"name": "ORDERS", "subjects": ["orders.>"]})
    probe.add_stream(url, {"name": "QUIET", "subjects": ["quiet.>"]})
    probe.publish(url, "orders.new", count=3)
    proc = start(tmp_path, "--interval", "200ms", "--nats-url", url, stdin=None)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()

    def next_line(predicate):
        deadline = time.monotonic() + DEADLINE
        seen = []
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if predicate(line):
                return line, seen
        raise AssertionError(f"no such line in {seen}")

    try:
        header, _ = next_line(lambda line: line.startswith("NAME"))
        assert header.split()[-2:] == ["MSGS/S", "BYTES/S"]
        first, _ = next_line(lambda line: line.startswith("ORDERS"))
        assert first.split()[5] == "3" and first.split()[-2:] == ["-", "-"]
        probe.publish(url, "orders.new", count=5, payload=b"x" * 100)
        grown, seen = next_line(lambda line: line.startswith("ORDERS") and line.split()[5] == "8")
        assert grown.split()[-2] != "0.0" and grown.split()[-1].endswith("/s")
        assert not any(line.startswith("NAME") for line in seen)  # one header, then plain lines
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(DEADLINE)
    assert code == 0, proc.stderr.read()


def test_watch_redraws_in_place_on_a_terminal(nats_server, tmp_path):
    url = nats_server.url
    probe.add_stream(url, {"name": "ORDERS", "subjects": ["orders.>"]})
    with Terminal("ls", "--watch", "--interval", "100ms", "-o", "wide", "--nats-url", url, cwd=tmp_path,
                  stdin=None, stderr=subprocess.PIPE) as term:
        term.read_until(lambda out: out.count(b"\x1b[H\x1b[2J") >= 3, timeout=DEADLINE)
        term.proc.send_signal(signal.SIGINT)
        code = term.wait(DEADLINE)
        assert code == 0, term.proc.stderr.read()
    out = term.output
    assert b"Every 100ms: kubectl jetstream ls -o wide" in out and b"MSGS/S" in out and b"LEADER" in out


def test_watch_bad_flags():
    for flags, named in ((["--interval", "soon"], "--interval"), (["--interval", "0s"], "--interval"),
                         (["-o", "json"], "--watch")):
        result = run_cli("ls", "-w", "--nats-url", "nats://127.0.0.1:9", *flags)
        assert result.returncode == 2 and named in result.stderr, result
