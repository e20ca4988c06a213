"""The kubernetes client's internals that kubectl_jetstream/kube/k8s.py relies on, one test per shape: a client
release that changes one fails here by name (this file also runs against the lowest and highest supported
kubernetes versions). Real client, real test API server (tests/kubeapi.py); nothing patched."""
import json
import subprocess
import sys

import pytest
import yaml

from kubeapi import kube_api  # noqa: F401
from runner import REPO
from kubectl_jetstream.kube import k8s
from kubectl_jetstream.kube.websocket import PORTFORWARD_PATH, PortForwardError, open_websocket


def configuration_for(api, **kubeconfig):
    """A Configuration loaded the way config.py loads one: KubeConfigLoader over a ConfigNode."""
    path = api.kubeconfig(**kubeconfig)
    with open(path) as f:
        doc = yaml.safe_load(f)
    configuration = k8s.Configuration()
    k8s.KubeConfigLoader(config_dict=k8s.ConfigNode("kubeconfig", doc, path), active_context=doc["current-context"],
                         config_base_path=None).load_and_set(configuration)
    return configuration


def test_the_package_inits_are_deferred_and_run_on_first_use():
    """k8s.py registers kubernetes, kubernetes.client and kubernetes.client.models without running their
    __init__: they must be packages, their submodules must import by absolute name, and the first name only an
    __init__ defines must still resolve (kubernetes 37's client defines a module __getattr__ of its own)."""
    code = """
import sys
import kubectl_jetstream.kube.reach
generated = sorted(m for m in sys.modules if m.startswith(("kubernetes.client.api.", "kubernetes.client.models.")))
import kubernetes.client
print(generated, kubernetes.client.CoreV1Api.__name__, bool(kubernetes.__version__))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "CoreV1Api", "True"]


def test_kubeconfig_loader_takes_a_config_node_and_sets_host_and_token(kube_api):
    configuration = configuration_for(kube_api, namespace="swe")
    assert configuration.host == kube_api.url
    assert k8s.auth_headers(configuration) == {"authorization": f"Bearer {kube_api.token}"}


def test_auth_settings_shape():
    """auth_headers reads configuration.auth_settings()["BearerToken"] = {"in", "key", "value"}."""
    configuration = k8s.Configuration()
    configuration.api_key = {"authorization": "Bearer abc"}
    setting = configuration.auth_settings()["BearerToken"]
    assert (setting["in"], setting["key"], setting["value"]) == ("header", "authorization", "Bearer abc")
    assert k8s.auth_headers(configuration) == {"authorization": "Bearer abc"}


def test_in_cluster_loader_arguments(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_text("not checked until used")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    configuration = k8s.Configuration()
    k8s.InClusterConfigLoader(token_filename=str(tmp_path / "token"),
                              cert_filename=str(tmp_path / "ca.crt")).load_and_set(configuration)
    assert configuration.host == "https://10.0.0.1:443"
    scheme, token = k8s.auth_headers(configuration)["authorization"].split()
    assert (scheme.lower(), token) == ("bearer", "sa-token")


def test_api_exception_fields():
    exc = k8s.api_exception(404, "Not Found", b'{"message": "gone"}')
    assert isinstance(exc, k8s.ApiException)
    assert (exc.status, exc.reason, exc.body) == (404, "Not Found", b'{"message": "gone"}')


def test_rest_get_answers_the_same_on_every_client_version(kube_api):
    """2xx: the body as bytes; anything else: ApiException with status, reason and the Status body (<= 35 raises
    it inside the REST client, 37 returns the response)."""
    configuration = configuration_for(kube_api, namespace="swe")
    kube_api.add_secret("swe", "s", {"k": "dg=="})
    rest = k8s.RESTClient(configuration)
    try:
        headers = {"Accept": "application/json", **k8s.auth_headers(configuration)}
        path = "/api/v1/namespaces/{namespace}/secrets/{name}"
        found = k8s.rest_get(rest, k8s.api_url(configuration, k8s.api_path(path, namespace="swe", name="s")),
                             headers, timeout=10)
        assert isinstance(found, bytes) and json.loads(found)["metadata"]["name"] == "s"
        with pytest.raises(k8s.ApiException) as err:
            k8s.rest_get(rest, k8s.api_url(configuration, k8s.api_path(path, namespace="swe", name="none")),
                         headers, timeout=10)
        assert err.value.status == 404 and json.loads(err.value.body)["kind"] == "Status"
    finally:
        rest.pool_manager.clear()


def test_websocket_url_and_opener(kube_api):
    """get_websocket_url(url) -> wss://; create_websocket(configuration, url, headers) opens the
    pods/portforward subresource with the client's subprotocol offer."""
    assert k8s.get_websocket_url("https://h:6443/api/v1/x?ports=4222") == "wss://h:6443/api/v1/x?ports=4222"
    configuration = configuration_for(kube_api, namespace="swe")
    kube_api.add_pod("swe", "nats-0", labels={"app": "nats"})
    ws = open_websocket(configuration, "swe", "nats-0", 4222)
    ws.close(timeout=0.2)
    (opened,) = kube_api.calls("create", "pods/portforward")
    assert (opened.name, opened.subprotocol) == ("nats-0", "v4.channel.k8s.io")
    assert PORTFORWARD_PATH.format(namespace="swe", name="nats-0") == "/api/v1/namespaces/swe/pods/nats-0/portforward"


def test_a_refused_websocket_handshake_says_status_and_message(kube_api):
    """The opener's failure text carries `Handshake status 403 ... -+-+- body` (websocket-client's format, as
    the client passes it on): handshake_error reads the status and the Status message from it."""
    configuration = configuration_for(kube_api, namespace="swe")
    kube_api.add_pod("swe", "nats-0", labels={"app": "nats"})
    kube_api.deny_access("create", "pods/portforward")
    with pytest.raises(PortForwardError) as err:
        open_websocket(configuration, "swe", "nats-0", 4222)
    assert err.value.status == 403
    assert 'cannot create resource "pods/portforward"' in str(err.value)
