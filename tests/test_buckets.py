"""Key-value buckets and object stores, made by nats-py's own KV and object store APIs, against a real
nats-server: shown by kind, never pruned as unmanaged streams."""
import asyncio
import json

import nats
import pytest

import probe
from runner import run_cli


@pytest.fixture
def url(server):
    """A clean account for each test on the module's server."""
    for name in probe.streams(server.url):
        probe.api(server.url, f"STREAM.DELETE.{name}")
    return server.url


def nats_py(url, work):
    """Run `await work(js)` with a nats-py JetStream context."""
    async def go():
        nc = await nats.connect(url)
        try:
            return await work(nc.jetstream())
        finally:
            await nc.close()
    return asyncio.run(go())


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_prune_keeps_buckets_a_folder_of_streams_does_not_declare_and_ls_shows_their_kind(url, tmp_path):
    async def make(js):
        kv = await js.create_key_value(bucket="config", history=3)
        await kv.put("a", b"1")
        await js.create_object_store("files")
    nats_py(url, make)
    probe.add_stream(url, {"name": "BACKUP", "mirror": {"name": "KV_config"}})
    probe.add_stream(url, {"name": "STRAY", "subjects": ["stray.>"]})
    folder = write(tmp_path / "streams.d", "orders.yaml", "name: ORDERS\nsubjects: [orders.>]\n")

    result = run_cli("init", "--prune", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 0, result
    assert set(probe.streams(url)) == {"ORDERS", "KV_config", "OBJ_files", "BACKUP"}
    assert "KV_config" not in result.output and "OBJ_files" not in result.output

    table = run_cli("ls", "-f", folder, "--nats-url", url)
    assert table.returncode == 0, table
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "KIND"]
    kinds = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert kinds == {"BACKUP": "kv", "KV_config": "kv", "OBJ_files": "objects", "ORDERS": "stream"}
    names = run_cli("ls", "-o", "name", "--nats-url", url, cwd=tmp_path).stdout.split()
    assert names == ["stream/BACKUP", "kv/config", "obj/files", "stream/ORDERS"]
    items = json.loads(run_cli("ls", "-o", "json", "--nats-url", url, cwd=tmp_path).stdout)
    assert {i["name"]: i["kind"] for i in items}["KV_config"] == "kv"


NACK_FILE = """
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata: {name: orders}
spec:
  name: ORDERS
  subjects: ["orders.>"]
  storage: file
  maxAge: 1h
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata: {name: billing}
spec:
  streamName: ORDERS
  durableName: billing
  deliverPolicy: all
  ackPolicy: explicit
  ackWait: 45s
  filterSubject: orders.created
---
apiVersion: jetstream.nats.io/v1beta2
kind: Consumer
metadata: {name: audit}
spec:
  streamName: ORDERS
  durableName: audit
  deliverPolicy: byStartSequence
  optStartSeq: 1
  ackPolicy: none
---
apiVersion: jetstream.nats.io/v1beta2
kind: KeyValue
metadata: {name: config}
spec:
  bucket: config
  history: 5
  ttl: 1h
  maxBytes: 1048576
  storage: file
  replicas: 1
---
apiVersion: jetstream.nats.io/v1beta2
kind: ObjectStore
metadata: {name: files}
spec:
  bucket: files
  description: blobs
  maxBytes: 10485760
  storage: file
"""


