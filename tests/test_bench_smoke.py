"""`bench/run.py --quick`: a 20-stream, one-run benchmark, so `make bench` cannot rot.

No timing is asserted (the machine is shared); only that every figure is produced, that the no-op re-init sent
no write request, and that the results JSON has every key the README's Performance section is built from.
"""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STREAMS = 20
FIGURE_KEYS = {"median", "min", "max", "n", "runs", "cpu", "rss_mb"}


def figure_ok(figure):
    assert FIGURE_KEYS <= set(figure), figure
    assert 0 < figure["min"] <= figure["median"] <= figure["max"], figure
    assert figure["n"] == len(figure["runs"]) >= 1
    assert figure["rss_mb"]["max"] > 0 and figure["cpu"]["median"] >= 0
    return True


def test_quick_bench_produces_every_figure(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--streams", str(STREAMS),
                           "--json", str(out)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())

    assert {"machine", "params", "startup", "direct", "baseline", "portforward", "ratios", "peak_rss_mb",
            "targets", "problems", "elapsed_s"} <= set(results)
    assert {"nproc", "cpu", "python", "nats_server", "loadavg_start", "loadavg_end"} <= set(results["machine"])
    assert results["params"]["streams"] == STREAMS and results["params"]["runs"] == 1
    assert results["problems"] == []

    for key in ("python_pass", "help", "version_client"):
        assert figure_ok(results["startup"][key])
    for key in ("init", "noop_init", "ls", "diff"):
        assert figure_ok(results["direct"][key])
    for key in ("init", "noop_init"):
        assert figure_ok(results["baseline"][key])

    # Writes seen on $JS.API.> by the recorder: one per stream and one per consumer, then none at all.
    assert results["direct"]["init"]["writes"] == 2 * STREAMS
    assert results["direct"]["noop_init"]["writes"] == 0
    assert results["baseline"]["init"]["writes"] == 2 * STREAMS
    assert results["baseline"]["noop_init"]["writes"] == 0

    # The port-forward path (fake Kubernetes API server + the plugin's own port-forward) is measured too.
    pf = results["portforward"]
    assert "skipped" not in pf and "error" not in pf, pf
    for key in ("init", "noop_init", "ls", "diff"):
        assert figure_ok(pf[key])
    assert pf["noop_init"]["writes"] == 0

    ratios = results["ratios"]
    assert {"init_speedup_vs_baseline", "noop_speedup_vs_baseline", "portforward_init", "portforward_noop_init",
            "portforward_ls", "portforward_diff"} <= set(ratios)
    assert all(value > 0 for value in ratios.values())
    assert results["peak_rss_mb"] > 0
    assert len(results["targets"]) >= 10
    assert all(t["met"] in (True, False) for t in results["targets"]), results["targets"]

    # natscli beside the plugin: measured when natscli is already built (--quick never builds it), else a
    # clear "skipped" line; the Kubernetes rows are never in --quick.
    peers = results["peers"]
    if "skipped" in peers:
        assert "natscli" in peers["skipped"] and "natscli comparison skipped" in proc.stdout
    else:
        for key in ("create", "noop", "diff", "delete", "help", "ls", "ls_json", "ls_name", "info", "purge"):
            row = peers["direct"][key]
            assert figure_ok(row["plugin"]) and figure_ok(row["natscli"]) and row["ratio"] > 0, key
        assert figure_ok(peers["direct"]["floors"]["import"]) and figure_ok(peers["direct"]["floors"]["request"])
        assert peers["kubernetes"] == {"skipped": "--quick"}
        assert len(peers["targets"]) == 7
        assert "beside natscli" in proc.stdout and "peer targets" in proc.stdout

    for label in ("python -c pass", "--help", "version --client", "no-op re-init", "ls -o json", "diff",
                  "baseline: old init Job", "(port-forward)", "targets (goals, not assertions)"):
        assert label in proc.stdout, label
