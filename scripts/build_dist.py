#!/usr/bin/env python3
"""Build the release archive dist/kubectl-jetstream-vX.Y.Z.tar.gz and point plugin.yaml at it.

The archive holds three files, all at its top level:

  kubectl-jetstream           a zipapp (`#!/usr/bin/env python3`): the kubectl_jetstream package and every
                              runtime dependency as pure python, so any python3 >= 3.9 runs it with no pip
  kubectl_complete-jetstream  the completion executable kubectl >= 1.26 looks for on PATH; it imports from
                              the zipapp next to it (symlinks are followed)
  LICENSE

One archive serves linux and darwin on amd64 and arm64: nothing in it is compiled. The dependencies are the
wheels pinned with their sha256 in scripts/dist-requirements.txt (downloaded once into build/dist-wheels/);
PyYAML has no pure-python wheel, so its compiled extension is left out and it runs its pure-python code.

Reproducible: the same sources, lock file and Python/zlib give the same bytes, so the same sha256 — entries
are sorted, every timestamp is SOURCE_DATE_EPOCH (default 1980-01-02), owners are 0/0 and modes normalized.
With --if-changed an archive built from the same inputs is kept as is (the tests use that).

    python scripts/build_dist.py                 # build, then update plugin.yaml's version, uri and sha256
    python scripts/build_dist.py --update-lock   # re-resolve the bundled dependencies (needs PyPI)
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_jetstream"
PLUGIN_NAME = "jetstream"
HOMEPAGE = "https://github.com/swe-ai-fleet/kubectl-jetstream"
EXECUTABLE = "kubectl-jetstream"
COMPLETER = "kubectl_complete-jetstream"
LICENSE_FILE = "LICENSE"
LOCK_INPUT = ROOT / "scripts" / "dist-requirements.in"
LOCK = ROOT / "scripts" / "dist-requirements.txt"
MANIFEST = ROOT / "plugin.yaml"
DEFAULT_EPOCH = 315619200  # 1980-01-02T00:00:00Z: the zip format cannot date anything before 1980
MIN_PYTHON = "3.9"
# Packages without a pure-python wheel whose compiled part is optional: only their .py files are bundled.
PURE_PART_ONLY = {"pyyaml": "manylinux2014_x86_64"}
# Top-level entries of those wheels that only exist to load the compiled part.
DROPPED_TOP_LEVEL = {"_yaml"}
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".a", ".lib", ".o", ".c", ".h", ".pyx", ".pxd")
LICENSE_NAME = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)

RELEASE_FILES = ROOT / "scripts" / "release"  # the zipapp's __main__.py and the completion executable


class BuildError(Exception):
    pass


# -- inputs -----------------------------------------------------------------------------------------------
def read_version(root=ROOT):
    text = (Path(root) / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if not match:
        raise BuildError(f"no __version__ in {PACKAGE}/__init__.py")
    return match.group(1)


def archive_name(version):
    return f"{EXECUTABLE}-v{version}.tar.gz"


def release_url(version, homepage=HOMEPAGE):
    return f"{homepage}/releases/download/v{version}/{archive_name(version)}"


def source_epoch():
    return int(os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH)


def package_files(root=ROOT):
    """The package's .py files (and any data files), sorted, without caches."""
    base = Path(root) / PACKAGE
    files = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if path.name.startswith(".") or path.name.endswith("~"):
            continue
        files.append((rel, path))
    return files


