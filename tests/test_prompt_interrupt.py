"""Ctrl-C at `Proceed? [y/N]` ends the command at once: exit 130, nothing changed, no Python noise.

The CLI runs on a real pseudo-terminal (so it asks) against a real nats-server; SIGINT is sent to it while
it waits for the answer.
"""
import signal

import pytest

import probe
from runner import Terminal


def interrupt_at_prompt(*args):
    """Run the CLI on a pseudo-terminal, send SIGINT at the prompt; (exit status, everything it printed)."""
    with Terminal(*args, start_new_session=True) as term:
        term.read_until(b"Proceed? [y/N]", timeout=60)
        term.proc.send_signal(signal.SIGINT)
        return term.wait(), term.text()  # wait's deadline is a hang catcher: it should end at once


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
