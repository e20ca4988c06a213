"""The JetStream JSON API over one nats-py connection.

Configs travel as the API's JSON, never through nats-py's StreamConfig/ConsumerConfig dataclasses, which drop
fields they do not know. Requests are pipelined: nats-py multiplexes replies on one inbox, and a semaphore
bounds how many are in flight so a port-forward is not flooded.
"""
import asyncio
import json
import re

from .errors import (JS_ERR_NO_MESSAGE, JS_ERR_NOT_ENABLED, JS_ERR_NOT_ENABLED_FOR_ACCOUNT, JS_ERR_STREAM_NOT_FOUND,
                     JetStreamAPIError, JetStreamNotEnabled, NatsConnectionError)
from .natsclient import Link, abandon, connect, nats_errors, server_info

API = "$JS.API."
WINDOW = 128  # requests in flight at once
FEW = 16  # up to this many named streams are looked up one by one, more with the paged list
# Writes that give the same result when sent twice: after a reconnect they are sent again.
IDEMPOTENT_WRITES = ("STREAM.CREATE.", "STREAM.UPDATE.", "CONSUMER.CREATE.", "CONSUMER.DURABLE.CREATE.")
RESENDS = 2  # how many times one request is sent again after the connection dropped under it


def api_prefix(domain=None):
    """$JS.API. or, for a JetStream domain (a leafnode's, seen through a hub), $JS.<domain>.API."""
    return f"$JS.{domain}.API." if domain else API


