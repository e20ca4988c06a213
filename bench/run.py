#!/usr/bin/env python3
"""kubectl-jetstream benchmarks (issue 6): `make bench` or `python bench/run.py [--quick] [--streams N]`.

Starts its own nats-server (and, for the port-forward path, the fake Kubernetes API server of
tests/kubeapi.py), then measures, each as a separate process the way a user runs it:

  start-up     `python -c pass` (the floor), `kubectl-jetstream --help`, `kubectl-jetstream version --client`
  direct       init of N generated streams (one durable consumer each) into an empty server, the no-op
               re-init (its JetStream write requests are counted on $JS.API.> and must be 0),
               `ls -o json` and `diff`, all with --nats-url
  baseline     the old init Job's approach (bench/baseline.py: sequential nats-py stream_info/add_stream
               and consumer_info/add_consumer) for the N creates and for the no-op pass
  port-forward init, no-op init, ls and diff through the plugin's Kubernetes path (a kubeconfig for the fake
               API server, a Service and a pod whose port 4222 reaches the nats-server), as a ratio to direct

Every figure is the median of --runs runs (default 3; start-up --startup-runs, default 15) with min and max,
plus the median CPU time (user + system) and the peak RSS of the process. Runs are interleaved (direct,
baseline, port-forward, direct, ...) so a busy machine slows all of them alike: the ratios to the in-run
baseline are the figures to compare across machines. The nats-server stores go to /dev/shm (tmpfs) unless
--store-dir says otherwise: creating streams is bound by the server's disk, which on a shared machine measures
the other users' I/O rather than the plugin (--store-dir /var/tmp puts them on a disk).
Prints a table (--markdown: a Markdown table too) and writes bench/results.json (--json PATH).

Targets are goals, reported as met or missed; the exit status is 1 only when something is wrong (a command
failed, or the no-op re-init sent a write request).
"""
import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO / "tests"), str(REPO)]

import generate  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402
from measure import CommandFailed  # noqa: E402
from natsserver import NatsServer, nats_server_binary  # noqa: E402
from probe import ApiRecorder  # noqa: E402

NAMESPACE = "jetstream-bench"

# name, where in results, goal, comparison ("le": value <= goal, "ge": value >= goal), unit of the value
TARGETS = [
    ("--help <= 150 ms", ("startup", "help", "median"), 0.150, "le", "s"),
    ("init of N <= 3 s (direct)", ("direct", "init", "median"), 3.0, "le", "s"),
    ("init >= 2x faster than the baseline", ("ratios", "init_speedup_vs_baseline"), 2.0, "ge", "x"),
    ("no-op re-init of N <= 1.5 s", ("direct", "noop_init", "median"), 1.5, "le", "s"),
    ("no-op re-init sends 0 writes", ("direct", "noop_init", "writes"), 0, "le", ""),
    ("ls of N <= 1.5 s", ("direct", "ls", "median"), 1.5, "le", "s"),
    ("port-forward init <= 2x direct", ("ratios", "portforward_init"), 2.0, "le", "x"),
    ("port-forward no-op init <= 2x direct", ("ratios", "portforward_noop_init"), 2.0, "le", "x"),
    ("port-forward ls <= 2x direct", ("ratios", "portforward_ls"), 2.0, "le", "x"),
    ("peak RSS <= 150 MB", ("peak_rss_mb",), 150.0, "le", "MB"),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--streams", type=int, default=None, help="streams to generate (default 1000; --quick 20)")
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; --quick 1)")
    p.add_argument("--startup-runs", type=int, default=None, help="runs per start-up figure (default 15; --quick 3)")
    p.add_argument("--quick", action="store_true", help="a small, fast run for the smoke test")
    p.add_argument("--no-portforward", action="store_true", help="skip the port-forward path")
    p.add_argument("--peers-only", action="store_true", help="only the natscli comparison (make bench-peers)")
    p.add_argument("--no-peers", action="store_true", help="skip the natscli comparison")
    p.add_argument("--peer-runs", type=int, default=None,
                   help="runs per single-shot command beside natscli (default 5; --quick 1)")
    p.add_argument("--peer-loop-runs", type=int, default=1,
                   help="runs of the 1000-stream loops beside natscli (default 1: natscli's loop takes a minute)")
    p.add_argument("--store-dir", default=None,
                   help="parent folder of the nats-server stores (default /dev/shm, a tmpfs, when it exists: "
                        "the disk is the machine's, not the plugin's; e.g. --store-dir /var/tmp for a disk)")
    p.add_argument("--json", default=str(BENCH / "results.json"), help="where to write the results")
    p.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = p.parse_args(argv)
    args.streams = args.streams or (20 if args.quick else 1000)
    args.runs = args.runs or (1 if args.quick else 3)
    args.startup_runs = args.startup_runs or (3 if args.quick else 15)
    args.peer_runs = args.peer_runs or (1 if args.quick else 5)
    if args.store_dir is None:
        shm = "/dev/shm"
        args.store_dir = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()
    return args


