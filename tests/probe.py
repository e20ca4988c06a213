"""Look at a real nats-server from the test side, independently of the code under test."""
import asyncio
import json
import threading

import nats

WRITE_APIS = (
    "STREAM.CREATE", "STREAM.UPDATE", "STREAM.DELETE", "STREAM.PURGE", "STREAM.MSG.DELETE",
    "CONSUMER.CREATE", "CONSUMER.DURABLE.CREATE", "CONSUMER.DELETE",
)


def _run(coro):
    return asyncio.run(coro)


async def _request(url, subject, payload=None, **connect):
    nc = await nats.connect(url, **connect)
    try:
        msg = await nc.request(subject, json.dumps(payload).encode() if payload is not None else b"", timeout=5)
        return json.loads(msg.data)
    finally:
        await nc.close()


def api(url, subject, payload=None, **connect):
    return _run(_request(url, "$JS.API." + subject, payload, **connect))


def streams(url, **connect):
    """{name: stream info} for every stream (all pages)."""
    async def go():
        nc = await nats.connect(url, **connect)
        out, offset = {}, 0
        try:
            while True:
                msg = await nc.request("$JS.API.STREAM.LIST", json.dumps({"offset": offset}).encode(), timeout=5)
                page = json.loads(msg.data)
                for info in page.get("streams") or []:
                    out[info["config"]["name"]] = info
                offset += len(page.get("streams") or [])
                if not page.get("streams") or offset >= page.get("total", 0):
                    return out
        finally:
            await nc.close()
    return _run(go())


def consumers(url, stream, **connect):
    """{durable name: consumer config}."""
    resp = api(url, f"CONSUMER.LIST.{stream}", {"offset": 0}, **connect)
    return {c["name"]: c["config"] for c in resp.get("consumers") or []}


def add_stream(url, config, **connect):
    resp = api(url, f"STREAM.CREATE.{config['name']}", config, **connect)
    assert "error" not in resp, resp
    return resp


def add_consumer(url, stream, config, **connect):
    resp = api(url, f"CONSUMER.CREATE.{stream}.{config['durable_name']}",
               {"stream_name": stream, "config": config}, **connect)
    assert "error" not in resp, resp
    return resp


def publish(url, subject, count=1, payload=b"x", **connect):
    async def go():
        nc = await nats.connect(url, **connect)
        js = nc.jetstream()
        try:
            for _ in range(count):
                await js.publish(subject, payload)
        finally:
            await nc.close()
    _run(go())


def message_counts(url, **connect):
    return {name: info["state"]["messages"] for name, info in streams(url, **connect).items()}


class ApiRecorder:
    """Records every JetStream API request subject seen on the server while active.

    `writes` are the requests that change server state; a no-op run must send none.
    """

    def __init__(self, url, **connect):
        self.url = url
        self.connect = connect
        self.subjects = []
        self._ready = threading.Event()
        self._stop = None
        self._thread = None

    @property
    def writes(self):
        return [s for s in self.subjects if any(s.startswith("$JS.API." + w) for w in WRITE_APIS)]

    def __enter__(self):
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "recorder did not start"
        return self

    async def _main(self):
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        nc = await nats.connect(self.url, **self.connect)

        async def record(msg):
            self.subjects.append(msg.subject)

        await nc.subscribe("$JS.API.>", cb=record)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.flush()
        await asyncio.sleep(0.05)
        await nc.close()

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def read_messages(url, stream, **connect):
    """[(seq, subject, headers, data, time)] of every message the stream holds, in order, read with batched
    DIRECT.GET (the stream needs allow_direct), so it works on any retention and changes nothing."""
    direct = ("Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Subject", "Nats-Num-Pending",
              "Nats-Last-Sequence", "Status", "Description")

    async def go():
        nc = await nats.connect(url, **connect)
        try:
            info = json.loads((await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=5)).data)
            assert info["config"].get("allow_direct"), f"{stream} needs allow_direct for read_messages"
            out, seq, last = [], info["state"]["first_seq"], info["state"]["last_seq"]
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            while info["state"]["messages"] and seq <= last:
                await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps({"seq": seq, "batch": 1000}).encode(),
                                 reply=inbox)
                while True:
                    msg = await sub.next_msg(timeout=10)
                    headers = msg.headers or {}
                    if headers.get("Status"):  # 204 end of batch, 404 nothing more
                        break
                    n = int(headers["Nats-Sequence"])
                    out.append((n, headers["Nats-Subject"], {k: v for k, v in headers.items() if k not in direct},
                                msg.data, headers["Nats-Time-Stamp"]))
                    seq = n + 1
                if headers.get("Status") != "204":
                    break
            return out
        finally:
            await nc.close()
    return _run(go())


def publish_fast(url, subjects, count, headers=None, **connect):
    """`count` messages round-robin over `subjects` (payload "<subject>-<i>", optional headers), published
    pipelined with core NATS and flushed; the caller waits for the stream to hold them."""
    async def go():
        nc = await nats.connect(url, **connect)
        try:
            for i in range(count):
                subject = subjects[i % len(subjects)]
                await nc.publish(subject, f"{subject}-{i}".encode(), headers=dict(headers or {}, n=str(i)))
                if i % 1000 == 999:
                    await nc.flush()
            await nc.flush()
        finally:
            await nc.close()
    _run(go())
