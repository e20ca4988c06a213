"""Fixtures for the end-to-end tests against a real kube-apiserver (see e2e_harness.py).

Every test under tests/e2e is marked `e2e` and is SKIPPED unless KJS_E2E=1, so a plain `pytest` never starts a
cluster. `make e2e` (bash e2e/build.sh && KJS_E2E=1 python -m pytest tests/e2e -m e2e -n 0) runs them.
KJS_E2E_CLUSTER=existing runs them against the cluster of $KUBECONFIG instead of the local harness.
"""
import os
import shutil
import sys
import tempfile
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
def cluster(request):
    """The session's cluster. Its folder (logs, PKI, kubeconfigs, etcd data) is removed after a green run and
    kept, with its path printed, after a failure (pytest's own tmp folders are pruned by any later pytest)."""
    workdir = Path(tempfile.mkdtemp(prefix="kjs-e2e-"))
    c = harness.start_cluster(workdir)  # stops whatever it started if it fails
    sys.stderr.write(f"\n[e2e] {c.mode} cluster up in {c.startup_seconds:.1f}s, logs in {workdir}\n")
    try:
        yield c
    finally:
        c.stop()
        leftover = c.leftover_pids()
        if request.session.testsfailed or leftover:
            sys.stderr.write(f"\n[e2e] kept {workdir} (logs of the cluster)\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        assert not leftover, f"processes left running: {leftover}"


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
