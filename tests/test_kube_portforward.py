"""The port-forward (kube/portforward.py via reach.kube_endpoint) against the fake API server and real nats-servers:
data both ways, failover to another ready pod, errors, and nothing left running afterwards."""
import asyncio
import json
import socket
import sys
import threading
import time

import nats
import pytest
import yaml

from kubeapi import fleet_layout, kenv, kube_api  # noqa: F401
from natsserver import NatsServer
from runner import HANG, EdgeLog
from kubectl_jetstream.kube import reach
from kubectl_jetstream.options import KubeOptions
from kubectl_jetstream.errors import Unreachable


@pytest.fixture
def two_servers():
    with NatsServer(name="srv-a") as a, NatsServer(name="srv-b") as b:
        yield a, b


def read_info(sock, timeout=5):
    """The INFO line a nats-server sends first; returns its JSON."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed before INFO: {data!r}"
        data += chunk
    line = data.split(b"\r\n", 1)[0]
    assert line.startswith(b"INFO ")
    return json.loads(line[5:])


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def our_threads():
    """Threads of the process under test (the fake API server's own threads are test infrastructure)."""
    return {t for t in threading.enumerate() if not t.name.startswith("fake-kube")}


def wait_until(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_nats_traffic_both_ways_and_nothing_left_after(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    before = our_threads()
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        assert ep.via == "port-forward"

        async def traffic():
            nc = await nats.connect(ep.url)
            js = nc.jetstream()
            await js.add_stream(name="BIG", subjects=["big.>"])
            payload = bytes(range(256)) * 2048  # 512 KiB: 64-bit websocket lengths, many TCP segments
            for i in range(3):
                await js.publish(f"big.{i}", payload)
            msg = await js.get_msg("BIG", 2)
            assert msg.data == payload
            started = time.monotonic()
            for _ in range(300):  # small request/reply round trips: no per-message stall
                await nc.request("$JS.API.INFO", b"", timeout=2)
            elapsed = time.monotonic() - started
            await nc.close()
            return elapsed

        elapsed = asyncio.run(traffic())
        assert elapsed < HANG, f"300 round trips took {elapsed:.2f}s"  # their speed is the bench's
        local = port_of(ep.url)
    assert refused(local), "the local port still accepts connections after the command"
    assert wait_until(lambda: our_threads() <= before), \
        [t.name for t in our_threads() - before]
    assert wait_until(lambda: not kenv.active_forwards())


def test_each_connection_gets_its_own_websocket(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        socks = [socket.create_connection(("127.0.0.1", port_of(ep.url))) for _ in range(3)]
        infos = [read_info(s) for s in socks]
        assert {i["server_name"] for i in infos} == {nats_server.name}
        for s in socks:
            s.close()
    assert len(kenv.calls("create", "pods/portforward")) == 3


def test_reconnect_goes_to_another_ready_pod_when_the_pod_is_deleted(kenv, two_servers):
    a, b = two_servers
    fleet_layout(kenv, "swe", [("127.0.0.1", a.port), ("127.0.0.1", b.port)], replicas=2)
    kenv.set_ready("swe", "nats-1", True)  # nats-1 became ready later: nats-0 is preferred
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        first = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        assert read_info(first)["server_name"] == "srv-a"
        kenv.delete_pod("swe", "nats-0")
        first.settimeout(5)
        assert first.recv(4096) == b"", "the forward should end when its pod goes away"
        first.close()
        second = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        assert read_info(second)["server_name"] == "srv-b"
        second.close()
        third = socket.create_connection(("127.0.0.1", port_of(ep.url)))  # the new pod is remembered
        assert read_info(third)["server_name"] == "srv-b"
        third.close()
    # the forward to nats-0 ended abnormally, so the next connection re-listed the pods before dialing
    names = [r.name for r in kenv.calls("create", "pods/portforward")]
    assert names == ["nats-0", "nats-1", "nats-1"]


def test_nats_client_reconnects_through_the_forward(kenv, two_servers):
    a, b = two_servers
    fleet_layout(kenv, "swe", [("127.0.0.1", a.port), ("127.0.0.1", b.port)], replicas=2)
    kenv.set_ready("swe", "nats-1", True)
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        async def go():
            reconnected = asyncio.Event()

            async def on_reconnect():
                reconnected.set()

            nc = await nats.connect(ep.url, reconnect_time_wait=0.1, max_reconnect_attempts=20,
                                    reconnected_cb=on_reconnect)
            assert nc._server_info["server_name"] == "srv-a"
            kenv.delete_pod("swe", "nats-0")
            await asyncio.wait_for(reconnected.wait(), 10)
            await nc.request("$JS.API.INFO", b"", timeout=2)
            name = nc._server_info["server_name"]
            await nc.close()
            return name

        assert asyncio.run(go()) == "srv-b"


def test_failed_dial_goes_transparently_to_another_pod(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port), replicas=0)
    # nats-0 is ready but nothing listens behind it: the kubelet reports the dial error on the error channel
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, ready_since=-600, targets={})
    kenv.add_pod("swe", "nats-1", labels={"app": "nats"}, ready_since=-60,
                 targets={4222: ("127.0.0.1", nats_server.port)})
    log = EdgeLog()
    with reach.kube_endpoint(KubeOptions(), log) as ep:
        assert "nats-0" in ep.detail
        s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        assert read_info(s)["server_name"] == nats_server.name
        s.close()
    log = log.text()
    assert "error forwarding port 4222 to pod nats-0" in log and "switching to pod nats-1" in log


def test_no_other_pod_closes_the_client_and_tells_why(kenv):
    fleet_layout(kenv, "swe", ("127.0.0.1", 9), replicas=0)
    kenv.add_pod("swe", "nats-0", labels={"app": "nats"}, targets={})
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        s.settimeout(5)
        assert s.recv(100) == b""
        s.close()

        class NatsDown(Unreachable):
            pass

        # The lead's code raises Unreachable when NATS cannot be reached; the forward adds its reason.
        with pytest.raises(NatsDown) as err:
            with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep2:
                socket.create_connection(("127.0.0.1", port_of(ep2.url))).recv(10)
                time.sleep(0.3)
                raise NatsDown("nats: cannot connect")
        text = str(err.value)
        assert text.startswith("nats: cannot connect (port-forward: error forwarding port 4222 to pod nats-0")
        assert text.endswith("; no other ready pod for Service nats in namespace swe (tried nats-0))")


def test_pod_deleted_between_listing_and_forward(kenv, nats_server, monkeypatch):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port), replicas=2)
    real = reach.choose_pod
    calls = []

    def racing(kube_, service, sport, exclude=()):
        pod, port = real(kube_, service, sport, exclude)
        if not calls:
            kenv.delete_pod("swe", pod["metadata"]["name"])  # gone before the forward is opened
        calls.append(pod["metadata"]["name"])
        return pod, port

    monkeypatch.setattr(reach, "choose_pod", racing)
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        assert "nats-1" in ep.detail
        s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        read_info(s)
        s.close()
    assert calls == ["nats-0", "nats-1"]


