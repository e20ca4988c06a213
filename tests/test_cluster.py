"""Clustered JetStream: a real 3-node nats-server cluster on loopback (tests/cluster.py), reached directly and
through the fake Kubernetes API with one pod per node.

R3 streams are created through any node; `ls -o wide` shows the leader and replica health, `info` the
placement; num_replicas 1 -> 3 is an in-place update; a pod going away in the middle of `init` is survived.
"""
import json
import re
import time

import pytest

import probe
from cluster import NatsCluster
from runner import run_cli, spawn_cli
from kubeapi import FakeKubeAPI, fleet_layout


@pytest.fixture(scope="module")
def cluster():
    with NatsCluster() as c:
        yield c


@pytest.fixture
def nodes(cluster):
    """The cluster with no stream left by an earlier test."""
    for name in probe.streams(cluster.url):
        probe.api(cluster.url, f"STREAM.DELETE.{name}")
    return cluster


def write_streams(folder, replicas, names=("ORDERS", "AUDIT"), consumers=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = f"name: {name}\nsubjects: [{name.lower()}.>]\nnum_replicas: {replicas}\nmax_age: 1h\n"
        if consumers:
            text += f"consumers:\n  - durable_name: reader\n    ack_policy: explicit\n    num_replicas: {replicas}\n"
        (folder / f"{name.lower()}.yaml").write_text(text)
    return folder


def settled(url, name, replicas, timeout=15):
    """Stream info once the leader sees every replica current (an R3 stream needs a moment after create)."""
    deadline = time.monotonic() + timeout
    while True:
        info = probe.api(url, f"STREAM.INFO.{name}")
        peers = (info.get("cluster") or {}).get("replicas") or []
        if info.get("cluster", {}).get("leader") and len(peers) == replicas - 1 and \
                all(p.get("current") and not p.get("offline") for p in peers):
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} not settled: {info.get('cluster')}")
        time.sleep(0.1)


def test_init_creates_replicated_streams_through_any_node(nodes, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 3)
    result = run_cli("init", "-f", folder, "--nats-url", nodes.urls[2])
    assert result.returncode == 0, result
    for url in nodes.urls:  # every node sees the same replicated streams
        streams = probe.streams(url)
        assert set(streams) == {"ORDERS", "AUDIT"}
        assert {s["config"]["num_replicas"] for s in streams.values()} == {3}
    for name in ("ORDERS", "AUDIT"):
        info = settled(nodes.url, name, 3)
        assert {info["cluster"]["leader"], *(p["name"] for p in info["cluster"]["replicas"])} == \
               {n.name for n in nodes.nodes}
        assert probe.consumers(nodes.url, name)["reader"]["num_replicas"] == 3
    with probe.ApiRecorder(nodes.url) as recorder:  # and a second run, through another node, is a no-op
        again = run_cli("init", "-f", folder, "--nats-url", nodes.urls[1])
    assert again.returncode == 0 and recorder.writes == [], again


def test_ls_wide_shows_the_leader_and_replica_health(nodes, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 3, consumers=False)
    assert run_cli("init", "-f", folder, "--nats-url", nodes.url).returncode == 0
    leaders = {name: settled(nodes.url, name, 3)["cluster"]["leader"] for name in ("ORDERS", "AUDIT")}
    result = run_cli("ls", "-o", "wide", "-f", folder, "--nats-url", nodes.urls[1])
    assert result.returncode == 0, result
    header, *rows = result.stdout.splitlines()
    assert "LEADER" in header and "REPLICAS OK" in header
    columns = re.split(r"\s{2,}", header.strip())
    for row in rows:
        cells = re.split(r"\s{2,}", row.strip())
        record = dict(zip(columns, cells))
        assert record["REPLICAS"] == "3"
        assert record["LEADER"] == leaders[record["NAME"]]
        assert record["REPLICAS OK"] == "3/3"
    items = json.loads(run_cli("ls", "-o", "json", "--nats-url", nodes.url, cwd=tmp_path).stdout)
    assert {i["name"]: i["cluster"]["leader"] for i in items} == leaders


