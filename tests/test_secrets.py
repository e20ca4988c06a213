"""Secrets never show: every command, with -v and -vv, with passwords, tokens and creds given by flag,
environment, URL or Kubernetes Secret, right or wrong — none of the secret values appears in stdout, stderr,
or any file the run leaves behind; the creds temp file is 0600 and removed.

Creds (JWT + NKey) need the `nkeys` package on the client side; without it the creds content is still
checked never to be printed, and the temp file made from a Secret is checked for its mode and removal.
"""
import os
import stat
from pathlib import Path

import pytest

import probe
from runner import run_cli
from kubeapi import fleet_layout, kube_api  # noqa: F401
from natsserver import NatsServer

PASSWORD = "pw-Hush-4c1d9e"
TOKEN = "tok-Hush-77b3a0"
WRONG_PASSWORD = "pw-Nope-0a0a55"
WRONG_TOKEN = "tok-Nope-e1e1f2"
CREDS_JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.SeCrEtJwTbOdY"
CREDS_SEED = "SUAHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHHUSHH"
CREDS = f"""-----BEGIN NATS USER JWT-----
{CREDS_JWT}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
{CREDS_SEED}
------END USER NKEY SEED------
"""
SECRETS = (PASSWORD, TOKEN, WRONG_PASSWORD, WRONG_TOKEN, CREDS_JWT, CREDS_SEED)

# Every command, each in the form that reaches the server (destructive ones with --yes).
COMMANDS = [
    ("init",), ("diff",), ("ls",), ("ls", "-o", "wide"), ("ls", "-o", "json"), ("info", "ORDERS"),
    ("info", "ORDERS", "-o", "yaml"), ("export",), ("export", "-d", "exported"), ("purge", "ORDERS", "--yes"),
    ("recreate", "--all", "--yes"), ("init", "--prune", "--yes"), ("delete", "ORDERS", "--yes"),
    ("init", "--dry-run"), ("wait", "--timeout", "10s"), ("version",), ("job", "init"),
]
FAILING = [("init",), ("ls",), ("purge", "ORDERS", "--yes"), ("wait", "--timeout", "10s"), ("version",)]


