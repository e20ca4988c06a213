"""Service discovery, port mapping and pod selection (kube/discovery.py): the pure rules, then against the fake API."""

import pytest

from kubeapi import fleet_layout, helm_chart_layout, kenv, kube_api  # noqa: F401
from runner import HANG, EdgeLog
from kubectl_jetstream.kube import config, discovery, reach, secrets
from kubectl_jetstream.options import KubeOptions
from kubectl_jetstream.errors import AmbiguousService, ExitStatus, Unreachable, UsageError

NOWHERE = ("127.0.0.1", 9)  # pods whose port leads nowhere: discovery does not need a server


# -- helpers ----------------------------------------------------------------------------------------------


def svc(name, ports=(("client", 4222),), labels=None, headless=False, selector=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"clusterIP": "None" if headless else "10.0.0.1",
                     "selector": selector if selector is not None else {"app": name},
                     "ports": [{"name": n, "port": p} if n else {"port": p} for n, p in ports]}}


def pod(name, phase="Running", ready=True, since="2024-01-01T00:00:00Z", restarts=0,
        created="2023-12-31T00:00:00Z", deleting=False, container_ports=()):
    meta = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-02T00:00:00Z"
    return {"metadata": meta,
            "spec": {"containers": [{"name": "nats", "ports": [{"name": n, "containerPort": p}
                                                               for n, p in container_ports]}]},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": since}],
                       "containerStatuses": [{"name": "nats", "restartCount": restarts}]}}


def endpoint(**options):
    """Run discovery + port-forward setup in-process; return (endpoint detail, url, log text)."""
    log = EdgeLog()
    with reach.kube_endpoint(KubeOptions(**options), log) as ep:
        result = (ep.detail, ep.url, ep.via)
    return result + (log.text(),)


# -- choosing the Service ---------------------------------------------------------------------------------


HELM = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats"}


def test_helm_chart_prefers_the_client_service_over_the_headless_one():
    services = [svc("nats-headless", labels=HELM, headless=True, selector={"a": "b"}),
                svc("nats", labels=HELM, selector={"a": "b"})]
    chosen, why = discovery.choose_service(services, "ns")
    assert chosen["metadata"]["name"] == "nats"
    assert "non-headless" in why


def test_helm_component_label_wins_among_labelled_services():
    services = [svc("nats", labels=HELM), svc("nats-box", labels={"app.kubernetes.io/name": "nats"})]
    assert discovery.choose_service(services, "ns")[0]["metadata"]["name"] == "nats"


def test_two_helm_releases_are_ambiguous():
    services = [svc("nats-a", labels=HELM), svc("nats-b", labels=HELM)]
    with pytest.raises(AmbiguousService) as err:
        discovery.choose_service(services, "ns")
    assert "nats-a, nats-b" in str(err.value) and "--service" in str(err.value)
    assert err.value.exit_status == ExitStatus.USAGE


def test_headless_service_named_nats_is_found():
    services = [svc("redis", ports=(("redis", 6379),)), svc("nats", headless=True)]
    assert discovery.choose_service(services, "ns")[0]["metadata"]["name"] == "nats"


def test_service_exposing_a_nats_port_is_found():
    services = [svc("redis", ports=(("redis", 6379),)), svc("bus", ports=((None, 4222),))]
    chosen, why = discovery.choose_service(services, "ns")
    assert chosen["metadata"]["name"] == "bus" and "4222" in why


def test_several_services_with_a_nats_port_are_ambiguous():
    services = [svc("bus-a", ports=(("client", 4222),)), svc("bus-b", ports=(("nats", 4333),))]
    with pytest.raises(AmbiguousService):
        discovery.choose_service(services, "ns")


def test_no_candidate_says_what_was_looked_for():
    with pytest.raises(Unreachable) as err:
        discovery.choose_service([svc("redis", ports=(("redis", 6379),))], "apps")
    text = str(err.value)
    assert "namespace apps" in text and "app.kubernetes.io/name=nats" in text and "4222" in text
    assert "redis" in text and "--service" in text
    assert err.value.exit_status == ExitStatus.UNREACHABLE


# -- ports ------------------------------------------------------------------------------------------------


def test_port_named_nats_or_client_else_4222():
    s = svc("x", ports=(("monitor", 8222), ("client", 4333)))
    assert discovery.choose_port(s)["port"] == 4333
    s = svc("x", ports=(("monitor", 8222), (None, 4222)))
    assert discovery.choose_port(s)["port"] == 4222
    s = svc("x", ports=(("monitor", 8222),))
    assert discovery.choose_port(s)["port"] == 4222


def test_port_flag_by_name_or_number():
    s = svc("x", ports=(("client", 4222), ("leaf", 7422)))
    assert discovery.choose_port(s, "leaf")["port"] == 7422
    assert discovery.choose_port(s, "7422")["name"] == "leaf"
    with pytest.raises(UsageError) as err:
        discovery.choose_port(s, "9999")
    assert "client 4222" in str(err.value)


