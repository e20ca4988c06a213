"""Faults, end to end: the CLI as a subprocess against real nats-servers that are late, absent, without
JetStream, demanding credentials or TLS, stopped (SIGSTOP) or shared by two runs; and SIGINT half-way.

Each fault must end in a bounded time with the documented exit status and one useful line, never a hang
or a traceback, and never leave temp files or a local listener behind.
"""
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import probe
from runner import HANG, run_cli, spawn_cli
from kubeapi import fleet_layout, kube_api  # noqa: F401
from natsserver import NatsServer, free_port


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def timed(*args, **kw):
    start = time.monotonic()
    result = run_cli(*args, **kw)
    return result, time.monotonic() - start


def streams_folder(folder, count, consumers=False, replicas=None, storage="file"):
    """`count` stream files S000... (memory storage keeps the big ones quick to create and to shut down)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        text = f"name: S{i:03}\nsubjects: [s{i:03}.>]\nmax_age: 1h\nstorage: {storage}\n"
        if replicas:
            text += f"num_replicas: {replicas}\n"
        if consumers:
            text += "consumers:\n  - durable_name: worker\n    ack_policy: explicit\n    ack_wait: 10s\n"
        (folder / f"s{i:03}.yaml").write_text(text)
    return folder


def first_write_seen(recorder, api="STREAM.CREATE", timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s.startswith("$JS.API." + api) for s in recorder.subjects):
            return True
        time.sleep(0.002)
    raise AssertionError(f"no {api} request seen within {timeout}s")


def interrupt_while_server_paused(proc, server):
    """SIGINT the tool while the server holds its replies (SIGSTOP), so the interrupt always lands with
    requests in flight however fast the rest would have gone; SIGCONT afterwards, whatever happens."""
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def assert_converges(url, folder):
    """A re-run of init finishes the job and a third run sends no write: the server equals the files."""
    again = run_cli("init", "-f", folder, "--nats-url", url, "--timeout", "10s")
    assert again.returncode == 0, again
    with probe.ApiRecorder(url) as recorder:
        third = run_cli("init", "-f", folder, "--nats-url", url)
    assert third.returncode == 0 and recorder.writes == [], (third, recorder.writes)
    assert run_cli("diff", "-f", folder, "--nats-url", url).returncode == 0


def tool_temp_files(tmpdir):
    return [p for p in os.listdir(tmpdir) if "kubectl-jetstream" in p or p.endswith(".creds")]


@pytest.fixture
def private_tmp(tmp_path):
    """A TMPDIR of the tool's own, to see whether it leaves temp files."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    return path


# --- wait and init --wait ---------------------------------------------------------------------------------

def test_wait_succeeds_when_the_server_starts_late(tmp_path):
    port = free_port()
    started = time.monotonic()
    proc = spawn_cli("wait", "--nats-url", f"nats://127.0.0.1:{port}", "--timeout", "30s", "-v", cwd=tmp_path)
    time.sleep(1.5)
    assert proc.poll() is None, "wait gave up before the server was there"
    with NatsServer(port=port):
        code, out, err = finish(proc)
    assert code == 0, err
    assert time.monotonic() - started >= 1.5
    assert "JetStream answers" in out
    assert "not ready yet" in err  # it did retry


def test_wait_times_out_with_exit_3_naming_the_step_when_nothing_listens(tmp_path):
    port = free_port()
    result, elapsed = timed("wait", "--nats-url", f"nats://127.0.0.1:{port}", "--timeout", "2s", cwd=tmp_path)
    assert result.returncode == 3, result
    assert 1.9 <= elapsed < HANG, elapsed  # the whole --timeout, not the default 60s
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "timed out after 2s waiting for the NATS server to accept connections" in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr


def test_wait_names_jetstream_when_the_server_runs_without_it(tmp_path):
    with NatsServer(jetstream=False) as server:
        result, elapsed = timed("wait", "--nats-url", server.url, "--timeout", "1s", cwd=tmp_path)
    assert result.returncode == 3, result
    assert elapsed < HANG
    assert "waiting for JetStream to answer" in result.stderr
    assert "JetStream is not enabled" in result.stderr