def normalize_name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path=LOCK):
    """[(name, version, [sha256...])] from a `name==version --hash=sha256:...` requirements file."""
    entries = []
    text = Path(path).read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*(.*)$", line)
        if not match:
            raise BuildError(f"{path}: not an exact pin: {line!r}")
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(3))
        if not hashes:
            raise BuildError(f"{path}: {match.group(1)} has no --hash=sha256:")
        entries.append((normalize_name(match.group(1)), match.group(2), hashes))
    return entries


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip(*args, quiet=True):
    cmd = [sys.executable, "-m", "pip", *args]
    if quiet:
        cmd.insert(3, "--quiet")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise BuildError(f"pip {' '.join(args[:1])} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def target_flags():
    """Wheels for the oldest supported Python: pure ones, and PyYAML's (its .py part only)."""
    flags = ["--only-binary=:all:", "--python-version", MIN_PYTHON, "--implementation", "cp",
             "--abi", "cp" + MIN_PYTHON.replace(".", ""), "--abi", "none", "--platform", "any"]
    for platform in sorted(set(PURE_PART_ONLY.values())):
        flags += ["--platform", platform]
    return flags


def ensure_wheels(entries, wheels_dir, lock_path=LOCK):
    """{name: wheel path} for every lock entry, downloading with pip (hash-checked) only what is missing."""
    wheels_dir = Path(wheels_dir)
    wheels_dir.mkdir(parents=True, exist_ok=True)

    def present():
        by_hash = {sha256_file(p): p for p in wheels_dir.glob("*.whl")}
        return {name: next((by_hash[h] for h in hashes if h in by_hash), None) for name, _, hashes in entries}

    found = present()
    if any(p is None for p in found.values()):
        pip("download", "--no-deps", "--require-hashes", *target_flags(), "-r", str(lock_path),
            "-d", str(wheels_dir))
        found = present()
    missing = sorted(name for name, p in found.items() if p is None)
    if missing:
        raise BuildError(f"no wheel matching the locked hashes for: {', '.join(missing)}")
    return found


def update_lock(lock_input=LOCK_INPUT, lock=LOCK):
    """Resolve dist-requirements.in for Python 3.9 and pin each package's wheel by sha256."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pip("install", "--dry-run", "--ignore-installed", "--report", str(report), "--target", str(Path(tmp) / "t"),
            *target_flags(), "-r", str(lock_input))
        resolved = sorted((normalize_name(i["metadata"]["name"]), i["metadata"]["version"])
                          for i in json.loads(report.read_text())["install"])
        lines = ["# Generated by `python scripts/build_dist.py --update-lock` from dist-requirements.in: the",
                 f"# wheels bundled into the release zipapp, resolved for Python {MIN_PYTHON}. Do not edit by hand.", ""]
        for name, version in resolved:
            dest = Path(tmp) / name
            if name in PURE_PART_ONLY:
                flags = target_flags()
            else:  # a pure-python wheel, never a compiled one
                flags = ["--only-binary=:all:", "--python-version", MIN_PYTHON, "--implementation", "py",
                         "--abi", "none", "--platform", "any"]
            try:
                pip("download", "--no-deps", *flags, "-d", str(dest), f"{name}=={version}")
            except BuildError as exc:
                raise BuildError(f"{name}=={version} has no pure-python wheel for Python {MIN_PYTHON}: "
                                 f"pin another version in {lock_input.name}\n{exc}") from None
            (wheel,) = list(dest.glob("*.whl"))
            lines.append(f"{name}=={version} --hash=sha256:{sha256_file(wheel)}  # {wheel.name}")
        Path(lock).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return resolved


# -- the zipapp -------------------------------------------------------------------------------------------
def wheel_entries(wheel_path, name):
    """{arcname: bytes} of a wheel's importable files plus its METADATA and license files."""
    entries = {}
    pure_part_only = name in PURE_PART_ONLY
    with zipfile.ZipFile(wheel_path) as whl:
        for info in whl.infolist():
            arc = info.filename
            if arc.endswith("/"):
                continue
            top = arc.split("/", 1)[0]
            if top.endswith(".dist-info"):
                if arc == f"{top}/METADATA" or LICENSE_NAME.search(arc[len(top) + 1:]):
                    entries[arc] = whl.read(info)
                continue
            if top.endswith(".data"):
                raise BuildError(f"{Path(wheel_path).name}: .data/ entries are not supported ({arc})")
            if "__pycache__/" in arc or arc.endswith((".pyc", ".pyo")):
                continue
            if arc.lower().endswith(COMPILED_SUFFIXES) or top in DROPPED_TOP_LEVEL:
                if pure_part_only:
                    continue
                raise BuildError(f"{Path(wheel_path).name} is not pure python: {arc}")
            entries[arc] = whl.read(info)
    return entries


def zipapp_entries(wheels, root=ROOT):
    """Every file of the zipapp: {arcname: bytes}."""
    entries = {"__main__.py": (RELEASE_FILES / "__main__.py").read_bytes()}
    for rel, path in package_files(root):
        entries[rel] = path.read_bytes()
    for name in sorted(wheels):
        for arc, data in wheel_entries(wheels[name], name).items():
            if arc in entries:
                raise BuildError(f"{arc} comes from two places (second: {Path(wheels[name]).name})")
            entries[arc] = data
    compiled = sorted(a for a in entries if a.lower().endswith(COMPILED_SUFFIXES + (".pyc",)))
    if compiled:
        raise BuildError(f"compiled files would ship: {', '.join(compiled[:5])}")
    return entries


def zip_date(epoch):
    return time.gmtime(max(epoch, DEFAULT_EPOCH))[:6]


def build_zipapp(entries, epoch):
    """A zipapp as bytes: shebang line, then a zip with sorted entries, fixed dates and modes."""
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "w") as zf:
        for arc in sorted(entries):
            info = zipfile.ZipInfo(arc, date_time=zip_date(epoch))
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = (0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[arc], compresslevel=9)
    return buffer.getvalue()


