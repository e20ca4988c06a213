"""natsclient against a real nats-server, and the contract with nats-py's private internals it relies on: each
fails loudly here when a nats-py release changes them."""
import asyncio
import time

from natsserver import NatsServer, free_port
from kubectl_jetstream.natsclient import Link, connect, connect_failure, forget_discovered_servers, server_info


def test_forget_discovered_servers_keeps_only_the_url_given():
    """nats-py's `_server_pool` entries carry `discovered` (nats.py issue 408: no option to ignore them)."""
    ports = [free_port(), free_port()]
    routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in ports)
    nodes = [NatsServer(jetstream=False, name=f"pool-{i}",
                        config=f"cluster {{ name: pool\n listen: 127.0.0.1:{p}\n routes: [{routes}] }}")
             for i, p in enumerate(ports)]

    async def go():
        nc, link = await connect(nodes[0].url, 5, lambda *_: None, "test", pinned=True)
        try:
            deadline = time.monotonic() + 20  # until the route is up and INFO advertised the other node
            while not nc.discovered_servers and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            before = [(s.uri.port, s.discovered) for s in nc._server_pool]
            forget_discovered_servers(nc)
            after = [(s.uri.port, s.discovered) for s in nc._server_pool]
            return before, after, isinstance(link, Link), server_info(nc)
        finally:
            await nc.close()

    try:
        for node in nodes:
            node.start()
        before, after, linked, info = asyncio.run(go())
    finally:
        for node in nodes:
            node.cleanup()
    assert (nodes[1].port, True) in before, before
    assert after == [(nodes[0].port, False)] and linked
    assert info["server_name"] == "pool-0" and info["cluster"] == "pool" and "tls_required" not in info


def test_connect_failure_lines_never_hold_credentials():
    assert connect_failure("nats://h:4222", ConnectionRefusedError("refused"), []) == \
        "cannot connect to NATS at nats://h:4222: connection refused"
    line = connect_failure("h", Exception("nats: 'Authorization Violation'"), [], credentials=False)
    assert "no credentials were given" in line
