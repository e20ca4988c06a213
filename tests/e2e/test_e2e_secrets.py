"""--token-secret / --user-secret / --creds-secret read real Secrets through the API; the nats-server
behind the pod requires that authentication."""
import importlib.util

import pytest

import e2e_harness as harness
import probe

TOKEN = "e2e-s3cret-token"


def test_token_secret(deploy, kjs):
    dep = deploy("swe", nats_config='authorization { token: "%s" }' % TOKEN)
    dep.secret("nats-auth", token=TOKEN + "\n", other=TOKEN)
    r = kjs(dep, "ls")
    assert r.returncode == 3, r  # the server wants a token
    r = kjs(dep, "init", "-f", harness.REPO / "streams.d", "--token-secret", "nats-auth", "-v")
    assert r.returncode == 0, r
    assert TOKEN not in r.output  # never logged
    assert "AGENT_RESPONSES" in probe.streams(dep.url, token=TOKEN)
    r = kjs(dep, "ls", "--token-secret", "nats-auth/other")
    assert r.returncode == 0, r
    r = kjs(dep, "ls", "--token-secret", "nats-auth/missing")
    assert r.returncode == 3 and "missing" in r.stderr, r
    r = kjs(dep, "ls", "--token-secret", "no-such-secret")
    assert r.returncode == 3 and "no-such-secret" in r.stderr, r


def test_user_secret(deploy, kjs):
    dep = deploy("helm", nats_config='authorization { users: [ {user: "app", password: "pw-e2e"} ] }')
    dep.secret("nats-user", username="app", password="pw-e2e")
    r = kjs(dep, "ls", "--user-secret", "nats-user")
    assert r.returncode == 0, r
    dep.secret("nats-wrong", username="app", password="nope")
    r = kjs(dep, "ls", "--user-secret", "nats-wrong")
    assert r.returncode == 3, r


def test_creds_secret(cluster, deploy, kjs, tmp_path):
    import natsjwt

    if importlib.util.find_spec("nkeys") is None:
        # nats-py needs the nkeys package to sign with a creds file; without it the plugin must still read
        # the Secret and then say what is missing.
        dep = deploy("swe")
        creds = tmp_path / "user.creds"
        creds.write_text(natsjwt.fake_creds())
        dep.secret_from_file("nats-creds", "nats.creds", creds)
        r = kjs(dep, "ls", "--creds-secret", "nats-creds", "-v")
        assert "Secret nats-creds" in r.stderr, r
        assert r.returncode != 0 and "nkeys" in r.stderr, r
        r = kjs(dep, "ls", "--creds-secret", "nats-creds/other.creds")
        assert r.returncode == 3 and "other.creds" in r.stderr, r
        pytest.skip("nkeys not installed: the Secret is read, but a creds login cannot be made (pip install nkeys)")
    op = natsjwt.Operator()
    dep = deploy("swe", nats_config=op.server_config())
    creds = tmp_path / "user.creds"
    creds.write_text(op.user_creds())
    dep.secret_from_file("nats-creds", "nats.creds", creds)
    r = kjs(dep, "ls")
    assert r.returncode == 3, r
    r = kjs(dep, "init", "-f", harness.REPO / "streams.d", "--creds-secret", "nats-creds")
    assert r.returncode == 0, r
    assert "AGENT_RESPONSES" in probe.streams(dep.url, user_credentials=str(creds))
