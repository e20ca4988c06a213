"""purge | delete | recreate | init --prune, and the guard in front of them, against a real nats-server."""
import json

import pytest

import probe
from runner import Terminal, run_cli


@pytest.fixture
def loaded(nats_server, tmp_path):
    """Two managed streams with messages on several subjects, and one unmanaged stream."""
    folder = tmp_path / "streams.d"
    folder.mkdir()
    (folder / "events.yaml").write_text("""
name: EVENTS
subjects: ["events.>"]
consumers:
  - durable_name: reader
    ack_policy: explicit
""")
    (folder / "jobs.yaml").write_text("name: JOBS\nsubjects: [jobs.>]\n")
    assert run_cli("init", "-f", folder, "--nats-url", nats_server.url).returncode == 0
    probe.add_stream(nats_server.url, {"name": "OTHER", "subjects": ["other.>"]})
    probe.publish(nats_server.url, "events.a", 5)
    probe.publish(nats_server.url, "events.b", 3)
    probe.publish(nats_server.url, "jobs.x", 4)
    probe.publish(nats_server.url, "other.y", 2)
    return nats_server.url, folder


def counts(url):
    return probe.message_counts(url)


def subjects_left(url, stream):
    info = probe.api(url, f"STREAM.INFO.{stream}", {"subjects_filter": ">"})
    return info["state"].get("subjects") or {}


def test_purge_whole_stream_reports_before_and_after(loaded):
    url, folder = loaded
    result = run_cli("purge", "EVENTS", "--yes", "--nats-url", url, "-f", folder)
    assert result.returncode == 0, result
    assert counts(url) == {"EVENTS": 0, "JOBS": 4, "OTHER": 2}
    assert "8 → 0" in result.stdout


def test_purge_asks_only_for_the_named_stream(loaded):
    """natscli's requests: the stream's info, the purge, the info after; no list of the whole account."""
    url, folder = loaded
    with probe.ApiRecorder(url) as recorder:
        result = run_cli("purge", "JOBS", "-y", "--nats-url", url, cwd=folder.parent)
    assert result.returncode == 0, result
    assert sorted(recorder.subjects) == ["$JS.API.STREAM.INFO.JOBS", "$JS.API.STREAM.INFO.JOBS",
                                         "$JS.API.STREAM.PURGE.JOBS"]
    assert counts(url) == {"EVENTS": 8, "JOBS": 0, "OTHER": 2} and "4 → 0" in result.stdout


def test_purge_of_names_no_stream_can_have_is_not_found_without_asking(loaded):
    url, folder = loaded
    with probe.ApiRecorder(url) as recorder:
        result = run_cli("purge", "a.b", "x y", "JOBS", "-y", "--nats-url", url, cwd=folder.parent, timeout=30)
    assert result.returncode == 4, result
    assert "a.b: stream a.b not found" in result.stderr and "x y: stream x y not found" in result.stderr
    assert sorted(recorder.subjects) == ["$JS.API.STREAM.INFO.JOBS", "$JS.API.STREAM.INFO.JOBS",
                                         "$JS.API.STREAM.PURGE.JOBS"]


def test_purge_by_subject(loaded):
    url, folder = loaded
    assert run_cli("purge", "EVENTS", "--subject", "events.a", "-y", "--nats-url", url).returncode == 0
    assert subjects_left(url, "EVENTS") == {"events.b": 3}


def test_purge_below_sequence(loaded):
    url, _ = loaded
    assert run_cli("purge", "EVENTS", "--seq", "6", "-y", "--nats-url", url).returncode == 0
    info = probe.api(url, "STREAM.INFO.EVENTS")
    assert info["state"]["messages"] == 3 and info["state"]["first_seq"] == 6


def test_purge_keep_newest(loaded):
    url, _ = loaded
    result = run_cli("purge", "EVENTS", "--keep", "2", "-y", "--nats-url", url, "-o", "json")
    assert result.returncode == 0, result
    record = json.loads(result.stdout)[0]
    assert record["before"]["messages"] == 8 and record["after"]["messages"] == 2
    assert subjects_left(url, "EVENTS") == {"events.b": 2}


def test_purge_seq_and_keep_together_is_a_usage_error(loaded):
    url, _ = loaded
    result = run_cli("purge", "EVENTS", "--seq", "2", "--keep", "1", "-y", "--nats-url", url)
    assert result.returncode == 2
    assert counts(url)["EVENTS"] == 8