def test_init_wait_creates_the_streams_on_a_late_server(tmp_path):
    folder = streams_folder(tmp_path / "streams.d", 5, consumers=True)
    port = free_port()
    proc = spawn_cli("init", "--wait", "20s", "-f", folder, "--nats-url", f"nats://127.0.0.1:{port}")
    time.sleep(1.5)
    assert proc.poll() is None, "init --wait gave up before the server was there"
    with NatsServer(port=port) as server:
        code, out, err = finish(proc)
        assert code == 0, err
        assert set(probe.streams(server.url)) == {f"S{i:03}" for i in range(5)}
        assert set(probe.consumers(server.url, "S004")) == {"worker"}
    assert "create" in out


def test_init_wait_times_out_with_exit_3_and_changes_nothing(tmp_path):
    folder = streams_folder(tmp_path / "streams.d", 2)
    result, elapsed = timed("init", "--wait", "1s", "-f", folder, "--nats-url", f"nats://127.0.0.1:{free_port()}")
    assert result.returncode == 3, result
    assert elapsed < HANG
    assert "timed out after 1s waiting for the NATS server to accept connections" in result.stderr


def test_wait_through_kubernetes_waits_for_a_ready_pod(kube_api, nats_server, tmp_path):
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port), replicas=1)
    kube_api.set_ready("swe", "nats-0", False, phase="Pending")
    env = {"KUBECONFIG": kube_api.kubeconfig(namespace="swe")}
    proc = spawn_cli("wait", "--timeout", "30s", "-v", env=env, cwd=tmp_path)
    time.sleep(1.5)
    assert proc.poll() is None, "wait gave up while the pod was not ready"
    assert not kube_api.calls("create", "pods/portforward"), "it forwarded to a pod that is not ready"
    kube_api.set_ready("swe", "nats-0", True, phase="Running")
    code, out, err = finish(proc)
    assert code == 0, err
    assert "JetStream answers" in out
    assert kube_api.calls("create", "pods/portforward")


def test_wait_through_kubernetes_times_out_naming_the_pod_step(kube_api, tmp_path):
    fleet_layout(kube_api, "swe", ("127.0.0.1", 9), replicas=1)
    kube_api.set_ready("swe", "nats-0", False, phase="Pending")
    env = {"KUBECONFIG": kube_api.kubeconfig(namespace="swe")}
    result, elapsed = timed("wait", "--timeout", "1s", env=env, cwd=tmp_path)
    assert result.returncode == 3, result
    assert elapsed < HANG
    assert "ready pod" in result.stderr and "nats-0" in result.stderr


# --- NATS absent, silent, stopped, or without JetStream ------------------------------------------------

COMMANDS = [
    ("ls",),
    ("init",),
    ("diff",),
    ("info", "S000"),
    ("export",),
    ("purge", "S000", "--yes"),
    ("delete", "S000", "--yes"),
    ("recreate", "--all", "--yes"),
    ("init", "--prune", "--yes"),
]


