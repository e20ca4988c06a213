"""The nats-py connection under jetstream.JetStream: importing nats-py cheaply, a connect bounded by the timeout,
credentials only over TLS when TLS was asked for, reconnects pinned to a port-forward, and one line for why a
connect failed.
"""
import asyncio
import contextlib
import ssl
import sys

from .errors import NatsConnectionError


def _import_nats_without_aiohttp():
    """nats-py imports aiohttp at import time, only for ws:// URLs, and aiohttp builds two SSL contexts from
    the system CA store while it is imported: about 0.1 s of CPU, a sixth of a no-op `init`. Import nats-py
    with aiohttp hidden (it then treats it as not installed); `_enable_websocket` brings it back for a ws://
    or wss:// URL."""
    if "aiohttp" in sys.modules or "nats" in sys.modules:
        import nats
        return nats
    sys.modules["aiohttp"] = None  # `import aiohttp` raises ImportError while this is here
    try:
        import nats
    finally:
        if sys.modules.get("aiohttp", False) is None:
            del sys.modules["aiohttp"]
    return nats


def _enable_websocket(url):
    if "ws://" not in url.lower() and "wss://" not in url.lower():
        return
    from nats.aio import transport

    if transport.aiohttp is None:
        import aiohttp
        import multidict

        transport.aiohttp, transport.multidict = aiohttp, multidict


nats = _import_nats_without_aiohttp()
from nats import errors as nats_errors  # noqa: E402


def forget_discovered_servers(nc):
    """Drop the servers a cluster advertised (INFO connect_urls) from nats-py's reconnect pool, keeping the
    URLs given. nats-py has no option for this (nats.go's IgnoreDiscoveredServers), asked for in
    https://github.com/nats-io/nats.py/issues/408 (open); its `set_server_pool` is only in recent releases
    and INFO keeps adding to it. So the private `_server_pool` (a list of entries with a `discovered` flag)
    is edited in place, here only; tests/test_natsclient.py fails if nats-py changes that shape."""
    pool = getattr(nc, "_server_pool", None)
    if pool:
        pool[:] = [s for s in pool if not getattr(s, "discovered", False)] or pool


class Link:
    """Tells requests in flight that the connection under them dropped (their replies are lost with it).

    With `pinned`, reconnects go only to the URL given: a cluster advertises its other nodes' addresses
    (INFO connect_urls, pod IPs in Kubernetes) and nats-py would otherwise reconnect there, around the
    port-forward, to addresses that are unreachable from outside the cluster."""

    def __init__(self, log, pinned=False):
        self.log = log
        self.pinned = pinned
        self.nc = None
        self.closing = False
        self.lost = asyncio.Event()

    async def disconnected(self):
        if self.pinned and self.nc is not None:
            forget_discovered_servers(self.nc)
        if not self.closing:
            self.log("lost the connection to NATS; reconnecting", 1)
        self.lost.set()
        self.lost = asyncio.Event()

    async def reconnected(self):
        self.log("reconnected to NATS; requests in flight are sent again where that is safe", 1)


def server_info(nc):
    """The server's INFO as nats-py last read it ({} before it has): its name, version, cluster and whether it
    requires TLS. nats-py keeps it in the private `_server_info` (its public API has only the version); read
    here only (tests/test_natsclient.py checks the shape)."""
    return getattr(nc, "_server_info", None) or {}


