"""The CLI through Kubernetes, as a user runs it: a subprocess with KUBECONFIG pointing at the fake API server,
which port-forwards to a real nats-server. Covers kubectl's conventions, errors and exit codes, credentials
from Secrets, in-cluster mode and the real kubectl running the plugin."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import probe
from runner import HANG, REPO, SHIPPED_STREAMS, EdgeLog, clean_env, run_cli
from kubeapi import fleet_layout, helm_chart_layout, kube_api  # noqa: F401
from natsserver import NatsServer
from kubectl_jetstream.kube import reach
from kubectl_jetstream.options import KubeOptions

NOWHERE = ("127.0.0.1", 9)


def kcli(api_or_path, *args, env=None, **kwargs):
    path = api_or_path if isinstance(api_or_path, (str, Path)) else api_or_path.kubeconfig_path
    return run_cli(*args, env={"KUBECONFIG": str(path), **(env or {})}, **kwargs)


@pytest.fixture
def fleet(kube_api, nats_server):
    """swe-ai-fleet's layout in namespace swe, a kubeconfig whose context defaults to it."""
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port))
    kube_api.kubeconfig_path = kube_api.kubeconfig(namespace="swe")
    kube_api.nats = nats_server
    return kube_api


# -- the whole path ---------------------------------------------------------------------------------------


def test_init_ls_purge_through_port_forward(fleet):
    url = fleet.nats.url
    result = kcli(fleet, "init", "-f", SHIPPED_STREAMS, "-v")
    assert result.returncode == 0, result
    assert "port-forward" in result.stderr and "pod nats-0:4222" in result.stderr
    assert "AGENT_WORK" in probe.streams(url)
    probe.publish(url, "agent.work.done", count=5)

    listed = kcli(fleet, "ls")
    assert listed.returncode == 0, listed
    line = next(line for line in listed.stdout.splitlines() if line.startswith("AGENT_WORK"))
    assert " 5 " in line

    purged = kcli(fleet, "purge", "AGENT_WORK", "--yes")
    assert purged.returncode == 0, purged
    assert probe.message_counts(url)["AGENT_WORK"] == 0
    # every command opened its own forward, and every forward was closed when the command ended
    assert len(fleet.calls("create", "pods/portforward")) == 3
    assert not fleet.active_forwards()


def test_helm_chart_layout_end_to_end(kube_api, nats_server):
    helm_chart_layout(kube_api, "nats-system", ("127.0.0.1", nats_server.port))
    path = kube_api.kubeconfig()
    result = kcli(path, "ls", "-n", "nats-system", "-v")
    assert result.returncode == 0, result
    assert "svc/nats port nats → pod nats-0:4222" in result.stderr


# -- kubectl conventions ----------------------------------------------------------------------------------


def test_namespace_from_context_flag_and_default(kube_api, nats_server):
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port))
    fleet_layout(kube_api, "default", ("127.0.0.1", nats_server.port))
    with_ns = kube_api.kubeconfig(namespace="swe", extra_contexts=[{"name": "plain"}, {"name": "empty-ns",
                                                                                      "namespace": "empty"}])
    assert kcli(with_ns, "ls").returncode == 0
    assert kube_api.calls("list", "services")[-1].namespace == "swe"
    assert kcli(with_ns, "ls", "--context", "plain").returncode == 0
    assert kube_api.calls("list", "services")[-1].namespace == "default"
    result = kcli(with_ns, "ls", "--context", "empty-ns")
    assert result.returncode == 3 and "no NATS Service found in namespace empty" in result.stderr
    assert kcli(with_ns, "ls", "--context", "empty-ns", "-n", "swe").returncode == 0
    assert kube_api.calls("list", "services")[-1].namespace == "swe"
    missing = kcli(with_ns, "ls", "--context", "nope")
    assert missing.returncode == 3 and 'context "nope" does not exist' in missing.stderr