# ---------------------------------------------------------------------------------------------------------
# environment


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nats_version = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True,
                                      timeout=10).stdout.strip()
    except Exception as exc:  # noqa: BLE001 - informational only
        nats_version = f"unknown ({exc})"
    return {"nproc": os.cpu_count(), "cpu": cpu or platform.processor(), "platform": platform.platform(),
            "python": platform.python_version(), "nats_server": nats_version,
            "loadavg_start": list(os.getloadavg())}


def filesystem_of(path):
    """The type of the filesystem holding `path` (from /proc/mounts), e.g. ext4 or tmpfs."""
    try:
        path = os.path.realpath(path)
        best = ("", "?")
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and (path == parts[1] or path.startswith(parts[1].rstrip("/") + "/")):
                    if len(parts[1]) >= len(best[0]):
                        best = (parts[1], parts[2])
        return best[1]
    except OSError:
        return "?"


def clean_env(extra=None):
    # PYTHONDONTWRITEBYTECODE would make every plugin process compile its modules again; an installed package
    # has its bytecode (pip compiles it), so the warm-up runs write it here too.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NATS_", "KUBECONFIG", "KUBERNETES_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["KUBECONFIG"] = os.devnull  # never touch the developer's cluster
    env.update(extra or {})
    return env


def plugin_command():
    """The installed console script next to this interpreter, as users run it; else `python -m`."""
    script = Path(sys.executable).parent / "kubectl-jetstream"
    if script.exists():
        return [str(script)], "kubectl-jetstream (console script)"
    return [sys.executable, "-m", "kubectl_jetstream"], "python -m kubectl_jetstream"


# ---------------------------------------------------------------------------------------------------------
# the measured sections


def bench_startup(args, cli, env):
    commands = {"python_pass": [sys.executable, "-c", "pass"], "help": cli + ["--help"],
                "version_client": cli + ["version", "--client"]}
    for argv in commands.values():  # warm-up: byte-compile, fill the page cache
        measure.run(argv, env=env)
    samples = {key: [] for key in commands}
    for _ in range(args.startup_runs):
        for key, argv in commands.items():
            samples[key].append(measure.run(argv, env=env))
    return {key: measure.summary(s) for key, s in samples.items()}


def start_server(args, attempts=3):
    """A fresh nats-server on a free port, its store under --store-dir.

    A port picked as free can be taken by another process before nats-server binds it; then nats-server exits
    and something else answers on the port (the shared NatsServer helper only waits for the port to listen).
    Check that our process is the one alive, and retry on another port."""
    for _ in range(attempts):
        store = tempfile.mkdtemp(prefix="kjs-bench-store-", dir=args.store_dir)
        server = NatsServer(store_dir=store)
        server.start()
        time.sleep(0.05)
        if server.proc.poll() is None:
            server.bench_store = store
            return server
        server.cleanup()
        shutil.rmtree(store, ignore_errors=True)
    raise RuntimeError("could not start nats-server on a free port")


@contextlib.contextmanager
def timed(into, label):
    """Append "label N s" (the whole section: server start and stop included) to `into`."""
    start = time.monotonic()
    try:
        yield
    finally:
        into.append(f"{label} {time.monotonic() - start:.1f} s")


class fresh_server:
    def __init__(self, args):
        self.args = args

    def __enter__(self):
        self.server = start_server(self.args)
        return self.server

    def __exit__(self, *exc):
        self.server.cleanup()
        shutil.rmtree(self.server.bench_store, ignore_errors=True)