@pytest.fixture
def two_streams(tmp_path):
    return streams_folder(tmp_path / "streams.d", 2)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_closed_port_exits_3_within_the_timeout_with_one_line(command, two_streams):
    port = free_port()
    result, elapsed = timed(*command, "-f", two_streams, "--nats-url", f"nats://127.0.0.1:{port}",
                            "--timeout", "1s")
    assert result.returncode == 3, result
    assert elapsed < HANG, elapsed
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "connection refused" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def silent_listener():
    """Accepts TCP connections and never says anything (a wrong port, a hung process, a dead forward)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("command", [("init",), ("wait",)], ids=lambda c: c[0])
def test_listener_that_never_speaks_exits_3_within_the_timeout(command, silent_listener, two_streams):
    result, elapsed = timed(*command, "-f", two_streams, "--nats-url", f"nats://127.0.0.1:{silent_listener}",
                            "--timeout", "1s")
    assert result.returncode == 3, result
    assert elapsed < HANG, elapsed
    assert f"127.0.0.1:{silent_listener}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [("ls",), ("init",), ("info", "S000"), ("purge", "--all", "--yes")],
                         ids=lambda c: " ".join(c))
def test_jetstream_not_enabled_exits_3_saying_so(command, two_streams):
    with NatsServer(jetstream=False) as server:
        result, elapsed = timed(*command, "-f", two_streams, "--nats-url", server.url, "--timeout", "2s")
    assert result.returncode == 3, result
    assert elapsed < HANG
    assert "JetStream is not enabled" in result.stderr and server.url in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.fixture
def stopped():
    """A real nats-server; the test may SIGSTOP it. SIGCONT in teardown, whatever happened."""
    server = NatsServer().start()
    try:
        yield server
    finally:
        if server.proc:
            os.kill(server.proc.pid, signal.SIGCONT)
        server.cleanup()


@pytest.mark.parametrize("command", [("ls",), ("purge", "--all", "--yes")], ids=lambda c: " ".join(c))
def test_stopped_server_exits_3_within_the_timeout(stopped, two_streams, command):
    os.kill(stopped.proc.pid, signal.SIGSTOP)
    result, elapsed = timed(*command, "-f", two_streams, "--nats-url", stopped.url, "--timeout", "1s", timeout=30)
    assert result.returncode == 3, result
    assert elapsed < HANG, elapsed
    assert stopped.url in result.stderr and "Traceback" not in result.output


def test_server_stopped_in_the_middle_of_init_exits_3_and_says_what_was_sent(stopped, tmp_path):
    folder = streams_folder(tmp_path / "many", 300, consumers=True, storage="memory")
    with probe.ApiRecorder(stopped.url) as recorder:
        proc = spawn_cli("init", "-f", folder, "--nats-url", stopped.url, "--timeout", "2s")
        first_write_seen(recorder)
        os.kill(stopped.proc.pid, signal.SIGSTOP)
        halted = time.monotonic()
        try:
            code, out, err = finish(proc, timeout=30)
            elapsed = time.monotonic() - halted
        finally:
            os.kill(stopped.proc.pid, signal.SIGCONT)
    assert code == 3, err
    assert elapsed < HANG, elapsed  # the first unanswered request ends it, not one timeout each
    assert "did not answer" in err and stopped.url in err
    assert re.search(r"(done|sent) before the failure", err), err
    assert "init is idempotent: run it again" in err
    assert "Traceback" not in err
    assert_converges(stopped.url, folder)


# --- credentials and TLS ------------------------------------------------------------------------------

USERPASS = 'authorization { users = [{user: alice, password: "pw-Secret-7f3a"}] }'
TOKEN = 'authorization { token: "tok-Secret-91bd" }'
SECRETS = ("pw-Secret-7f3a", "tok-Secret-91bd", "pw-Wrong-c0de", "tok-Wrong-55aa")


@pytest.mark.parametrize("config, flags, expected", [
    (USERPASS, [], "requires authentication and no credentials were given"),
    (USERPASS, ["--nats-user", "alice", "--password", "pw-Wrong-c0de"], "refused the credentials"),
    (USERPASS, ["--nats-user", "mallory", "--password", "pw-Secret-7f3a"], "refused the credentials"),
    (TOKEN, [], "requires authentication and no credentials were given"),
    (TOKEN, ["--token", "tok-Wrong-55aa"], "refused the credentials"),
], ids=["userpass-missing", "userpass-wrong-password", "userpass-wrong-user", "token-missing", "token-wrong"])
def test_auth_failure_exits_3_naming_the_cause_without_the_secret(config, flags, expected, two_streams):
    with NatsServer(config=config) as server:
        for command in (("ls",), ("init",), ("wait", "--timeout", "30s")):
            result, elapsed = timed(*command, "-f", two_streams, "--nats-url", server.url, *flags, "-v")
            assert result.returncode == 3, result
            assert expected in result.stderr, result
            assert elapsed < HANG, "a credentials error is final: wait must not retry it"
            for secret in SECRETS:
                assert secret not in result.output
        assert probe.streams(server.url, **right_credentials(config)) == {}


def right_credentials(config):
    return {"user": "alice", "password": "pw-Secret-7f3a"} if "alice" in config else {"token": "tok-Secret-91bd"}


@pytest.mark.parametrize("config, flags", [
    (USERPASS, ["--nats-user", "alice", "--password", "pw-Secret-7f3a"]),
    (TOKEN, ["--token", "tok-Secret-91bd"]),
], ids=["userpass", "token"])
def test_right_credentials_work(config, flags, two_streams):
    with NatsServer(config=config) as server:
        result = run_cli("init", "-f", two_streams, "--nats-url", server.url, *flags)
        assert result.returncode == 0, result
        assert set(probe.streams(server.url, **right_credentials(config))) == {"S000", "S001"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("certs")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=kjs-test-ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d


@pytest.fixture(scope="module")
def tls_server(certs):
    config = 'tls { cert_file: "%s"\n key_file: "%s" }' % (certs / "server.pem", certs / "server.key")
    with NatsServer(config=config) as server:
        yield server


@pytest.mark.parametrize("scheme", ["nats", "tls"])
@pytest.mark.parametrize("command", [("ls",), ("init",), ("wait", "--timeout", "30s")], ids=lambda c: c[0])
def test_tls_required_without_the_ca_exits_3_naming_tls(tls_server, two_streams, scheme, command):
    url = tls_server.url.replace("nats://", f"{scheme}://")
    result, elapsed = timed(*command, "-f", two_streams, "--nats-url", url, "--timeout", "3s", timeout=60)
    assert result.returncode == 3, result
    assert elapsed < HANG, elapsed  # it used to hang forever here (nats-py waits on a dead socket)
    assert "TLS handshake" in result.stderr and "--tls-ca" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_tls_with_the_ca_works_and_prints_no_noise(tls_server, certs, tmp_path):
    folder = streams_folder(tmp_path / "streams.d", 1)
    result = run_cli("init", "-f", folder, "--nats-url", tls_server.url, "--tls-ca", certs / "ca.pem")
    assert result.returncode == 0, result
    assert result.stderr == ""  # no asyncio "eof_received" chatter
    ls = run_cli("ls", "-o", "name", "--nats-url", tls_server.url, "--tls-ca", certs / "ca.pem", cwd=tmp_path)
    assert ls.returncode == 0 and "stream/S000" in ls.stdout


def test_tls_ca_file_that_is_not_a_certificate_is_a_usage_error(tls_server, certs, tmp_path):
    result = run_cli("ls", "--nats-url", tls_server.url, "--tls-ca", certs / "server.key", cwd=tmp_path)
    assert result.returncode == 2, result
    assert "TLS files" in result.stderr and "Traceback" not in result.output


@pytest.fixture
def plain_info_server():
    """Speaks just enough NATS to send an INFO without TLS, and records every byte a client sends back."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    received = []
    stop = threading.Event()
    info = b'INFO {"server_id":"FAKE","version":"2.10.0","proto":1,"max_payload":1048576,"auth_required":true}\r\n'

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(info)
                conn.settimeout(0.2)
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline and not stop.is_set():
                    try:
                        data = conn.recv(4096)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(3)
    server.close()