def test_kubeconfig_split_over_two_files(kube_api, nats_server, tmp_path):
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port))
    full = yaml.safe_load(open(kube_api.kubeconfig(namespace="swe")))
    # kubectl's merge: the first file to set a name or current-context wins; relative paths are relative
    # to the file that holds them
    shutil.copy(kube_api.ca_path, tmp_path / "ca.crt")
    full["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    first = tmp_path / "clusters.yaml"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": full["clusters"],
                                     "users": full["users"], "current-context": "fake"}))
    second = tmp_path / "other" / "contexts.yaml"
    second.parent.mkdir()
    second.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "contexts": full["contexts"] + [
        {"name": "elsewhere", "context": {"cluster": "fake", "user": "tester", "namespace": "elsewhere"}}],
        "current-context": "elsewhere", "users": [{"name": "tester", "user": {"token": "ignored"}}]}))
    missing = tmp_path / "missing.yaml"
    result = run_cli("ls", "-v", env={"KUBECONFIG": os.pathsep.join(map(str, [missing, first, second]))})
    assert result.returncode == 0, result
    assert 'context "fake"' in result.stderr and "namespace swe" in result.stderr

    # --kubeconfig is used alone (KUBECONFIG is ignored then)
    alone = run_cli("ls", "--kubeconfig", str(second), env={"KUBECONFIG": str(first)})
    assert alone.returncode == 3 and 'cluster "fake" does not exist' in alone.stderr
    gone = run_cli("ls", "--kubeconfig", str(missing), env={"KUBECONFIG": str(first)})
    assert gone.returncode == 3 and "--kubeconfig: no such file" in gone.stderr


def test_cluster_and_user_flags_override_the_context(kube_api, nats_server, tmp_path):
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port))
    doc = yaml.safe_load(open(kube_api.kubeconfig(namespace="swe", token="wrong-token")))
    doc["users"].append({"name": "good", "user": {"token": kube_api.token}})
    doc["clusters"].append({"name": "down", "cluster": {"server": "https://127.0.0.1:9",
                                                        "certificate-authority": kube_api.ca_path}})
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    assert kcli(path, "ls").returncode == 3
    ok = kcli(path, "ls", "--user", "good")
    assert ok.returncode == 0, ok
    down = kcli(path, "ls", "--user", "good", "--cluster", "down")
    assert down.returncode == 3 and "cannot reach the Kubernetes API at https://127.0.0.1:9" in down.stderr
    assert 'user "nobody" does not exist' in kcli(path, "ls", "--user", "nobody").stderr


def test_request_timeout(fleet):
    fleet.delay("list", "services", 3)
    started = time.monotonic()
    result = kcli(fleet, "ls", "--request-timeout", "500ms")
    assert result.returncode == 3, result
    assert "cannot reach the Kubernetes API" in result.stderr and "timed out" in result.stderr.lower()
    assert time.monotonic() - started < HANG
    bad = kcli(fleet, "ls", "--request-timeout", "soon")
    assert bad.returncode == 2 and "--request-timeout" in bad.stderr


def test_no_kubernetes_configuration():
    result = run_cli("ls")  # conftest's clean env: KUBECONFIG=/dev/null, not in a pod
    assert result.returncode == 3
    assert "no Kubernetes configuration found" in result.stderr and "--nats-url" in result.stderr


def test_kubernetes_side_runs_in_a_child_process_beside_the_nats_imports(fleet):
    """The kubeconfig, API requests and the forward happen in a forked child while the command imports nats-py;
    the child ends with the command (no forward left open)."""
    result = kcli(fleet, "ls", "-vv")
    assert result.returncode == 0, result
    line = next(line for line in result.stderr.splitlines() if "Kubernetes side in child process" in line)
    child, parent = (int(word.strip("()")) for word in line.split() if word.strip("()").isdigit())
    assert child != parent
    assert not fleet.active_forwards()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


@pytest.mark.parametrize("flags", [["--password", "secret"], ["--js-domain", "a.b"], ["--timeout", "soon"]])
def test_bad_connection_flags_stop_before_the_kubernetes_api_is_asked(fleet, flags):
    result = kcli(fleet, "purge", "AGENT_WORK", "-y", *flags)
    assert result.returncode == 2, result
    assert fleet.calls() == []


