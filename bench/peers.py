"""The plugin beside the tools users would pick instead (issue 16): natscli, built at a pinned version.

Every plugin command is timed beside the natscli command(s) a user would run for the same work, in the same
run and interleaved (plugin, natscli, plugin, ...), each on a server holding the same streams; the figure to
read is the ratio plugin / natscli (below 1: the plugin is faster). natscli is built once from the Go module
proxy into the e2e binaries' cache (NAME.KEY + symlink, as e2e/build.sh does); without Go the section is
skipped with a line saying so. The Kubernetes rows run on the e2e control plane (tests/e2e/e2e_harness.py:
a real kube-apiserver, kwok's port-forward) when its binaries are built: the plugin against `kubectl
port-forward` + natscli, with the forward started and stopped for the command, and already open.
"""
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import generate
import measure
from measure import CommandFailed

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests" / "e2e"))

NATSCLI_MODULE = "github.com/nats-io/natscli/nats"
NATSCLI_VERSION = "v0.5.0"
PURGE_STREAM = "PURGE"
DELETE_PREFIX = "DEL_"

# The plugin's floor in Python: the interpreter, asyncio and nats-py imported as the plugin imports it
# (jetstream.py hides aiohttp), then the same plus one connection and one JetStream request.
# Both end with os._exit, as the plugin does (cli.py: no interpreter teardown).
FLOOR_IMPORT = "import os, sys; sys.modules['aiohttp'] = None; import asyncio, nats"
FLOOR_KUBE = "import os, kubectl_jetstream.kube.reach; os._exit(0)"  # the Kubernetes side
FLOOR_REQUEST = FLOOR_IMPORT + """
async def main(url):
    nc = await nats.connect(url)
    msg = await nc.request("$JS.API.STREAM.NAMES", b"", timeout=5)
    sys.stdout.write(msg.data.decode() + "\\n")
    await nc.close()
asyncio.run(main(sys.argv[1]))
sys.stdout.flush()
os._exit(0)
"""

# key, work, plugin arguments, natscli arguments (direct: both get the server URL)
SINGLE_SHOT = [
    ("help", "--help", ["--help"], ["--help"]),
    ("ls", "ls of N (table)", ["ls"], ["stream", "ls"]),
    ("ls_json", "ls -o json of N", ["ls", "-o", "json"], ["stream", "ls", "--json"]),
    ("ls_name", "ls -o name of N", ["ls", "-o", "name"], ["stream", "ls", "-n"]),
    ("info", "info of one stream", ["info", generate.stream_name(0)], ["stream", "info", generate.stream_name(0)]),
    ("purge", "purge of M messages", ["purge", "-y", PURGE_STREAM], ["stream", "purge", "-f", PURGE_STREAM]),
]

# name, results path (under "peers"), goal (plugin / natscli at most)
TARGETS = [
    ("ls <= 1.0x natscli", ("direct", "ls", "ratio"), 1.0),
    ("ls -o json <= 1.0x natscli", ("direct", "ls_json", "ratio"), 1.0),
    ("purge <= 1.0x natscli", ("direct", "purge", "ratio"), 1.0),
    ("info <= 1.0x natscli", ("direct", "info", "ratio"), 1.0),
    ("ls -o name <= 2.0x natscli", ("direct", "ls_name", "ratio"), 2.0),
    ("Kubernetes ls <= 1.0x kubectl port-forward + natscli", ("kubernetes", "ls", "ratio"), 1.0),
    ("Kubernetes purge <= 1.0x kubectl port-forward + natscli", ("kubernetes", "purge", "ratio"), 1.0),
]


# ---------------------------------------------------------------------------------------------------------
# natscli: built once, kept in the e2e binaries' cache


def cache_bin():
    from e2e_harness import BIN  # the one definition of the cache folder (KJS_E2E_CACHE, XDG_CACHE_HOME)

    return Path(BIN)


