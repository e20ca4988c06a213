"""health: the replica rule that `ls -o wide` (REPLICAS OK) and `check` share, on stream infos as nats-server
writes them."""
from kubectl_jetstream.commands.streamtable import cluster_cells
from kubectl_jetstream.health import replica_health, replica_problems, stream_checks


def info(num_replicas, leader="n1", replicas=()):
    return {"config": {"name": "S", "num_replicas": num_replicas},
            "cluster": {"name": "c", "leader": leader, "replicas": list(replicas)}}


CURRENT = {"name": "n2", "current": True, "active": 1000, "lag": 0}


def test_all_copies_current():
    healthy = info(3, replicas=[CURRENT, dict(CURRENT, name="n3")])
    assert replica_health(healthy) == ("n1", 3, 3)
    assert cluster_cells(healthy) == ["n1", "3/3"] and replica_problems(healthy) == []


def test_a_replica_missing_from_the_list_is_a_copy_short_in_both():
    short = info(3, replicas=[CURRENT])
    assert cluster_cells(short) == ["n1", "2/3"]
    assert replica_problems(short) == ["2 of 3 replicas known"]
    assert [c.status for c in stream_checks([short])] == ["FAIL", "FAIL"]


def test_lagging_offline_and_leaderless():
    lagging = info(3, replicas=[CURRENT, {"name": "n3", "current": False, "lag": 7}])
    assert cluster_cells(lagging) == ["n1", "2/3"]
    assert replica_problems(lagging) == ["replica n3 not current (7 behind)"]
    offline = info(3, replicas=[CURRENT, {"name": "n3", "current": True, "offline": True}])
    assert cluster_cells(offline) == ["n1", "2/3"] and replica_problems(offline) == ["replica n3 offline"]
    leaderless = info(3, leader="", replicas=[CURRENT])
    assert cluster_cells(leaderless) == ["-", "1/3"] and replica_problems(leaderless) == ["no leader"]


def test_single_copy_streams():
    assert cluster_cells(info(1)) == ["n1", "1/1"] and replica_problems(info(1)) == []
    standalone = {"config": {"name": "S", "num_replicas": 1}}  # a server outside a cluster lists no cluster
    assert cluster_cells(standalone, server_name="solo") == ["solo", "1/1"]
    assert replica_problems(standalone) == [] and replica_health(standalone) == ("", 0, 1)


def test_peers_still_listed_after_a_scale_down_to_one_copy_are_no_problem():
    # nats-server keeps listing the old peers for a moment after an R3 -> R1 update
    scaled_down = info(1, replicas=[CURRENT, {"name": "n3", "current": True, "offline": True}])
    assert replica_health(scaled_down) == ("n1", 1, 1)
    assert cluster_cells(scaled_down) == ["n1", "1/1"] and replica_problems(scaled_down) == []
