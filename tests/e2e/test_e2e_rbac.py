"""Real RBAC on a real apiserver: a ServiceAccount token (TokenRequest) bound to the documented Role works;
the same Role without `pods/portforward` fails with exit 3 naming it; an unknown token is exit 3.

Found here: the plugin opens its port-forward as a websocket (an HTTP GET upgrade), and kube-apiserver 1.34
authorizes that as `get` on pods/portforward (SPDY, as older kubectl uses, is a POST -> `create`; from 1.35 a
websocket upgrade may need `create` as well). So the Role needs BOTH `get` and `create` on pods/portforward."""
import secrets

import pytest
import yaml

import e2e_harness as harness
import probe

# The rules the plugin needs (issue 8's list, with `get` added on pods/portforward for the websocket).
NEEDED_RULES = [
    {"apiGroups": [""], "resources": ["services", "pods", "endpoints"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
]
DOCS_RBAC = harness.REPO / "docs" / "rbac.yaml"


def documented_rules():
    """The Role rules docs/rbac.yaml ships (the plugin's error messages point there)."""
    if not DOCS_RBAC.exists():
        pytest.fail(f"{DOCS_RBAC} is missing: the plugin's RBAC errors say 'see docs/rbac.yaml'")
    roles = [d for d in yaml.safe_load_all(DOCS_RBAC.read_text()) if d and d.get("kind") in ("Role", "ClusterRole")]
    assert roles, f"no Role in {DOCS_RBAC}"
    return roles[0]["rules"]


def without(rules, resource):
    return [r for r in rules if resource not in r["resources"]]


def bind(cluster, namespace, name, rules):
    """ServiceAccount + Role + RoleBinding; returns a kubeconfig with a TokenRequest token for it."""
    cluster.apply([
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]},
    ], namespace=namespace)
    token = cluster.service_account_token(namespace, name)
    return cluster.write_kubeconfig(cluster.workdir / f"{namespace}-{name}.kubeconfig", token)


def test_needed_rules_are_enough(cluster, deploy, kjs):
    dep = deploy("swe")
    dep.secret("nats-token", token="unused-by-this-server")
    kubeconfig = bind(cluster, dep.namespace, "jetstream", NEEDED_RULES)
    r = kjs(dep, "init", "-f", harness.REPO / "streams.d", kubeconfig=kubeconfig)
    assert r.returncode == 0, r
    assert "AGENT_RESPONSES" in probe.streams(dep.url)
    r = kjs(dep, "ls", kubeconfig=kubeconfig)
    assert r.returncode == 0, r
    # reading a Secret is covered by the Role too (a server without auth ignores the token)
    r = kjs(dep, "ls", "--token-secret", "nats-token", kubeconfig=kubeconfig)
    assert r.returncode == 0, r


def test_without_portforward_permission(cluster, deploy, kjs):
    dep = deploy("swe")
    kubeconfig = bind(cluster, dep.namespace, "no-forward", without(NEEDED_RULES, "pods/portforward"))
    r = kjs(dep, "ls", kubeconfig=kubeconfig)
    assert r.returncode == 3, r
    assert "pods/portforward" in r.stderr, r
    assert "Traceback" not in r.stderr


def test_without_secret_permission(cluster, deploy, kjs):
    dep = deploy("swe")
    dep.secret("nats-token", token="x")
    kubeconfig = bind(cluster, dep.namespace, "no-secrets", without(NEEDED_RULES, "secrets"))
    r = kjs(dep, "ls", "--token-secret", "nats-token", kubeconfig=kubeconfig)
    assert r.returncode == 3, r
    assert "secrets" in r.stderr, r


def test_unknown_token(cluster, deploy, kjs):
    dep = deploy("swe")
    kubeconfig = cluster.write_kubeconfig(cluster.workdir / "unknown.kubeconfig", secrets.token_hex(16))
    r = kjs(dep, "ls", kubeconfig=kubeconfig)
    assert r.returncode == 3, r
    assert "401" in r.stderr or "nauthorized" in r.stderr, r
    assert "Traceback" not in r.stderr


def test_create_only_on_portforward(cluster, deploy, kjs):
    """`create` alone on pods/portforward (enough for SPDY) is not enough for the websocket on 1.34."""
    dep = deploy("swe")
    rules = without(NEEDED_RULES, "pods/portforward") + [
        {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]}]
    kubeconfig = bind(cluster, dep.namespace, "create-only", rules)
    r = kjs(dep, "ls", kubeconfig=kubeconfig)
    if r.returncode == 0:
        return  # an apiserver that authorizes the websocket upgrade as `create`
    assert r.returncode == 3, r
    assert "pods/portforward" in r.stderr, r


def test_documented_role(cluster, deploy, kjs):
    """docs/rbac.yaml's Role as shipped, bound to a ServiceAccount: init and ls work with it."""
    rules = documented_rules()
    dep = deploy("helm")
    kubeconfig = bind(cluster, dep.namespace, "from-docs", rules)
    r = kjs(dep, "init", "-f", harness.REPO / "streams.d", kubeconfig=kubeconfig)
    assert r.returncode == 0, r
    assert "AGENT_RESPONSES" in probe.streams(dep.url)