class Sections:
    """Collects the samples of the N-stream figures over the interleaved runs."""

    def __init__(self):
        self.samples = {}
        self.writes = {}

    def add(self, section, figure, sample, writes=None):
        self.samples.setdefault(section, {}).setdefault(figure, []).append(sample)
        if writes is not None:
            self.writes.setdefault(section, {}).setdefault(figure, []).append(writes)

    def result(self, section):
        out = {}
        for figure, samples in self.samples.get(section, {}).items():
            extra = {}
            writes = self.writes.get(section, {}).get(figure)
            if writes is not None:
                extra = {"writes": max(writes), "writes_per_run": writes}
            out[figure] = measure.summary(samples, **extra)
        return out


def recorded(url, fn):
    """(result of fn(), JetStream write requests seen on the server meanwhile)."""
    with ApiRecorder(url) as recorder:
        result = fn()
    return result, len(recorder.writes)


def plugin_figures(sections, section, cli, url_args, streams_d, count, env, problems):
    """init into the empty server, no-op re-init, ls -o json, diff — the same for direct and port-forward."""
    url = url_args["url"]
    flags = ["-f", streams_d] + url_args["flags"]

    sample, writes = recorded(url, lambda: measure.run(cli + ["init"] + flags, env=env))
    sections.add(section, "init", sample, writes)
    if writes != 2 * count:
        problems.append(f"{section}: init of {count} streams sent {writes} writes, expected {2 * count}")

    sample, writes = recorded(url, lambda: measure.run(cli + ["init"] + flags, env=env))
    sections.add(section, "noop_init", sample, writes)
    if writes:
        problems.append(f"{section}: the no-op re-init sent {writes} write request(s), expected 0")

    sample = measure.run(cli + ["ls", "-o", "json"] + flags, env=env)
    listed = len(json.loads(sample.stdout))
    sections.add(section, "ls", sample)
    if listed != count:
        problems.append(f"{section}: ls -o json listed {listed} streams, expected {count}")

    sample = measure.run(cli + ["diff"] + flags, env=env, expect=(0, 1))
    sections.add(section, "diff", sample)
    if sample.returncode != 0:
        problems.append(f"{section}: diff right after init found differences:\n{sample.stdout[-2000:]}")


def baseline_figures(sections, url, definitions, count, env, problems):
    argv = [sys.executable, str(BENCH / "baseline.py"), url, definitions]
    sample, writes = recorded(url, lambda: measure.run(argv, env=env))
    sections.add("baseline", "init", sample, writes)
    if writes != 2 * count:
        problems.append(f"baseline: created with {writes} writes, expected {2 * count}")
    sample, writes = recorded(url, lambda: measure.run(argv, env=env))
    sections.add("baseline", "noop_init", sample, writes)
    if writes:
        problems.append(f"baseline: the no-op pass sent {writes} write request(s), expected 0")