def build_targz(members, epoch):
    """A .tar.gz as bytes; members are (name, bytes, mode) in the given order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def input_digest(wheels, root=ROOT):
    """What the archive is made of; an unchanged digest means an identical archive."""
    digest = hashlib.sha256()
    for part in (Path(__file__).read_bytes(), (Path(root) / LICENSE_FILE).read_bytes(),
                 (RELEASE_FILES / "__main__.py").read_bytes(), (RELEASE_FILES / COMPLETER).read_bytes(),
                 str(source_epoch()).encode(), sys.version.split()[0].encode(),
                 getattr(__import__("zlib"), "ZLIB_RUNTIME_VERSION", "").encode()):
        digest.update(hashlib.sha256(part).digest())
    for rel, path in package_files(root):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    for name in sorted(wheels):
        digest.update(name.encode() + b"\0" + sha256_file(wheels[name]).encode())
    return digest.hexdigest()


def build(out_dir, wheels_dir, root=ROOT, if_changed=False, log=print):
    """Build (or keep) the archive; returns (path, sha256)."""
    version = read_version(root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / archive_name(version)
    stamp = out_dir / f".{archive.name}.inputs"
    if not (Path(root) / LICENSE_FILE).is_file():
        raise BuildError(f"{LICENSE_FILE} is missing")
    wheels = ensure_wheels(read_lock(), wheels_dir)
    digest = input_digest(wheels, root)
    if if_changed and archive.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        log(f"{archive.relative_to(root) if archive.is_relative_to(root) else archive}: inputs unchanged, kept")
        return archive, sha256_file(archive)
    epoch = source_epoch()
    app = build_zipapp(zipapp_entries(wheels, root), epoch)
    members = [(EXECUTABLE, app, 0o755), (COMPLETER, (RELEASE_FILES / COMPLETER).read_bytes(), 0o755),
               (LICENSE_FILE, (Path(root) / LICENSE_FILE).read_bytes(), 0o644)]
    data = build_targz(members, epoch)
    tmp = archive.with_name(archive.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, archive)
    sha = hashlib.sha256(data).hexdigest()
    (out_dir / (archive.name + ".sha256")).write_text(f"{sha}  {archive.name}\n")
    stamp.write_text(digest + "\n")
    log(f"built {archive} ({len(data) / 1e6:.1f} MB, zipapp {len(app) / 1e6:.1f} MB)\nsha256 {sha}")
    return archive, sha


# -- plugin.yaml ------------------------------------------------------------------------------------------
def update_manifest_text(text, version, url, sha):
    """plugin.yaml with spec.version, every platform's uri and sha256 set; comments and layout kept."""
    text, n_version = re.subn(r"(?m)^(  version:[ \t]*).*$", rf"\g<1>v{version}", text)
    text, n_uri = re.subn(r"(?m)^(\s+uri:[ \t]*).*$", rf"\g<1>{url}", text)
    text, n_sha = re.subn(r"(?m)^(\s+sha256:[ \t]*).*$", rf"\g<1>{sha}", text)
    if n_version != 1 or n_uri == 0 or n_uri != n_sha:
        raise BuildError("plugin.yaml: expected one spec.version and a uri and sha256 per platform")
    return text


