"""Key-value buckets and object stores, made by nats-py's own KV and object store APIs, against a real
nats-server: shown by kind, never pruned as unmanaged streams."""
import asyncio
import json

import nats
import pytest

import probe
from natsserver import NatsServer
from runner import run_cli


@pytest.fixture(scope="module")
def server():
    with NatsServer() as s:
        yield s


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