class JetStream:
    def __init__(self, nc, timeout, log, describe, link=None, domain=None):
        self.nc = nc
        self.domain = domain
        self.api = api_prefix(domain)
        self.link = link or Link(log)
        self.timeout = timeout
        self.log = log
        self.describe = describe
        self.writes = 0
        self.broken = None  # the NatsConnectionError that ended this connection's usefulness
        self.unanswered = {}  # write subjects sent whose reply has not come back (an ordered set)
        self._window = asyncio.Semaphore(WINDOW)

    # -- connection -----------------------------------------------------------------------------
    @classmethod
    async def connect(cls, url, timeout=5.0, log=lambda *_: None, describe=None, check=True, pinned=False,
                      domain=None, **options):
        """Connect within `timeout` seconds overall (natsclient.connect), or raise NatsConnectionError; with
        `check`, JetStream's account info is asked for first."""
        describe = describe or url
        nc, link = await connect(url, timeout, log, describe, pinned, **options)
        js = cls(nc, timeout, log, describe, link, domain)
        if check:
            try:
                await js.check_jetstream()
            except NatsConnectionError as exc:
                exc.step = "jetstream"
                await js.close()
                raise
            except BaseException:
                await js.close()
                raise
        return js

    async def close(self):
        """Drain when the connection is healthy; after a timeout or a lost connection just close, bounded."""
        self.link.closing = True
        if not self.broken:
            try:
                await asyncio.wait_for(self.nc.drain(), min(self.timeout, 2.0))
                return
            except Exception:
                pass
        await abandon(self.nc)

    @property
    def server_name(self):
        """The name the server announced in its INFO (its ID when it was given none)."""
        return server_info(self.nc).get("server_name")

    @property
    def server_version(self):
        """The version the server announced in its INFO, e.g. "2.15.1"."""
        return server_info(self.nc).get("version")

    async def check_jetstream(self):
        """Account info (use and limits): proves JetStream answers, and gives the API level."""
        return await self.request("INFO", None)

    @property
    def server_info(self):
        """The server's INFO: `cluster` is set when it is part of a cluster."""
        return server_info(self.nc)

    # -- requests -------------------------------------------------------------------------------
    async def request(self, api, payload, write=False):
        subject = self.api + api
        data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        async with self._window:
            if self.broken:  # one timeout or lost connection fails the rest at once, not each after a wait
                raise NatsConnectionError(str(self.broken))
            if write:
                self.writes += 1
                self.unanswered[subject] = None
            try:
                msg = await self._send(subject, data, resend=not write or api.startswith(IDEMPOTENT_WRITES))
            except nats_errors.NoRespondersError:
                if self.domain:
                    raise JetStreamNotEnabled(f"no JetStream answers for domain {self.domain!r} through the NATS "
                                              f"server at {self.describe} (is --js-domain right?)") from None
                raise JetStreamNotEnabled(f"JetStream is not enabled on the NATS server at {self.describe}") from None
            except (nats_errors.TimeoutError, asyncio.TimeoutError):
                self.broken = NatsConnectionError(
                    f"NATS at {self.describe} did not answer {subject} within {self.timeout:g}s")
                raise self.broken from None
            except (nats_errors.ConnectionClosedError, nats_errors.StaleConnectionError,
                    nats_errors.OutboundBufferLimitError) as exc:
                self.broken = NatsConnectionError(f"lost the connection to NATS at {self.describe}: "
                                                  f"{type(exc).__name__}")
                raise self.broken from None
        self.unanswered.pop(subject, None)
        reply = json.loads(msg.data)
        error = reply.get("error")
        if error:
            if error.get("err_code") in (JS_ERR_NOT_ENABLED, JS_ERR_NOT_ENABLED_FOR_ACCOUNT):
                raise JetStreamNotEnabled(f"JetStream is not enabled on the NATS server at {self.describe}: "
                                          f"{error.get('description')}")
            raise JetStreamAPIError(error.get("code"), error.get("err_code"), error.get("description", "error"))
        return reply

    async def _send(self, subject, data, resend):
        """One request; if the connection drops while it waits (a port-forward pod went away), its reply is
        lost: send it again on the new connection when that is safe, else report the connection lost."""
        for attempt in range(RESENDS + 1):
            lost = self.link.lost
            reply = asyncio.ensure_future(self.nc.request(subject, data, timeout=self.timeout))
            dropped = asyncio.ensure_future(lost.wait())
            try:
                done, _ = await asyncio.wait({reply, dropped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                dropped.cancel()
                if not reply.done():
                    reply.cancel()
            if reply in done and not (lost.is_set() and reply.exception() is not None):
                return reply.result()
            if not resend or attempt == RESENDS:
                raise nats_errors.ConnectionClosedError()
            self.log(f"sending {subject} again after the reconnect", 2)
        raise AssertionError("unreachable")

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
            name = item if isinstance(item, str) else item.get("config", {}).get("name") or item.get("name")
            if name not in seen:
                seen.add(name)
                unique.append(item)
        return unique

    # -- streams --------------------------------------------------------------------------------
    async def list_streams(self, subject=None):
        """Stream infos ({config, state, cluster, created}) of every stream, all pages."""
        return await self._paged("STREAM.LIST", "streams", {"subject": subject} if subject else None)

    async def stream_names(self):
        """The names of every stream, all pages: what `ls -o name` needs, without each stream's info."""
        return await self._paged("STREAM.NAMES", "streams")

    async def stream_info(self, name, deleted_details=False):
        """Raises JetStreamAPIError (JS_ERR_STREAM_NOT_FOUND) when there is no such stream."""
        return await self.request(f"STREAM.INFO.{name}", {"deleted_details": True} if deleted_details else None)

    async def stream_infos(self, names):
        """{name: stream info} of the named streams that exist. A few names: one STREAM.INFO each, pipelined
        (a purge of one stream should not fetch the whole account); many: the paged list, fewer requests."""
        if len(names) > FEW:
            return {i["config"]["name"]: i for i in await self.list_streams() if i["config"]["name"] in names}
        names = [n for n in names if _could_be_stream(n)]  # "a.b" would be another API subject: not found

        async def one(name):
            try:
                return await self.stream_info(name)
            except JetStreamAPIError as exc:
                if exc.err_code == JS_ERR_STREAM_NOT_FOUND:
                    return None
                raise

        infos = await asyncio.gather(*(one(n) for n in names))
        return {n: i for n, i in zip(names, infos) if i is not None}

    async def subject_counts(self, name):
        """{subject: messages} of a stream, or None when it has more subjects than one reply carries (the
        server sends at most 100,000)."""
        reply = await self.request(f"STREAM.INFO.{name}", {"subjects_filter": ">"})
        subjects = (reply.get("state") or {}).get("subjects") or {}
        return None if reply.get("total", 0) > len(subjects) else subjects

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

    async def get_message(self, stream, seq, subject=None):
        """The first message at or after `seq` (matching `subject` when given), or None past the end.

        $JS.API.STREAM.MSG.GET reads the store through the stream leader: no consumer, no ack, no interest,
        so nothing a user cares about changes, on any retention (it works without allow_direct, unlike
        DIRECT.GET). Returns {"subject", "seq", "hdrs" (base64), "data" (base64), "time"}."""
        try:
            reply = await self.request(f"STREAM.MSG.GET.{stream}", {"seq": seq, "next_by_subj": subject or ">"})
        except JetStreamAPIError as exc:
            if exc.err_code == JS_ERR_NO_MESSAGE:
                return None
            raise
        return reply.get("message")

    # -- consumers ------------------------------------------------------------------------------
    async def list_consumers(self, stream):
        return await self._paged(f"CONSUMER.LIST.{stream}", "consumers")

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

        The whole account in one paged list call, or with `names` only those streams (stream_infos: a purge
        or export of one stream does not page through every stream); then the consumer lists of the streams
        that have any, pipelined.
        """
        infos = await self.list_streams() if names is None else list((await self.stream_infos(list(names))).values())
        server = {}
        for info in infos:
            entry = dict(info)
            entry["consumers"] = {}
            entry["consumer_infos"] = []
            server[info["config"]["name"]] = entry
        if consumers:
            wanted = [n for n, e in server.items() if e.get("state", {}).get("consumer_count", 1)]
            lists = await asyncio.gather(*(self.list_consumers(n) for n in wanted))
            for name, items in zip(wanted, lists):
                for item in items:
                    if item["config"].get("durable_name"):
                        server[name]["consumers"][item["name"]] = item["config"]
                    server[name]["consumer_infos"].append(item)
        return server


PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")  # certainly valid; anything else is asked of spec's rule


def _could_be_stream(name):
    """Whether a stream can have this name (spec.names.name_problem, imported only for unusual names)."""
    if PLAIN_NAME.fullmatch(name):
        return True
    from .spec.names import name_problem

    return name_problem(name) is None


def describe_write(subject):
    """$JS.API.STREAM.CREATE.ORDERS -> "create stream ORDERS" (for what an interrupted command had sent)."""
    parts = subject.split(".API.", 1)[-1].split(".")
    if parts[:2] == ["CONSUMER", "DURABLE"]:
        parts = ["CONSUMER"] + parts[2:]
    if len(parts) < 3:
        return subject
    kind, op, names = parts[0].lower(), parts[1].lower(), "/".join(parts[2:])
    return f"{op} {kind} {names}"
