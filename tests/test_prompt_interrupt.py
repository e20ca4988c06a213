"""Ctrl-C at `Proceed? [y/N]` ends the command at once: exit 130, nothing changed, no Python noise.

The CLI runs on a real pseudo-terminal (so it asks) against a real nats-server; SIGINT is sent to it while
it waits for the answer.
"""
import os
import select
import signal
import subprocess
import time

import pytest

import probe
from runner import spawn_cli


def read_until(fd, marker, deadline):
    out = b""
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {marker!r} in time; got {out.decode(errors='replace')!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"ended before {marker!r}: {out.decode(errors='replace')!r}")
        out += chunk
    return out


def read_rest(fd):
    out = b""
    while select.select([fd], [], [], 0.5)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def interrupt_at_prompt(*args):
    """Run the CLI on a pseudo-terminal, send SIGINT at the prompt; (exit status, everything it printed)."""
    master, slave = os.openpty()
    proc = spawn_cli(*args, stdin=slave, stdout=slave, stderr=slave, text=False, start_new_session=True)
    os.close(slave)
    try:
        out = read_until(master, b"Proceed? [y/N]", time.monotonic() + 60)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)  # a hang catcher: it should end at once
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("still waiting for Enter 20 s after Ctrl-C") from None
        out += read_rest(master)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("command", [("purge", "KEEP"), ("init", "--prune")],
                         ids=lambda c: " ".join(c))
def test_ctrl_c_at_the_prompt_ends_the_command_and_changes_nothing(server, tmp_path, command):
    probe.add_stream(server.url, {"name": "KEEP", "subjects": ["keep.>"]})
    probe.publish(server.url, "keep.x", 3)
    folder = tmp_path / "streams.d"
    folder.mkdir()
    (folder / "other.yaml").write_text("name: OTHER\nsubjects: [other.>]\n")
    try:
        with probe.ApiRecorder(server.url) as recorder:
            status, output = interrupt_at_prompt(*command, "-f", folder, "--nats-url", server.url)
        assert status == 130, output
        assert "interrupted" in output and "nothing was changed" in output, output
        for noise in ("Traceback", "Warning", "Exception", "Task was destroyed", "never awaited"):
            assert noise not in output, output
        assert recorder.writes == []
        assert probe.message_counts(server.url) == {"KEEP": 3}
    finally:
        probe.api(server.url, "STREAM.DELETE.KEEP")
