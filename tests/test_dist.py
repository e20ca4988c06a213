"""The release archive and the krew manifest, installed and run the way krew and a user would.

The archive is built once per session into dist/ (kept when its inputs did not change; the wheels it bundles
are downloaded once into build/dist-wheels/, which needs PyPI the first time). The install test unpacks it
like krew (files from/to, modes kept, `bin` symlinked into a bin folder on PATH) and runs it through the real
kubectl under a Python that has none of the project's dependencies.
"""
import copy
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from runner import REPO, SHIPPED_STREAMS

KUBECTL = Path(sys.executable).parent / "kubectl"


def load_build_dist():
    spec = importlib.util.spec_from_file_location("build_dist", REPO / "scripts" / "build_dist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bd = load_build_dist()
VERSION = bd.read_version()


class Release:
    def __init__(self, archive, sha, manifest):
        self.archive = archive
        self.sha = sha
        self.manifest_path = manifest
        self.manifest = yaml.safe_load(manifest.read_text())

    def members(self):
        with tarfile.open(self.archive) as tar:
            return {m.name: m for m in tar.getmembers()}

    def read(self, name):
        with tarfile.open(self.archive) as tar:
            return tar.extractfile(name).read()


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    archive, sha = bd.build(REPO / "dist", REPO / "build" / "dist-wheels", if_changed=True, log=lambda *_: None)
    manifest = tmp_path_factory.mktemp("manifest") / "jetstream.yaml"
    bd.write_manifest(manifest, VERSION, sha)
    return Release(archive, sha, manifest)


def bare_python(where):
    """A venv with nothing installed: not even pip, so none of the project's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin"


# -- the archive ------------------------------------------------------------------------------------------
def test_archive_holds_the_three_files_with_their_modes(release):
    assert release.archive.name == f"kubectl-jetstream-v{VERSION}.tar.gz"
    members = release.members()
    assert sorted(members) == ["LICENSE", "kubectl-jetstream", "kubectl_complete-jetstream"]
    assert members["kubectl-jetstream"].mode == 0o755
    assert members["kubectl_complete-jetstream"].mode == 0o755
    assert members["LICENSE"].mode == 0o644
    for m in members.values():
        assert m.isfile() and (m.uid, m.gid) == (0, 0) and m.mtime == bd.source_epoch()
    assert b"Apache License" in release.read("LICENSE") and b"Version 2.0" in release.read("LICENSE")
    assert release.read("kubectl_complete-jetstream").startswith(b"#!/usr/bin/env python3\n")


def test_zipapp_is_pure_python_with_every_dependency(release):
    app = release.read("kubectl-jetstream")
    assert app.startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(io.BytesIO(app)) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {bd.zip_date(bd.source_epoch())}
    compiled = [n for n in names if n.lower().endswith((".so", ".pyd", ".dylib", ".dll", ".pyc"))]
    assert compiled == []
    for module in ("__main__.py", "kubectl_jetstream/cli.py", "kubectl_jetstream/completion.py",
                   "nats/__init__.py", "kubernetes/client/__init__.py", "kubernetes/config/__init__.py",
                   "yaml/__init__.py", "tabulate/__init__.py", "urllib3/__init__.py", "requests/__init__.py",
                   "websocket/__init__.py", "dateutil/__init__.py", "six.py", "certifi/cacert.pem",
                   "oauthlib/__init__.py", "requests_oauthlib/__init__.py", "idna/__init__.py",
                   "charset_normalizer/__init__.py", "durationpy/__init__.py"):
        assert module in names, module
    assert not any(n.startswith("_yaml/") for n in names)
    # The package is bundled as it is in the tree, file for file.
    for rel, path in bd.package_files():
        assert rel in names, rel


def test_the_build_is_reproducible(release, tmp_path):
    again, sha = bd.build(tmp_path / "dist", REPO / "build" / "dist-wheels", log=lambda *_: None)
    assert sha == release.sha == hashlib.sha256(again.read_bytes()).hexdigest()
    assert again.read_bytes() == release.archive.read_bytes()
    assert (tmp_path / "dist" / f"{again.name}.sha256").read_text() == f"{sha}  {again.name}\n"


def test_dependencies_are_pinned_by_hash():
    entries = bd.read_lock()
    names = {name for name, _, _ in entries}
    assert {"nats-py", "kubernetes", "pyyaml", "tabulate", "urllib3", "certifi", "requests"} <= names
    for name, version, hashes in entries:
        assert version and all(len(h) == 64 for h in hashes), name


# -- plugin.yaml ------------------------------------------------------------------------------------------
def test_generated_manifest_matches_the_archive(release):
    spec = release.manifest["spec"]
    assert spec["version"] == f"v{VERSION}"
    assert len(spec["platforms"]) == 4
    for platform in spec["platforms"]:
        assert platform["sha256"] == release.sha
        assert platform["uri"] == f"{bd.HOMEPAGE}/releases/download/v{VERSION}/kubectl-jetstream-v{VERSION}.tar.gz"
    assert bd.validate_manifest(release.manifest, "jetstream") == []


def test_repo_manifest_is_valid_and_names_this_version():
    """plugin.yaml as committed (its sha256 is the last `make dist`'s, so it is not compared here)."""
    manifest = yaml.safe_load((REPO / "plugin.yaml").read_text())
    assert bd.validate_manifest(manifest, "jetstream") == []
    spec = manifest["spec"]
    assert spec["version"] == f"v{VERSION}"
    assert spec["homepage"] == bd.HOMEPAGE
    assert "python3" in spec["caveats"]
    assert "\n" not in spec["shortDescription"] and len(spec["shortDescription"]) <= 70
    for text, limit in ((spec["description"], 80), (spec["caveats"], 80)):
        assert all(len(line) <= limit for line in text.splitlines())
    covered = set()
    for platform in spec["platforms"]:
        labels = platform["selector"]["matchLabels"]
        assert set(labels) == {"os", "arch"}
        covered.add((labels["os"], labels["arch"]))
        assert platform["uri"] == bd.release_url(VERSION)
        assert platform["bin"] == "kubectl-jetstream"
        assert platform["files"] == [{"from": "kubectl-jetstream", "to": "."},
                                     {"from": "kubectl_complete-jetstream", "to": "."},
                                     {"from": "LICENSE", "to": "."}]
    assert covered == {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}


def test_manifest_update_keeps_comments_and_layout():
    text = (REPO / "plugin.yaml").read_text()
    updated = bd.update_manifest_text(text, "9.8.7", bd.release_url("9.8.7"), "ab" * 32)
    assert updated.count("# ") == text.count("# ")
    manifest = yaml.safe_load(updated)
    assert manifest["spec"]["version"] == "v9.8.7"
    assert {p["sha256"] for p in manifest["spec"]["platforms"]} == {"ab" * 32}
    assert {p["uri"] for p in manifest["spec"]["platforms"]} == {bd.release_url("9.8.7")}


def _valid():
    manifest = yaml.safe_load((REPO / "plugin.yaml").read_text())
    for p in manifest["spec"]["platforms"]:
        p["sha256"] = "0123456789abcdef" * 4
    return manifest


def _platform0(m):
    return m["spec"]["platforms"][0]


BROKEN = {
    "apiVersion": [lambda m: m.update(apiVersion="krew.googlecontainertools.github.com/v1alpha1")],
    "kind": [lambda m: m.update(kind="Plugins")],
    "safe-name": ["CON", "jet stream", "jet/stream"],
    "name": [lambda m: m["metadata"].update(name="jet-stream")],
    "shortDescription": [lambda m: m["spec"].pop("shortDescription")],
    "shortDescription-one-line": [lambda m: m["spec"].update(shortDescription="two\nlines")],
    "platforms": [lambda m: m["spec"].update(platforms=[])],
    "version": [lambda m: m["spec"].pop("version")],
    "version-semver": [lambda m: m["spec"].update(version="0.1.0"), lambda m: m["spec"].update(version="v0.1"),
                       lambda m: m["spec"].update(version="v01.2.3")],
    "uri": [lambda m: _platform0(m).pop("uri")],
    "sha256": [lambda m: _platform0(m).pop("sha256")],
    "sha256-format": [lambda m: _platform0(m).update(sha256=_platform0(m)["sha256"].upper()),
                      lambda m: _platform0(m).update(sha256="abc123")],
    "bin": [lambda m: _platform0(m).pop("bin")],
    "files": [lambda m: _platform0(m).update(files=[]), lambda m: _platform0(m)["files"][0].pop("from"),
              lambda m: _platform0(m)["files"][0].pop("to"),
              lambda m: _platform0(m)["files"][0].update(to="../outside")],
    "selector": [lambda m: _platform0(m).pop("selector"),
                 lambda m: _platform0(m).update(selector={"matchLabels": {}}),
                 lambda m: _platform0(m).update(selector={"matchLabels": {"os": "linux", "distro": "alpine"}}),
                 lambda m: _platform0(m).update(selector={})],
    "platform-used": [lambda m: _platform0(m)["selector"]["matchLabels"].update(os="plan9")],
    "no-overlap": [lambda m: m["spec"]["platforms"].append(
        dict(copy.deepcopy(_platform0(m)), selector={"matchLabels": {"os": "linux"}})),
        lambda m: m["spec"]["platforms"].append(dict(copy.deepcopy(_platform0(m)), selector={
            "matchExpressions": [{"key": "os", "operator": "In", "values": ["darwin", "windows"]}]}))],
}


def test_every_krew_rule_has_a_breaking_case():
    assert set(BROKEN) == {rule for rule, _ in bd.KREW_RULES}


@pytest.mark.parametrize("rule,breaker", [(r, b) for r, bs in BROKEN.items() for b in bs],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_validator_rejects(rule, breaker):
    manifest, name = _valid(), "jetstream"
    assert bd.validate_manifest(manifest, name) == []
    if isinstance(breaker, str):
        name = breaker
        manifest["metadata"]["name"] = breaker
    else:
        breaker(manifest)
    problems = bd.validate_manifest(manifest, name)
    assert any(p.startswith(rule + ":") for p in problems), problems


def test_validator_accepts_match_expressions_without_overlap():
    manifest = _valid()
    manifest["spec"]["platforms"] = [
        dict(copy.deepcopy(_platform0(manifest)), selector={"matchExpressions": [
            {"key": "os", "operator": "In", "values": ["linux", "darwin"]}]})]
    assert bd.validate_manifest(manifest, "jetstream") == []


# -- installed like krew, run through kubectl with a bare python3 ------------------------------------------
def krew_install(release, root, os_name="linux", arch="amd64"):
    """Unpack and move files as krew does for the platform matching os/arch; returns krew's bin folder."""
    matching = [p for p in release.manifest["spec"]["platforms"]
                if bd._selector_matches(p["selector"], os_name, arch)]
    assert len(matching) == 1
    platform = matching[0]
    assert hashlib.sha256(release.archive.read_bytes()).hexdigest() == platform["sha256"]
    download = root / "download"
    with tarfile.open(release.archive) as tar:
        tar.extractall(download)  # krew's untar keeps each file's mode
    install = root / "store" / "jetstream" / release.manifest["spec"]["version"]
    install.mkdir(parents=True)
    for op in platform["files"]:
        matches = sorted(download.glob(op["from"]))
        assert matches, op
        for source in matches:
            target = install / op["to"] / source.name if op["to"] == "." else install / op["to"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(target))
    binary = install / platform["bin"]
    assert binary.is_file() and os.access(binary, os.X_OK)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl-jetstream").symlink_to(binary)
    return bin_dir, install


@pytest.fixture(scope="module")
def installed(release, tmp_path_factory):
    root = tmp_path_factory.mktemp("krew")
    bin_dir, install = krew_install(release, root)
    barepy = bare_python(root / "barepy")
    env = {"PATH": os.pathsep.join([str(bin_dir), str(barepy), "/usr/bin", "/bin"]),
           "HOME": str(root / "home"), "XDG_CACHE_HOME": str(root / "cache"), "KUBECONFIG": os.devnull,
           "LANG": "C.UTF-8"}

    def run(*args, cwd=None, timeout=120):
        return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                              cwd=cwd or root, timeout=timeout)

    return {"root": root, "bin": bin_dir, "install": install, "barepy": barepy, "env": env, "run": run}


def test_the_bare_python_has_none_of_the_dependencies(installed):
    run = installed["run"]
    assert run("python3", "-c", "import sys; print(sys.prefix)").stdout.strip() == \
        str(installed["barepy"].parent)
    for module in ("yaml", "nats", "kubernetes", "tabulate", "kubectl_jetstream"):
        assert run("python3", "-c", f"import {module}").returncode != 0, module


def test_kubectl_finds_the_plugin(installed):
    result = installed["run"](KUBECTL, "plugin", "list", "--name-only")
    assert "kubectl-jetstream" in result.stdout, result


def test_version_through_kubectl(installed):
    result = installed["run"](KUBECTL, "jetstream", "version")
    assert result.returncode == 0, result
    assert f"Plugin Version: v{VERSION}" in result.stdout
    result = installed["run"](KUBECTL, "jetstream", "--help")
    assert result.returncode == 0 and "usage: kubectl jetstream" in result.stdout, result


def test_init_and_ls_through_kubectl_against_a_real_server(installed, nats_server):
    streams = installed["root"] / "streams.d"
    if not streams.exists():
        shutil.copytree(SHIPPED_STREAMS, streams)
    names = sorted(yaml.safe_load(p.read_text())["name"] for p in streams.glob("*.yaml"))
    run = installed["run"]
    result = run(KUBECTL, "jetstream", "init", "-f", streams, "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    result = run(KUBECTL, "jetstream", "ls", "--nats-url", nats_server.url, "-o", "name")
    assert result.returncode == 0, result
    assert sorted(result.stdout.split()) == sorted(f"stream/{n}" for n in names)
    result = run(KUBECTL, "jetstream", "ls", "-f", streams, "--nats-url", nats_server.url)
    assert result.returncode == 0 and all(n in result.stdout for n in names), result
    result = run(KUBECTL, "jetstream", "version", "--nats-url", nats_server.url, "-o", "json")
    assert result.returncode == 0 and '"api_level"' in result.stdout, result
    # The zipapp unpacked itself once into the cache, so later runs keep bytecode.
    assert list((installed["root"] / "cache" / "kubectl-jetstream" / "zipapp").glob("*/.complete"))


def test_the_kubernetes_client_imports_under_the_bare_python(installed):
    """No --nats-url: the Kubernetes path runs (kubernetes, urllib3, yaml...) and fails only for want of a
    cluster, with the plugin's own message and exit status."""
    result = installed["run"](KUBECTL, "jetstream", "ls")
    assert result.returncode == 3, result
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr, result
    assert "error:" in result.stderr


def test_kubectl_completes_through_the_completion_executable(installed):
    run, bin_dir = installed["run"], installed["bin"]
    streams = installed["root"] / "streams.d"
    if not streams.exists():
        shutil.copytree(SHIPPED_STREAMS, streams)
    # The archive's own executable, linked from elsewhere (symlinks are followed to the zipapp).
    link = bin_dir / "kubectl_complete-jetstream"
    link.symlink_to(installed["install"] / "kubectl_complete-jetstream")
    try:
        result = run(KUBECTL, "__complete", "jetstream", "")
        assert result.returncode == 0, result
        lines = result.stdout.splitlines()
        assert {"init", "ls", "purge", "job"} <= {line.split("\t")[0] for line in lines}
        assert lines[-1] == ":4"
        result = run(KUBECTL, "__complete", "jetstream", "info", "AGENT_", cwd=installed["root"])
        assert "AGENT_WORK" in result.stdout.split(), result
    finally:
        link.unlink()
    # The caveats' way: a link to kubectl-jetstream named kubectl_complete-jetstream in krew's bin.
    link.symlink_to("kubectl-jetstream")
    try:
        result = run(KUBECTL, "__complete", "jetstream", "ls", "-o", "")
        assert result.stdout.split()[:4] == ["json", "yaml", "name", "wide"], result
    finally:
        link.unlink()


def run_zipapp(installed, cache, *args, umask=None):
    env = dict(installed["env"], KUBECTL_JETSTREAM_CACHE=str(cache))
    return subprocess.run([str(installed["bin"] / "kubectl-jetstream"), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120,
                          preexec_fn=None if umask is None else lambda: os.umask(umask))


def test_a_cache_folder_given_keeps_everything_else(installed, tmp_path):
    """KUBECTL_JETSTREAM_CACHE=<dir>: the zipapp unpacks into a marked subfolder of its own and prunes only
    there; even names that look like its own copies are left alone elsewhere in <dir>."""
    cache = tmp_path / "mine"
    for name in ("abcdefghijklmnopqrstuvwx", "0123456789abcdef01234567"):  # 24 characters, like its copies
        (cache / name).mkdir(parents=True)
        (cache / name / "keep.txt").write_text("mine")
    (cache / "notes.txt").write_text("mine")
    own = cache / "kubectl-jetstream-zipapp"
    for _ in range(2):  # under a umask that makes files group-writable, the second run still trusts them
        result = run_zipapp(installed, cache, "version", "--client", umask=0o002)
        assert result.returncode == 0 and f"v{VERSION}" in result.stdout, result
        assert result.stderr == "", result
        (copy_,) = [p.parent for p in own.glob("*/.complete")]
        (own / "ffffffffffffffffffffffff").mkdir(exist_ok=True)  # a copy of another build, for the next unpack
    assert sorted(p.name for p in cache.iterdir()) == ["0123456789abcdef01234567", "abcdefghijklmnopqrstuvwx",
                                                       "kubectl-jetstream-zipapp", "notes.txt"]
    assert all((cache / name / "keep.txt").read_text() == "mine" for name in ("abcdefghijklmnopqrstuvwx",
                                                                              "0123456789abcdef01234567"))
    assert (own / ".kubectl-jetstream-cache").is_file()
    (copy_ / ".complete").unlink()  # unpack again: copies of other builds in its own folder are pruned
    assert run_zipapp(installed, cache, "version", "--client").returncode == 0
    assert sorted(p.name for p in own.iterdir()) == [".kubectl-jetstream-cache", copy_.name]


def test_a_cache_others_could_write_is_not_run(installed, tmp_path):
    cache = tmp_path / "cache"
    assert run_zipapp(installed, cache, "version", "--client").returncode == 0
    (copy_,) = [p.parent for p in (cache / "kubectl-jetstream-zipapp").glob("*/.complete")]
    planted = copy_ / "kubectl_jetstream" / "cli.py"
    planted.write_text("print('PLANTED')\n" + planted.read_text())

    def run_after(change, expected_warning):
        change()
        result = run_zipapp(installed, cache, "version", "--client")
        assert result.returncode == 0 and f"v{VERSION}" in result.stdout, result
        if expected_warning:
            assert "PLANTED" not in result.stdout, result
            (line,) = result.stderr.splitlines()
            own = cache / "kubectl-jetstream-zipapp"
            assert line.startswith(f"warning: kubectl-jetstream: not using the cache {own}: ")
            assert expected_warning in line and "running from the archive" in line
        else:
            assert "PLANTED" in result.stdout, result  # the cache is used when it can be trusted

    run_after(lambda: planted.chmod(0o664), f"{planted} is writable by group or others")
    run_after(lambda: planted.parent.chmod(0o777), f"{planted.parent} is writable by group or others")
    run_after(lambda: planted.parent.chmod(0o755), f"{planted} is writable by group or others")
    if os.geteuid() == 0:
        run_after(lambda: (planted.chmod(0o644), os.chown(planted, 65534, 65534)), f"{planted} is owned by uid 65534")
        run_after(lambda: os.chown(planted, 0, 0), None)
    else:
        run_after(lambda: planted.chmod(0o644), None)
    # A folder of that name it did not make (no marker) is neither used nor pruned.
    other = tmp_path / "other"
    (other / "kubectl-jetstream-zipapp" / "ffffffffffffffffffffffff").mkdir(parents=True)
    result = run_zipapp(installed, other, "version", "--client")
    assert result.returncode == 0 and "was not made by kubectl-jetstream" in result.stderr, result
    assert [p.name for p in (other / "kubectl-jetstream-zipapp").iterdir()] == ["ffffffffffffffffffffffff"]


@pytest.mark.parametrize("minor", [9, 13])
def test_other_pythons_run_the_zipapp(installed, minor, nats_server):
    """Other python3 versions, when this machine has them (the zipapp supports 3.9 and later)."""
    candidates = [shutil.which(f"python3.{minor}"),
                  *map(str, sorted(Path.home().glob(f".pyenv/versions/3.{minor}.*/bin/python3.{minor}")))]
    found = next((c for c in candidates if c and subprocess.run([c, "-c", "pass"], capture_output=True,
                                                                env=installed["env"]).returncode == 0), None)
    if not found:
        pytest.skip(f"no python3.{minor} here")
    app = installed["install"] / "kubectl-jetstream"
    env = dict(installed["env"], KUBECTL_JETSTREAM_CACHE="off")
    result = subprocess.run([found, "-I", str(app), "version", "--nats-url", nats_server.url], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0 and "JetStream API Level" in result.stdout, result


# -- pip ----------------------------------------------------------------------------------------------------
def test_wheel_gives_both_console_scripts_and_kubectl_finds_them(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("kubectl_jetstream-*.whl")
    assert wheel.name.startswith(f"kubectl_jetstream-{VERSION}-py3-none-any")
    with zipfile.ZipFile(wheel) as zf:
        entry_points = zf.read(f"kubectl_jetstream-{VERSION}.dist-info/entry_points.txt").decode()
    assert "kubectl-jetstream = kubectl_jetstream.cli:main" in entry_points
    assert "kubectl_complete-jetstream = kubectl_jetstream.cli:kubectl_complete" in entry_points
    venv = tmp_path / "venv"
    bin_dir = bare_python(venv)
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
                              "--quiet", "--no-deps", "--no-index", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    assert os.access(bin_dir / "kubectl-jetstream", os.X_OK)
    assert os.access(bin_dir / "kubectl_complete-jetstream", os.X_OK)
    env = {"PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
           "KUBECONFIG": os.devnull}
    listing = subprocess.run([str(KUBECTL), "plugin", "list", "--name-only"], capture_output=True, text=True,
                             env=env)
    assert "kubectl-jetstream" in listing.stdout and "kubectl_complete-jetstream" not in listing.stdout, listing
    # `version` and completion need none of the dependencies (installed with --no-deps here).
    version = subprocess.run([str(KUBECTL), "jetstream", "version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and f"v{VERSION}" in version.stdout, version
    complete = subprocess.run([str(KUBECTL), "__complete", "jetstream", "ver"], capture_output=True, text=True,
                              env=env)
    assert complete.stdout.splitlines()[0].split("\t")[0] == "version", complete
