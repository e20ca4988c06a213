"""The pod behind the port-forward dies during a long `init` (300 streams): the plugin reconnects through the
other ready pod, or stops with exit 3 listing what it applied; either way a re-run converges."""
import json
import subprocess
import time

import pytest

import e2e_harness as harness
import probe

COUNT = 300


def write_streams(folder):
    folder.mkdir()
    for i in range(COUNT):
        # natscli's stream JSON (one of the formats streams.d accepts)
        (folder / f"s{i:03d}.json").write_text(json.dumps({
            "name": f"E2E_{i:03d}", "subjects": [f"e2e.{i:03d}.>"], "retention": "limits", "storage": "memory",
            "max_msgs": 100, "num_replicas": 1}))
    return folder


def test_pod_killed_during_long_init(cluster, deploy, tmp_path):
    folder = write_streams(tmp_path / "streams.d")
    local = cluster.mode == "local"
    # two pods behind the Service (a 3-pod JetStream cluster on a real cluster)
    dep = deploy("swe", replicas=2 if local else 3)
    if local:
        # the pod in use dies once its relay has sent ~40 kB of answers: a few dozen of the 300 creates
        tripped = dep.arm_kill(after_bytes=40_000)
    argv = harness.plugin_argv("init", "-f", folder, "-v", "--kubeconfig", cluster.kubeconfig,
                               "-n", dep.namespace)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=harness.plugin_env(), cwd=harness.REPO)
    try:
        if local:
            harness.wait_until(lambda: tripped.is_set() or proc.poll() is not None, 120, "the tripwire")
            if not tripped.is_set():
                out, err = proc.communicate()
                pytest.fail(f"init finished before the pod died\n{out}\n{err}")
            victim = tripped.pod
        else:
            def started():
                return len(probe.streams(dep.url)) >= 20 or proc.poll() is not None
            harness.wait_until(started, 300, "init to create its first streams", interval=0.05)
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.skip(f"init finished before the pod could be killed\n{out}\n{err}")
            victim = "nats-0"
        dep.kill_pod(victim)
        killed_at = len(probe.streams(dep.url))
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"killed {victim}; {killed_at} streams on the server just after; exit {proc.returncode}")
    print("\n".join(line[:300] for line in err.splitlines()))
    assert killed_at < COUNT
    assert proc.returncode in (0, 3), (proc.returncode, out, err)
    if proc.returncode == 3:
        # says what it had done before it stopped
        assert "E2E_000" in err or "E2E_000" in out, (out, err)
    else:
        assert len(probe.streams(dep.url)) == COUNT
        assert victim in err  # -v names the pod it lost

    r = harness.run_plugin("init", "-f", folder, "--kubeconfig", cluster.kubeconfig, "-n", dep.namespace)
    assert r.returncode == 0, r
    assert len(probe.streams(dep.url)) == COUNT
    r = harness.run_plugin("diff", "-f", folder, "--kubeconfig", cluster.kubeconfig, "-n", dep.namespace)
    assert r.returncode == 0, r
