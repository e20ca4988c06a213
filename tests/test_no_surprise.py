"""No surprise destruction: every command, run without --yes and without a terminal (stdin is a pipe, as in
CI or a script), leaves every message and every consumer where it was.

Destructive commands (purge, delete, recreate, init --prune) must refuse with exit 2; the others must not
destroy anything by contract. The server is a real nats-server with managed streams (with messages, a
consumer from the file and one added by hand) and an unmanaged stream.
"""
import pytest

import probe
from runner import run_cli

FILES = {
    "events.yaml": "name: EVENTS\nsubjects: [events.>]\nmax_age: 1d\nconsumers:\n"
                   "  - durable_name: reader\n    ack_policy: explicit\n",
    "jobs.yaml": "name: JOBS\nsubjects: [jobs.>]\n",
}
MESSAGES = {"events.a": 3, "events.b": 2, "jobs.x": 4, "other.y": 2}


def world_state(url):
    """{stream: (messages, first_seq, sorted consumers)} — what must not change."""
    out = {}
    for name, info in probe.streams(url).items():
        out[name] = (info["state"]["messages"], info["state"]["first_seq"],
                     sorted(probe.consumers(url, name)) if info["state"].get("consumer_count") else [])
    return out


def build(url, folder):
    for name in probe.streams(url):
        probe.api(url, f"STREAM.DELETE.{name}")
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    probe.add_consumer(url, "EVENTS", {"durable_name": "manual", "ack_policy": "explicit"})
    probe.add_stream(url, {"name": "OTHER", "subjects": ["other.>"]})
    probe.add_consumer(url, "OTHER", {"durable_name": "someone", "ack_policy": "none"})
    for subject, count in MESSAGES.items():
        probe.publish(url, subject, count)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("nosurprise") / "streams.d"
    path.mkdir()
    for name, text in FILES.items():
        (path / name).write_text(text)
    return path


@pytest.fixture
def world(server, folder):
    """The loaded server, rebuilt only if an earlier test changed it (so one failure does not cascade)."""
    expected = {"EVENTS": (5, 1, ["manual", "reader"]), "JOBS": (4, 1, []), "OTHER": (2, 1, ["someone"])}
    if world_state(server.url) != expected:
        build(server.url, folder)
    before = world_state(server.url)
    assert before == expected
    return server.url, folder, before


def run_without_terminal(*args, cwd):
    # input="" makes stdin a pipe: never a terminal, whatever pytest's own stdin is.
    return run_cli(*args, input="", cwd=cwd)


READS = [
    ("init",), ("init", "EVENTS"), ("init", "--dry-run"), ("diff",), ("ls",), ("ls", "-o", "wide"),
    ("ls", "-o", "json"), ("info", "EVENTS"), ("export",), ("export", "-d", "exported"), ("wait", "--timeout", "5s"),
    ("version",), ("purge", "EVENTS", "--dry-run"), ("delete", "--all", "--dry-run"),
    ("recreate", "EVENTS", "--dry-run"), ("init", "--prune", "--dry-run"), ("job", "init"), ("completion", "bash"),
    ("recreate", "EVENTS", "--keep-messages", "--dry-run"),
]
DESTRUCTIVE = [
    ("purge", "EVENTS"), ("purge", "--all"), ("purge", "EVENTS", "--keep", "1"),
    ("purge", "EVENTS", "--subject", "events.a"), ("purge", "OTHER"), ("delete", "EVENTS"), ("delete", "--all"),
    ("delete", "OTHER"), ("recreate", "EVENTS"), ("recreate", "--all"), ("init", "--prune"),
    ("recreate", "EVENTS", "--keep-messages"),
]


@pytest.mark.parametrize("command", READS, ids=lambda c: " ".join(c))
def test_non_destructive_commands_destroy_nothing(world, command, tmp_path):
    url, folder, before = world
    result = run_without_terminal(*command, "-f", folder, "--nats-url", url, cwd=tmp_path)
    assert result.returncode == 0, result  # diff too: the files match the server
    assert "Traceback" not in result.output
    assert world_state(url) == before, f"`{' '.join(command)}` changed the server"


@pytest.mark.parametrize("command", DESTRUCTIVE, ids=lambda c: " ".join(c))
def test_destructive_commands_refuse_without_yes_and_a_terminal(world, command, tmp_path):
    url, folder, before = world
    with probe.ApiRecorder(url) as recorder:
        result = run_without_terminal(*command, "-f", folder, "--nats-url", url, cwd=tmp_path)
    assert result.returncode == 2, result
    assert "--yes" in result.stderr and "no terminal" in result.stderr, result
    assert recorder.writes == [], recorder.writes
    assert world_state(url) == before, f"`{' '.join(command)}` changed the server"


def test_environment_cannot_say_yes(world, tmp_path):
    """No environment variable turns the guard off (a CI variable must not delete streams)."""
    url, folder, before = world
    for name in ("YES", "FORCE", "KUBECTL_JETSTREAM_YES", "NATS_YES", "CI"):
        result = run_cli("delete", "EVENTS", "-f", folder, "--nats-url", url, input="", cwd=tmp_path,
                         env={name: "1"})
        assert result.returncode == 2, (name, result)
    assert world_state(url) == before


# `init` is not destructive by contract, yet an in-place update that tightens a limit or changes retention
# makes the server drop messages at once: such updates are shown and confirmed like --prune.
LOSSY_EDITS = [
    ("max_msgs", "max_msgs: 2\n"),
    ("max_bytes", "max_bytes: 100\n"),
    ("max_msgs_per_subject", "max_msgs_per_subject: 1\n"),
    ("max_age", "max_age: 1s\n"),
    ("retention", "retention: interest\n"),
]


@pytest.fixture
def lossy(server, tmp_path):
    """A stream LOSSY with 5 messages, defined by tmp_path/streams.d/lossy.yaml; deleted afterwards."""
    folder = tmp_path / "streams.d"
    folder.mkdir()
    path = folder / "lossy.yaml"
    path.write_text("name: LOSSY\nsubjects: [lossy.>]\n")
    assert run_cli("init", "-f", folder, "--nats-url", server.url).returncode == 0
    probe.publish(server.url, "lossy.a", 5)
    yield path
    probe.api(server.url, "STREAM.DELETE.LOSSY")


@pytest.mark.parametrize("field, line", LOSSY_EDITS, ids=[f for f, _ in LOSSY_EDITS])
def test_init_does_not_silently_drop_messages_by_tightening_a_limit(server, lossy, field, line):
    import time

    lossy.write_text(lossy.read_text() + line)
    result = run_without_terminal("init", "-f", lossy.parent, "--nats-url", server.url, cwd=lossy.parent.parent)
    if field == "max_age":
        time.sleep(1.5)
    assert result.returncode == 2 and "--yes" in result.stderr, result
    assert "Traceback" not in result.output
    assert probe.message_counts(server.url)["LOSSY"] == 5, (field, result)


def test_init_applies_a_message_removing_update_with_yes(server, lossy):
    lossy.write_text(lossy.read_text() + "max_msgs: 2\n")
    refused = run_without_terminal("init", "-f", lossy.parent, "--nats-url", server.url, cwd=lossy.parent.parent)
    assert refused.returncode == 2 and "max_msgs 2 removes 3 of 5 messages" in refused.stderr
    applied = run_cli("init", "--yes", "-f", lossy.parent, "--nats-url", server.url)
    assert applied.returncode == 0, applied
    assert probe.message_counts(server.url)["LOSSY"] == 2
