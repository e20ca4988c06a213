"""How the tool reaches NATS: --nats-url directly, else through Kubernetes (in-cluster or port-forward).

The Kubernetes side only supplies an `Endpoint` (a URL, plus credentials read from Secrets); everything after
that — TLS, auth, the connection itself — is the same for every path.
"""
import contextlib
import os
import tempfile
from dataclasses import dataclass
from typing import Optional

from .errors import NatsConnectionError, UsageError
from .units import UnitError, parse_duration


DEFAULT_TIMEOUT = "5s"


@dataclass
class Endpoint:
    url: str
    via: str  # "direct" | "in-cluster" | "port-forward"
    detail: str = ""
    creds: Optional[str] = None  # content of a creds file read from a Secret; never logged
    token: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = None

    def __repr__(self):  # keep secrets out of any accidental repr/log
        return f"Endpoint(url={self.url!r}, via={self.via!r}, detail={self.detail!r})"


def timeout_seconds(value, flag="--timeout"):
    try:
        ns = parse_duration(value)
    except UnitError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if ns <= 0:
        raise UsageError(f"{flag}: must be positive, got {value!r}")
    return ns / 1e9


def redact_url(url):
    """nats://user:secret@host:4222 -> nats://user:***@host:4222 (for -v and error messages)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else "nats://" + url)
    if parts.password or (parts.username and not parts.password):
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = parts.username + ":***" if parts.password else "***"
        return f"{parts.scheme}://{user}@{host}{parts.path}"
    return url


@contextlib.contextmanager
def endpoint(ctx):
    """Yield the Endpoint for this command; tears down any port-forward on exit."""
    args = ctx.args
    if args.nats_url:
        ctx.log(f"connecting directly to {redact_url(args.nats_url)} (--nats-url)")
        yield Endpoint(url=args.nats_url, via="direct", detail="--nats-url")
        return
    from .kube import kube_endpoint

    with kube_endpoint(ctx) as ep:
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


def _tls_context(args):
    if not (args.tls_ca or args.tls_cert or args.tls_key):
        return None
    import ssl

    try:
        tls = ssl.create_default_context(cafile=args.tls_ca) if args.tls_ca else ssl.create_default_context()
        if args.tls_cert:
            tls.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"TLS files: {exc}") from None
    return tls


def _check_files(args):
    for flag, path in (("--creds", args.creds), ("--nkey", args.nkey), ("--tls-ca", args.tls_ca),
                       ("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not os.path.isfile(path):
            raise UsageError(f"{flag}: no such file: {path}")


def connect_options(args, ep, creds_path):
    """nats-py connect() keyword arguments; flags win over credentials from Secrets."""
    options = {}
    if args.creds or creds_path:
        options["user_credentials"] = args.creds or creds_path
    if args.nkey:
        options["nkeys_seed"] = args.nkey
    token = args.token or ep.token
    if token:
        options["token"] = token
    user = args.nats_user or ep.user
    if user:
        options["user"] = user
        options["password"] = args.password or ep.password or ""
    tls = _tls_context(args)
    if tls is not None:
        options["tls"] = tls
    return options


@contextlib.asynccontextmanager
async def open_jetstream(ctx, timeout=None):
    """Connect to NATS by whichever path applies and yield a `jetstream.JetStream`."""
    from .jetstream import JetStream

    args = ctx.args
    timeout = timeout or timeout_seconds(args.timeout or DEFAULT_TIMEOUT)
    _check_files(args)
    with endpoint(ctx) as ep, _creds_file(ep.creds) as creds_path:
        options = connect_options(args, ep, creds_path)
        js = await JetStream.connect(ep.url, timeout=timeout, log=ctx.log, describe=_describe(ep),
                                     pinned=ep.via == "port-forward", **options)
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


__all__ = ["Endpoint", "endpoint", "open_jetstream", "timeout_seconds", "NatsConnectionError"]
