"""In-cluster mode: a service-account directory (KJS_INCLUSTER_DIR) and KUBERNETES_SERVICE_HOST/PORT pointing
at the test apiserver, no kubeconfig. The plugin resolves the Service through the API with the service
account's token, then connects directly to nats://<svc>.<ns>.svc:<port> - a name only cluster DNS resolves,
so from this machine the connection must fail with exit 3 after naming that URL."""
import e2e_harness as harness
from test_e2e_rbac import NEEDED_RULES, bind


def incluster_env(cluster, dep, tmp_path, token):
    sa_dir = tmp_path / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text(token)
    (sa_dir / "ca.crt").write_bytes(cluster.ca_pem)
    (sa_dir / "namespace").write_text(dep.namespace)
    host, port = cluster.server.removeprefix("https://").rsplit(":", 1)
    return {"KJS_INCLUSTER_DIR": str(sa_dir), "KUBERNETES_SERVICE_HOST": host.strip("[]"),
            "KUBERNETES_SERVICE_PORT": port}


def test_incluster_resolves_service_and_goes_direct(cluster, deploy, tmp_path):
    dep = deploy("helm")
    bind(cluster, dep.namespace, "jetstream", NEEDED_RULES)
    token = cluster.service_account_token(dep.namespace, "jetstream")
    env = harness.plugin_env(incluster_env(cluster, dep, tmp_path, token))
    r = harness.run_plugin("ls", "-v", "--timeout", "2s", env=env, timeout=120)
    print(r.stderr)
    url = f"nats://nats.{dep.namespace}.svc:4222"
    assert "in-cluster" in r.stderr and dep.namespace in r.stderr, r  # the service account's namespace was used
    assert url in r.stderr, r  # -v says where it went
    assert "port-forward" not in r.stderr, r
    assert r.returncode == 3, r  # cluster DNS does not exist here


def test_incluster_namespace_flag_and_bad_token(cluster, deploy, tmp_path):
    dep = deploy("swe")
    env = harness.plugin_env(incluster_env(cluster, dep, tmp_path, "not-a-token"))
    r = harness.run_plugin("ls", "-n", dep.namespace, env=env, timeout=120)
    assert r.returncode == 3, r
    assert "401" in r.stderr or "nauthorized" in r.stderr, r
