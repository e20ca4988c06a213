"""Fixtures for the end-to-end tests against a real kube-apiserver (see e2e_harness.py).

Every test under tests/e2e is marked `e2e` and is SKIPPED unless KJS_E2E=1, so a plain `pytest` never starts a
cluster. `make e2e` (bash e2e/build.sh && KJS_E2E=1 python -m pytest tests/e2e -m e2e) runs them.
KJS_E2E_CLUSTER=existing runs them against the cluster of $KUBECONFIG instead of the local harness.
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_harness as harness  # noqa: E402

E2E_DIR = Path(__file__).resolve().parent
ENABLED = os.environ.get("KJS_E2E") == "1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if not ENABLED:
                item.add_marker(pytest.mark.skip(reason="end-to-end: set KJS_E2E=1 (make e2e)"))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cluster")
    c = None
    try:
        c = harness.start_cluster(workdir)
        sys.stderr.write(f"\n[e2e] {c.mode} cluster up in {c.startup_seconds:.1f}s, logs in {workdir}\n")
        yield c
    finally:
        if c is not None:
            c.stop()
            assert not c.leftover_pids(), f"processes left running: {c.leftover_pids()}"


@pytest.fixture
def deploy(cluster):
    """deploy(layout="swe"|"helm", replicas=1, nats_config="", relay_delay=0.0) -> NatsDeployment."""
    mine = []

    def make(layout="swe", **kw):
        dep = cluster.deploy_nats(layout, **kw)
        mine.append(dep)
        return dep

    yield make
    for dep in mine:
        dep.stop()
        if dep in cluster.deployments:
            cluster.deployments.remove(dep)


@pytest.fixture
def kjs(cluster):
    """kjs(dep, "ls", ...) runs the plugin against a deployment with the admin kubeconfig and its namespace;
    kubeconfig= overrides the kubeconfig, env= adds environment."""

    def run(dep, *args, kubeconfig=None, env=None, timeout=180):
        return harness.run_plugin(*args, "--kubeconfig", kubeconfig or cluster.kubeconfig, "-n", dep.namespace,
                                  env=harness.plugin_env(env), timeout=timeout)

    return run
