"""The connection flags as a user gets them wrong: each mistake is one line, exit 2, before anything is reached,
and never shows a credential (also with -vv). A comma-separated server list works, as in natscli."""
import pytest

import probe
from natsserver import NatsServer, free_port
from runner import run_cli

PASSWORD = "pw-Flags-6e0d2a"


@pytest.fixture(scope="module")
def server():
    with NatsServer(config='authorization { users = [{user: alice, password: "%s"}] }' % PASSWORD) as s:
        yield s


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_one_line_usage_error(result, *expected):
    assert result.returncode == 2, result
    assert PASSWORD not in result.stdout + result.stderr
    (line,) = error_lines(result)
    for text in expected:
        assert text in line, result


def test_a_flag_mistake_on_the_kubernetes_path_is_the_only_line(tmp_path):
    # the check runs before the command's coroutine starts: nothing else (no "never awaited" warning) follows
    result = run_cli("ls", "--password", PASSWORD, env={"KUBECONFIG": str(tmp_path / "none")})
    assert_one_line_usage_error(result, "--password", "--nats-user")
    assert result.stderr.strip().splitlines() == error_lines(result), result


@pytest.mark.parametrize("command", [("ls",), ("wait", "--timeout", "3s")])
def test_password_without_nats_user_says_which_flag_is_missing(server, command):
    # --user is kubectl's (the kubeconfig user): a NATS password needs --nats-user.
    result = run_cli(*command, "--nats-url", server.url, "--user", "ops", "--password", PASSWORD, "-vv")
    assert_one_line_usage_error(result, "--password", "needs the NATS user name", "--nats-user",
                                "--user is kubectl's kubeconfig user")
    assert "no credentials were given" not in result.stderr
    from_env = run_cli("ls", "-vv", env={"NATS_URL": server.url, "NATS_PASSWORD": PASSWORD})
    assert_one_line_usage_error(from_env, "NATS_PASSWORD", "--nats-user")
    right = run_cli("ls", "--nats-url", server.url, "--nats-user", "alice", "--password", PASSWORD)
    assert right.returncode == 0, right


@pytest.mark.parametrize("url,expected", [
    (f"nats://alice:{PASSWORD}@127.0.0.1:notaport", ["nats://alice:***@127.0.0.1:notaport",
                                                     "port 'notaport' is not a number"]),
    (f"http://alice:{PASSWORD}@127.0.0.1:4222", ["http:// is not a NATS URL", "nats://, tls://, ws:// or wss://"]),
    ("nats://127.0.0.1:4222,", ["an empty entry in the server list"]),
    ("nats://:4222", ["no host name"]),
    ("nats://127.0.0.1:4222,ws://127.0.0.1:8080", ["cannot be mixed"]),
])
def test_a_url_nats_cannot_use_is_one_line(url, expected):
    for verbose in ("-v", "-vv"):
        result = run_cli("ls", "--nats-url", url, verbose)
        assert_one_line_usage_error(result, *expected)


def test_a_folder_given_as_a_file_is_one_line(server, tmp_path):
    for flag in ("--creds", "--nkey", "--tls-ca"):
        result = run_cli("ls", "--nats-url", server.url, flag, tmp_path, "-vv")
        assert_one_line_usage_error(result, f"{flag} {tmp_path}: is a directory")


def test_a_comma_separated_server_list_is_used_as_natscli_does(server, tmp_path):
    dead = f"nats://alice:{PASSWORD}@127.0.0.1:{free_port()}"
    live = server.url.replace("nats://", f"nats://alice:{PASSWORD}@")
    (tmp_path / "orders.yaml").write_text("name: ORDERS\nsubjects: [orders.>]\n")
    result = run_cli("init", "-f", tmp_path, "--nats-url", f"{dead}, {live}", "-vv")
    assert result.returncode == 0, result
    assert PASSWORD not in result.stdout + result.stderr
    assert "alice:***@" in result.stderr
    assert "ORDERS" in probe.streams(server.url, user="alice", password=PASSWORD)
