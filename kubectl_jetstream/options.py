"""The flags the network edges take, read once from the command line by context.py: connect.py and the kube
package are given these, never argparse's Namespace, so they do not depend on flag names and tests build them
directly. Durations are kept as given: each is parsed (and refused, exit 2) where its path uses it, so a flag
only that path reads cannot fail a command that never takes it."""
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class KubeOptions:
    """Where the NATS Service is and how to reach the Kubernetes API: kubectl's flags, plus the Secrets that
    hold NATS credentials."""
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    cluster: Optional[str] = None
    user: Optional[str] = None  # the kubeconfig user (kubectl's --user), not the NATS user
    namespace: Optional[str] = None
    request_timeout: Optional[str] = None  # kubectl's --request-timeout, as given
    service: Optional[str] = None
    port: Optional[str] = None  # Service port, name or number
    creds_secret: Optional[str] = None  # NAME[/KEY]
    token_secret: Optional[str] = None  # NAME[/KEY]
    user_secret: Optional[str] = None  # NAME (keys username and password)


@dataclass(frozen=True)
class NatsOptions:
    """How to connect to NATS: --nats-url (no Kubernetes), credentials, TLS files, --timeout."""
    url: Optional[str] = None
    creds: Optional[str] = None  # file paths
    nkey: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)  # secrets: never in a repr
    token: Optional[str] = field(default=None, repr=False)
    tls_ca: Optional[str] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    timeout: Optional[str] = None  # as given; connect.DEFAULT_TIMEOUT when None