def test_target_port_numeric_named_or_missing():
    p = pod("nats-0", container_ports=(("nats", 14222),))
    assert discovery.target_port({"port": 4222, "targetPort": 5222}, p) == 5222
    assert discovery.target_port({"port": 4222, "targetPort": "nats"}, p) == 14222
    assert discovery.target_port({"port": 4222}, p) == 4222
    with pytest.raises(Unreachable, match="no container port named 'client'"):
        discovery.target_port({"port": 4222, "targetPort": "client"}, p)


# -- pods -------------------------------------------------------------------------------------------------


def test_ready_pods_longest_ready_then_fewest_restarts_then_oldest():
    pods = [pod("c", since="2024-01-03T00:00:00Z"),
            pod("b", since="2024-01-01T00:00:00Z", restarts=3),
            pod("a", since="2024-01-01T00:00:00Z", restarts=1),
            pod("d", since="2024-01-01T00:00:00Z", restarts=1, created="2023-01-01T00:00:00Z"),
            pod("e", ready=False), pod("f", phase="Pending", ready=False), pod("g", deleting=True)]
    assert [p["metadata"]["name"] for p in discovery.ready_pods(pods)] == ["d", "a", "b", "c"]


def test_describe_pods_when_none_is_ready():
    pods = [pod("nats-1", ready=False), pod("nats-0", phase="Pending", ready=False)]
    assert discovery.describe_pods(pods) == "2 pods, none ready: nats-0 (Pending), nats-1 (Running, not ready)"
    assert discovery.describe_pods([]) == "no pods match its selector"


def test_secret_refs():
    assert secrets.split_secret_ref("nats-creds", "nats.creds", "--creds-secret") == ("nats-creds", "nats.creds")
    assert secrets.split_secret_ref("s/user.creds", "nats.creds", "--creds-secret") == ("s", "user.creds")
    with pytest.raises(UsageError):
        secrets.split_secret_ref("/key", "token", "--token-secret")


# -- against the fake API server --------------------------------------------------------------------------


def test_helm_chart_layout_named_target_port(kenv):
    kenv.add_service("nats", "nats", [{"name": "nats", "port": 4222, "targetPort": "nats"}],
                     selector={"app.kubernetes.io/name": "nats"}, labels=HELM)
    kenv.add_service("nats", "nats-headless", [{"name": "nats", "port": 4222, "targetPort": "nats"}],
                     selector={"app.kubernetes.io/name": "nats"}, labels=HELM, cluster_ip="None")
    kenv.add_pod("nats", "nats-0", labels={"app.kubernetes.io/name": "nats"}, ports=(("nats", 14222),),
                 targets={14222: NOWHERE})
    kenv.use(kenv.kubeconfig(namespace="nats"))
    detail, url, via, log = endpoint()
    assert via == "port-forward" and url.startswith("nats://127.0.0.1:")
    assert detail == "svc/nats port nats → pod nats-0:14222"
    forwards = kenv.calls("create", "pods/portforward")
    assert [r.query["ports"] for r in forwards] == [["14222"]]
    assert forwards[0].subprotocol == "v4.channel.k8s.io"
    assert "non-headless" in log and "nats-0" in log


def test_fleet_headless_service(kenv):
    fleet_layout(kenv, "swe", NOWHERE, replicas=3)
    kenv.use(kenv.kubeconfig(namespace="swe"))
    detail, url, via, log = endpoint()
    assert detail == "svc/nats port client → pod nats-0:4222"
    pods = kenv.calls("list", "pods")
    assert pods and pods[0].query["labelSelector"] == ["app=nats"]


def test_numeric_target_port(kenv):
    kenv.add_service("ns", "queue", [{"name": "client", "port": 4222, "targetPort": 5222}], selector={"q": "1"})
    kenv.add_pod("ns", "queue-7f9", labels={"q": "1"}, ports=(("client", 5222),), targets={5222: NOWHERE})
    kenv.use(kenv.kubeconfig(namespace="ns"))
    assert endpoint()[0] == "svc/queue port client → pod queue-7f9:5222"


def test_service_without_selector_uses_its_endpoints(kenv):
    kenv.add_service("ns", "nats", [{"name": "client", "port": 4222}], selector=None)
    kenv.add_pod("ns", "external-nats", labels={"x": "y"}, targets={4222: NOWHERE})
    kenv.set_endpoints("ns", "nats", [{"addresses": [{"ip": "10.0.0.9", "targetRef": {
        "kind": "Pod", "name": "external-nats", "namespace": "ns"}}], "ports": [{"port": 4222}]}])
    kenv.use(kenv.kubeconfig(namespace="ns"))
    assert endpoint()[0] == "svc/nats port client → pod external-nats:4222"


def test_longest_ready_pod_is_chosen(kenv):
    fleet_layout(kenv, "swe", NOWHERE, replicas=0)
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, ready_since=-30, targets={4222: NOWHERE})
    kenv.add_pod("swe", "nats-1", labels={"app": "nats"}, ready_since=-3000, targets={4222: NOWHERE})
    kenv.add_pod("swe", "nats-2", labels={"app": "nats"}, ready=False, ready_since=-9000,
                 targets={4222: NOWHERE})
    kenv.use(kenv.kubeconfig(namespace="swe"))
    assert endpoint()[0] == "svc/nats port client → pod nats-1:4222"


