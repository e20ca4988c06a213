"""recreate --keep-messages against a real nats-server: every message back byte for byte (subject, headers,
payload, sequence, timestamp), consumers at their place, a SIGKILL at any step survivable, --abort at any step.

One server for the module; each test has its own stream (and so its own backup)."""
import asyncio
import json
import time

import nats
import pytest

import probe
from natsserver import NatsServer
from runner import run_cli

SUBJECTS = 5


def setup(server, tmp_path, name, count, new_config, storage="file"):
    """A stream of `count` messages on 5 subjects with headers, and a streams.d folder giving it `new_config`."""
    subject = name.lower()
    probe.add_stream(server.url, {"name": name, "subjects": [f"{subject}.>"], "storage": storage,
                                  "allow_direct": True})  # probe.read_messages reads with DIRECT.GET
    probe.publish_fast(server.url, [f"{subject}.s{i}" for i in range(SUBJECTS)], count, headers={"H": "v"})
    deadline = time.monotonic() + 30
    while probe.message_counts(server.url)[name] < count:
        assert time.monotonic() < deadline, "messages not stored"
        time.sleep(0.05)
    folder = tmp_path / "streams.d"
    folder.mkdir(exist_ok=True)
    (folder / f"{subject}.yaml").write_text(
        f"name: {name}\nsubjects: ['{subject}.>']\nallow_direct: true\n{new_config}")
    return folder


def recreate(server, folder, name, *extra, env=None):
    return run_cli("recreate", name, "--keep-messages", "--yes", "-f", folder, "--nats-url", server.url, *extra,
                   env=env)


def ack(url, stream, durable, count):
    """A pull consumer with ack_policy all acknowledges the first `count` messages."""
    async def go():
        nc = await nats.connect(url)
        sub = await nc.jetstream().pull_subscribe_bind(durable, stream=stream)
        got = 0
        while got < count:
            msgs = await sub.fetch(min(500, count - got), timeout=10)
            got += len(msgs)
            await msgs[-1].ack_sync()
        await nc.close()
    asyncio.run(go())


def next_message(url, stream, durable):
    async def go():
        nc = await nats.connect(url)
        sub = await nc.jetstream().pull_subscribe_bind(durable, stream=stream)
        msg = (await sub.fetch(1, timeout=10))[0]
        await nc.close()
        return msg.metadata.sequence.stream, msg.data.decode()
    return asyncio.run(go())


def test_file_to_memory_keeps_every_message_and_the_consumer_resumes_after_its_ack_floor(server, tmp_path):
    folder = setup(server, tmp_path, "ORDERS", 20000,
                   "storage: memory\nconsumers:\n  - durable_name: reader\n    ack_policy: all\n")
    probe.add_consumer(server.url, "ORDERS", {"durable_name": "reader", "ack_policy": "all"})
    ack(server.url, "ORDERS", "reader", 7000)
    before = probe.read_messages(server.url, "ORDERS")
    result = recreate(server, folder, "ORDERS", "-o", "json")
    assert result.returncode == 0, result
    assert probe.read_messages(server.url, "ORDERS") == before  # subject, headers, payload, seq, time
    assert len(before) == 20000 and before[0][2]  # with headers
    info = probe.streams(server.url)
    assert "ORDERS_kjs_backup" not in info and info["ORDERS"]["config"]["storage"] == "memory"
    assert next_message(server.url, "ORDERS", "reader") == (7001, f"orders.s{7000 % SUBJECTS}-7000")
    record = json.loads(result.stdout)[0]
    assert record["after"]["messages"] == 20000
    assert [c["resumes_at"] for c in record["consumers"]] == [7001]
    steps = [s["step"] for s in record["steps"]]
    assert steps[0] == "backup" and steps[-1] == "backup deleted" and "deleted" in steps
    assert all(s["seconds"] >= 0 for s in record["steps"]) and record["window_ms"] >= 0
    assert "subjects unavailable for" in result.stderr and "ack floor 7,000 → resumes at 7,001" in result.stderr


def test_limits_to_workqueue_with_one_consumer(server, tmp_path):
    folder = setup(server, tmp_path, "JOBS", 20000,
                   "retention: workqueue\nconsumers:\n  - durable_name: worker\n    ack_policy: explicit\n")
    before = probe.read_messages(server.url, "JOBS")
    result = recreate(server, folder, "JOBS")
    assert result.returncode == 0, result
    info = probe.streams(server.url)["JOBS"]
    assert info["config"]["retention"] == "workqueue"
    assert probe.read_messages(server.url, "JOBS") == before
    assert list(probe.consumers(server.url, "JOBS")) == ["worker"]
    assert next_message(server.url, "JOBS", "worker") == (1, "jobs.s0-0")