def test_info_shows_cluster_placement(nodes, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 3, names=("ORDERS",))
    assert run_cli("init", "-f", folder, "--nats-url", nodes.url).returncode == 0
    info = settled(nodes.url, "ORDERS", 3)
    result = run_cli("info", "ORDERS", "--nats-url", nodes.urls[2])
    assert result.returncode == 0, result
    text = result.stdout
    assert "Cluster:" in text and f"name: {nodes.name}" in text
    assert f"leader: {info['cluster']['leader']}" in text
    replicas = re.findall(r"replica: (\S+) (current|outdated|OFFLINE)", text)
    assert sorted(replicas) == sorted((p["name"], "current") for p in info["cluster"]["replicas"])
    as_json = json.loads(run_cli("info", "ORDERS", "-o", "json", "--nats-url", nodes.url).stdout)
    assert as_json["cluster"]["name"] == nodes.name and len(as_json["cluster"]["replicas"]) == 2


def test_one_replica_to_three_is_an_in_place_update(nodes, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 1, names=("ORDERS",), consumers=False)
    assert run_cli("init", "-f", folder, "--nats-url", nodes.url).returncode == 0
    created = probe.api(nodes.url, "STREAM.INFO.ORDERS")["created"]
    probe.publish(nodes.url, "orders.new", 5)
    write_streams(folder, 3, names=("ORDERS",), consumers=False)
    diff = run_cli("diff", "-f", folder, "--nats-url", nodes.url)
    assert diff.returncode == 1 and "@@ update @@" in diff.stdout, diff
    assert "-num_replicas: 1" in diff.stdout and "+num_replicas: 3" in diff.stdout
    result = run_cli("init", "-f", folder, "--nats-url", nodes.urls[1], "-o", "json")
    assert result.returncode == 0, result
    [record] = json.loads(result.stdout)
    assert (record["action"], record["result"]) == ("update", "updated"), record
    info = settled(nodes.url, "ORDERS", 3)
    assert info["config"]["num_replicas"] == 3
    assert info["created"] == created and info["state"]["messages"] == 5  # the same stream, not a new one
    assert run_cli("diff", "-f", folder, "--nats-url", nodes.url).returncode == 0


def test_a_replica_down_shows_in_ls_wide_and_info(nodes, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 3, names=("ORDERS",), consumers=False)
    assert run_cli("init", "-f", folder, "--nats-url", nodes.url).returncode == 0
    leader = settled(nodes.url, "ORDERS", 3)["cluster"]["leader"]
    victim = next(n for n in nodes.nodes if n.name != leader)
    survivor = next(n for n in nodes.nodes if n is not victim)
    victim.stop()
    try:
        deadline = time.monotonic() + 20
        while True:
            result = run_cli("ls", "-o", "wide", "--nats-url", survivor.url, cwd=tmp_path)
            if "2/3" in result.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert result.returncode == 0 and "2/3" in result.stdout, result
        info = run_cli("info", "ORDERS", "--nats-url", survivor.url)
        assert re.search(rf"replica: {victim.name} OFFLINE", info.stdout), info
    finally:
        victim.start()
        nodes.wait_ready()


# --- through Kubernetes: one pod per node -------------------------------------------------------------

@pytest.fixture
def kube(nodes):
    with FakeKubeAPI() as api:
        fleet_layout(api, "swe", [("127.0.0.1", n.port) for n in nodes.nodes], replicas=3)
        api.env = {"KUBECONFIG": api.kubeconfig(namespace="swe")}
        yield api