@pytest.mark.parametrize("how", ["tls-url", "tls-ca"])
def test_tls_asked_for_but_not_offered_refuses_before_sending_credentials(plain_info_server, certs, how):
    port, received = plain_info_server
    url = f"{'tls' if how == 'tls-url' else 'nats'}://127.0.0.1:{port}"
    extra = ["--tls-ca", certs / "ca.pem"] if how == "tls-ca" else []
    result = run_cli("ls", "--nats-url", url, *extra, "--nats-user", "alice", "--password", "pw-Plain-0000",
                     "--timeout", "2s")
    assert result.returncode == 3, result
    assert "does not offer" in result.stderr and "plain text" in result.stderr
    assert b"pw-Plain-0000" not in b"".join(received), "the password went over a plain-text connection"


# --- two runs at once ----------------------------------------------------------------------------------

def test_two_inits_at_once_both_succeed_and_the_server_equals_the_files(nats_server, tmp_path):
    folder = streams_folder(tmp_path / "streams.d", 50, consumers=True)
    procs = [spawn_cli("init", "-f", folder, "--nats-url", nats_server.url) for _ in range(2)]
    results = [finish(p) for p in procs]
    codes = sorted(r[0] for r in results)
    # Creating a stream or consumer that exists with the same config is accepted by the server, so both
    # should succeed; a create race may at worst give exit 4 on one of them.
    assert codes in ([0, 0], [0, 4]), results
    assert "Traceback" not in "".join(r[2] for r in results)
    streams = probe.streams(nats_server.url)
    assert set(streams) == {f"S{i:03}" for i in range(50)}
    assert all(set(probe.consumers(nats_server.url, n)) == {"worker"} for n in ("S000", "S025", "S049"))
    assert_converges(nats_server.url, folder)


