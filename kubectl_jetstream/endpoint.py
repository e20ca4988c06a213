"""Where NATS is for this command: what connect.py (direct, --nats-url) and kube/reach.py (in-cluster or
port-forward) both produce, in a module of its own so that neither has to import the other for it."""
from dataclasses import dataclass
from typing import Optional


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