def natscli_binary(build=True, log=print):
    """(path, None), or (None, why it is skipped). `build=False` only uses an already built binary."""
    link = cache_bin() / "nats"
    go = shutil.which("go")
    if go is None:
        if link.exists():
            return str(link.resolve()), None
        return None, (f"skipped: Go is not on PATH (natscli {NATSCLI_VERSION} is built from Go modules: "
                      f"go install {NATSCLI_MODULE}@{NATSCLI_VERSION})")
    goversion = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256(f"natscli@{NATSCLI_VERSION} {goversion}\n".encode()).hexdigest()[:16]
    out = link.parent / f"nats.{key}"
    if not out.exists():
        if not build:
            return None, f"skipped: natscli {NATSCLI_VERSION} is not built yet (make bench-peers builds it)"
        out.parent.mkdir(parents=True, exist_ok=True)
        log(f"  building natscli {NATSCLI_VERSION} into {out.parent} (once) ...")
        gobin = tempfile.mkdtemp(prefix=".nats.", dir=out.parent)
        env = dict(os.environ, GOTOOLCHAIN=os.environ.get("GOTOOLCHAIN", "local"), CGO_ENABLED="0", GOBIN=gobin)
        proc = subprocess.run([go, "install", "-ldflags", "-s -w", f"{NATSCLI_MODULE}@{NATSCLI_VERSION}"],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(gobin, ignore_errors=True)
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            return None, f"skipped: building natscli {NATSCLI_VERSION} failed: {tail}"
        os.replace(os.path.join(gobin, "nats"), out)
        shutil.rmtree(gobin, ignore_errors=True)
        for old in out.parent.glob("nats.*"):  # binaries of older keys
            if old != out and not old.name.startswith(".nats."):
                old.unlink()
    if not link.is_symlink() or os.readlink(link) != out.name:
        tmp = link.parent / f".nats-link-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        os.replace(tmp, link)
    return str(out), None


# ---------------------------------------------------------------------------------------------------------
# server state the rows need, set up from the bench process (not timed)


async def _requests(url, requests):
    import nats

    nc = await nats.connect(url)
    try:
        return await asyncio.gather(*(nc.request(s, json.dumps(p).encode() if p is not None else b"", timeout=30)
                                      for s, p in requests))
    finally:
        await nc.close()


def create_streams(url, configs):
    replies = asyncio.run(_requests(url, [(f"$JS.API.STREAM.CREATE.{c['name']}", c) for c in configs]))
    for reply in replies:
        if "error" in json.loads(reply.data):
            raise CommandFailed(f"creating a stream for the bench failed: {reply.data[:300]!r}")


def fill(url, stream, count):
    """Make `stream` hold exactly `count` messages (purged first), published without acks, then confirmed."""
    async def go():
        import nats

        nc = await nats.connect(url)
        try:
            await nc.request(f"$JS.API.STREAM.PURGE.{stream}", b"", timeout=30)
            payload = b"x" * 64
            for i in range(count):
                await nc.publish(f"purge.{i % 16}", payload)
            await nc.flush()
            for _ in range(200):
                info = json.loads((await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=30)).data)
                if info["state"]["messages"] == count:
                    return
                await asyncio.sleep(0.05)
            raise CommandFailed(f"{stream} holds {info['state']['messages']} messages, expected {count}")
        finally:
            await nc.close()

    asyncio.run(go())


def messages_in(url, stream):
    reply = asyncio.run(_requests(url, [(f"$JS.API.STREAM.INFO.{stream}", None)]))[0]
    return json.loads(reply.data)["state"]["messages"]


def delete_configs(count):
    return [{"name": f"{DELETE_PREFIX}{i:03d}", "subjects": [f"del.{i:03d}"], "storage": "file"}
            for i in range(count)]


# ---------------------------------------------------------------------------------------------------------
# natscli scripts for the loops (one bash process runs them all, as a user's script would)


def write_natscli_files(workdir, count):
    """natscli --config files (API JSON, as `nats stream add --config` reads them) for the generated streams."""
    folder = Path(workdir) / "natscli"
    folder.mkdir(exist_ok=True)
    for _, config, consumers in generate.definitions(count):
        (folder / f"{config['name']}.json").write_text(json.dumps(config))
        (folder / f"{config['name']}.worker.json").write_text(json.dumps(consumers[0]))
    return folder


def loop_script(path, lines):
    Path(path).write_text("set -e\n" + "\n".join(lines) + "\n")
    return ["bash", str(path)]


def q(text):
    return "'" + str(text).replace("'", "'\\''") + "'"


# ---------------------------------------------------------------------------------------------------------
# measuring


class Rows:
    """Samples of plugin and peer per row, in the order they were taken."""

    def __init__(self):
        self.samples = {}
        self.meta = {}

    def add(self, key, side, sample):
        self.samples.setdefault(key, {}).setdefault(side, []).append(sample)

    def result(self):
        out = {}
        for key, sides in self.samples.items():
            row = dict(self.meta.get(key, {}))
            for side, samples in sides.items():
                row[side] = measure.summary(samples)
            if "plugin" in row and "natscli" in row:
                row["ratio"] = row["plugin"]["median"] / row["natscli"]["median"]
            out[key] = row
        return out


