import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from natsserver import NatsServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHIPPED_STREAMS = REPO / "streams.d"


@pytest.fixture
def nats_server():
    """A fresh nats-server with JetStream on a free loopback port and a temp store."""
    with NatsServer() as server:
        yield server


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return f"<exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "KUBECONFIG", "KUBERNETES_"))}
    env["KUBECONFIG"] = os.devnull  # never touch the developer's cluster from a test
    env.update(extra or {})
    return env


def run_cli(*args, env=None, input=None, cwd=None, timeout=120):
    """Drive the CLI as a subprocess, as a user would (natscli's test style)."""
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_jetstream", *map(str, args)],
        capture_output=True, text=True, env=clean_env(env), input=input, cwd=cwd or REPO, timeout=timeout,
    )
    return Result(proc)


@pytest.fixture
def cli():
    return run_cli
