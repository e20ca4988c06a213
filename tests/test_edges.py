"""Issue 11's edges against a real nats-server, the CLI as a subprocess: purge arguments, --prune on interest
streams, export file names, diff's unmanaged consumers, ls/info on a standalone server, one sort order."""
import json

import pytest

import probe
from natsserver import NatsServer
from runner import run_cli


@pytest.fixture(scope="module")
def server():
    with NatsServer(name="solo") as s:
        yield s


def fresh(url, name, subjects, count=0, **config):
    """A stream (deleted first if an earlier test left it) with `count` messages on its first subject."""
    probe.api(url, f"STREAM.DELETE.{name}")
    probe.add_stream(url, {"name": name, "subjects": subjects, **config})
    if count:
        probe.publish(url, subjects[0].replace(">", "x").replace("*", "x"), count)


def only(url, *names):
    """Delete every stream but `names`: --prune deletes what no file defines, so each prune test starts clean."""
    for name in probe.streams(url):
        if name not in names:
            probe.api(url, f"STREAM.DELETE.{name}")


def write(folder, files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


# -- 1. purge arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [["--seq", "0"], ["--seq", "-3"], ["--keep", "-1"],
                                   ["--seq", str(2 ** 64)], ["--subject", "p1..x"], ["--subject", "p1.>.x"]])
def test_purge_bad_numbers_and_subjects_are_refused_before_the_server(server, flags):
    fresh(server.url, "P1", ["p1.>"], count=6)
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("purge", "P1", *flags, "--yes", "--nats-url", server.url)
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result
    assert recorder.subjects == []  # not even a lookup: the server was never asked anything
    assert probe.message_counts(server.url)["P1"] == 6


def test_purge_subject_matching_no_stream_subject_names_them(server):
    fresh(server.url, "P2", ["p2.a.>", "p2.b"], count=4)
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("purge", "P2", "--subject", "other.x", "--yes", "--nats-url", server.url)
    assert result.returncode == 2, result
    assert "p2.a.>" in result.stderr and "p2.b" in result.stderr and "P2" in result.stderr
    assert recorder.writes == []
    assert probe.message_counts(server.url)["P2"] == 4
    ok = run_cli("purge", "P2", "--subject", "p2.*.x", "--seq", "3", "--yes", "--nats-url", server.url)
    assert ok.returncode == 0, ok
    assert probe.message_counts(server.url)["P2"] == 2  # seq 1 and 2 went, 3 and 4 stay


def test_purge_subject_of_a_transformed_stream_is_accepted(server):
    fresh(server.url, "P3", ["p3.in.>"], subject_transform={"src": "p3.in.>", "dest": "p3.out.>"})
    probe.publish(server.url, "p3.in.a", 3)
    result = run_cli("purge", "P3", "--subject", "p3.out.a", "--yes", "--nats-url", server.url)
    assert result.returncode == 0, result
    assert probe.message_counts(server.url)["P3"] == 0


# -- 3. init --prune on interest streams ------------------------------------------------------------------
PRUNE_FILES = {"int.yaml": "name: INT\nsubjects: [int.>]\nretention: interest\nconsumers:\n"
                           "  - durable_name: c2\n    ack_policy: explicit\n    filter_subject: int.b\n"}


@pytest.fixture
def interest(server, tmp_path):
    """INT (interest): c1 (everything) and c2 (int.b); 40 messages on int.a only c1 wants, 5 on int.b."""
    only(server.url)
    fresh(server.url, "INT", ["int.>"], retention="interest")
    probe.add_consumer(server.url, "INT", {"durable_name": "c1", "ack_policy": "explicit"})
    probe.add_consumer(server.url, "INT", {"durable_name": "c2", "ack_policy": "explicit", "filter_subject": "int.b"})
    probe.publish(server.url, "int.a", 40)
    probe.publish(server.url, "int.b", 5)
    return write(tmp_path / "streams.d", PRUNE_FILES)


def test_prune_of_an_interest_consumer_counts_the_messages_and_refuses_without_terminal(server, interest):
    dry = run_cli("init", "--prune", "--dry-run", "-f", interest, "--nats-url", server.url)
    assert dry.returncode == 0 and "removes 40 messages" in dry.stderr, dry
    with probe.ApiRecorder(server.url) as recorder:
        refused = run_cli("init", "--prune", "-f", interest, "--nats-url", server.url)
    assert refused.returncode == 2, refused
    assert "INT: deleting consumer c1 of this interest stream removes 40 messages" in refused.stderr
    assert "--yes" in refused.stderr and recorder.writes == []
    assert probe.message_counts(server.url)["INT"] == 45
    done = run_cli("init", "--prune", "--yes", "-f", interest, "--nats-url", server.url)
    assert done.returncode == 0, done
    assert probe.message_counts(server.url)["INT"] == 5  # the count shown was the truth
    assert list(probe.consumers(server.url, "INT")) == ["c2"]


def test_prune_of_the_last_interest_consumer_counts_every_message(server, tmp_path):
    only(server.url)
    fresh(server.url, "INT2", ["int2.>"], retention="interest")
    probe.add_consumer(server.url, "INT2", {"durable_name": "only", "ack_policy": "explicit"})
    probe.publish(server.url, "int2.a", 7)
    folder = write(tmp_path / "d", {"i.yaml": "name: INT2\nsubjects: [int2.>]\nretention: interest\n"})
    dry = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", server.url)
    assert "removes 7 messages" in dry.stderr, dry


def test_prune_of_a_workqueue_consumer_keeps_its_messages_on_the_server(server, tmp_path):
    """The server keeps a work queue's messages for the next consumer: not a message-removing change."""
    only(server.url)
    fresh(server.url, "WQ", ["wq.>"], retention="workqueue")
    probe.add_consumer(server.url, "WQ", {"durable_name": "w1", "ack_policy": "explicit"})
    probe.publish(server.url, "wq.a", 6)
    folder = write(tmp_path / "d", {"w.yaml": "name: WQ\nsubjects: [wq.>]\nretention: workqueue\n"})
    dry = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", server.url)
    assert dry.returncode == 0 and "remove" not in dry.stderr, dry
    assert run_cli("init", "--prune", "--yes", "-f", folder, "--nats-url", server.url).returncode == 0
    assert probe.message_counts(server.url)["WQ"] == 6 and probe.consumers(server.url, "WQ") == {}
