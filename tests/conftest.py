import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from natsserver import NatsServer  # noqa: E402
# Re-exported for modules written against conftest; new code imports from runner (tests/e2e has its own
# conftest, so `from conftest import` is ambiguous once both are collected).
from runner import REPO, SHIPPED_STREAMS, Result, clean_env, run_cli  # noqa: E402,F401


@pytest.fixture(scope="module")
def server():
    """One nats-server with JetStream shared by the tests of a module (each test uses its own stream names)."""
    with NatsServer() as s:
        yield s


@pytest.fixture
def nats_server():
    """A fresh nats-server with JetStream on a free loopback port and a temp store."""
    with NatsServer() as server:
        yield server


@pytest.fixture
def cli():
    return run_cli