@pytest.fixture(scope="module")
def userpass_server():
    with NatsServer(config='authorization { users = [{user: alice, password: "%s"}] }' % PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def token_server():
    with NatsServer(config='authorization { token: "%s" }' % TOKEN) as server:
        yield server


@pytest.fixture
def workdir(tmp_path):
    """cwd of the runs (export -d writes here), its streams.d, and a TMPDIR of the tool's own."""
    (tmp_path / "streams.d").mkdir()
    (tmp_path / "streams.d" / "orders.yaml").write_text(
        "name: ORDERS\nsubjects: [orders.>]\nconsumers:\n  - durable_name: billing\n    ack_policy: explicit\n")
    (tmp_path / "tmp").mkdir()
    return tmp_path


def run_everything(workdir, commands, flags=(), env=None, verbosity=("-v", "-vv")):
    """Run each command with each verbosity; returns [(command, result)]."""
    env = dict(env or {}, TMPDIR=str(workdir / "tmp"))
    results = []
    for verbose in verbosity:
        for command in commands:
            results.append((command, run_cli(*command, verbose, *flags, env=env, cwd=workdir)))
    return results


def assert_no_secret_anywhere(results, workdir, secrets=SECRETS):
    """No secret in any output or file left behind (each test asserts its exit codes itself)."""
    for command, result in results:
        for secret in secrets:
            assert secret not in result.stdout, (command, secret, result)
            assert secret not in result.stderr, (command, secret, result)
    for path in Path(workdir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret} written into {path}"
    assert os.listdir(workdir / "tmp") == [], "the tool left temp files"


def test_password_by_flag_never_shows(userpass_server, workdir):
    flags = ("--nats-url", userpass_server.url, "--nats-user", "alice", "--password", PASSWORD)
    results = run_everything(workdir, COMMANDS, flags)
    assert_no_secret_anywhere(results, workdir)
    assert all(r.returncode == 0 for _, r in results), results  # right credentials: every command succeeds
    assert any("ORDERS" in r.stdout for c, r in results if c == ("ls",))  # it really talked to the server


def test_token_from_the_environment_never_shows(token_server, workdir):
    env = {"NATS_URL": token_server.url, "NATS_TOKEN": TOKEN}
    results = run_everything(workdir, COMMANDS, env=env, verbosity=("-vv",))
    assert_no_secret_anywhere(results, workdir)
    assert all(r.returncode == 0 for _, r in results), results
    assert any("ORDERS" in r.stdout for c, r in results if c == ("ls",))  # it really talked to the server
    assert probe.streams(token_server.url, token=TOKEN) == {}  # `delete ORDERS --yes` ran last of the writes


def test_password_in_the_url_never_shows(userpass_server, workdir):
    url = userpass_server.url.replace("nats://", f"nats://alice:{PASSWORD}@")
    results = run_everything(workdir, [("init",), ("ls",), ("wait", "--timeout", "10s"), ("version",)],
                             ("--nats-url", url))
    assert_no_secret_anywhere(results, workdir)
    assert all(r.returncode == 0 for _, r in results), results
    assert any("alice:***@" in r.stderr for _, r in results)  # -v names the URL, redacted


@pytest.mark.parametrize("mode", ["wrong-password", "wrong-token", "wrong-password-in-url"])
def test_wrong_credentials_never_show(userpass_server, token_server, workdir, mode):
    if mode == "wrong-password":
        flags = ("--nats-url", userpass_server.url, "--nats-user", "alice", "--password", WRONG_PASSWORD)
    elif mode == "wrong-token":
        flags = ("--nats-url", token_server.url, "--token", WRONG_TOKEN)
    else:
        flags = ("--nats-url", userpass_server.url.replace("nats://", f"nats://alice:{WRONG_PASSWORD}@"))
    results = run_everything(workdir, FAILING, flags)
    assert_no_secret_anywhere(results, workdir)
    for command, result in results:
        assert "refused the credentials" in result.stderr, (command, result)
        assert result.returncode == 3, (command, result)  # version too: after the plugin version


def test_creds_file_content_never_shows(userpass_server, workdir, tmp_path_factory):
    creds = tmp_path_factory.mktemp("creds") / "user.creds"
    creds.write_text(CREDS)
    results = run_everything(workdir, FAILING, ("--nats-url", userpass_server.url, "--creds", creds))
    assert_no_secret_anywhere(results, workdir)
    for command, result in results:
        assert result.returncode == 3, (command, result)


@pytest.mark.parametrize("kind", ["user-secret", "token-secret", "creds-secret"])
def test_credentials_from_kubernetes_secrets_never_show(kube_api, userpass_server, token_server, workdir, kind):
    server = token_server if kind == "token-secret" else userpass_server
    fleet_layout(kube_api, "swe", ("127.0.0.1", server.port))
    kube_api.add_secret("swe", "nats-user", {"username": "alice", "password": PASSWORD})
    kube_api.add_secret("swe", "nats-token", {"token": TOKEN + "\n"})
    kube_api.add_secret("swe", "nats-creds", {"nats.creds": CREDS})
    flags = {"user-secret": ("--user-secret", "nats-user"), "token-secret": ("--token-secret", "nats-token"),
             "creds-secret": ("--creds-secret", "nats-creds")}[kind]
    env = {"KUBECONFIG": kube_api.kubeconfig(namespace="swe")}
    results = run_everything(workdir, [("init",), ("ls", "-o", "wide"), ("wait", "--timeout", "10s"),
                                       ("job", "init")], flags, env=env, verbosity=("-vv",))
    assert_no_secret_anywhere(results, workdir)
    assert kube_api.calls("get", "secrets"), "the Secret was never read"
    # The fake creds are refused by a password server: init, ls and wait exit 3; `job init` only writes YAML.
    expected = [3, 3, 3, 0] if kind == "creds-secret" else [0, 0, 0, 0]
    assert [r.returncode for _, r in results] == expected, results


@pytest.mark.parametrize("words", [["ls", "--to=S3CRET-TOKEN"], ["diff", "--nats-u=nats://u:S3CRET-TOKEN@h:4222"],
                                   ["ls", "--password", "S3CRET-TOKEN", "--no-such-flag"]])
def test_usage_errors_never_quote_a_secret_back(words):
    result = run_cli(*words)
    assert result.returncode == 2 and "error:" in result.stderr, result
    assert "S3CRET-TOKEN" not in result.stdout + result.stderr, result


# --- the creds temp file ------------------------------------------------------------------------------

def test_creds_temp_file_is_0600_and_removed(tmp_path, monkeypatch):
    import tempfile

    from kubectl_jetstream.connect import _creds_file

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        with _creds_file(CREDS) as path:
            assert Path(path).parent == tmp_path
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert Path(path).read_text() == CREDS
        assert not os.path.exists(path)
        with pytest.raises(RuntimeError):
            with _creds_file(CREDS) as path:
                raise RuntimeError("the command failed")
        assert not os.path.exists(path)
        with _creds_file(None) as nothing:
            assert nothing is None
    finally:
        os.umask(old_umask)
    assert os.listdir(tmp_path) == []


def test_endpoint_repr_hides_secrets():
    from kubectl_jetstream.connect import Endpoint, redact_url

    ep = Endpoint(url="nats://127.0.0.1:4222", via="port-forward", creds=CREDS, token=TOKEN, user="alice",
                  password=PASSWORD)
    for secret in (CREDS_SEED, CREDS_JWT, TOKEN, PASSWORD):
        assert secret not in repr(ep) and secret not in str(ep)
    assert PASSWORD not in redact_url(f"nats://alice:{PASSWORD}@host:4222")
    assert TOKEN not in redact_url(f"nats://{TOKEN}@host:4222")