def run_side(run, argv, key, url, purge_count):
    """One measured command; for a purge, the stream is filled first and must be empty after."""
    if key == "purge":
        fill(url, PURGE_STREAM, purge_count)
    sample = run(argv)
    if key == "purge" and messages_in(url, PURGE_STREAM) != 0:
        raise CommandFailed(f"{' '.join(map(str, argv))} left messages in {PURGE_STREAM}")
    return sample


def _plugin(cli, args, url):
    return cli + args + ["--nats-url", url]


def _natscli(nats, args, url):
    return [nats, "-s", url] + args


def bench_direct(args, cli, env, nats, workdir, fresh_server, log):
    """Loops (create, no-op, diff, delete) and single-shot commands, direct to a nats-server
    (`fresh_server(args)`: run.py's context manager for a new nats-server with an empty store)."""
    n, rows = args.streams, Rows()
    purge_count = 1000 if args.quick else 100_000
    delete_count = 10 if args.quick else 100
    streams_d = generate.write(workdir, n)
    files = write_natscli_files(workdir, n)
    names = [generate.stream_name(i) for i in range(n)]
    scripts = Path(workdir)
    cwd = tempfile.mkdtemp(prefix="kjs-bench-cwd-", dir=workdir)  # no streams.d here: natscli reads none
    run = lambda argv, **kw: measure.run(argv, env=env, cwd=cwd, **kw)  # noqa: E731

    rows.meta.update({
        "create": {"work": f"create {n} streams + {n} consumers",
                   "natscli_does": f"{n}x stream add --config, {n}x consumer add --config"},
        # natscli has no no-op apply or diff: a script checking or comparing each stream asks for each one's
        # info; one loop serves both rows (its runs are the slowest part of the bench).
        "noop": {"work": f"no-op pass over {n} (plugin: init again)",
                 "natscli_does": f"{n}x stream info --json, {n}x consumer info --json"},
        "diff": {"work": f"diff of {n}", "natscli_does": f"{n}x stream info --json, {n}x consumer info --json"},
        "delete": {"work": f"delete {delete_count} streams", "natscli_does": f"{delete_count}x stream rm -f"},
    })
    create = loop_script(scripts / "create.sh", [
        f"{q(nats)} -s \"$1\" stream add {s} --config {q(files / (s + '.json'))} >/dev/null\n"
        f"{q(nats)} -s \"$1\" consumer add {s} worker --config {q(files / (s + '.worker.json'))} >/dev/null"
        for s in names])
    info_json = loop_script(scripts / "info_json.sh", [
        f"{q(nats)} -s \"$1\" stream info --json {s} >/dev/null\n"
        f"{q(nats)} -s \"$1\" consumer info --json {s} worker >/dev/null" for s in names])
    deletes = delete_configs(delete_count)
    rm = loop_script(scripts / "rm.sh", [f"{q(nats)} -s \"$1\" stream rm -f {c['name']} >/dev/null" for c in deletes])

    for number in range(args.peer_loop_runs):
        with fresh_server(args) as server:
            url = server.url
            rows.add("create", "plugin", run(_plugin(cli, ["init", "-f", streams_d], url)))
            rows.add("noop", "plugin", run(_plugin(cli, ["init", "-f", streams_d], url)))
            rows.add("diff", "plugin", run(_plugin(cli, ["diff", "-f", streams_d], url)))
            create_streams(url, deletes)
            rows.add("delete", "plugin", run(_plugin(cli, ["delete", "-y"] + [c["name"] for c in deletes], url)))
        with fresh_server(args) as server:
            url = server.url
            rows.add("create", "natscli", run(create + [url]))
            sample = run(info_json + [url])
            rows.add("noop", "natscli", sample)
            rows.add("diff", "natscli", sample)
            create_streams(url, deletes)
            rows.add("delete", "natscli", run(rm + [url]))
        log(f"  peers, loops {number + 1}/{args.peer_loop_runs} (load {os.getloadavg()[0]:.2f})")

    floors = Rows()
    with fresh_server(args) as server:
        url = server.url
        run(_plugin(cli, ["init", "-f", streams_d], url))
        create_streams(url, [{"name": PURGE_STREAM, "subjects": ["purge.>"], "storage": "file"}])
        rows.meta.update({key: {"work": work.replace(" N", f" {n + 1}").replace(" M ", f" {purge_count} "),
                                "plugin_args": p, "natscli_args": c}
                          for key, work, p, c in SINGLE_SHOT})
        for number in range(0 if not args.quick else 1, args.peer_runs + 1):  # round 0 warms up, not counted
            for key, _, plugin_args, natscli_args in SINGLE_SHOT:
                sides = [("plugin", _plugin(cli, plugin_args, url)), ("natscli", _natscli(nats, natscli_args, url))]
                if number % 2:
                    sides.reverse()
                for side, argv in sides:
                    sample = run_side(run, argv, key, url, purge_count)
                    if number:
                        rows.add(key, side, sample)
            if number:
                floors.add("import", "floor", run([sys.executable, "-c", FLOOR_IMPORT + "; os._exit(0)"]))
                floors.add("request", "floor", run([sys.executable, "-c", FLOOR_REQUEST, url]))
                floors.add("kube", "floor", run([sys.executable, "-c", FLOOR_KUBE]))
    result = rows.result()
    floor = floors.result()
    result["floors"] = {key: floor[key]["floor"] for key in ("import", "request", "kube")}
    result["floors"]["code"] = {"import": FLOOR_IMPORT, "request": FLOOR_REQUEST, "kube": FLOOR_KUBE}
    return result