def test_forbidden_port_forward_is_reported_before_anything_else(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    kenv.deny_access("create", "pods/portforward")
    with pytest.raises(Unreachable) as err:
        with reach.kube_endpoint(KubeOptions(), EdgeLog()):
            pass
    assert "forbidden: the user needs `create` on `pods/portforward` in namespace swe" in str(err.value)
    assert 'User "tester" cannot create resource "pods/portforward"' in str(err.value)


def test_exec_plugin_token_is_refreshed_for_the_api_calls_and_the_websocket(kenv, nats_server, tmp_path,
                                                                             monkeypatch):
    """A kubeconfig user with a client-go credential plugin (EKS, GKE, OIDC helpers): the client's refresh hook
    asks the plugin again when the token is about to expire, for the API GETs and the websocket alike."""
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    count = tmp_path / "count"
    plugin = tmp_path / "credential-plugin"
    # The token expires within the client's 5-minute margin, so every request asks the plugin again.
    plugin.write_text(f"""#!{sys.executable}
import datetime, json, pathlib
count = pathlib.Path({str(count)!r})
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {{"token": f"exec-{{n}}", "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}}}}))
""")
    plugin.chmod(0o755)
    kenv.tokens.update({f"exec-{n}": f"plugin-user-{n}" for n in range(1, 100)})
    config = yaml.safe_load(open(kenv.kubeconfig(namespace="swe")))
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                           "command": str(plugin), "interactiveMode": "Never"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        with socket.create_connection(("127.0.0.1", port_of(ep.url)), timeout=5) as sock:
            assert "server_id" in read_info(sock)
    users = [(r.resource, r.user) for r in kenv.requests]
    assert [resource for resource, _ in users] == ["services", "pods", "pods/portforward"], users
    assert all(user and user.startswith("plugin-user-") for _, user in users), users
    assert len({user for _, user in users}) == 3, users  # a fresh token each time


def test_client_closing_with_unread_data_leaves_no_thread(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    before = our_threads()
    errors = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args)
    try:
        with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
                s.sendall(b"PING\r\n" * 1000)  # the server answers; nobody reads
                time.sleep(0.05)
                s.close()
            s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
            assert read_info(s)["server_name"] == nats_server.name
            s.close()
    finally:
        threading.excepthook = old_hook
    assert not errors
    assert wait_until(lambda: our_threads() <= before)


def test_closing_with_a_connection_in_use_ends_it(kenv, nats_server):
    fleet_layout(kenv, "swe", ("127.0.0.1", nats_server.port))
    before = our_threads()
    with reach.kube_endpoint(KubeOptions(), EdgeLog()) as ep:
        s = socket.create_connection(("127.0.0.1", port_of(ep.url)))
        read_info(s)
        started = time.monotonic()
    assert time.monotonic() - started < HANG
    s.settimeout(5)
    assert s.recv(100) == b""
    s.close()
    assert wait_until(lambda: our_threads() <= before)
    assert wait_until(lambda: not kenv.active_forwards())


# -- the fake speaks the protocol the client expects ------------------------------------------------------


def test_fake_portforward_protocol(kube_api, nats_server):
    """Subprotocol negotiation, channel headers, data, ping/pong and the normal close, seen from a bare
    websocket-client (the same library the kubernetes client uses)."""
    import ssl as _ssl

    import websocket

    fleet_layout(kube_api, "swe", ("127.0.0.1", nats_server.port))
    url = f"wss://127.0.0.1:{kube_api.port}/api/v1/namespaces/swe/pods/nats-0/portforward?ports=4222"
    sslopt = {"cert_reqs": _ssl.CERT_REQUIRED, "ca_certs": kube_api.ca_path}
    auth = f"Authorization: Bearer {kube_api.token}"
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(url, sslopt=sslopt, header=[auth, "Sec-WebSocket-Protocol: v5.channel.k8s.io"])
    assert err.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        websocket.create_connection(url, sslopt=sslopt, header=["Sec-WebSocket-Protocol: v4.channel.k8s.io"])
    assert err.value.status_code == 401

    ws = websocket.create_connection(url, sslopt=sslopt, subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"],
                                     header=[auth])
    assert ws.getsubprotocol() == "v4.channel.k8s.io"
    assert ws.recv_data_frame(True)[1].data == bytes([0]) + (4222).to_bytes(2, "little")
    assert ws.recv_data_frame(True)[1].data == bytes([1]) + (4222).to_bytes(2, "little")
    assert ws.recv_data_frame(True)[1].data.startswith(b"\x00INFO ")
    ws.ping(b"hi")
    opcode, frame = ws.recv_data_frame(True)
    assert (opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"hi")
    ws.send_binary(b"\x00PING\r\n")
    assert ws.recv_data_frame(True)[1].data == b"\x00PONG\r\n"
    kube_api.delete_pod("swe", "nats-0")
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE and frame.data[:2] == (1000).to_bytes(2, "big")
    ws.close()