def write_manifest(path, version, sha, template=MANIFEST):
    text = update_manifest_text(Path(template).read_text(encoding="utf-8"), version, release_url(version), sha)
    import yaml  # only here: the build runs in the project's venv

    problems = validate_manifest(yaml.safe_load(text), PLUGIN_NAME)
    if problems:
        raise BuildError("plugin.yaml is not a valid krew manifest:\n  " + "\n  ".join(problems))
    Path(path).write_text(text, encoding="utf-8")


# krew's rules: sigs.k8s.io/krew internal/index/validation (ValidatePlugin, validatePlatform, validateFiles,
# validateSelector, semver.Parse) and cmd/validate-krew-manifest (supported platforms, no overlaps). Each rule
# is (id, check(manifest, name) -> problem or None) so a test can break each one on its own.
KREW_API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
KREW_PLATFORMS = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"),
                  ("linux", "amd64"), ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"),
                  ("darwin", "amd64"), ("darwin", "arm64")]
_SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
_WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                      *(f"LPT{i}" for i in range(1, 10))}


def _spec(m):
    return (m or {}).get("spec") or {}


def _platforms(m):
    platforms = _spec(m).get("platforms")
    return platforms if isinstance(platforms, list) else []


def _each_platform(m, check):
    for i, p in enumerate(_platforms(m)):
        problem = check(p if isinstance(p, dict) else {})
        if problem:
            return f"spec.platforms[{i}]: {problem}"
    return None


