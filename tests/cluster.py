"""A real 3-node nats-server cluster with JetStream on loopback, for the clustered tests.

Each node is a `natsserver.NatsServer` with its own client port, cluster port, server_name and store dir;
routes point at every node. `start()` returns once JetStream has a meta leader and accepts a replicated
stream (polled with a real STREAM.CREATE of a throw-away R3 stream, then deleted).
"""
import asyncio
import json
import time

import nats

from natsserver import NatsServer, free_port


class NatsCluster:
    def __init__(self, size=3, name="kjs"):
        self.name = name
        self.cluster_ports = [free_port() for _ in range(size)]
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.cluster_ports)
        self.nodes = []
        for i, cport in enumerate(self.cluster_ports):
            config = (f"cluster {{\n  name: {name}\n  listen: 127.0.0.1:{cport}\n  routes: [{routes}]\n}}\n")
            self.nodes.append(NatsServer(config=config, name=f"{name}-n{i + 1}"))

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    @property
    def url(self):
        return self.nodes[0].url

    def start(self, timeout=60.0):
        try:
            for node in self.nodes:
                node.start()
            self.wait_ready(timeout)
        except BaseException:
            self.cleanup()
            raise
        return self

    def wait_ready(self, timeout=60.0):
        """Until every node answers $JS.API.INFO and an R3 stream can be created through node 1."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = asyncio.run(self._probe())
                if last is True:
                    return
            except Exception as exc:  # not up yet
                last = exc
            time.sleep(0.25)
        raise RuntimeError(f"cluster not ready after {timeout}s: {last}")

    async def _probe(self):
        for url in self.urls:
            nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
            try:
                info = json.loads((await nc.request("$JS.API.INFO", b"", timeout=2)).data)
                if "error" in info:
                    return info["error"]
            finally:
                await nc.close()
        nc = await nats.connect(self.url, connect_timeout=2, allow_reconnect=False)
        try:
            config = {"name": "KJS_READY_PROBE", "subjects": ["kjs.ready.probe"], "num_replicas": 3,
                      "storage": "memory"}
            reply = json.loads((await nc.request("$JS.API.STREAM.CREATE.KJS_READY_PROBE",
                                                 json.dumps(config).encode(), timeout=5)).data)
            if "error" in reply:
                return reply["error"]
            await nc.request("$JS.API.STREAM.DELETE.KJS_READY_PROBE", b"", timeout=5)
            return True
        finally:
            await nc.close()

    def stop(self):
        for node in self.nodes:
            node.stop()

    def cleanup(self):
        for node in self.nodes:
            node.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