def test_service_flag_and_port_flag(kenv):
    helm_chart_layout(kenv, "ns", NOWHERE, release="a")
    helm_chart_layout(kenv, "ns", NOWHERE, release="b")
    kenv.use(kenv.kubeconfig(namespace="ns"))
    with pytest.raises(AmbiguousService):
        endpoint()
    detail, _, _, _ = endpoint(service="b-headless", port="nats")
    assert detail == "svc/b-headless port nats → pod b-0:4222"
    assert not kenv.calls("list", "services")[1:]  # --service: a get, no second list


def test_no_ready_pod_names_what_was_found(kenv):
    fleet_layout(kenv, "swe", NOWHERE, replicas=0)
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, phase="Pending", ready=False)
    kenv.add_pod("swe", "nats-1", labels={"app": "nats"}, ready=False)
    kenv.use(kenv.kubeconfig(namespace="swe"))
    with pytest.raises(Unreachable) as err:
        endpoint()
    assert str(err.value) == ("no ready pod for Service nats in namespace swe: "
                              "2 pods, none ready: nats-0 (Pending), nats-1 (Running, not ready)")
    assert not kenv.calls("create", "pods/portforward")


def test_wait_for_ready_pod_retries_until_a_pod_is_ready(kenv):
    import threading
    import time

    fleet_layout(kenv, "swe", NOWHERE, replicas=0)
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, phase="Pending", ready=False)
    kenv.use(kenv.kubeconfig(namespace="swe"))
    timer = threading.Timer(0.5, kenv.set_ready, ("swe", "nats-0", True, "Running"))
    timer.start()
    start = time.monotonic()
    reach.wait_for_ready_pod(KubeOptions(), time.monotonic() + 10, EdgeLog())
    assert 0.4 < time.monotonic() - start < HANG  # it waited for the pod, and did not hang
    assert len(kenv.calls("list", "pods")) >= 2


def test_wait_for_ready_pod_says_which_step_never_became_ready(kenv):
    import time

    kenv.use(kenv.kubeconfig(namespace="empty"))
    with pytest.raises(Unreachable) as err:
        reach.wait_for_ready_pod(KubeOptions(), time.monotonic() + 0.6, EdgeLog())
    assert "timed out waiting for a NATS Service in namespace empty" in str(err.value)
    fleet_layout(kenv, "swe", NOWHERE, replicas=0)
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, phase="Pending", ready=False)
    with pytest.raises(Unreachable) as err:
        reach.wait_for_ready_pod(KubeOptions(namespace="swe"), time.monotonic() + 0.6, EdgeLog())
    assert str(err.value) == ("timed out waiting for a ready pod for Service nats in namespace swe: "
                              "1 pod, none ready: nats-0 (Pending)")


def test_wait_for_ready_pod_fails_at_once_on_forbidden(kenv):
    import time

    fleet_layout(kenv, "swe", NOWHERE)
    kenv.deny_access("list", "services")
    kenv.use(kenv.kubeconfig(namespace="swe"))
    start = time.monotonic()
    with pytest.raises(Unreachable, match="forbidden: the user needs `list` on `services` in namespace swe"):
        reach.wait_for_ready_pod(KubeOptions(), time.monotonic() + 30, EdgeLog())
    assert time.monotonic() - start < HANG  # not a retry until the 30s deadline


def test_fake_list_selectors_and_errors(kube_api):
    """The fake answers selectors and errors the way the API server does (through the unmodified client)."""
    import json

    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    fleet_layout(kube_api, "swe", NOWHERE, replicas=3)
    kube_api.set_ready("swe", "nats-2", False, phase="Pending")
    core = client.CoreV1Api(config.new_client_from_config(kube_api.kubeconfig()))

    def names(**kw):
        body = json.loads(core.list_namespaced_pod("swe", _preload_content=False, **kw).data)
        assert body["kind"] == "PodList" and body["metadata"]["resourceVersion"]
        return [p["metadata"]["name"] for p in body["items"]]

    assert names(label_selector="app=nats") == ["nats-0", "nats-1", "nats-2"]
    assert names(label_selector="app==nats,app!=redis") == ["nats-0", "nats-1", "nats-2"]
    assert names(label_selector="app in (redis, nats),!missing") == ["nats-0", "nats-1", "nats-2"]
    assert names(label_selector="app notin (nats)") == []
    assert names(field_selector="status.phase=Running") == ["nats-0", "nats-1"]
    assert names(field_selector="metadata.name=nats-1,status.phase!=Pending") == ["nats-1"]
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("nats-9", "swe")
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"], body["message"]) == (404, "NotFound", 'pods "nats-9" not found')
    endpoints = json.loads(core.read_namespaced_endpoints("nats", "swe", _preload_content=False).data)
    subset = endpoints["subsets"][0]
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == ["nats-0", "nats-1"]
    assert [a["targetRef"]["name"] for a in subset["notReadyAddresses"]] == ["nats-2"]
    assert [(r.verb, r.resource, r.status) for r in kube_api.requests][-2:] == [
        ("get", "pods", 404), ("get", "endpoints", 200)]