def test_purge_all_touches_only_managed_streams(loaded):
    url, folder = loaded
    result = run_cli("purge", "--all", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 0, result
    assert counts(url) == {"EVENTS": 0, "JOBS": 0, "OTHER": 2}


def test_delete_removes_stream_and_consumers(loaded):
    url, folder = loaded
    result = run_cli("delete", "EVENTS", "--yes", "--nats-url", url, "-o", "yaml")
    assert result.returncode == 0, result
    assert "deleted" in result.stdout
    assert set(probe.streams(url)) == {"JOBS", "OTHER"}


def test_delete_all_leaves_unmanaged_alone(loaded):
    url, folder = loaded
    assert run_cli("delete", "--all", "--yes", "-f", folder, "--nats-url", url).returncode == 0
    assert set(probe.streams(url)) == {"OTHER"}


def test_recreate_gives_file_config_consumers_and_no_messages(loaded):
    url, folder = loaded
    config = probe.streams(url)["EVENTS"]["config"]
    config["max_msgs"] = 99  # drifted by hand
    probe.api(url, "STREAM.UPDATE.EVENTS", config)
    result = run_cli("recreate", "EVENTS", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 0, result
    info = probe.streams(url)["EVENTS"]
    assert info["state"]["messages"] == 0 and info["config"]["max_msgs"] == -1
    assert list(probe.consumers(url, "EVENTS")) == ["reader"]
    assert counts(url)["JOBS"] == 4


def test_recreate_refuses_undefined_names_before_anything(loaded):
    url, folder = loaded
    before = counts(url)
    result = run_cli("recreate", "EVENTS", "OTHER", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 2 and "OTHER" in result.stderr
    assert counts(url) == before


def test_not_found_is_exit_4_unless_ignored_and_others_still_processed(loaded):
    url, _ = loaded
    result = run_cli("purge", "NOPE", "JOBS", "--yes", "--nats-url", url)
    assert result.returncode == 4 and "NOPE" in result.stderr
    assert counts(url)["JOBS"] == 0
    ignored = run_cli("delete", "NOPE", "--yes", "--ignore-not-found", "--nats-url", url)
    assert ignored.returncode == 0, ignored


def test_server_refusal_deny_purge_is_exit_4_and_others_processed(loaded):
    url, _ = loaded
    probe.add_stream(url, {"name": "LOCKED", "subjects": ["locked.>"], "deny_purge": True, "deny_delete": True})
    probe.publish(url, "locked.x", 2)
    result = run_cli("purge", "LOCKED", "JOBS", "--yes", "--nats-url", url)
    assert result.returncode == 4, result
    assert "LOCKED" in result.stderr and "purge" in result.stderr.lower()
    assert counts(url)["LOCKED"] == 2 and counts(url)["JOBS"] == 0
    # deny_delete forbids deleting *messages*; the server still deletes the stream itself when asked.


def test_init_prune_deletes_only_unmanaged_streams_and_consumers(loaded):
    url, folder = loaded
    probe.add_consumer(url, "EVENTS", {"durable_name": "stale", "ack_policy": "explicit"})
    probe.add_consumer(url, "OTHER", {"durable_name": "keepme", "ack_policy": "explicit"})
    dry = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", url)
    assert dry.returncode == 0 and "delete" in dry.stdout
    assert "OTHER" in probe.streams(url)
    result = run_cli("init", "--prune", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 0, result
    assert set(probe.streams(url)) == {"EVENTS", "JOBS"}
    assert list(probe.consumers(url, "EVENTS")) == ["reader"]
    assert counts(url) == {"EVENTS": 8, "JOBS": 4}


@pytest.mark.parametrize("command", [
    ["purge", "EVENTS"], ["purge", "--all"], ["delete", "JOBS"], ["recreate", "EVENTS"], ["init", "--prune"],
])
def test_without_terminal_and_without_yes_refuses_and_changes_nothing(loaded, command):
    url, folder = loaded
    before = counts(url)
    result = run_cli(*command, "-f", folder, "--nats-url", url)
    assert result.returncode == 2, result
    assert "--yes" in result.stderr
    assert counts(url) == before
    assert list(probe.consumers(url, "EVENTS")) == ["reader"]


@pytest.mark.parametrize("command", [["purge", "EVENTS"], ["delete", "--all"], ["recreate", "--all"]])
def test_dry_run_never_changes_anything(loaded, command):
    url, folder = loaded
    before = counts(url)
    for extra in ([], ["--yes"]):
        result = run_cli(*command, "--dry-run", *extra, "-f", folder, "--nats-url", url)
        assert result.returncode == 0, result
        assert counts(url) == before


def run_on_pty(args, answer):
    """Run the CLI with stdin/stdout on a real pseudo-terminal and answer its question: (exit, output)."""
    with Terminal(*args) as term:
        term.read_until(b"[y/N]", timeout=60)
        term.write(answer + "\n")
        return term.wait(timeout=60), term.text()


def test_terminal_answer_no_aborts_with_exit_2(loaded):
    url, folder = loaded
    before = counts(url)
    code, output = run_on_pty(["purge", "EVENTS", "--nats-url", url], "n")
    assert "Proceed? [y/N]" in output and "EVENTS: 8 messages" in output
    assert code == 2 and counts(url) == before


def test_terminal_answer_yes_proceeds(loaded):
    url, folder = loaded
    code, output = run_on_pty(["purge", "EVENTS", "--nats-url", url], "y")
    assert code == 0, output
    assert counts(url)["EVENTS"] == 0


def test_shipped_purge_agent_responses_purges_only_it(nats_server):
    assert run_cli("init", "--nats-url", nats_server.url).returncode == 0
    probe.publish(nats_server.url, "agent.response.x", 3)
    probe.publish(nats_server.url, "agent.cmd.x", 2)
    result = run_cli("purge", "AGENT_RESPONSES", "--yes", "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    after = counts(nats_server.url)
    assert after["AGENT_RESPONSES"] == 0 and after["AGENT_COMMANDS"] == 2


def test_recreate_refused_by_the_server_leaves_the_stream_untouched(tmp_path):
    """The server cannot hold the new configuration: proven on a temporary stream before anything is deleted."""
    from natsserver import NatsServer

    with NatsServer(jetstream_config="max_memory_store: 1MB") as server:
        probe.add_stream(server.url, {"name": "SMALL", "subjects": ["small.>"], "storage": "file"})
        probe.add_consumer(server.url, "SMALL", {"durable_name": "c", "ack_policy": "explicit"})
        probe.publish(server.url, "small.a", 3)
        (tmp_path / "small.yaml").write_text("name: SMALL\nsubjects: [small.>]\nstorage: memory\nmax_bytes: 5MiB\n")
        result = run_cli("recreate", "SMALL", "--yes", "-f", tmp_path, "--nats-url", server.url)
        assert result.returncode == 4, result
        assert "untouched" in result.stderr and "insufficient" in result.stderr.lower()
        assert "3 → 0" not in result.stdout
        info = probe.streams(server.url)
        assert set(info) == {"SMALL"}  # no temporary stream left behind
        assert info["SMALL"]["state"]["messages"] == 3 and info["SMALL"]["config"]["storage"] == "file"
        assert list(probe.consumers(server.url, "SMALL")) == ["c"]


def test_recreate_whose_final_create_fails_puts_the_old_configuration_back(loaded):
    """The proof runs without subjects, so a subject another stream holds only fails the final create: the
    stream is then created again with its old configuration and consumers, and the output says so."""
    url, folder = loaded
    old = probe.streams(url)["EVENTS"]["config"]
    (folder / "events.yaml").write_text("name: EVENTS\nsubjects: [events.>, other.y]\nmax_msgs: 10\n")
    result = run_cli("recreate", "EVENTS", "--yes", "-f", folder, "--nats-url", url, "-o", "json")
    assert result.returncode == 4, result
    assert "old configuration" in result.stderr and "overlap" in result.stderr
    record = json.loads(result.stdout)[0]
    assert record["after"] == {"messages": 0, "bytes": 0} and "old configuration" in record["error"]
    info = probe.streams(url)["EVENTS"]
    assert info["config"]["subjects"] == old["subjects"] and info["config"]["max_msgs"] == -1
    assert list(probe.consumers(url, "EVENTS")) == ["reader"]


def test_recreate_never_deletes_a_stream_that_holds_the_trial_name(loaded):
    """The configuration is tried under EVENTS_kjs_check and that stream deleted afterwards: a stream of that
    name that the tool did not make is left alone, with its messages, and nothing else changes."""
    url, folder = loaded
    probe.add_stream(url, {"name": "EVENTS_kjs_check", "subjects": ["mine.>"]})
    probe.publish(url, "mine.a", 4)
    before = counts(url)
    result = run_cli("recreate", "EVENTS", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 4, result
    assert "EVENTS_kjs_check" in result.stderr and "untouched" in result.stderr
    assert counts(url) == before
    assert probe.streams(url)["EVENTS_kjs_check"]["config"]["subjects"] == ["mine.>"]