def test_nack_multi_document_file_init_noop_export_diff(url, tmp_path):
    folder = write(tmp_path / "streams.d", "all.yaml", NACK_FILE)
    first = run_cli("init", "-f", folder, "--nats-url", url)
    assert first.returncode == 0, first
    streams = probe.streams(url)
    assert set(streams) == {"ORDERS", "KV_config", "OBJ_files"}
    assert set(probe.consumers(url, "ORDERS")) == {"billing", "audit"}
    assert probe.consumers(url, "ORDERS")["audit"]["deliver_policy"] == "by_start_sequence"
    with probe.ApiRecorder(url) as recorder:
        second = run_cli("init", "-f", folder, "--nats-url", url, "-o", "json")
    assert second.returncode == 0, second
    assert recorder.subjects and recorder.writes == []
    assert {r["action"] for r in json.loads(second.stdout)} == {"unchanged"}

    out = tmp_path / "exported"
    exported = run_cli("export", "-d", out, "--nats-url", url)
    assert exported.returncode == 0, exported
    assert sorted(p.name for p in out.iterdir()) == ["kv_config.yaml", "obj_files.yaml", "orders.yaml"]
    assert "kind: KeyValue" in (out / "kv_config.yaml").read_text()
    diff = run_cli("diff", "-f", out, "--nats-url", url)
    assert diff.returncode == 0, diff


def test_buckets_made_by_nats_py_are_unchanged_to_init(url, tmp_path):
    async def make(js):
        await js.create_key_value(bucket="config", history=5, ttl=3600, max_bytes=1024 * 1024,
                                  max_value_size=4096, description="settings")
        await js.create_object_store("files", config=nats.js.api.ObjectStoreConfig(description="blobs",
                                                                                  max_bytes=10 * 1024 * 1024))
    nats_py(url, make)
    folder = write(tmp_path / "streams.d", "buckets.yaml", """
kind: KeyValue
bucket: config
description: settings
history: 5
ttl: 1h
max_bytes: 1MiB
max_value_size: 4KiB
---
kind: ObjectStore
bucket: files
description: blobs
max_bytes: 10MiB
""")
    with probe.ApiRecorder(url) as recorder:
        result = run_cli("init", "-f", folder, "--nats-url", url, "-o", "json")
    assert result.returncode == 0, result
    assert {(r["stream"], r["action"]) for r in json.loads(result.stdout)} == \
           {("KV_config", "unchanged"), ("OBJ_files", "unchanged")}
    assert recorder.writes == []
    assert run_cli("diff", "-f", folder, "--nats-url", url).returncode == 0


def test_buckets_made_by_init_work_with_nats_py(url, tmp_path):
    folder = write(tmp_path / "streams.d", "buckets.yaml",
                   "kind: KeyValue\nbucket: config\nhistory: 3\n---\nkind: ObjectStore\nbucket: files\n")
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    config = probe.streams(url)["KV_config"]["config"]
    assert (config["subjects"], config["max_msgs_per_subject"], config["discard"], config["deny_delete"],
            config["allow_rollup_hdrs"], config["allow_direct"], config["duplicate_window"]) == \
           (["$KV.config.>"], 3, "new", True, True, True, 120 * 10**9)

    async def use(js):
        kv = await js.key_value("config")
        watcher = await kv.watchall()
        for value in (b"1", b"2", b"3", b"4"):
            await kv.put("color", value)
        got = (await kv.get("color")).value
        history = [e.value for e in await kv.history("color")]
        seen = []
        async for entry in watcher:
            if entry is None:
                continue
            seen.append(entry.value)
            if len(seen) == 4:
                break
        await watcher.stop()
        store = await js.object_store("files")
        await store.put("blob", b"x" * 300_000)
        blob = (await store.get("blob")).data
        return got, history, seen, len(blob)
    got, history, seen, size = nats_py(url, use)
    assert got == b"4" and history == [b"2", b"3", b"4"] and seen[-1] == b"4" and size == 300_000