def bench_peers(args, cli, env, fresh_server, log=print):
    """results["peers"]: natscli version, direct rows, Kubernetes rows, targets (or "skipped": why)."""
    nats, skipped = natscli_binary(build=not args.quick, log=log)
    if nats is None:
        log(f"  peers {skipped}")
        return {"skipped": skipped}
    workdir = tempfile.mkdtemp(prefix="kjs-bench-peers-")
    try:
        out = {"natscli": NATSCLI_VERSION, "natscli_binary": nats,
               "direct": bench_direct(args, cli, env, nats, workdir, fresh_server, log)}
        if args.quick or args.no_portforward:
            out["kubernetes"] = {"skipped": "--quick" if args.quick else "--no-portforward"}
        else:
            from peers_kube import bench_kubernetes

            out["kubernetes"] = bench_kubernetes(args, cli, env, nats, workdir, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out["targets"] = evaluate_targets(out)
    return out


def evaluate_targets(peers):
    out = []
    for name, path, goal in TARGETS:
        value = peers
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out.append({"target": name, "value": value, "goal": goal, "unit": "x",
                    "met": None if value is None else value <= goal})
    return out


# ---------------------------------------------------------------------------------------------------------
# output


def table_rows(peers, fmt_time):
    """[work, natscli does, natscli, plugin, plugin / natscli, CPU natscli, CPU plugin, RSS plugin]."""
    rows = []

    def add(row, label, peer_label):
        if not row or "plugin" not in row or "natscli" not in row:
            return
        p, c = row["plugin"], row["natscli"]
        rows.append([label, peer_label, fmt_time(c["median"]), fmt_time(p["median"]), f"{row['ratio']:.2f}x",
                     fmt_time(c["cpu"]["median"]), fmt_time(p["cpu"]["median"]), f"{p['rss_mb']['max']:.0f} MB"])

    direct = peers.get("direct") or {}
    for key in ("create", "noop", "diff", "delete"):
        row = direct.get(key)
        if row:
            add(row, row["work"], row["natscli_does"])
    for key, *_ in SINGLE_SHOT:
        row = direct.get(key)
        if row:
            add(row, row["work"], "nats " + " ".join(row["natscli_args"]))
    kube = peers.get("kubernetes") or {}
    for key in ("ls", "purge", "ls_open", "purge_open"):
        row = kube.get(key)
        if row:
            add(row, row["work"], row["natscli_does"])
    return rows


PEER_HEADERS = ["work", "natscli does", "natscli", "plugin", "plugin/natscli", "CPU natscli", "CPU plugin",
                "RSS plugin"]


def floor_lines(peers, fmt_time):
    floors = (peers.get("direct") or {}).get("floors")
    if not floors:
        return []
    direct = peers["direct"]

    def both(fig):
        return f"{fmt_time(fig['median'])} (CPU {fmt_time(fig['cpu']['median'])})"

    request = floors["request"]
    lines = ["floors in Python (wall, CPU):",
             f"  interpreter + asyncio + nats-py import: {both(floors['import'])}",
             f"  the same + connect + one JetStream request: {both(request)}",
             f"  the Kubernetes side's imports (kubernetes client parts, the kube package): "
             f"{both(floors['kube'])}"]
    for key in ("ls_name", "purge", "info", "ls", "ls_json"):
        if key in direct:
            plugin = direct[key]["plugin"]
            lines.append(f"  {direct[key]['work']}: plugin {both(plugin)}, {plugin['median'] / request['median']:.2f}x "
                         f"the floor ({plugin['cpu']['median'] / request['cpu']['median']:.2f}x its CPU); "
                         f"natscli {both(direct[key]['natscli'])}")
    return lines
