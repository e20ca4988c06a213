"""The JetStream JSON API over one nats-py connection.

Configs travel as the API's JSON, never through nats-py's StreamConfig/ConsumerConfig dataclasses, which drop
fields they do not know. Requests are pipelined: nats-py multiplexes replies on one inbox, and a semaphore
bounds how many are in flight so a port-forward is not flooded.
"""
import asyncio
import json

import nats
from nats import errors as nats_errors

from .errors import (JS_ERR_NOT_ENABLED, JS_ERR_NOT_ENABLED_FOR_ACCOUNT, JetStreamAPIError,
                     NatsConnectionError)

API = "$JS.API."
WINDOW = 128  # requests in flight at once
WRITE_SUBJECTS = ("STREAM.CREATE.", "STREAM.UPDATE.", "STREAM.DELETE.", "STREAM.PURGE.",
                  "CONSUMER.CREATE.", "CONSUMER.DURABLE.CREATE.", "CONSUMER.DELETE.")


class JetStream:
    def __init__(self, nc, timeout, log, describe):
        self.nc = nc
        self.timeout = timeout
        self.log = log
        self.describe = describe
        self.writes = 0
        self._window = asyncio.Semaphore(WINDOW)

    # -- connection -----------------------------------------------------------------------------
    @classmethod
    async def connect(cls, url, timeout=5.0, log=lambda *_: None, describe=None, check=True, **options):
        describe = describe or url
        failure = []

        async def quiet(exc):  # nats-py logs every reconnect error by default; keep stderr clean
            failure.append(exc)
            log(f"nats: {type(exc).__name__}: {exc}", 2)

        try:
            nc = await nats.connect(
                url, connect_timeout=timeout, allow_reconnect=True, max_reconnect_attempts=3,
                reconnect_time_wait=0.2, error_cb=quiet, name="kubectl-jetstream", **options)
        except Exception as exc:
            raise NatsConnectionError(connect_failure(describe, exc, failure)) from exc
        js = cls(nc, timeout, log, describe)
        if check:
            await js.check_jetstream()
        return js

    async def close(self):
        try:
            await asyncio.wait_for(self.nc.drain(), self.timeout)
        except Exception:
            await self.nc.close()

    @property
    def server_version(self):
        return self.nc.connected_server_version and str(self.nc.connected_server_version)

    async def check_jetstream(self):
        """Account info: proves JetStream answers, and gives the API level."""
        return await self.request("INFO", None)

    # -- requests -------------------------------------------------------------------------------
    async def request(self, api, payload, write=False):
        subject = API + api
        data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        async with self._window:
            if write:
                self.writes += 1
            try:
                msg = await self.nc.request(subject, data, timeout=self.timeout)
            except nats_errors.NoRespondersError:
                raise NatsConnectionError(f"JetStream is not enabled on the NATS server at {self.describe}") from None
            except (nats_errors.TimeoutError, asyncio.TimeoutError):
                raise NatsConnectionError(
                    f"NATS at {self.describe} did not answer {subject} within {self.timeout:g}s") from None
            except (nats_errors.ConnectionClosedError, nats_errors.StaleConnectionError,
                    nats_errors.OutboundBufferLimitError) as exc:
                raise NatsConnectionError(f"lost the connection to NATS at {self.describe}: {exc}") from None
        reply = json.loads(msg.data)
        error = reply.get("error")
        if error:
            if error.get("err_code") in (JS_ERR_NOT_ENABLED, JS_ERR_NOT_ENABLED_FOR_ACCOUNT):
                raise NatsConnectionError(f"JetStream is not enabled on the NATS server at {self.describe}: "
                                          f"{error.get('description')}")
            raise JetStreamAPIError(error.get("code"), error.get("err_code"), error.get("description", "error"))
        return reply

    async def gather(self, coroutines):
        """Run requests concurrently (bounded by the window); exceptions are returned, not raised."""
        return await asyncio.gather(*coroutines, return_exceptions=True)

    async def _paged(self, api, key, payload=None):
        """All pages of a list API; the first reply gives the total, the rest are fetched at once."""
        first = await self.request(api, dict(payload or {}, offset=0))
        items = list(first.get(key) or [])
        total, limit = first.get("total", len(items)), first.get("limit") or len(items) or 256
        offsets = range(len(items), total, limit) if items else []
        pages = await asyncio.gather(*(self.request(api, dict(payload or {}, offset=o)) for o in offsets))
        for page in pages:
            items.extend(page.get(key) or [])
        # A stream created between pages can shift offsets; keep the first copy of each name.
        seen, unique = set(), []
        for item in items:
            name = item.get("config", {}).get("name") or item.get("name")
            if name not in seen:
                seen.add(name)
                unique.append(item)
        return unique

    # -- streams --------------------------------------------------------------------------------
    async def list_streams(self, subject=None):
        """Stream infos ({config, state, cluster, created}) of every stream, all pages."""
        return await self._paged("STREAM.LIST", "streams", {"subject": subject} if subject else None)

    async def stream_info(self, name):
        return await self.request(f"STREAM.INFO.{name}", None)

    async def create_stream(self, config):
        return await self.request(f"STREAM.CREATE.{config['name']}", config, write=True)

    async def update_stream(self, config):
        return await self.request(f"STREAM.UPDATE.{config['name']}", config, write=True)

    async def delete_stream(self, name):
        return await self.request(f"STREAM.DELETE.{name}", None, write=True)

    async def purge_stream(self, name, subject=None, seq=None, keep=None):
        request = {}
        if subject:
            request["filter"] = subject
        if seq is not None:
            request["seq"] = seq
        if keep is not None:
            request["keep"] = keep
        return await self.request(f"STREAM.PURGE.{name}", request or None, write=True)

    # -- consumers ------------------------------------------------------------------------------
    async def list_consumers(self, stream):
        return await self._paged(f"CONSUMER.LIST.{stream}", "consumers")

    async def consumer_info(self, stream, name):
        return await self.request(f"CONSUMER.INFO.{stream}.{name}", None)

    async def create_consumer(self, stream, config, action="create"):
        """action: "create" fails if it exists with another config, "update" if it does not exist."""
        name = config["durable_name"]
        request = {"stream_name": stream, "config": config, "action": action}
        return await self.request(f"CONSUMER.CREATE.{stream}.{name}", request, write=True)

    async def delete_consumer(self, stream, name):
        return await self.request(f"CONSUMER.DELETE.{stream}.{name}", None, write=True)

    # -- whole-account snapshot -----------------------------------------------------------------
    async def snapshot(self, names=None, consumers=True):
        """{name: {"config", "state", "cluster", "consumers": {durable: config}, "consumer_infos": [...]}}.

        One paged list call for the streams, then the consumer lists of the streams that have any, pipelined.
        `names` limits the consumer lists fetched (the stream list is always whole: it is one call).
        """
        infos = await self.list_streams()
        server = {}
        for info in infos:
            entry = dict(info)
            entry["consumers"] = {}
            entry["consumer_infos"] = []
            server[info["config"]["name"]] = entry
        if consumers:
            wanted = [n for n, e in server.items()
                      if (names is None or n in names) and e.get("state", {}).get("consumer_count", 1)]
            lists = await asyncio.gather(*(self.list_consumers(n) for n in wanted))
            for name, items in zip(wanted, lists):
                for item in items:
                    if item["config"].get("durable_name"):
                        server[name]["consumers"][item["name"]] = item["config"]
                    server[name]["consumer_infos"].append(item)
        return server


def connect_failure(describe, exc, errors):
    """One line for why nats-py could not connect; never includes credentials."""
    causes = [exc] + list(errors)
    text = " ".join(f"{type(e).__name__} {e}" for e in causes).lower()
    if "authorization" in text or "authentication" in text or "user credentials" in text:
        return f"NATS at {describe} refused the credentials (authorization violation)"
    if "tls" in text or "ssl" in text or "certificate" in text:
        return f"TLS problem connecting to NATS at {describe}: {exc.__class__.__name__}"
    if "refused" in text:
        return f"cannot connect to NATS at {describe}: connection refused"
    if "timeout" in text or isinstance(exc, (asyncio.TimeoutError, nats_errors.TimeoutError)):
        return f"cannot connect to NATS at {describe}: timed out"
    if isinstance(exc, nats_errors.NoServersError) and errors:
        return connect_failure(describe, errors[-1], [])
    return f"cannot connect to NATS at {describe}: {type(exc).__name__}: {exc}"