class PortForward:
    """The fake Kubernetes API server (bench/kubeapi_proc.py, its own process) with NATS Services and a pod
    whose port 4222 forwards to the current nats-server."""

    def __init__(self):
        self.proc = None
        self.skipped = None

    def start(self):
        if importlib.util.find_spec("kubectl_jetstream.kube") is None:
            self.skipped = "kubectl_jetstream/kube/ does not exist yet"
            return self
        if not (REPO / "tests" / "kubeapi.py").exists():
            self.skipped = "tests/kubeapi.py (the fake Kubernetes API server) does not exist yet"
            return self
        self.proc = subprocess.Popen([sys.executable, str(BENCH / "kubeapi_proc.py"), NAMESPACE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.kubeconfig = self.proc.stdout.readline().strip()
        if not self.kubeconfig:
            self.skipped = "the fake Kubernetes API server did not start (see the error above)"
            self.stop()
        return self

    def point_at(self, server):
        """(Re)create the Services and the pod, its port 4222 forwarding to this nats-server."""
        self.proc.stdin.write(f"point {server.port}\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise CommandFailed("the fake Kubernetes API server did not take the new pod target")

    def stop(self):
        if self.proc:
            try:
                self.proc.stdin.close()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def env(self, base):
        return dict(base, KUBECONFIG=self.kubeconfig)


def bench_streams(args, cli, env, workdir, portforward_wanted):
    streams_d = generate.write(workdir, args.streams)
    definitions = os.path.join(workdir, "baseline.json")
    sections, problems = Sections(), []
    pf = PortForward() if portforward_wanted else None
    if pf:
        pf.start()
    pf_error = None
    try:
        for run in range(1, args.runs + 1):
            took = []
            with timed(took, "direct"), fresh_server(args) as server:
                plugin_figures(sections, "direct", cli, {"url": server.url, "flags": ["--nats-url", server.url]},
                               streams_d, args.streams, env, problems)
            with timed(took, "baseline"), fresh_server(args) as server:
                baseline_figures(sections, server.url, definitions, args.streams, env, problems)
            if pf and not pf.skipped and not pf_error:
                with timed(took, "port-forward"), fresh_server(args) as server:
                    pf.point_at(server)
                    try:
                        plugin_figures(sections, "portforward", cli,
                                       {"url": server.url, "flags": ["-n", NAMESPACE, "--service", "nats"]},
                                       streams_d, args.streams, pf.env(env), problems)
                    except CommandFailed as exc:
                        pf_error = str(exc)
            print(f"  run {run}/{args.runs}: {', '.join(took)} (load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        if pf:
            pf.stop()
    results = {"direct": sections.result("direct"), "baseline": sections.result("baseline")}
    if not portforward_wanted:
        results["portforward"] = {"skipped": "--no-portforward"}
    elif pf.skipped:
        results["portforward"] = {"skipped": pf.skipped}
    elif pf_error:
        results["portforward"] = {"error": pf_error}
        problems.append(f"port-forward path failed: {pf_error}")
    else:
        results["portforward"] = sections.result("portforward")
    return results, problems


# ---------------------------------------------------------------------------------------------------------
# derived figures and output


def ratios(results):
    direct, base, pf = results["direct"], results["baseline"], results["portforward"]
    out = {"init_speedup_vs_baseline": base["init"]["median"] / direct["init"]["median"],
           "noop_speedup_vs_baseline": base["noop_init"]["median"] / direct["noop_init"]["median"]}
    for figure in ("init", "noop_init", "ls", "diff"):
        if figure in pf:
            out[f"portforward_{figure}"] = pf[figure]["median"] / direct[figure]["median"]
    return out


def peak_rss(results):
    """Largest peak RSS of any plugin process (start-up, direct and port-forward figures)."""
    values = [v["rss_mb"]["max"] for k, v in results["startup"].items() if k != "python_pass"]
    for section in ("direct", "portforward"):
        values += [v["rss_mb"]["max"] for v in results[section].values() if isinstance(v, dict) and "rss_mb" in v]
    return max(values)


def lookup(results, path):
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def evaluate_targets(results):
    out = []
    for name, path, goal, op, unit in TARGETS:
        value = lookup(results, path)
        met = None if value is None else (value <= goal if op == "le" else value >= goal)
        out.append({"target": name.replace(" N ", f" {results['params']['streams']} "), "value": value,
                    "goal": goal, "unit": unit, "met": met})
    return out


def fmt_time(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table_rows(results):
    n = results["params"]["streams"]
    rows = []

    def add(label, fig, note=""):
        if not fig or "median" not in fig:
            return
        rows.append([label, fmt_time(fig["median"]), fmt_time(fig["min"]), fmt_time(fig["max"]),
                     fmt_time(fig["cpu"]["median"]), f"{fig['rss_mb']['max']:.0f} MB", note])

    st = results["startup"]
    add("python -c pass (floor)", st["python_pass"])
    add("kubectl-jetstream --help", st["help"])
    add("kubectl-jetstream version --client", st["version_client"])
    r = results["ratios"]
    d, b, pf = results["direct"], results["baseline"], results["portforward"]
    add(f"init, {n} streams + {n} consumers (direct)", d["init"],
        f"{d['init']['writes']} writes; {r['init_speedup_vs_baseline']:.1f}x faster than baseline")
    add(f"no-op re-init, {n} (direct)", d["noop_init"],
        f"{d['noop_init']['writes']} writes; {r['noop_speedup_vs_baseline']:.1f}x faster than baseline")
    add(f"ls -o json, {n} (direct)", d["ls"])
    add(f"diff, {n} (direct)", d["diff"])
    add(f"baseline: old init Job, {n} creates", b["init"], f"{b['init']['writes']} writes")
    add(f"baseline: old init Job, no-op pass", b["noop_init"], f"{b['noop_init']['writes']} writes")
    if "init" in pf:
        add(f"init, {n} (port-forward)", pf["init"], f"{r['portforward_init']:.2f}x direct")
        add(f"no-op re-init, {n} (port-forward)", pf["noop_init"],
            f"{pf['noop_init']['writes']} writes; {r['portforward_noop_init']:.2f}x direct")
        add(f"ls -o json, {n} (port-forward)", pf["ls"], f"{r['portforward_ls']:.2f}x direct")
        add(f"diff, {n} (port-forward)", pf["diff"], f"{r['portforward_diff']:.2f}x direct")
    else:
        rows.append(["port-forward path", "-", "-", "-", "-", "-",
                     "skipped: " + pf.get("skipped", "") if "skipped" in pf else "error: " + pf.get("error", "")[:80]])
    return rows


HEADERS = ["figure", "median", "min", "max", "CPU", "peak RSS", "notes"]


def render_text(rows, headers=HEADERS, right=(1, 2, 3, 4, 5)):
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    lines = []
    for row in [headers] + rows:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows, headers=HEADERS, right=(1, 2, 3, 4, 5)):
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_targets(targets):
    lines = []
    for t in targets:
        value = t["value"]
        if value is None:
            shown = "n/a"
        elif t["unit"] == "s":
            shown = fmt_time(value)
        elif t["unit"] == "x":
            shown = f"{value:.2f}x"
        elif t["unit"] == "MB":
            shown = f"{value:.0f} MB"
        else:
            shown = str(value)
        status = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
        lines.append(f"  {status:6}  {t['target']}: {shown}")
    return "\n".join(lines)


def print_peers(result, markdown):
    if "skipped" in result:
        print(f"\nnatscli comparison {result['skipped']}")
        return
    rows = peers.table_rows(result, fmt_time)
    right = (2, 3, 4, 5, 6, 7)
    print(f"\nbeside natscli {result['natscli']} (medians; plugin/natscli below 1: the plugin is faster):")
    print(render_text(rows, peers.PEER_HEADERS, right))
    kube = result.get("kubernetes") or {}
    if "skipped" in kube:
        print(f"Kubernetes rows skipped: {kube['skipped']}")
    elif "cluster" in kube:
        print(f"Kubernetes rows on the {kube['cluster']}")
    print("\n".join(peers.floor_lines(result, fmt_time)))
    print("\npeer targets (goals, not assertions):")
    print(render_targets(result["targets"]))
    if markdown:
        print()
        print(render_markdown(rows, peers.PEER_HEADERS, right))


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    cli, cli_label = plugin_command()
    env = clean_env({} if cli[0] != sys.executable else {"PYTHONPATH": str(REPO)})
    results = {"machine": machine(),
               "params": {"streams": args.streams, "consumers_per_stream": 1, "runs": args.runs,
                          "startup_runs": args.startup_runs, "plugin_command": cli_label,
                          "store_dir": args.store_dir, "store_fs": filesystem_of(args.store_dir)}}
    print(f"kubectl-jetstream bench: {args.streams} streams, {args.runs} run(s) per figure, "
          f"{args.startup_runs} start-up runs; {results['machine']['nproc']} cores "
          f"{results['machine']['cpu']}; nats-server store in {args.store_dir} "
          f"({results['params']['store_fs']}); load {results['machine']['loadavg_start'][0]:.2f}", flush=True)
    workdir = tempfile.mkdtemp(prefix="kjs-bench-")
    problems = []
    try:
        if not args.peers_only:
            results["startup"] = bench_startup(args, cli, env)
            print(f"  start-up done ({time.monotonic() - started:.0f} s)", flush=True)
            streams, problems = bench_streams(args, cli, env, workdir, not args.no_portforward)
            results.update(streams)
        if not args.no_peers:
            results["peers"] = peers.bench_peers(args, cli, env, fresh_server,
                                                 log=lambda line: print(line, flush=True))
    except (CommandFailed, RuntimeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.peers_only:
        results["ratios"] = ratios(results)
        results["peak_rss_mb"] = peak_rss(results)
        results["targets"] = evaluate_targets(results)
    results["problems"] = problems
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["elapsed_s"] = time.monotonic() - started
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    if not args.peers_only:
        rows = table_rows(results)
        print()
        print(render_text(rows))
        print("\ntargets (goals, not assertions):")
        print(render_targets(results["targets"]))
        if args.markdown:
            print()
            print(render_markdown(rows))
    if "peers" in results:
        print_peers(results["peers"], args.markdown)
    print(f"\nresults: {args.json} ({results['elapsed_s']:.0f} s; load {results['machine']['loadavg_end'][0]:.2f})")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