def _selector_matches(selector, os_name, arch):
    labels = {"os": os_name, "arch": arch}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), expr.get("values") or []
        present = expr.get("key") in labels
        value = labels.get(expr.get("key"))
        if (op == "In" and value not in values) or (op == "NotIn" and present and value in values) or \
                (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _selector_problem(p):
    sel = p.get("selector")
    if not isinstance(sel, dict):
        return "nil selector is not supported"
    labels, exprs = sel.get("matchLabels"), sel.get("matchExpressions")
    if labels is None and not exprs:
        return "empty selector is not supported"
    keys = list((labels or {}).keys()) + [e.get("key") for e in exprs or []]
    bad = [k for k in keys if k not in ("os", "arch")]
    if bad:
        return f"selector key {bad[0]!r} not supported (only os and arch)"
    if labels is not None and len(labels) == 0:
        return "`matchLabels` specified but empty"
    if exprs is not None and len(exprs) == 0:
        return "`matchExpressions` specified but empty"
    return None


def _files_problem(p):
    files = p.get("files")
    if files is None:
        return None
    if not files:
        return "`files` has to be unspecified or non-empty"
    for op in files:
        if not (op or {}).get("from"):
            return "`from` field has to be set"
        if not op.get("to"):
            return "`to` field has to be set"
        if os.path.normpath(op["to"]) != op["to"] or op["to"].startswith(("/", "..")):
            return f"`to` {op['to']!r} is not a clean path inside the plugin directory"
    return None


def _overlap_problem(m):
    for os_name, arch in KREW_PLATFORMS:
        hits = [i for i, p in enumerate(_platforms(m))
                if isinstance(p.get("selector"), dict) and _selector_matches(p["selector"], os_name, arch)]
        if len(hits) > 1:
            return f"spec.platforms {hits} have overlapping selectors that select os={os_name}/arch={arch}"
    return None


def _unused_platform_problem(m):
    for i, p in enumerate(_platforms(m)):
        sel = p.get("selector")
        if isinstance(sel, dict) and not any(_selector_matches(sel, o, a) for o, a in KREW_PLATFORMS):
            return f"spec.platforms[{i}]'s selector matches no supported platform"
    return None


KREW_RULES = [
    ("apiVersion", lambda m, n: None if m.get("apiVersion") == KREW_API_VERSION else
     f"apiVersion={m.get('apiVersion')!r}, krew supports only {KREW_API_VERSION!r}"),
    ("kind", lambda m, n: None if m.get("kind") == "Plugin" else f"kind={m.get('kind')!r}, only 'Plugin' is supported"),
    ("safe-name", lambda m, n: None if re.fullmatch(r"[\w-]+", n, re.ASCII) and n.upper() not in _WINDOWS_FORBIDDEN
     else f"the plugin name {n!r} is not allowed, must match ^[\\w-]+$"),
    ("name", lambda m, n: None if ((m.get("metadata") or {}).get("name")) == n else
     f"plugin should be named {n!r}, not {(m.get('metadata') or {}).get('name')!r}"),
    ("shortDescription", lambda m, n: None if _spec(m).get("shortDescription") else "should have a short description"),
    ("shortDescription-one-line", lambda m, n: "should not have line breaks in short description"
     if re.search(r"[\r\n]", str(_spec(m).get("shortDescription") or "")) else None),
    ("platforms", lambda m, n: None if _platforms(m) else "should have a platform specified"),
    ("version", lambda m, n: None if _spec(m).get("version") else "should have a version specified"),
    ("version-semver", lambda m, n: None if not _spec(m).get("version") or _SEMVER.match(str(_spec(m)["version"]))
     else f"version {_spec(m)['version']!r} is not semver with a leading v (like v1.2.3)"),
    ("uri", lambda m, n: _each_platform(m, lambda p: None if p.get("uri") else "`uri` has to be set")),
    ("sha256", lambda m, n: _each_platform(m, lambda p: None if p.get("sha256") else "`sha256` sum has to be set")),
    ("sha256-format", lambda m, n: _each_platform(m, lambda p: None if not p.get("sha256") or
                                                  re.fullmatch(r"[a-f0-9]{64}", str(p["sha256"]))
                                                  else f"`sha256` value {p['sha256']} must match ^[a-f0-9]{{64}}$")),
    ("bin", lambda m, n: _each_platform(m, lambda p: None if p.get("bin") else "`bin` has to be set")),
    ("files", lambda m, n: _each_platform(m, _files_problem)),
    ("selector", lambda m, n: _each_platform(m, _selector_problem)),
    ("platform-used", lambda m, n: _unused_platform_problem(m)),
    ("no-overlap", lambda m, n: _overlap_problem(m)),
]


def validate_manifest(manifest, name):
    """Every krew rule the manifest breaks, as messages (empty when valid)."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a YAML mapping"]
    problems = []
    for rule, check in KREW_RULES:
        problem = check(manifest, name)
        if problem:
            problems.append(f"{rule}: {problem}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default dist/)")
    parser.add_argument("--wheels", default=str(ROOT / "build" / "dist-wheels"),
                        help="wheel cache folder (default build/dist-wheels/)")
    parser.add_argument("--manifest", default=str(MANIFEST),
                        help="write the krew manifest here (default: update plugin.yaml in place)")
    parser.add_argument("--no-manifest", action="store_true", help="do not write a krew manifest")
    parser.add_argument("--if-changed", action="store_true", help="keep an archive built from the same inputs")
    parser.add_argument("--update-lock", action="store_true",
                        help="re-resolve scripts/dist-requirements.in into scripts/dist-requirements.txt, then exit")
    args = parser.parse_args(argv)
    try:
        if args.update_lock:
            for name, version in update_lock():
                print(f"{name}=={version}")
            return 0
        archive, sha = build(args.out, args.wheels, if_changed=args.if_changed)
        if not args.no_manifest:
            write_manifest(args.manifest, read_version(), sha)
            print(f"{args.manifest}: v{read_version()}, sha256 {sha}")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
