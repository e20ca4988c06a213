"""Through the real kubectl: `kubectl jetstream ...` finds the kubectl-jetstream console script on PATH."""
import subprocess
import sys
from pathlib import Path

import e2e_harness as harness
import probe


def test_kubectl_jetstream_ls(cluster, deploy):
    dep = deploy("swe")
    probe.add_stream(dep.url, {"name": "VIA_KUBECTL", "subjects": ["via.kubectl.>"]})
    script = Path(sys.executable).parent / "kubectl-jetstream"
    assert script.exists(), f"{script} missing: pip install -e . in this venv"
    env = harness.plugin_env()
    listed = subprocess.run([harness.kubectl_binary(), "plugin", "list"], capture_output=True, text=True, env=env)
    assert str(script) in listed.stdout, listed
    r = subprocess.run([harness.kubectl_binary(), "jetstream", "ls", "--kubeconfig", str(cluster.kubeconfig),
                        "-n", dep.namespace], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "VIA_KUBECTL" in r.stdout and "via.kubectl.>" in r.stdout
