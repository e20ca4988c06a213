# The release zipapp's entry point: the kubectl_jetstream package and its pure-python dependencies are in
# this zip file. Runs as `kubectl-jetstream`, or as `kubectl_complete-jetstream` (a symlink to this file).
import os
import sys

if sys.version_info < (3, 9):
    sys.exit("kubectl-jetstream needs Python 3.9 or newer; this python3 is %d.%d" % sys.version_info[:2])


def unpacked(archive):
    """This zipapp unpacked once into a per-user cache folder, so that Python can keep bytecode for it:
    imported straight from the zip, the kubernetes client (17 MB of source) is compiled again on every run,
    over a second. Returns the folder, or None (then everything is imported from the zip) when no cache can
    be written. KUBECTL_JETSTREAM_CACHE: the cache folder, or `off`."""
    setting = os.environ.get("KUBECTL_JETSTREAM_CACHE", "")
    if setting == "off":
        return None
    import hashlib
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            key = hashlib.sha256()
            for m in members:
                key.update(("%s %d %d\n" % (m.filename, m.CRC, m.file_size)).encode())
            # A folder of its own: pruning old copies below must never touch anything else in the cache.
            base = setting or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                           "kubectl-jetstream", "zipapp")
            target = os.path.join(base, key.hexdigest()[:24])
            if os.path.isfile(os.path.join(target, ".complete")):
                return target
            import shutil
            import tempfile

            os.makedirs(base, exist_ok=True)
            for old in os.listdir(base):  # earlier builds: one unpacked copy is enough
                if old != os.path.basename(target) and len(old) == 24 and not old.startswith("."):
                    shutil.rmtree(os.path.join(base, old), ignore_errors=True)
            tmp = tempfile.mkdtemp(prefix=".unpacking-", dir=base)
            try:
                zf.extractall(tmp, [m for m in members if m.filename != "__main__.py"])
                open(os.path.join(tmp, ".complete"), "w").close()
                os.rename(tmp, target)
            except OSError:  # another run finished first, or the disk is full
                shutil.rmtree(tmp, ignore_errors=True)
        return target if os.path.isfile(os.path.join(target, ".complete")) else None
    except (OSError, zipfile.BadZipFile):
        return None


archive = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == archive:
    folder = unpacked(archive)
    if folder:
        sys.path[0] = folder
        sys.dont_write_bytecode = False  # the cache is there to hold bytecode, even with PYTHONDONTWRITEBYTECODE

if os.path.basename(sys.argv[0]).startswith("kubectl_complete-"):
    from kubectl_jetstream.completion import kubectl_complete

    sys.exit(kubectl_complete())

from kubectl_jetstream.cli import main  # noqa: E402

sys.exit(main())