async def connect(url, timeout, log, describe, pinned=False, **options):
    """(nats-py client, its Link), connected within `timeout` seconds overall, or NatsConnectionError.

    nats-py's own connect can hang forever after some failures (a failed TLS upgrade leaves it waiting
    for a socket that never closes), so the whole attempt is bounded here, and an error that retrying
    cannot fix (TLS, credentials) ends it at once.
    """
    failure = []
    fatal = asyncio.Event()

    async def quiet(exc):  # nats-py logs every reconnect error by default; keep stderr clean
        failure.append(exc)
        log(f"nats: {type(exc).__name__}: {exc}", 2)
        if is_fatal(exc):
            fatal.set()

    text_url = url if isinstance(url, str) else ",".join(url)
    _enable_websocket(text_url)
    nc = nats.NATS()
    link = Link(log, pinned)
    link.nc = nc
    tls_wanted = "tls://" in text_url.lower() or options.get("tls") is not None
    if tls_wanted:
        options = _credentials_only_over_tls(nc, options, describe)
    connecting = asyncio.ensure_future(nc.connect(
        url, connect_timeout=timeout, allow_reconnect=True, max_reconnect_attempts=3,
        reconnect_time_wait=0.2, error_cb=quiet, disconnected_cb=link.disconnected,
        reconnected_cb=link.reconnected, name="kubectl-jetstream", **options))
    gave_up = asyncio.ensure_future(fatal.wait())
    try:
        await asyncio.wait({connecting, gave_up}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gave_up.cancel()
    error = None
    if not connecting.done():
        connecting.cancel()
        error = asyncio.TimeoutError() if not fatal.is_set() else failure[-1]
    elif connecting.cancelled():
        error = asyncio.TimeoutError()
    elif connecting.exception() is not None:
        error = connecting.exception()
    if error is None and tls_wanted and not server_info(nc).get("tls_required"):
        error = NatsConnectionError(_no_tls(describe))
    if isinstance(error, NatsConnectionError):  # already says what is wrong
        await abandon(nc)
        error.step, error.fatal = "connect", True
        raise error
    if error is not None:
        await abandon(nc)
        given = "@" in text_url.split("//", 1)[-1] or any(
            options.get(k) for k in ("user", "password", "token", "user_credentials", "nkeys_seed"))
        failed = NatsConnectionError(connect_failure(describe, error, failure, credentials=given))
        failed.step = "connect"  # which readiness step failed (for `wait`)
        failed.fatal = any(is_fatal(e) for e in [error] + failure)  # retrying will not help
        raise failed from error
    return nc, link


async def abandon(nc):
    """Close a nats-py client without waiting on it for long: its close can wait on a dead socket, which is then
    closed directly (the private `_transport`; nats-py has no public way to drop a connection)."""
    try:
        await asyncio.wait_for(nc.close(), 1.0)
    except BaseException as exc:  # noqa: B036 - cancellation of the close itself is what we want to swallow
        if isinstance(exc, KeyboardInterrupt):
            raise
        transport = getattr(nc, "_transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()


def _no_tls(describe):
    return (f"TLS was asked for (tls:// or --tls-ca/--tls-cert) but the NATS server at {describe} does not offer "
            f"it; not going on in plain text")


def _credentials_only_over_tls(nc, options, describe):
    """nats-py quietly stays in plain text when the server does not offer TLS, even for a tls:// URL; the
    credentials are then handed over only once the connection is known to be TLS (nats-py asks for them
    after reading the server's INFO)."""
    def guarded(value):
        def provide():
            if not server_info(nc).get("tls_required"):
                raise NatsConnectionError(_no_tls(describe))
            return value
        return provide

    return {k: guarded(v) if k in ("user", "password", "token") and isinstance(v, str) else v
            for k, v in options.items()}


def is_fatal(exc):
    """A connect error that retrying the same server will not fix."""
    if isinstance(exc, ssl.SSLError):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return "authorization" in text or "authentication" in text or "tls" in text


def connect_failure(describe, exc, errors, credentials=True):
    """One line for why nats-py could not connect; never includes credentials.

    `credentials`: whether any were given (flags, Secrets or the URL), to tell "missing" from "wrong".
    """
    causes = [exc] + list(errors)
    text = " ".join(f"{type(e).__name__} {e}" for e in causes).lower()
    if "authorization" in text or "authentication" in text or "user credentials" in text:
        if not credentials:
            return (f"NATS at {describe} requires authentication and no credentials were given "
                    f"(--nats-user/--password, --token, --creds or --nkey)")
        return f"NATS at {describe} refused the credentials (authorization violation)"
    tls_errors = [e for e in causes if isinstance(e, ssl.SSLError)]
    if tls_errors:
        reason = getattr(tls_errors[0], "reason", None) or type(tls_errors[0]).__name__
        detail = getattr(tls_errors[0], "verify_message", None)
        hint = " (give the CA with --tls-ca)" if isinstance(tls_errors[0], ssl.SSLCertVerificationError) else ""
        return f"TLS handshake with NATS at {describe} failed: {reason}" + (f": {detail}" if detail else "") + hint
    if "tls" in text or "ssl" in text or "certificate" in text:
        return f"TLS problem connecting to NATS at {describe}: {exc.__class__.__name__}"
    if "nkeys" in text and isinstance(exc, ImportError):
        return "--creds and --nkey need the Python package nkeys (pip install nkeys)"
    if "refused" in text:
        return f"cannot connect to NATS at {describe}: connection refused"
    if "timeout" in text or isinstance(exc, (asyncio.TimeoutError, nats_errors.TimeoutError)):
        return f"cannot connect to NATS at {describe}: no answer within the timeout"
    if isinstance(exc, nats_errors.NoServersError) and errors:
        return connect_failure(describe, errors[-1], [], credentials)
    return f"cannot connect to NATS at {describe}: {type(exc).__name__}: {exc}"
