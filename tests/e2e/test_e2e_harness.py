"""The harness itself, before the plugin is involved: the apiserver is real, and the real kubectl's
port-forward reaches the nats-server behind a pod (kwok ClusterPortForward + the apiserver's portforward proxy)."""
import json
import os
import subprocess

import pytest

import e2e_harness as harness
import probe
from natsserver import nats_server_binary


def test_apiserver_is_real(cluster):
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    if cluster.mode == "local":
        assert version["gitVersion"].startswith("v1.34."), version
    # RBAC is on: an unknown user is refused, the admin is allowed.
    assert cluster.kubectl("auth", "can-i", "create", "pods/portforward", "-A").stdout.strip() == "yes"


@pytest.mark.parametrize("layout", harness.LAYOUTS)
def test_kubectl_port_forward_reaches_nats(cluster, deploy, layout):
    dep = deploy(layout)
    for target in ("pod/nats-0", "service/nats"):
        with harness.PortForward(cluster, dep.namespace, target, 4222) as pf:
            info = probe.api(f"nats://127.0.0.1:{pf.local_port}", "INFO")
            assert "error" not in info, info
            assert "limits" in info  # JetStream account info: JetStream is on behind the pod


def test_services_have_real_endpoints(cluster, deploy):
    dep = deploy("helm", replicas=2)
    slices = cluster.get_json("endpointslices", "-n", dep.namespace, "-l", "kubernetes.io/service-name=nats")
    ready = sorted(e["targetRef"]["name"] for s in slices["items"] for e in s["endpoints"]
                   if e["conditions"].get("ready"))
    assert ready == ["nats-0", "nats-1"]  # the nats-box pod shares app.kubernetes.io/name=nats but is not selected
    ports = {p["name"]: p["port"] for s in slices["items"] for p in s["ports"]}
    assert ports == {"nats": 4222}  # targetPort `nats` resolved to the container port


def test_a_killed_pod_breaks_its_stream(cluster, deploy):
    if cluster.mode != "local":
        pytest.skip("relays exist only in the local harness")
    dep = deploy("swe", replicas=2)
    with harness.PortForward(cluster, dep.namespace, "pod/nats-0", 4222) as pf:
        assert "error" not in probe.api(f"nats://127.0.0.1:{pf.local_port}", "INFO")
        dep.kill_pod("nats-0")
        with pytest.raises(Exception):
            probe.api(f"nats://127.0.0.1:{pf.local_port}", "INFO",
                      connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0)
    harness.wait_until(lambda: dep._ready_endpoints() == 1, 30, "nats-0 to leave the endpoints")


@pytest.mark.parametrize("layout", harness.LAYOUTS)
@pytest.mark.parametrize("replicas", [1, 3])
def test_existing_cluster_manifests_are_valid(cluster, layout, replicas, tmp_path):
    """What `make e2e CLUSTER=existing` applies (ConfigMap + nats:2.10-alpine StatefulSet + Services) passes the
    real apiserver's validation (server-side dry run, strict field validation)."""
    if cluster.mode != "local":
        pytest.skip("applied for real in existing mode")
    ns = cluster.new_namespace("kjs-dry")
    dep = harness.StatefulSetNats(cluster, layout, replicas, 'authorization { token: "x" }', ns)
    objs = dep.manifests()
    conf = next(o for o in objs if o["kind"] == "ConfigMap")["data"]["nats.conf"]
    assert ("cluster {" in conf) == (replicas > 1)
    # the generated nats.conf parses (nats-server -t), with the POD_NAME the StatefulSet gives it
    conf_file = tmp_path / "nats.conf"
    conf_file.write_text(conf)
    checked = subprocess.run([nats_server_binary(), "-t", "-c", str(conf_file)], capture_output=True, text=True,
                             env=dict(os.environ, POD_NAME="nats-0"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    r = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-n", ns, "-f", "-",
                        input=harness.as_list(objs))
    assert "statefulset.apps/nats created (server dry run)" in r.stdout, r.stdout
    assert dep.namespace == ns


def test_existing_cluster_reads_the_kubeconfig(cluster, monkeypatch, tmp_path):
    """ExistingCluster flattens $KUBECONFIG (here: the local harness's) and finds server and CA in it."""
    if cluster.mode != "local":
        pytest.skip("this is the existing mode")
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    existing = harness.ExistingCluster(tmp_path).start()
    assert existing.server == cluster.server
    assert existing.ca_pem == cluster.ca_pem
    assert existing.kubectl("get", "namespaces").returncode == 0
    existing.stop()