# --- SIGINT ------------------------------------------------------------------------------------------

def test_sigint_during_a_long_init_exits_130_and_says_what_was_sent(nats_server, tmp_path, private_tmp):
    folder = streams_folder(tmp_path / "many", 500, consumers=True, storage="memory")
    with probe.ApiRecorder(nats_server.url) as recorder:
        proc = spawn_cli("init", "-f", folder, "--nats-url", nats_server.url, env={"TMPDIR": str(private_tmp)})
        first_write_seen(recorder)
        interrupt_while_server_paused(proc, nats_server)
        code, out, err = finish(proc, timeout=30)
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    on_server = probe.streams(nats_server.url)
    assert set(on_server) <= {f"S{i:03}" for i in range(500)}
    if on_server:  # something was sent: it must be said, never "nothing was changed"
        assert "nothing was changed" not in err
        assert re.search(r"(done|sent) before the interrupt[^(\n]*\(\d+\)", err), err
        named = set(re.findall(r"\bS\d{3}\b", err))
        assert set(on_server) <= named, "a stream created on the server is missing from the report"
    assert tool_temp_files(private_tmp) == []
    assert_converges(nats_server.url, folder)


def test_sigint_during_purge_exits_130_and_says_what_was_sent(nats_server, tmp_path):
    folder = streams_folder(tmp_path / "many", 300, storage="memory")
    assert run_cli("init", "-f", folder, "--nats-url", nats_server.url).returncode == 0
    for _attempt in range(3):  # 300 purges of small memory streams can all be answered before the test's
        probe.publish(nats_server.url, "s000.x", 3)  # SIGSTOP lands on a loaded machine: then try again
        with probe.ApiRecorder(nats_server.url) as recorder:
            proc = spawn_cli("purge", "--all", "--yes", "-f", folder, "--nats-url", nats_server.url)
            first_write_seen(recorder, "STREAM.PURGE")
            interrupt_while_server_paused(proc, nats_server)
            code, out, err = finish(proc, timeout=30)
        if code != 0:
            break
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert re.search(r"(done|sent) before the interrupt[^(\n]*\(\d+\): .*purge", err), err
    assert set(probe.streams(nats_server.url)) == {f"S{i:03}" for i in range(300)}  # purge deletes no stream


def test_sigint_through_a_port_forward_leaves_no_listener_no_forward_and_no_creds_file(kube_api, nats_server,
                                                                                       tmp_path, private_tmp):
    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port), replicas=1)
    # A server without auth ignores the creds, but the tool still writes them to its temp file for nats-py.
    kube_api.add_secret("swe", "nats-creds", {"nats.creds": "-----BEGIN NATS USER JWT-----\nxyz\n"
                                                            "------END NATS USER JWT------\n"})
    env = {"KUBECONFIG": kube_api.kubeconfig(namespace="swe"), "TMPDIR": str(private_tmp)}
    folder = streams_folder(tmp_path / "many", 300, consumers=True, storage="memory")
    with probe.ApiRecorder(nats_server.url) as recorder:
        proc = spawn_cli("init", "-f", folder, "-v", "--creds-secret", "nats-creds", env=env)
        first_write_seen(recorder)
        during = [(p, stat.S_IMODE(os.stat(private_tmp / p).st_mode)) for p in tool_temp_files(private_tmp)]
        interrupt_while_server_paused(proc, nats_server)
        code, out, err = finish(proc, timeout=30)
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert len(during) == 1 and during[0][1] == 0o600, during  # the creds file existed, owner-only
    assert tool_temp_files(private_tmp) == [], "the creds temp file was left behind"
    local = re.search(r"port-forward 127\.0\.0\.1:(\d+)", err)
    assert local, err
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(local.group(1))), timeout=1).close()
    deadline = time.monotonic() + 5
    while kube_api.active_forwards() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not kube_api.active_forwards(), "a pods/portforward websocket is still open"
