"""Troubleshooting without nats-box: `check`, `consumers`, and the consumer columns of `ls` and `info`, against
real nats-servers (a single server, a 3-node cluster, and the port-forward of the test Kubernetes API)."""
import asyncio
import json
import time

import nats
import pytest

import probe
from cluster import NatsCluster
from kubeapi import fleet_layout, kube_api  # noqa: F401
from natsserver import NatsServer
from runner import run_cli


def lagging(url, fetched=3, published=20):
    """WORK (workqueue) with a durable pull consumer `worker` that was handed `fetched` messages and acked
    none, and EVENTS with a durable `idle` nobody reads: made to lag."""
    probe.add_stream(url, {"name": "WORK", "subjects": ["work.>"], "retention": "workqueue"})
    probe.add_consumer(url, "WORK", {"durable_name": "worker", "ack_policy": "explicit"})
    probe.add_stream(url, {"name": "EVENTS", "subjects": ["events.>"]})
    probe.add_consumer(url, "EVENTS", {"durable_name": "idle", "ack_policy": "explicit"})
    probe.publish(url, "work.job", count=published)
    probe.publish(url, "events.x", count=2)

    async def fetch():
        nc = await nats.connect(url)
        try:
            sub = await nc.jetstream().pull_subscribe("work.>", durable="worker", stream="WORK")
            assert len(await sub.fetch(fetched, timeout=5)) == fetched
        finally:
            await nc.close()

    asyncio.run(fetch())


@pytest.fixture(scope="module")
def lagged():
    with NatsServer() as server:
        lagging(server.url)
        yield server


def line_of(output, *start):
    return next(line.split() for line in output.splitlines() if line.split()[:len(start)] == list(start))