def test_purge_delete_recreate_by_bucket_address(url, tmp_path):
    folder = write(tmp_path / "streams.d", "buckets.yaml", "kind: KeyValue\nbucket: config\n---\n"
                                                           "kind: ObjectStore\nbucket: files\n")
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0

    async def put(js):
        await (await js.key_value("config")).put("a", b"1")
    nats_py(url, put)
    purged = run_cli("purge", "kv/config", "--yes", "-f", folder, "--nats-url", url)
    assert purged.returncode == 0, purged
    assert probe.message_counts(url)["KV_config"] == 0
    deleted = run_cli("delete", "obj/files", "--yes", "-f", folder, "--nats-url", url)
    assert deleted.returncode == 0, deleted
    assert "OBJ_files" not in probe.streams(url)
    recreated = run_cli("recreate", "obj/files", "--yes", "-f", folder, "--nats-url", url)
    assert recreated.returncode == 0, recreated
    assert probe.streams(url)["OBJ_files"]["config"]["subjects"] == ["$O.files.C.>", "$O.files.M.>"]
    recreated = run_cli("recreate", "kv/config", "--yes", "-f", folder, "--nats-url", url)
    assert recreated.returncode == 0, recreated
    assert probe.streams(url)["KV_config"]["config"]["subjects"] == ["$KV.config.>"]
    info = run_cli("info", "kv/config", "--nats-url", url)
    assert info.returncode == 0 and "kind: KeyValue" in info.stdout, info


def test_prune_deletes_buckets_only_of_a_declared_kind_and_lists_them(url, tmp_path):
    async def make(js):
        await js.create_key_value(bucket="old")
        await js.create_object_store("keep")
    nats_py(url, make)
    folder = write(tmp_path / "streams.d", "kv.yaml", "kind: KeyValue\nbucket: config\n")
    refused = run_cli("init", "--prune", "-f", folder, "--nats-url", url)
    assert refused.returncode == 2 and "KV_old" in refused.stderr, refused
    assert "KV_old" in probe.streams(url)
    result = run_cli("init", "--prune", "--yes", "-f", folder, "--nats-url", url)
    assert result.returncode == 0, result
    assert set(probe.streams(url)) == {"KV_config", "OBJ_keep"}


def test_a_bucket_changed_by_hand_is_a_difference(url, tmp_path):
    folder = write(tmp_path / "streams.d", "kv.yaml", "kind: KeyValue\nbucket: config\nhistory: 2\n")
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    config = probe.streams(url)["KV_config"]["config"]
    probe.api(url, "STREAM.UPDATE.KV_config", dict(config, max_msgs_per_subject=9))
    diff = run_cli("diff", "-f", folder, "--nats-url", url)
    assert diff.returncode == 1 and "max_msgs_per_subject" in diff.stdout, diff
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    assert probe.streams(url)["KV_config"]["config"]["max_msgs_per_subject"] == 2


def test_mirrored_sourced_and_compressed_buckets_round_trip(url, tmp_path):
    folder = write(tmp_path / "streams.d", "kv.yaml", """
kind: KeyValue
bucket: config
history: 5
ttl: 1h
---
kind: KeyValue
bucket: replica
mirror: {name: config}
---
kind: KeyValue
bucket: merged
sources: [{name: config}]
compression: true
limit_marker_ttl: 5m
direct: false
metadata: {team: a}
---
kind: ObjectStore
bucket: files
compression: true
ttl: 30m
metadata: {team: b}
""")
    assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    streams = probe.streams(url)
    assert streams["KV_replica"]["config"]["mirror"]["name"] == "KV_config"
    assert streams["KV_merged"]["config"]["sources"][0]["subject_transforms"] == \
        [{"src": "$KV.config.>", "dest": "$KV.merged.>"}]
    assert streams["KV_merged"]["config"]["subject_delete_marker_ttl"] == 300 * 10**9
    with probe.ApiRecorder(url) as recorder:
        assert run_cli("init", "-f", folder, "--nats-url", url).returncode == 0
    # The server's mirror and source of KV_config create their own consumers on it; the files define none.
    assert [w for w in recorder.writes if not w.startswith("$JS.API.CONSUMER.CREATE.KV_config")] == []
    out = tmp_path / "exported"
    assert run_cli("export", "-d", out, "--nats-url", url).returncode == 0
    assert "mirror:\n  name: config\n" in (out / "kv_replica.yaml").read_text()
    diff = run_cli("diff", "-f", out, "--nats-url", url)
    assert diff.returncode == 0, diff