STEPS = ["backup", "copy", "sealed", "verified", "deleted", "copy-back", "promoting", "promoted"]


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_then_the_same_command_finishes(server, tmp_path, step):
    name = f"KILL_{STEPS.index(step)}"
    folder = setup(server, tmp_path, name, 2000,
                   "storage: memory\nconsumers:\n  - durable_name: reader\n    ack_policy: all\n")
    probe.add_consumer(server.url, name, {"durable_name": "reader", "ack_policy": "all"})
    ack(server.url, name, "reader", 700)
    before = probe.read_messages(server.url, name)
    killed = recreate(server, folder, name, env={"KUBECTL_JETSTREAM_KILL_AT": step})
    assert killed.returncode == -9, killed
    if step == "deleted":  # the state is visible
        ls = run_cli("ls", "--nats-url", server.url)
        assert f"backup of {name} (step deleted)" in ls.stdout, ls
        info = run_cli("info", f"{name}_kjs_backup", "--nats-url", server.url)
        assert "step deleted" in info.stdout and "--abort" in info.stdout
        prune = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", server.url)
        assert "_kjs_backup" not in prune.stdout, prune  # never offered for deletion
    result = recreate(server, folder, name)
    assert result.returncode == 0, result
    assert probe.read_messages(server.url, name) == before
    assert probe.streams(server.url)[name]["config"]["storage"] == "memory"
    assert f"{name}_kjs_backup" not in probe.streams(server.url)
    assert next_message(server.url, name, "reader")[0] == 701


@pytest.mark.parametrize("step", ["backup", "copy", "deleted", "copy-back"])
def test_abort_at_each_step_puts_the_stream_back(server, tmp_path, step):
    name = f"ABORT_{step.replace('-', '_').upper()}"
    folder = setup(server, tmp_path, name, 2000, "storage: memory\n")
    probe.add_consumer(server.url, name, {"durable_name": "reader", "ack_policy": "all"})
    ack(server.url, name, "reader", 300)
    old = probe.streams(server.url)[name]["config"]
    before = probe.read_messages(server.url, name)
    assert recreate(server, folder, name, env={"KUBECTL_JETSTREAM_KILL_AT": step}).returncode == -9
    result = recreate(server, folder, name, "--abort")
    assert result.returncode == 0, result
    info = probe.streams(server.url)
    assert f"{name}_kjs_backup" not in info
    assert info[name]["config"]["storage"] == "file" and info[name]["config"]["subjects"] == old["subjects"]
    assert not info[name]["config"]["sealed"]
    assert probe.read_messages(server.url, name) == before
    assert next_message(server.url, name, "reader")[0] == 301


def test_stricter_limit_is_counted_and_refused_without_a_terminal(server, tmp_path):
    folder = setup(server, tmp_path, "STRICT", 2000, "storage: memory\nmax_msgs: 100\n")
    result = run_cli("recreate", "STRICT", "--keep-messages", "-f", folder, "--nats-url", server.url, input="")
    assert result.returncode == 2, result
    assert "max_msgs 100 removes 1900 of 2000 messages" in result.stderr
    assert set(probe.streams(server.url)) >= {"STRICT"} and "STRICT_kjs_backup" not in probe.streams(server.url)
    assert probe.streams(server.url)["STRICT"]["config"]["storage"] == "file"


def test_abort_without_a_migration_changes_nothing(server, tmp_path):
    folder = setup(server, tmp_path, "CALM", 10, "storage: memory\n")
    result = recreate(server, folder, "CALM", "--abort")
    assert result.returncode == 0 and "no migration to abort" in result.stdout
    assert probe.streams(server.url)["CALM"]["config"]["storage"] == "file"


def test_preflight_refuses_when_the_account_cannot_hold_the_copy(tmp_path):
    config = ("accounts { APP { jetstream { max_file: 1MB, max_mem: 1MB }, users: [{user: app, password: app}] } }\n"
              "no_auth_user: app\n")
    with NatsServer(config=config) as small:
        folder = setup(small, tmp_path, "BIG", 6000, "retention: workqueue\n")
        before = probe.read_messages(small.url, "BIG")
        result = recreate(small, folder, "BIG")
        assert result.returncode == 4, result
        assert "cannot hold the copy" in result.stderr and "file storage" in result.stderr
        assert set(probe.streams(small.url)) == {"BIG"}
        assert probe.read_messages(small.url, "BIG") == before


def test_consumer_positions_and_what_the_target_removes():
    from kubectl_jetstream.migrate import compare, consumer_positions, removed_by_target

    rows = consumer_positions([{"name": "a", "floor": 7000}, {"name": "c", "floor": 5}, {"name": "gone", "floor": 3}],
                              [{"durable_name": "a"}, {"durable_name": "b"},
                               {"durable_name": "c", "deliver_policy": "new"}])
    assert rows[0] == ("a", 7000, 7001, "")
    assert rows[1][2] is None and "new consumer" in rows[1][3]
    assert rows[2][2] is None and "cannot be placed" in rows[2][3]
    assert rows[3] == ("gone", 3, None, "not in the files: deleted")
    state = {"messages": 2000, "bytes": 10, "first_seq": 1}
    assert "removes 1900 of 2000" in removed_by_target({"name": "S", "max_msgs": 100}, state, [])
    assert removed_by_target({"name": "S", "storage": "memory"}, state, []) == ""
    assert "700 messages w has acknowledged" in removed_by_target(
        {"name": "S", "retention": "workqueue"}, state, [("w", 700, 701, "")])
    same = {"messages": 2, "first_seq": 1, "last_seq": 2, "bytes": 100}
    assert compare(same, dict(same), True) == ""
    assert "last_seq" in compare(same, dict(same, last_seq=3), True)
    assert compare(same, dict(same, bytes=100 - 2 * 16), False) == ""  # file -> memory, with headers
    assert "bytes" in compare(same, dict(same, bytes=99), False)