def test_three_pods_reach_the_three_nodes(nodes, kube, tmp_path):
    folder = write_streams(tmp_path / "streams.d", 3)
    result = run_cli("init", "-f", folder, "-v", env=kube.env)
    assert result.returncode == 0, result
    assert "port-forward" in result.stderr
    assert set(probe.streams(nodes.urls[2])) == {"ORDERS", "AUDIT"}
    settled(nodes.url, "ORDERS", 3)
    wide = run_cli("ls", "-o", "wide", "-f", folder, env=kube.env)
    assert wide.returncode == 0 and wide.stdout.count("3/3") == 2, wide
    # Every pod leads to its own node: make each one the only ready pod in turn; each answers for the cluster.
    for i in range(3):
        for j in range(3):
            kube.set_ready("swe", f"nats-{j}", i == j)
        out = run_cli("info", "ORDERS", "-o", "json", "-v", env=kube.env)
        assert out.returncode == 0, out
        assert f"pod nats-{i}" in out.stderr
        assert json.loads(out.stdout)["cluster"]["name"] == nodes.name
    assert {r.name for r in kube.calls("create", "pods/portforward")} >= {"nats-0", "nats-1", "nats-2"}


def test_pod_deleted_in_the_middle_of_init_is_survived(nodes, kube, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    names = [f"S{i:03}" for i in range(150)]
    for name in names:
        (folder / f"{name}.yaml").write_text(f"name: {name}\nsubjects: [{name.lower()}.>]\nnum_replicas: 3\n"
                                             "storage: memory\n")
    with probe.ApiRecorder(nodes.url) as recorder:
        proc = spawn_cli("init", "-f", folder, "-v", "--timeout", "20s", env=kube.env)
        deadline = time.monotonic() + 30
        while not any(".STREAM.CREATE." in s for s in recorder.subjects):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.002)
        in_use = [fw.pod for fw in kube.active_forwards()]
        assert len(in_use) == 1, in_use
        kube.delete_pod("swe", in_use[0])
        out, err = proc.communicate(timeout=90)
    forwarded = [r.name for r in kube.calls("create", "pods/portforward")]
    # It reconnected through another ready pod and finished (README: failure modes, "The pod in use is deleted").
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "switching to pod" in err, err
    # It came back through the port-forward, to another pod — not straight to a node address the cluster
    # advertised (from outside a real cluster those are unreachable pod IPs).
    assert forwarded[0] == in_use[0] and set(forwarded[1:]) - {in_use[0]}, forwarded
    assert set(probe.streams(nodes.url)) == set(names)
    with probe.ApiRecorder(nodes.url) as recorder:
        third = run_cli("init", "-f", folder, env=kube.env)
    assert third.returncode == 0 and recorder.writes == [], third


def test_keep_messages_on_r3_through_the_port_forward(nodes, kube, tmp_path):
    """recreate --keep-messages of an R3 file stream to R3 memory, through the Kubernetes port-forward."""
    probe.add_stream(nodes.url, {"name": "KEEP", "subjects": ["keep.>"], "num_replicas": 3, "allow_direct": True})
    settled(nodes.url, "KEEP", 3)
    probe.publish_fast(nodes.url, ["keep.a", "keep.b"], 500, headers={"H": "v"})
    deadline = time.monotonic() + 30
    while probe.message_counts(nodes.url)["KEEP"] < 500:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    before = probe.read_messages(nodes.url, "KEEP")
    (tmp_path / "keep.yaml").write_text("name: KEEP\nsubjects: [keep.>]\nnum_replicas: 3\nstorage: memory\n"
                                        "allow_direct: true\n")
    result = run_cli("recreate", "KEEP", "--keep-messages", "--yes", "-f", tmp_path, "-v", env=kube.env)
    assert result.returncode == 0, result
    assert "port-forward" in result.stderr
    info = settled(nodes.url, "KEEP", 3)
    assert info["config"]["storage"] == "memory" and info["config"]["num_replicas"] == 3
    assert probe.read_messages(nodes.url, "KEEP") == before
    assert "KEEP_kjs_backup" not in probe.streams(nodes.url)
