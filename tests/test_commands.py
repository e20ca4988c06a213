"""init | diff | ls | info | export, driven as a subprocess against a real nats-server."""
import json

import pytest
import yaml

import probe
from runner import SHIPPED_STREAMS, run_cli

SHIPPED = {
    "PLANNING_EVENTS": ("planning.>", 30 * 86400, 1_000_000),
    "CONTEXT": ("context.>", 7 * 86400, 100_000),
    "ORCHESTRATOR_EVENTS": ("orchestration.>", 7 * 86400, 50_000),
    "AGENT_COMMANDS": ("agent.cmd.>", 3600, 10_000),
    "AGENT_RESPONSES": ("agent.response.>", 3600, 10_000),
    "AGENT_WORK": ("agent.work.>", 2 * 3600, 50_000),
    "WORKFLOW_EVENTS": ("workflow.>", 7 * 86400, 100_000),
    "task_derivation": ("task.derivation.>", 7 * 86400, 100_000),
}


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def streams_dir(tmp_path):
    folder = tmp_path / "streams.d"
    write(folder, "orders.yaml", """
name: ORDERS
description: orders placed
subjects: ["orders.>"]
storage: file
max_age: 1h
max_bytes: 10MiB
duplicate_window: 30s
consumers:
  - durable_name: billing
    ack_policy: explicit
    ack_wait: 45s
    filter_subject: orders.created
""")
    write(folder, "audit.json", json.dumps({"name": "AUDIT", "subjects": ["audit.*"], "max_msgs": 500,
                                            "storage": "memory"}))
    return folder


def test_shipped_streams_init_creates_exactly_the_swe_ai_fleet_streams(nats_server):
    result = run_cli("init", "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    streams = probe.streams(nats_server.url)
    assert set(streams) == set(SHIPPED)
    for name, (subject, age_s, max_msgs) in SHIPPED.items():
        config = streams[name]["config"]
        assert config["subjects"] == [subject]
        assert config["max_age"] == age_s * 10**9
        assert config["max_msgs"] == max_msgs
        assert (config["retention"], config["storage"], config["num_replicas"], config["discard"]) == \
               ("limits", "file", 1, "old")
        assert config.get("description")
    assert "create" in result.stdout and "PLANNING_EVENTS" in result.stdout


def test_second_init_sends_zero_writes_and_reports_unchanged(nats_server, streams_dir):
    first = run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    assert first.returncode == 0, first
    with probe.ApiRecorder(nats_server.url) as recorder:
        second = run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url, "-o", "json")
    assert second.returncode == 0, second
    assert recorder.subjects, "the recorder saw no API traffic at all"
    assert recorder.writes == []
    records = json.loads(second.stdout)
    assert {(r["stream"], r["consumer"]) for r in records} == {("ORDERS", None), ("ORDERS", "billing"), ("AUDIT", None)}
    assert {r["action"] for r in records} == {"unchanged"}


def test_init_applies_file_config_and_consumers(nats_server, streams_dir):
    assert run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url).returncode == 0
    streams = probe.streams(nats_server.url)
    orders = streams["ORDERS"]["config"]
    assert orders["max_age"] == 3600 * 10**9 and orders["max_bytes"] == 10 * 1024 * 1024
    assert orders["duplicate_window"] == 30 * 10**9
    assert streams["AUDIT"]["config"]["storage"] == "memory"
    billing = probe.consumers(nats_server.url, "ORDERS")["billing"]
    assert billing["ack_wait"] == 45 * 10**9 and billing["filter_subject"] == "orders.created"


def test_init_updates_in_place_and_shows_the_change(nats_server, streams_dir):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    text = (streams_dir / "orders.yaml").read_text().replace("max_age: 1h", "max_age: 30d")
    (streams_dir / "orders.yaml").write_text(text)
    result = run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert "update" in result.stdout and "max_age" in result.stdout and "30d" in result.stdout
    assert probe.streams(nats_server.url)["ORDERS"]["config"]["max_age"] == 30 * 86400 * 10**9


