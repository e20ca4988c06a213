"""How the tool reaches NATS: --nats-url directly, else through Kubernetes (in-cluster or port-forward).

The Kubernetes side only supplies an `Endpoint` (a URL, plus credentials read from Secrets); everything after
that — TLS, auth, the connection itself — is the same for every path.
"""
import contextlib
import os
import tempfile
from urllib.parse import urlsplit

from .endpoint import Endpoint
from .errors import UsageError
from .units import parse_duration_flag

DEFAULT_TIMEOUT = "5s"


def redact_url(url):
    """nats://user:secret@host:4222 -> nats://user:***@host:4222, nats://TOKEN@host -> nats://***@host; each
    server of a comma-separated list. Plain text work only: it must also hide what a URL parser rejects."""
    return ",".join(_redact_one(u) for u in str(url).split(","))


def _redact_one(url):
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")  # the last @: a password may hold one
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}{sep}{user + ':***' if colon else '***'}@{host}"


def url_has_credentials(url):
    return redact_url(url) != url


URL_SCHEMES = ("nats", "tls", "ws", "wss")


def nats_servers(value, flag="--nats-url"):
    """--nats-url (or NATS_URL) -> the server URLs, as natscli reads them: one URL or a comma-separated list,
    a missing scheme meaning nats://. Anything NATS cannot use is one UsageError line that never shows a
    credential."""
    servers = [s.strip() for s in str(value).split(",")]
    if not any(servers):
        raise UsageError(f"{flag}: no server URL given")
    websocket = set()
    for server in servers:
        if not server:
            raise UsageError(f"{flag} {redact_url(value)}: an empty entry in the server list")
        shown = f"{flag} {redact_url(server)}"
        parts = urlsplit(server if "://" in server else "nats://" + server)
        if parts.scheme.lower() not in URL_SCHEMES:
            raise UsageError(f"{shown}: {parts.scheme}:// is not a NATS URL; use nats://, tls://, ws:// or wss://")
        try:
            port = parts.port
        except ValueError:
            text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
            raise UsageError(f"{shown}: port {text!r} is not a number from 1 to 65535") from None
        if port == 0:
            raise UsageError(f"{shown}: port 0 is not a number from 1 to 65535")
        if not parts.hostname:
            raise UsageError(f"{shown}: no host name")
        websocket.add(parts.scheme.lower() in ("ws", "wss"))
    if len(websocket) > 1:  # nats-py refuses the mix
        raise UsageError(f"{flag} {redact_url(value)}: websocket (ws://, wss://) and plain URLs cannot be mixed")
    return servers


@contextlib.contextmanager
def endpoint(ctx):
    """Yield the Endpoint for this command; tears down any port-forward on exit."""
    url = ctx.nats_options.url
    if url:
        ctx.log(f"connecting directly to {redact_url(url)} (--nats-url)")
        yield Endpoint(url=url, via="direct", detail="--nats-url")
        return
    child, ctx.kube_child = ctx.kube_child, None
    if child is not None:  # started by ctx.run, already at work
        found = child.endpoint()
    else:
        from .kube.reach import kube_endpoint  # here: only the Kubernetes path imports the kubernetes client

        found = kube_endpoint(ctx.kube_options, ctx.log)
    with found as ep:
        ctx.log(f"reaching NATS via {ep.via}: {ep.detail or ep.url}")
        yield ep


@contextlib.contextmanager
def _creds_file(content):
    """A creds file read from a Secret, as a 0600 temp file removed on exit (nats-py wants a path)."""
    if not content:
        yield None
        return
    fd, path = tempfile.mkstemp(prefix="kubectl-jetstream-", suffix=".creds")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _tls_context(nats):
    if not (nats.tls_ca or nats.tls_cert or nats.tls_key):
        return None
    import ssl  # here: ~10 ms that only TLS flags need (nats-py imports it itself once it connects)

    try:
        tls = ssl.create_default_context(cafile=nats.tls_ca) if nats.tls_ca else ssl.create_default_context()
        if nats.tls_cert:
            tls.load_cert_chain(nats.tls_cert, nats.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"TLS files: {exc}") from None
    return tls


def check_flags(nats, kube):
    """The connection flags (NatsOptions, KubeOptions), checked before anything is reached: one UsageError line
    (exit 2), no secret."""
    for flag, path in (("--creds", nats.creds), ("--nkey", nats.nkey), ("--tls-ca", nats.tls_ca),
                       ("--tls-cert", nats.tls_cert), ("--tls-key", nats.tls_key)):
        if path and os.path.isdir(path):
            raise UsageError(f"{flag} {path}: is a directory; give the file itself")
        if path and not os.path.isfile(path):
            raise UsageError(f"{flag}: no such file: {path}")
    if nats.url:
        nats_servers(nats.url)
    if nats.password and not (nats.user or kube.user_secret):
        # nats-py would send no user and the server would say "no credentials": name what is missing.
        raise UsageError("--password (or NATS_PASSWORD) needs the NATS user name: add --nats-user NAME "
                         "(--user is kubectl's kubeconfig user, not the NATS user)")


def connect_options(nats, ep, creds_path):
    """nats-py connect() keyword arguments from NatsOptions; flags win over credentials from Secrets."""
    options = {}
    if nats.creds or creds_path:
        options["user_credentials"] = nats.creds or creds_path
    if nats.nkey:
        options["nkeys_seed"] = nats.nkey
    token = nats.token or ep.token
    if token:
        options["token"] = token
    user = nats.user or ep.user
    if user:
        options["user"] = user
        options["password"] = nats.password or ep.password or ""
    tls = _tls_context(nats)
    if tls is not None:
        options["tls"] = tls
    return options


def preflight(ctx, timeout=None):
    """What is checked before NATS or Kubernetes is reached (bad input: exit 2, nothing asked of anyone):
    returns the timeout in seconds and the JetStream domain."""
    timeout = timeout or parse_duration_flag(ctx.nats_options.timeout or DEFAULT_TIMEOUT, "--timeout")
    check_flags(ctx.nats_options, ctx.kube_options)
    return timeout, ctx.js_domain()


@contextlib.asynccontextmanager
async def open_jetstream(ctx, timeout=None, check=False):
    """Connect to NATS by whichever path applies and yield a `jetstream.JetStream`. With `check`, JetStream's
    account info is asked for first (for `wait`); otherwise the command's first request shows whether
    JetStream answers (same errors), one round trip sooner."""
    from .jetstream import JetStream  # here: nats-py; ctx.run imports this module before the Kubernetes fork

    timeout, domain = preflight(ctx, timeout)
    with endpoint(ctx) as ep, _creds_file(ep.creds) as creds_path:
        options = connect_options(ctx.nats_options, ep, creds_path)
        servers = nats_servers(ep.url) if ep.via == "direct" else [ep.url]
        if domain:
            ctx.log(f"JetStream domain {domain}: API requests go to $JS.{domain}.API")
        js = await JetStream.connect(servers if len(servers) > 1 else servers[0], timeout=timeout, log=ctx.log,
                                     describe=_describe(ep), pinned=ep.via == "port-forward", check=check,
                                     domain=domain, **options)
        ctx.connections.append(js)  # so an interrupt can say which writes were sent but not answered
        try:
            yield js
        finally:
            await js.close()


def _describe(ep):
    where = redact_url(ep.url)
    if ep.via == "port-forward" and ep.detail:
        return f"{ep.detail} (port-forward {where})"
    return where

