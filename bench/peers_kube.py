"""The Kubernetes rows of the peer comparison: on the e2e control plane (a real kube-apiserver, kwok serving the
kubelet's port-forward; tests/e2e/e2e_harness.py), `kubectl-jetstream ls` / `purge` against what a natscli
user runs: `kubectl port-forward svc/nats :4222` started, `nats -s 127.0.0.1:PORT ...`, the forward stopped
(Ctrl-C), all inside the measurement (a bash script, as a user's alias would be); and natscli through a
forward that is already open.
"""
import re
import shutil
import signal
import subprocess
from pathlib import Path

import e2e_harness as harness
import generate
import measure
from measure import CommandFailed
from peers import PURGE_STREAM, Rows, create_streams, q, run_side

E2E_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kwok")

FORWARD_AND_RUN = """
coproc PF {{ exec {kubectl} --kubeconfig {kubeconfig} -n {namespace} port-forward svc/nats :4222 2>&1; }}
trap 'kill "$PF_PID" 2>/dev/null || true' EXIT
read -r line <&"${{PF[0]}}"
port=${{line#Forwarding from 127.0.0.1:}}
port=${{port%% *}}
{nats} -s "nats://127.0.0.1:$port" "$@"
kill -INT "$PF_PID"
wait "$PF_PID" || true
"""


def bench_kubernetes(args, cli, env, nats, workdir, log):
    missing = [b for b in E2E_BINARIES if not (harness.BIN / b).exists()]
    if missing:
        return {"skipped": f"the e2e control plane is not built ({', '.join(missing)} missing in {harness.BIN}; "
                           f"bash e2e/build.sh builds it)"}
    try:
        kubectl = harness.kubectl_binary()
    except RuntimeError as exc:
        return {"skipped": str(exc)}
    log("  peers: starting the e2e control plane (kube-apiserver, etcd, kwok) ...")
    folder = Path(workdir) / "cluster"
    cluster = harness.LocalCluster(folder)
    try:
        cluster.start()
        dep = cluster.deploy_nats("helm")
        return _rows(args, cli, env, nats, workdir, kubectl, cluster, dep, log)
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _rows(args, cli, env, nats, workdir, kubectl, cluster, dep, log):
    url, namespace = dep.url, dep.namespace
    purge_count = 100_000
    streams_d = generate.write(Path(workdir) / "kube", args.streams)
    measure.run(cli + ["init", "-f", streams_d, "--nats-url", url], env=env)
    create_streams(url, [{"name": PURGE_STREAM, "subjects": ["purge.>"], "storage": "file"}])
    kenv = dict(env, KUBECONFIG=str(cluster.kubeconfig))
    cwd = Path(workdir) / "kube-cwd"
    cwd.mkdir()
    script = Path(workdir) / "forward_and_run.sh"
    script.write_text(FORWARD_AND_RUN.format(kubectl=q(kubectl), kubeconfig=q(cluster.kubeconfig),
                                             namespace=q(namespace), nats=q(nats)))
    opened = subprocess.Popen([kubectl, "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "port-forward",
                               "svc/nats", ":4222"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=kenv)
    try:
        line = opened.stdout.readline()
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not found:
            raise CommandFailed(f"kubectl port-forward did not start: {line.strip()}")
        open_url = f"nats://127.0.0.1:{found.group(1)}"
        rows = Rows()
        n = args.streams + 1
        rows.meta.update({
            "ls": {"work": f"ls of {n} through Kubernetes",
                   "natscli_does": "kubectl port-forward started, nats stream ls, forward stopped"},
            "ls_open": {"work": f"ls of {n} through Kubernetes",
                        "natscli_does": "nats stream ls through an open kubectl port-forward"},
            "purge": {"work": f"purge of {purge_count} messages through Kubernetes",
                      "natscli_does": "kubectl port-forward started, nats stream purge -f, forward stopped"},
            "purge_open": {"work": f"purge of {purge_count} messages through Kubernetes",
                           "natscli_does": "nats stream purge -f through an open kubectl port-forward"},
        })
        run = lambda argv: measure.run(argv, env=kenv, cwd=cwd)  # noqa: E731
        plugin = {"ls": cli + ["ls", "-n", namespace], "purge": cli + ["purge", "-y", PURGE_STREAM, "-n", namespace]}
        natscli = {"ls": ["stream", "ls"], "purge": ["stream", "purge", "-f", PURGE_STREAM]}
        for number in range(args.peer_runs + 1):  # the first round warms up and is not counted
            for key in ("ls", "purge"):
                sides = [("plugin", key, plugin[key]), ("natscli", key, ["bash", str(script)] + natscli[key]),
                         ("natscli", key + "_open", [nats, "-s", open_url] + natscli[key])]
                if number % 2:
                    sides.reverse()
                for side, row, argv in sides:
                    sample = run_side(run, argv, key, url, purge_count)
                    if number:
                        rows.add(row, side, sample)
                        if side == "plugin":
                            rows.add(key + "_open", side, sample)
        log(f"  peers: Kubernetes rows done (e2e control plane up in {cluster.startup_seconds:.0f} s)")
        out = rows.result()
        out["cluster"] = "e2e control plane: kube-apiserver " + _apiserver_version(kubectl, cluster)
        return out
    finally:
        opened.send_signal(signal.SIGINT)
        try:
            opened.wait(10)
        except subprocess.TimeoutExpired:
            opened.kill()
            opened.wait()


def _apiserver_version(kubectl, cluster):
    proc = subprocess.run([kubectl, "--kubeconfig", str(cluster.kubeconfig), "version", "-o", "json"],
                          capture_output=True, text=True)
    try:
        import json

        return json.loads(proc.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "?"