def test_kube_path_imports_no_oidc_or_pydantic_until_needed():
    """requests/oauthlib (OIDC refresh only) and pydantic (ApiClient) stay unimported, yet resolve when used."""
    code = """
import sys
import kubectl_jetstream.kube.reach
loaded = [m for m in ("pydantic", "requests", "oauthlib", "requests_oauthlib", "kubernetes.client.api_client")
          if type(sys.modules.get(m)).__name__ == "module"]
from kubernetes.config import kube_config
from kubernetes.stream import ws_client
session = kube_config.OAuth2Session(client_id="x")
print(loaded, type(session).__module__, kube_config.oauthlib.oauth2.rfc6749.errors.InvalidClientIdError.__name__,
      type(kube_config.ApiClient(configuration=kubectl_jetstream.kube.k8s.Configuration())).__name__,
      ws_client.should_bypass_proxies("https://10.0.0.1", no_proxy=None))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "requests_oauthlib.oauth2_session", "InvalidClientIdError", "ApiClient",
                                   "False"]


# -- errors -----------------------------------------------------------------------------------------------


def test_unauthorized(fleet):
    result = kcli(fleet.kubeconfig(namespace="swe", token="expired"), "ls")
    assert result.returncode == 3
    assert result.stderr.startswith("error: unauthorized (401)")
    assert len(result.stderr.splitlines()) == 1


def test_forbidden_list_services(fleet):
    fleet.deny_access("list", "services", namespace="swe")
    result = kcli(fleet, "ls")
    assert result.returncode == 3
    assert "forbidden: the user needs `list` on `services` in namespace swe" in result.stderr
    assert 'User "tester" cannot list resource "services"' in result.stderr


@pytest.mark.parametrize("verb", ["get", "create"])
def test_forbidden_port_forward(fleet, verb):
    fleet.deny_access(verb, "pods/portforward")
    result = kcli(fleet, "ls")
    assert result.returncode == 3
    assert f"forbidden: the user needs `{verb}` on `pods/portforward` in namespace swe" in result.stderr
    assert f'cannot {verb} resource "pods/portforward"' in result.stderr
    assert f"`{({'get', 'create'} - {verb}).pop()}`" not in result.stderr  # only the verb denied
    assert len(result.stderr.splitlines()) == 1


def test_discovery_exit_codes(kube_api, nats_server):
    helm_chart_layout(kube_api, "two", ("127.0.0.1", nats_server.port), release="east")
    helm_chart_layout(kube_api, "two", ("127.0.0.1", nats_server.port), release="west")
    kube_api.add_service("none", "redis", [{"name": "redis", "port": 6379}], selector={"app": "redis"})
    fleet_layout(kube_api, "down", NOWHERE, replicas=0)
    kube_api.add_pod("down", "nats-0", labels={"app": "nats"}, phase="Pending", ready=False)
    path = kube_api.kubeconfig()

    several = kcli(path, "ls", "-n", "two")
    assert several.returncode == 2
    assert "several NATS Services in namespace two" in several.stderr and "east, west" in several.stderr
    assert kcli(path, "ls", "-n", "two", "--service", "west").returncode == 0

    none = kcli(path, "ls", "-n", "none")
    assert none.returncode == 3 and "no NATS Service found in namespace none" in none.stderr

    not_ready = kcli(path, "ls", "-n", "down")
    assert not_ready.returncode == 3
    assert "no ready pod for Service nats in namespace down: 1 pod, none ready: nats-0 (Pending)" \
        in not_ready.stderr

    kube_api.add_pod("down", "nats-1", labels={"app": "nats"}, targets={})  # ready, but nothing listens
    refused = kcli(path, "ls", "-n", "down")
    assert refused.returncode == 3
    assert "error forwarding port 4222 to pod nats-1" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1

    unknown = kcli(path, "ls", "-n", "two", "--service", "south")
    assert unknown.returncode == 3 and "Service south not found in namespace two" in unknown.stderr


def test_an_external_name_service_is_followed_or_explained(kube_api, nats_server):
    """swe-ai-fleet ships ExternalName aliases (internal-nats -> the chart's Service in namespace nats): an
    alias has no pods; follow it when it names a Service of the cluster, else say what it is."""
    helm_chart_layout(kube_api, "nats", ("127.0.0.1", nats_server.port))
    kube_api.add_external_name_service("swe", "internal-nats", "nats.nats.svc.cluster.local",
                                       ports=[{"name": "nats", "port": 4222}])
    kube_api.add_external_name_service("swe", "short-alias", "internal-nats.swe.svc")  # an alias of an alias
    kube_api.add_external_name_service("swe", "outside-nats", "nats.example.com")
    kube_api.add_external_name_service("swe", "dangling", "gone.nats.svc")
    kube_api.add_external_name_service("swe", "loop-a", "loop-b.swe.svc.cluster.local")
    kube_api.add_external_name_service("swe", "loop-b", "loop-a.swe.svc.cluster.local")
    kube_api.add_secret("swe", "nats-user", {"username": "app", "password": "pa55-alias"})
    path = kube_api.kubeconfig(namespace="swe")

    for alias in ("internal-nats", "short-alias"):
        ok = kcli(path, "ls", "--service", alias, "--user-secret", "nats-user", "-vv")
        assert ok.returncode == 0, ok
        assert "is an ExternalName alias of 'nats.nats.svc.cluster.local': following it to Service nats in " \
               "namespace nats" in ok.stderr
        assert kube_api.calls("create", "pods/portforward")[-1].namespace == "nats"
        assert kube_api.calls("get", "secrets")[-1].namespace == "swe"  # Secrets: the namespace asked for
        assert "pa55-alias" not in ok.output

    outside = kcli(path, "ls", "--service", "outside-nats")
    assert outside.returncode == 2, outside
    assert outside.stderr.splitlines() == [
        "error: Service outside-nats in namespace swe is an ExternalName alias of 'nats.example.com', a name "
        "outside the cluster, with no pods to port-forward to: give the NATS Service with --service NAME (and -n "
        "NAMESPACE), or connect with --nats-url nats://nats.example.com:4222"]
    dangling = kcli(path, "ls", "--service", "dangling")
    assert dangling.returncode == 3, dangling
    assert "ExternalName alias of 'gone.nats.svc', but Service gone is not found in namespace nats" in dangling.stderr
    loop = kcli(path, "ls", "--service", "loop-a")
    assert loop.returncode == 2 and "leads back to itself" in loop.stderr, loop
    for result in (outside, dangling, loop):
        assert "no pods match its selector" not in result.stderr and len(result.stderr.splitlines()) == 1


# -- credentials from Secrets -----------------------------------------------------------------------------


def test_token_secret(kube_api):
    with NatsServer(config='authorization { token: "t0ken-from-secret" }') as server:
        fleet_layout(kube_api, "swe", ("127.0.0.1", server.port))
        kube_api.add_secret("swe", "nats-auth", {"token": "t0ken-from-secret\n", "other": "x"})
        path = kube_api.kubeconfig(namespace="swe")
        assert kcli(path, "ls").returncode == 3  # the server wants the token
        ok = kcli(path, "ls", "--token-secret", "nats-auth", "-vv")
        assert ok.returncode == 0, ok
        assert "t0ken-from-secret" not in ok.output
        assert kcli(path, "ls", "--token-secret", "nats-auth/token").returncode == 0
        missing_key = kcli(path, "ls", "--token-secret", "nats-auth/nats-token")
        assert missing_key.returncode == 3
        assert "Secret nats-auth in namespace swe has no key 'nats-token' (keys: other, token)" in missing_key.stderr


def test_user_secret(kube_api):
    users = 'authorization { users = [ { user: "app", password: "pa55-from-secret" } ] }'
    with NatsServer(config=users) as server:
        fleet_layout(kube_api, "swe", ("127.0.0.1", server.port))
        kube_api.add_secret("swe", "nats-user", {"username": "app", "password": "pa55-from-secret"})
        path = kube_api.kubeconfig(namespace="swe")
        ok = kcli(path, "ls", "--user-secret", "nats-user", "-vv")
        assert ok.returncode == 0, ok
        assert "pa55-from-secret" not in ok.output
        assert [r.name for r in kube_api.calls("get", "secrets")] == ["nats-user"]  # one read for both keys


def test_secret_not_found_or_forbidden(fleet):
    fleet.add_secret("swe", "nats-creds", {"nats.creds": "-----BEGIN NATS USER JWT-----\nsecret-jwt\n"})
    gone = kcli(fleet, "ls", "--creds-secret", "missing-creds")
    assert gone.returncode == 3
    assert "--creds-secret: Secret missing-creds not found in namespace swe" in gone.stderr
    fleet.deny_access("get", "secrets")
    denied = kcli(fleet, "ls", "--creds-secret", "nats-creds")
    assert denied.returncode == 3
    assert "needs `get` on `secrets` in namespace swe" in denied.stderr
    assert "secret-jwt" not in denied.output


def test_creds_secret_is_read_into_the_endpoint(fleet, monkeypatch):
    creds = ("-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n"
             "------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAFAKESEED\n"
             "------END USER NKEY SEED------\n")
    fleet.add_secret("swe", "nats-creds", {"nats.creds": creds, "alt.creds": "other"})
    for var in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KJS_INCLUSTER_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KUBECONFIG", fleet.kubeconfig_path)
    for flag, expected in (("nats-creds", creds), ("nats-creds/alt.creds", "other")):
        log = EdgeLog(verbosity=2)
        with reach.kube_endpoint(KubeOptions(creds_secret=flag), log) as ep:
            assert ep.creds == expected
            assert "SUAFAKESEED" not in repr(ep)
        assert "SUAFAKESEED" not in log.text() and f"Secret {flag.split('/')[0]}" in log.text()


# -- in a pod ---------------------------------------------------------------------------------------------


@pytest.fixture
def incluster(kube_api, tmp_path):
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text("sa-token")
    shutil.copy(kube_api.ca_path, sa / "ca.crt")
    (sa / "namespace").write_text("swe")
    kube_api.tokens["sa-token"] = "system:serviceaccount:swe:jetstream"
    return {"KJS_INCLUSTER_DIR": str(sa), "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(kube_api.port), "KUBECONFIG": os.devnull}


def test_in_cluster_connects_directly_to_the_service(kube_api, incluster, monkeypatch):
    fleet_layout(kube_api, "swe", NOWHERE)
    helm_chart_layout(kube_api, "nats-system", NOWHERE)
    for key, value in incluster.items():
        monkeypatch.setenv(key, value)
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        assert (ep.via, ep.url) == ("in-cluster", "nats://nats.swe.svc:4222")
    with reach.kube_endpoint(KubeOptions(namespace="nats-system"), EdgeLog()) as ep:
        assert ep.url == "nats://nats.nats-system.svc:4222"
    assert {r.user for r in kube_api.requests} == {"system:serviceaccount:swe:jetstream"}
    assert not kube_api.calls("create", "pods/portforward")


def test_in_cluster_cli_says_which_path(kube_api, incluster):
    fleet_layout(kube_api, "swe", NOWHERE)
    result = run_cli("ls", "-v", "--timeout", "1s", env=incluster)
    assert "in-cluster service account" in result.stderr
    assert "connecting directly to nats://nats.swe.svc:4222" in result.stderr
    # nats.swe.svc does not resolve outside a cluster: the NATS connection itself fails, exit 3
    assert result.returncode == 3
    assert not kube_api.calls("create", "pods/portforward")


# -- a real kubectl plugin --------------------------------------------------------------------------------


def kubectl_binary():
    here = Path(sys.executable).parent / "kubectl"
    return str(here) if here.exists() else shutil.which("kubectl")


def plugin_env(extra=None):
    bindir = str(Path(sys.executable).parent)
    env = clean_env(extra)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


needs_kubectl = pytest.mark.skipif(
    not kubectl_binary() or not (Path(sys.executable).parent / "kubectl-jetstream").exists(),
    reason="kubectl or the kubectl-jetstream console script is not installed next to python")


@needs_kubectl
def test_kubectl_lists_and_runs_the_plugin():
    listed = subprocess.run([kubectl_binary(), "plugin", "list"], capture_output=True, text=True,
                            env=plugin_env(), timeout=60)
    assert "kubectl-jetstream" in listed.stdout, listed
    helped = subprocess.run([kubectl_binary(), "jetstream", "--help"], capture_output=True, text=True,
                            env=plugin_env(), timeout=60)
    assert helped.returncode == 0, helped
    assert helped.stdout.startswith("usage: kubectl jetstream")


@needs_kubectl
def test_kubectl_jetstream_ls_through_the_fake_cluster(fleet):
    result = subprocess.run([kubectl_binary(), "jetstream", "ls", "-o", "json"], capture_output=True,
                            text=True, env=plugin_env({"KUBECONFIG": fleet.kubeconfig_path}), timeout=60,
                            cwd=REPO)
    assert result.returncode == 0, result
    assert result.stdout.lstrip().startswith(("[", "{"))
