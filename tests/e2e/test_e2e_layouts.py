"""The shipped streams.d through the real port-forward path, for both Kubernetes layouts NATS is found in:
swe-ai-fleet's (headless Service `nats`, port `client`) and the NATS Helm chart's (Service `nats`, port `nats`
-> targetPort `nats`, plus `nats-headless` and a `nats-box` pod). Every effect is checked on the nats-server."""
import json
from pathlib import Path

import pytest
import yaml

import e2e_harness as harness
import probe

SHIPPED = harness.REPO / "streams.d"


def shipped_streams():
    names = {}
    for path in sorted(Path(SHIPPED).glob("*.y*ml")):
        doc = yaml.safe_load(path.read_text())
        names[doc["name"]] = doc
    assert names, f"no stream definitions in {SHIPPED}"
    return names


@pytest.mark.parametrize("layout", harness.LAYOUTS)
def test_init_ls_purge_diff(deploy, kjs, layout):
    dep = deploy(layout)
    shipped = shipped_streams()

    r = kjs(dep, "init", "-f", SHIPPED, "-v")
    assert r.returncode == 0, r
    assert "port-forward" in r.stderr and "nats-0" in r.stderr, r  # -v names the path taken
    if layout == "helm":
        assert "nats-box" not in r.stderr, r
    on_server = probe.streams(dep.url)
    assert sorted(on_server) == sorted(shipped)
    responses = on_server["AGENT_RESPONSES"]["config"]
    assert responses["subjects"] == ["agent.response.>"]

    r = kjs(dep, "ls", "-o", "json")
    assert r.returncode == 0, r
    listed = json.loads(r.stdout)
    text = json.dumps(listed)
    for name in shipped:
        assert name in text

    # purge AGENT_RESPONSES: its messages go, the other streams keep theirs
    probe.publish(dep.url, "agent.response.e2e", count=5)
    other = next(n for n in shipped if n != "AGENT_RESPONSES")
    probe.publish(dep.url, shipped[other]["subjects"][0].replace(">", "e2e").replace("*", "x"), count=2)
    assert probe.message_counts(dep.url)["AGENT_RESPONSES"] == 5
    r = kjs(dep, "purge", "AGENT_RESPONSES", "--yes")
    assert r.returncode == 0, r
    counts = probe.message_counts(dep.url)
    assert counts["AGENT_RESPONSES"] == 0
    assert counts[other] == 2

    # diff: in sync -> 0, sends no writes
    with probe.ApiRecorder(dep.url) as rec:
        r = kjs(dep, "diff", "-f", SHIPPED)
    assert r.returncode == 0, r
    assert rec.writes == []

    # someone changes the server -> diff exits 1 naming the field; init converges again
    cfg = dict(responses, max_msgs=5)
    assert "error" not in probe.api(dep.url, "STREAM.UPDATE.AGENT_RESPONSES", cfg)
    r = kjs(dep, "diff", "-f", SHIPPED)
    assert r.returncode == 1, r
    assert "AGENT_RESPONSES" in r.stdout and "max_msgs" in r.stdout, r
    r = kjs(dep, "init", "-f", SHIPPED)
    assert r.returncode == 0, r
    assert probe.streams(dep.url)["AGENT_RESPONSES"]["config"]["max_msgs"] == responses["max_msgs"]
    assert kjs(dep, "diff", "-f", SHIPPED).returncode == 0