def test_a_message_deleted_after_it_was_copied_does_not_come_back(server, tmp_path):
    """The backup is made equal to the sealed stream: what left the stream after the copy (acknowledged on a
    workqueue, deleted by hand) is not resurrected."""
    folder = setup(server, tmp_path, "TRIM", 200, "storage: memory\n")
    assert recreate(server, folder, "TRIM", env={"KUBECTL_JETSTREAM_KILL_AT": "copy"}).returncode == -9
    for seq in (1, 2, 50):
        assert probe.api(server.url, "STREAM.MSG.DELETE.TRIM", {"seq": seq}).get("success")
    before = probe.read_messages(server.url, "TRIM")
    result = recreate(server, folder, "TRIM")
    assert result.returncode == 0, result
    assert probe.read_messages(server.url, "TRIM") == before and len(before) == 197


def test_bench_keep_runs(tmp_path):
    """bench/keep.py (make bench) on a few messages, so it cannot rot; no timing asserted."""
    import subprocess
    import sys

    from runner import REPO

    out = tmp_path / "keep.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "keep.py"), "--messages", "300", "--json", str(out),
                           "--store-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    assert results["after"]["messages"] == 300 and results["ratio"] > 0 and results["window_ms"] >= 0


def test_a_stream_not_on_the_server_is_created(server, tmp_path):
    (tmp_path / "new.yaml").write_text("name: FRESH\nsubjects: [fresh.>]\nstorage: memory\n")
    result = recreate(server, tmp_path, "FRESH")
    assert result.returncode == 0, result
    assert probe.streams(server.url)["FRESH"]["config"]["storage"] == "memory"


def test_deny_delete_turned_off_on_a_file_stream(server, tmp_path):
    """Same storage (the file does not name it): bytes must match exactly."""
    probe.add_stream(server.url, {"name": "DENY", "subjects": ["deny.>"], "deny_delete": True, "allow_direct": True})
    probe.publish_fast(server.url, ["deny.a"], 100, headers={"H": "v"})
    while probe.message_counts(server.url)["DENY"] < 100:
        time.sleep(0.05)
    before = probe.read_messages(server.url, "DENY")
    (tmp_path / "deny.yaml").write_text("name: DENY\nsubjects: [deny.>]\nallow_direct: true\n")
    result = recreate(server, tmp_path, "DENY")
    assert result.returncode == 0, result
    assert probe.streams(server.url)["DENY"]["config"]["deny_delete"] is False
    assert probe.read_messages(server.url, "DENY") == before


def test_a_copy_that_stops_before_the_seal_leaves_the_stream_untouched(tmp_path):
    """The server's own store limit (not in $JS.API.INFO) fills during the first copy: the backup goes, the
    stream was never sealed."""
    with NatsServer(jetstream_config="max_file_store: 1MB") as small:
        folder = setup(small, tmp_path, "FULL", 9000, "storage: memory\n")
        before = probe.read_messages(small.url, "FULL")
        result = recreate(small, folder, "FULL", env={"KUBECTL_JETSTREAM_STALL_SECONDS": "1"})
        assert result.returncode == 4, result
        assert "untouched" in result.stderr and "refused" in result.stdout
        info = probe.streams(small.url)
        assert set(info) == {"FULL"} and not info["FULL"]["config"]["sealed"]
        assert probe.read_messages(small.url, "FULL") == before


def test_a_stream_made_by_hand_in_the_backups_place_or_the_streams_is_left_alone(server, tmp_path):
    folder = setup(server, tmp_path, "HAND", 50, "storage: memory\n")
    probe.add_stream(server.url, {"name": "HAND_kjs_backup", "subjects": ["hand-backup.>"]})
    result = recreate(server, folder, "HAND")
    assert result.returncode == 2 and "is not a backup of HAND" in result.stderr, result
    probe.api(server.url, "STREAM.DELETE.HAND_kjs_backup")
    assert recreate(server, folder, "HAND", env={"KUBECTL_JETSTREAM_KILL_AT": "deleted"}).returncode == -9
    probe.add_stream(server.url, {"name": "HAND", "subjects": ["hand.>"]})  # someone ran init meanwhile
    result = recreate(server, folder, "HAND")
    assert result.returncode == 2 and "is left alone" in result.stderr, result
    assert probe.message_counts(server.url)["HAND_kjs_backup"] == 50