def test_lagging_consumer_shows_the_servers_counts_and_fails_check(lagged):
    url = lagged.url
    server_side = probe.api(url, "CONSUMER.INFO.WORK.worker")
    assert (server_side["num_pending"], server_side["num_ack_pending"]) == (17, 3)

    listed = run_cli("consumers", "--nats-url", url, "-o", "json", "--max-pending", "5")
    assert listed.returncode == 0, listed
    items = json.loads(listed.stdout)
    worker = next(i for i in items if i["name"] == "worker")
    assert (worker["num_pending"], worker["num_ack_pending"]) == (17, 3)
    assert worker["stream"] == "WORK" and worker["health"]["state"] == "behind"
    # worst first: nobody reads EVENTS/idle at all
    assert [(i["stream"], i["name"], i["health"]["state"]) for i in items] == [
        ("EVENTS", "idle", "no interest"), ("WORK", "worker", "behind")]

    table = run_cli("consumers", "--nats-url", url, "--max-pending", "5")
    assert table.stdout.split("\n")[0].split() == ["STREAM", "CONSUMER", "UNPROCESSED", "ACK", "PENDING",
                                                   "REDELIVERED", "WAITING", "LAST", "DELIVERED", "LAST", "ACK",
                                                   "STATE"]
    row = line_of(table.stdout, "WORK", "worker")
    assert row[2:6] == ["17", "3", "0", "0"] and row[-1] == "behind" and row[7] == "never"  # never acked

    checked = run_cli("check", "--nats-url", url, "--max-pending", "5")
    assert checked.returncode == 1, checked
    assert line_of(checked.stdout, "consumer", "WORK/worker")[2:5] == ["FAIL", "behind:", "17"]
    assert line_of(checked.stdout, "consumers")[1] == "FAIL"
    assert line_of(checked.stdout, "jetstream")[1] == "OK"

    as_json = run_cli("check", "--nats-url", url, "--max-pending", "5", "--max-ack-pending", "2", "-o", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    worker_check = next(c for c in report["checks"] if c["check"] == "consumer WORK/worker")
    assert (worker_check["num_pending"], worker_check["num_ack_pending"]) == (17, 3)

    # nothing changed on the server by looking
    assert probe.api(url, "CONSUMER.INFO.WORK.worker")["num_pending"] == 17


def test_thresholds_decide_and_idle_consumers_with_work_are_flagged(lagged):
    url = lagged.url
    wide = run_cli("consumers", "WORK", "--nats-url", url, "-o", "wide")
    assert wide.returncode == 0, wide
    assert line_of(wide.stdout, "WORK", "worker")[8] == "ok"  # 17 < --max-pending 1000
    assert "EVENTS" not in wide.stdout
    assert "pull" in wide.stdout and "explicit" in wide.stdout

    checked = run_cli("check", "--nats-url", url, "-o", "json")
    assert checked.returncode == 1  # EVENTS/idle: messages and no reader, whatever the thresholds
    failing = [c["check"] for c in json.loads(checked.stdout)["checks"] if c["status"] == "FAIL"]
    assert failing == ["consumers", "consumer EVENTS/idle"]

    names = run_cli("consumers", "--nats-url", url, "-o", "name", "--max-pending", "5")
    assert names.stdout.split() == ["consumer/EVENTS/idle", "consumer/WORK/worker"]


def test_ls_and_info_show_consumer_health(lagged):
    url = lagged.url
    listed = run_cli("ls", "--nats-url", url)
    assert listed.returncode == 0, listed
    assert "CONSUMER STATE" in listed.stdout.splitlines()[0]
    assert "1 no interest" in next(line for line in listed.stdout.splitlines() if line.startswith("EVENTS"))
    assert " ok " in next(line for line in listed.stdout.splitlines() if line.startswith("WORK"))

    info = run_cli("info", "WORK", "--nats-url", url)
    assert info.returncode == 0, info
    header = next(line for line in info.stdout.splitlines() if line.startswith("CONSUMER "))
    assert header.split() == ["CONSUMER", "UNPROCESSED", "ACK", "PENDING", "REDELIVERED", "WAITING", "LAST",
                              "DELIVERED", "LAST", "ACK", "STATE"]
    assert line_of(info.stdout, "worker")[1:3] == ["17", "3"]


def test_healthy_server_passes(nats_server):
    url = nats_server.url
    probe.add_stream(url, {"name": "ORDERS", "subjects": ["orders.>"], "max_bytes": 1 << 20})
    probe.add_consumer(url, "ORDERS", {"durable_name": "reader", "ack_policy": "explicit"})
    empty = run_cli("consumers", "--nats-url", url)
    assert line_of(empty.stdout, "ORDERS", "reader")[-1] == "ok"
    checked = run_cli("check", "--nats-url", url)
    assert checked.returncode == 0, checked
    rows = checked.stdout.splitlines()[1:]
    assert len(rows) == 6 and all(" OK " in row and "FAIL" not in row for row in rows)
    assert "not clustered" in checked.stdout
    report = json.loads(run_cli("check", "--nats-url", url, "-o", "json").stdout)
    assert report["ok"] is True and {c["check"] for c in report["checks"]} == {
        "jetstream", "meta leader", "memory", "storage", "streams", "consumers"}


def test_storage_over_the_account_limit_fails(tmp_path):
    config = ("accounts { APP { jetstream { max_memory: 1MB, max_file: 10KB }, "
              "users: [{user: app, password: secret}] } }")
    with NatsServer(config=config) as server:
        url = f"nats://app:secret@127.0.0.1:{server.port}"
        probe.add_stream(url, {"name": "BIG", "subjects": ["big"], "max_bytes": 10_000})
        probe.publish(url, "big", count=9, payload=b"x" * 1000)
        checked = run_cli("check", "--nats-url", url, "-o", "json")
        assert checked.returncode == 1, checked
        storage = next(c for c in json.loads(checked.stdout)["checks"] if c["check"] == "storage")
        assert storage["status"] == "FAIL" and storage["limit"] == 10240 and storage["percent"] >= 90
        assert run_cli("check", "--nats-url", url, "--max-usage", "100").returncode == 0


def test_consumers_past_one_page_and_ephemerals(nats_server):
    url = nats_server.url
    probe.add_stream(url, {"name": "MANY", "subjects": ["many.>"]})

    async def create():
        nc = await nats.connect(url)
        try:
            requests = [nc.request(f"$JS.API.CONSUMER.CREATE.MANY.c{i:03}", json.dumps(
                {"stream_name": "MANY", "config": {"durable_name": f"c{i:03}", "ack_policy": "explicit"}}).encode(),
                timeout=10) for i in range(300)]
            requests.append(nc.request("$JS.API.CONSUMER.CREATE.MANY", json.dumps(
                {"stream_name": "MANY", "config": {"ack_policy": "none", "inactive_threshold": 60_000_000_000}}
            ).encode(), timeout=10))
            replies = await asyncio.gather(*requests)
            assert all("error" not in json.loads(r.data) for r in replies)
        finally:
            await nc.close()

    asyncio.run(create())
    durable = run_cli("consumers", "--nats-url", url, "-o", "name")
    assert durable.returncode == 0, durable
    assert durable.stdout.split() == [f"consumer/MANY/c{i:03}" for i in range(300)]
    everything = run_cli("consumers", "MANY", "--nats-url", url, "--all", "-o", "json")
    kinds = [bool(c["config"].get("durable_name")) for c in json.loads(everything.stdout)]
    assert len(kinds) == 301 and kinds.count(False) == 1


def test_bad_thresholds_and_unreachable():
    for flags in (["--idle", "soon"], ["--idle", "0s"], ["--max-pending", "-1"]):
        result = run_cli("check", "--nats-url", "nats://127.0.0.1:9", *flags)
        assert result.returncode == 2 and flags[0] in result.stderr, result
    down = run_cli("check", "--nats-url", "nats://127.0.0.1:9", "--timeout", "1s")
    assert down.returncode == 3 and "cannot connect" in down.stderr
    missing = run_cli("consumers", "NOPE", "--nats-url", "nats://127.0.0.1:9", "--idle", "x")
    assert missing.returncode == 2


def test_jetstream_disabled_is_a_failed_check():
    with NatsServer(jetstream=False) as server:
        result = run_cli("check", "--nats-url", server.url)
        assert result.returncode == 1, result
        assert line_of(result.stdout, "jetstream")[1] == "FAIL" and "not enabled" in result.stdout
        assert run_cli("consumers", "--nats-url", server.url).returncode == 3


def test_cluster_meta_leader_and_replicas():
    with NatsCluster(name="chk") as cluster:
        probe.add_stream(cluster.url, {"name": "R3", "subjects": ["r3.>"], "num_replicas": 3})
        deadline = time.monotonic() + 30
        while True:  # an R3 stream needs a moment before every replica is current
            healthy = run_cli("check", "--nats-url", cluster.url, "-o", "json")
            if healthy.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert healthy.returncode == 0, healthy
        meta = next(c for c in json.loads(healthy.stdout)["checks"] if c["check"] == "meta leader")
        assert meta["status"] == "OK" and meta["cluster"] == "chk"

        cluster.nodes[1].stop()
        cluster.nodes[2].stop()
        deadline = time.monotonic() + 60
        while True:  # the survivor notices it lost its peers (and the meta leader) within seconds
            lost = run_cli("check", "--nats-url", cluster.url, "--timeout", "2s", "-o", "json")
            failing = {c["check"] for c in json.loads(lost.stdout or '{"checks": []}')["checks"]
                       if c["status"] == "FAIL"}
            if "meta leader" in failing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert lost.returncode == 1 and "meta leader" in failing, lost
        others = run_cli("ls", "--nats-url", cluster.url, "--timeout", "2s")
        assert others.returncode == 4 and "temporarily unavailable" in others.stderr, others


def test_check_and_consumers_through_the_port_forward(kube_api):  # noqa: F811
    with NatsServer() as server:
        lagging(server.url)
        fleet_layout(kube_api, "swe", ("127.0.0.1", server.port))
        env = {"KUBECONFIG": str(kube_api.kubeconfig(namespace="swe"))}
        checked = run_cli("check", "--max-pending", "5", "-v", env=env)
        assert checked.returncode == 1, checked
        assert "port-forward" in checked.stderr
        assert line_of(checked.stdout, "consumer", "WORK/worker")[2:5] == ["FAIL", "behind:", "17"]
        listed = run_cli("consumers", "WORK", "-o", "json", env=env)
        assert [(c["num_pending"], c["num_ack_pending"]) for c in json.loads(listed.stdout)] == [(17, 3)]