def test_init_resets_a_setting_the_file_leaves_out(nats_server, streams_dir):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    config = probe.streams(nats_server.url)["AUDIT"]["config"]
    config["max_bytes"] = 4096  # changed by hand on the server
    assert "error" not in probe.api(nats_server.url, "STREAM.UPDATE.AUDIT", config)
    assert run_cli("diff", "-f", streams_dir, "--nats-url", nats_server.url).returncode == 1
    assert run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url).returncode == 0
    assert probe.streams(nats_server.url)["AUDIT"]["config"]["max_bytes"] == -1


@pytest.mark.parametrize("edit, field", [
    (("storage: file", "storage: memory"), "storage"),
    (("description: orders placed", "description: orders placed\nretention: workqueue"), "retention"),
])
def test_immutable_change_is_a_replace_with_exit_4_and_no_write(nats_server, streams_dir, edit, field):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    path = streams_dir / "orders.yaml"
    path.write_text(path.read_text().replace(*edit))
    with probe.ApiRecorder(nats_server.url) as recorder:
        result = run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 4, result
    assert "replace" in result.stdout and field in result.output
    assert "kubectl jetstream recreate ORDERS" in result.stderr
    assert not [w for w in recorder.writes if "ORDERS" in w and "STREAM" in w]


def test_dry_run_plans_without_writing(nats_server, streams_dir):
    with probe.ApiRecorder(nats_server.url) as recorder:
        result = run_cli("init", "--dry-run", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert "create" in result.stdout and "dry run" in result.stdout
    assert recorder.writes == [] and probe.streams(nats_server.url) == {}


def test_init_named_stream_only(nats_server, streams_dir):
    result = run_cli("init", "AUDIT", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert set(probe.streams(nats_server.url)) == {"AUDIT"}
    unknown = run_cli("init", "NOPE", "-f", streams_dir, "--nats-url", nats_server.url)
    assert unknown.returncode == 2 and "NOPE" in unknown.stderr


def test_diff_exit_codes_and_unmanaged(nats_server, streams_dir):
    missing = run_cli("diff", "-f", streams_dir, "--nats-url", nats_server.url)
    assert missing.returncode == 1 and "ORDERS" in missing.stdout
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    probe.add_stream(nats_server.url, {"name": "STRAY", "subjects": ["stray.>"]})
    same = run_cli("diff", "-f", streams_dir, "--nats-url", nats_server.url)
    assert same.returncode == 0, same
    assert "STRAY" in same.stdout and "unmanaged" in same.stdout
    path = streams_dir / "orders.yaml"
    path.write_text(path.read_text().replace("max_bytes: 10MiB", "max_bytes: 20MiB"))
    changed = run_cli("diff", "-f", streams_dir, "--nats-url", nats_server.url)
    assert changed.returncode == 1
    assert "-max_bytes: 10MiB" in changed.stdout and "+max_bytes: 20MiB" in changed.stdout
    as_json = json.loads(run_cli("diff", "-f", streams_dir, "--nats-url", nats_server.url, "-o", "json").stdout)
    assert as_json["unmanaged"] == ["STRAY"]
    assert as_json["differences"][0]["changes"][0]["field"] == "max_bytes"


def test_ls_columns_and_managed_marks(nats_server, streams_dir):
    run_cli("init", "AUDIT", "-f", streams_dir, "--nats-url", nats_server.url)
    probe.add_stream(nats_server.url, {"name": "STRAY", "subjects": ["stray.>"]})
    probe.publish(nats_server.url, "audit.x", 3)
    result = run_cli("ls", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["NAME", "KIND", "SUBJECTS", "STORAGE", "REPLICAS", "MESSAGES"]
    assert "LAST MESSAGE" in lines[0]
    audit = next(line for line in lines if line.startswith("AUDIT"))
    assert " 3 " in audit and "memory" in audit
    assert "unmanaged" in next(line for line in lines if line.startswith("STRAY"))
    assert "missing" in next(line for line in lines if line.startswith("ORDERS"))


def test_ls_output_formats(nats_server, streams_dir):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    names = run_cli("ls", "-o", "name", "--nats-url", nats_server.url, cwd=streams_dir.parent)
    assert names.stdout.split() == ["stream/AUDIT", "stream/ORDERS"]
    items = json.loads(run_cli("ls", "-o", "json", "--nats-url", nats_server.url, cwd=streams_dir.parent).stdout)
    assert [i["name"] for i in items] == ["AUDIT", "ORDERS"]
    assert items[1]["config"]["max_age"] == 3600 * 10**9 and "messages" in items[1]["state"]
    assert items[1]["managed"] is True
    loaded = yaml.safe_load(run_cli("ls", "-o", "yaml", "--nats-url", nats_server.url, cwd=streams_dir.parent).stdout)
    assert {i["name"] for i in loaded} == {"AUDIT", "ORDERS"}
    wide = run_cli("ls", "-o", "wide", "--nats-url", nats_server.url)
    assert "RETENTION" in wide.stdout and "MAX AGE" in wide.stdout


def test_ls_and_init_page_through_300_streams(nats_server, tmp_path):
    folder = tmp_path / "many"
    for i in range(300):
        write(folder, f"s{i:03}.yaml", f"name: S{i:03}\nsubjects: [s{i:03}.>]\n")
    result = run_cli("init", "-f", folder, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert len(probe.streams(nats_server.url)) == 300
    with probe.ApiRecorder(nats_server.url) as recorder:
        names = run_cli("ls", "-o", "name", "-f", folder, "--nats-url", nats_server.url).stdout.split()
    assert len(names) == 300 and names[-1] == "stream/S299"
    assert recorder.subjects == ["$JS.API.STREAM.NAMES"]  # the names API, not every stream's info
    with probe.ApiRecorder(nats_server.url) as recorder:
        again = run_cli("init", "-f", folder, "--nats-url", nats_server.url)
    assert again.returncode == 0 and recorder.writes == []
    assert again.stdout.count("  unchanged") == 300 and "300 unchanged" in again.stdout


def test_info_shows_config_state_and_consumers(nats_server, streams_dir):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    probe.publish(nats_server.url, "orders.created", 2)
    text = run_cli("info", "ORDERS", "--nats-url", nats_server.url)
    assert text.returncode == 0, text
    assert "max_age: 1h" in text.stdout and "messages: 2" in text.stdout and "billing" in text.stdout
    data = json.loads(run_cli("info", "ORDERS", "--nats-url", nats_server.url, "-o", "json").stdout)
    assert data["config"]["name"] == "ORDERS" and data["state"]["messages"] == 2
    assert [c["name"] for c in data["consumers"]] == ["billing"]
    missing = run_cli("info", "NOPE", "--nats-url", nats_server.url)
    assert missing.returncode == 4 and "not found" in missing.stderr


def test_export_then_init_is_a_no_op(nats_server, streams_dir, tmp_path):
    run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    probe.add_stream(nats_server.url, {"name": "HAND", "subjects": ["hand.>"], "max_msgs_per_subject": 5,
                                       "allow_rollup_hdrs": True, "max_age": 90 * 10**9, "metadata": {"team": "x"}})
    probe.add_consumer(nats_server.url, "HAND", {"durable_name": "worker", "ack_policy": "explicit",
                                                 "max_deliver": 5, "backoff": [10**9, 5 * 10**9]})
    out = tmp_path / "exported"
    result = run_cli("export", "-d", out, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert sorted(p.name for p in out.iterdir()) == ["audit.yaml", "hand.yaml", "orders.yaml"]
    hand = yaml.safe_load((out / "hand.yaml").read_text())
    assert hand["max_age"] == "1m30s" and hand["consumers"][0]["durable_name"] == "worker"
    assert "_nats.ver" not in json.dumps(hand)
    with probe.ApiRecorder(nats_server.url) as recorder:
        again = run_cli("init", "-f", out, "--nats-url", nats_server.url)
    assert again.returncode == 0, again
    assert recorder.writes == []


def test_natscli_json_and_nack_resource_load(nats_server, tmp_path):
    folder = tmp_path / "mixed"
    info = {"config": {"name": "FROM_NATS", "subjects": ["n.>"], "retention": "limits", "max_age": 60 * 10**9,
                       "storage": "file", "num_replicas": 1, "discard": "old"},
            "created": "2026-01-01T00:00:00Z", "state": {"messages": 9}}
    write(folder, "natscli.json", json.dumps(info))
    write(folder, "nack.yaml", """
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: from-nack
spec:
  name: FROM_NACK
  subjects: ["k.>"]
  maxAge: 2h
  storage: memory
  servers: ["nats://elsewhere:4222"]
""")
    result = run_cli("init", "-f", folder, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    streams = probe.streams(nats_server.url)
    assert streams["FROM_NATS"]["config"]["max_age"] == 60 * 10**9
    assert streams["FROM_NACK"]["config"]["max_age"] == 2 * 3600 * 10**9
    assert streams["FROM_NACK"]["config"]["storage"] == "memory"
    assert "servers" in result.stderr and "warning" in result.stderr


@pytest.mark.parametrize("name, text, key", [
    ("typo.yaml", "name: T\nsubjects: [t.>]\nmax_mesgs: 5\n", "max_mesgs"),
    ("type.yaml", "name: T\nsubjects: [t.>]\nmax_msgs: lots\n", "max_msgs"),
    ("dur.yaml", "name: T\nsubjects: [t.>]\nmax_age: 30x\n", "max_age"),
    ("name.yaml", "name: 'BAD NAME'\nsubjects: [t.>]\n", "name"),
    ("cons.yaml", "name: T\nsubjects: [t.>]\nconsumers:\n  - ack_policy: explicit\n", "durable_name"),
])
def test_invalid_definitions_exit_2_name_file_and_key_and_write_nothing(nats_server, streams_dir, name, text, key):
    write(streams_dir, name, text)
    with probe.ApiRecorder(nats_server.url) as recorder:
        result = run_cli("init", "-f", streams_dir, "--nats-url", nats_server.url)
    assert result.returncode == 2, result
    assert name in result.stderr and key in result.stderr
    assert "Traceback" not in result.stderr
    assert recorder.writes == [] and probe.streams(nats_server.url) == {}


def test_unreachable_server_exits_3_with_one_line(tmp_path):
    from natsserver import free_port

    result = run_cli("ls", "--nats-url", f"nats://127.0.0.1:{free_port()}", "--timeout", "1s", cwd=tmp_path)
    assert result.returncode == 3, result
    assert result.stderr.count("\n") == 1 and "127.0.0.1" in result.stderr


def test_flags_work_after_the_subcommand_and_before(nats_server, streams_dir):
    before = run_cli("--nats-url", nats_server.url, "-f", streams_dir, "init", "-o", "json")
    assert before.returncode == 0, before
    after = run_cli("ls", "-o", "json", "--nats-url", nats_server.url)
    assert after.returncode == 0 and json.loads(after.stdout)


def test_shipped_streams_are_valid_and_one_file_each():
    files = sorted(p.name for p in SHIPPED_STREAMS.iterdir())
    assert len(files) == len(SHIPPED)
    result = run_cli("init", "--dry-run", "--nats-url", "nats://127.0.0.1:1", "--timeout", "1s")
    assert result.returncode == 3  # validation passed, then the connection failed


def test_sealed_stream_is_created_then_sealed_and_init_is_then_a_no_op(nats_server, tmp_path):
    folder = tmp_path / "sealed"
    write(folder, "archive.yaml", "name: ARCHIVE\nsubjects: [archive.>]\nsealed: true\n")
    result = run_cli("init", "-f", folder, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    assert probe.streams(nats_server.url)["ARCHIVE"]["config"]["sealed"] is True
    with probe.ApiRecorder(nats_server.url) as recorder:
        assert run_cli("init", "-f", folder, "--nats-url", nats_server.url).returncode == 0
    assert recorder.writes == []
