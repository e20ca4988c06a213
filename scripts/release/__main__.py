# The release zipapp's entry point: the kubectl_jetstream package and its pure-python dependencies are in
# this zip file. Runs as `kubectl-jetstream`, or as `kubectl_complete-jetstream` (a symlink to this file).
import os
import stat
import sys

if sys.version_info < (3, 9):
    sys.exit("kubectl-jetstream needs Python 3.9 or newer; this python3 is %d.%d" % sys.version_info[:2])

MARKER = ".kubectl-jetstream-cache"  # in the unpack folder: the tool made it, so it may prune in it
MARKER_TEXT = "Unpacked copies of the kubectl-jetstream zipapp, made by it; safe to delete.\n"


def cache_folder(setting):
    """The folder the zipapp unpacks into and the folder that holds it. KUBECTL_JETSTREAM_CACHE=<dir> gets a
    subfolder of its own: nothing else in <dir> is ever touched."""
    if setting:
        parent = os.path.abspath(os.path.expanduser(setting))
        return os.path.join(parent, "kubectl-jetstream-zipapp"), parent
    parent = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubectl-jetstream")
    return os.path.join(parent, "zipapp"), parent


def problem(path, st, uid):
    """Why the file or folder `path` (lstat `st`) cannot hold code we run, or None."""
    if stat.S_ISLNK(st.st_mode):
        return "%s is a symbolic link" % path
    if st.st_uid not in (uid, 0):  # root's files are as safe as ours (the image unpacks as root)
        return "%s is owned by uid %d, not by this user (uid %d)" % (path, st.st_uid, uid)
    if st.st_mode & 0o022:
        return "%s is writable by group or others" % path
    return None


def untrusted(path, uid):
    """Why code under `path` cannot be trusted, or None: `path` and everything in it must be owned by this user
    (or root) and not writable by group or others (the rule pip and Python apply to their caches); no symbolic
    links.
    One lstat per entry, about 2000 of them."""
    reason = problem(path, os.lstat(path), uid)
    todo = [path]
    while todo and not reason:
        with os.scandir(todo.pop()) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                reason = problem(entry.path, st, uid)
                if reason:
                    break
                if stat.S_ISDIR(st.st_mode):
                    todo.append(entry.path)
    return reason


def unsafe_parent(parent):
    """Others able to rename things in the folder that holds the cache could swap it: refuse that, unless the
    sticky bit (as on /tmp) stops them."""
    st = os.stat(parent)
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return "%s is writable by group or others" % parent
    return None


def write(path, text):
    """A file only this user can write, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def prepare(base, parent, own_by_name, uid):
    """Create the unpack folder with its marker, or check the one found; returns why it cannot be used, or
    None."""
    if not os.path.isdir(base):
        os.makedirs(parent, mode=0o700, exist_ok=True)
        os.mkdir(base, 0o700)
        write(os.path.join(base, MARKER), MARKER_TEXT)
    elif own_by_name:  # earlier versions made the default folders with the umask's mode (002: group-writable)
        for folder in (parent, base):
            st = os.lstat(folder)
            if not stat.S_ISLNK(st.st_mode) and st.st_uid == uid and st.st_mode & 0o022:
                os.chmod(folder, stat.S_IMODE(st.st_mode) & ~0o022)
    reason = unsafe_parent(parent) or problem(base, os.lstat(base), uid)
    if reason:
        return reason
    if not os.path.isfile(os.path.join(base, MARKER)):
        if not own_by_name:
            return "%s was not made by kubectl-jetstream (it has no %s)" % (base, MARKER)
        write(os.path.join(base, MARKER), MARKER_TEXT)  # the default folder, made by an earlier version
    return None


def unpack(zf, members, base, target):
    """Extract into a fresh folder of `base`, made safe to trust whatever the umask, then move it into place;
    older copies in `base` (and only there) are removed first."""
    import re
    import shutil
    import tempfile

    for old in os.listdir(base):  # earlier builds (and interrupted unpacks): one copy is enough
        if old != os.path.basename(target) and re.match(r"^([0-9a-f]{24}|\.unpacking-.*)$", old):
            shutil.rmtree(os.path.join(base, old), ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix=".unpacking-", dir=base)
    try:
        zf.extractall(tmp, [m for m in members if m.filename != "__main__.py"])
        for folder, dirs, files in os.walk(tmp):
            if any(name.endswith(".py") for name in files) and "__pycache__" not in dirs:
                os.mkdir(os.path.join(folder, "__pycache__"))  # so Python does not make it with the umask's mode
            for name in dirs + files + ["__pycache__"]:
                path = os.path.join(folder, name)
                if os.path.lexists(path):
                    os.chmod(path, os.lstat(path).st_mode & 0o755)
        write(os.path.join(tmp, ".complete"), "")
        os.rename(tmp, target)
    except OSError:  # another run finished first, or the disk is full
        shutil.rmtree(tmp, ignore_errors=True)


def unpacked(archive):
    """This zipapp unpacked once into a per-user cache folder, so that Python can keep bytecode for it:
    imported straight from the zip, the kubernetes client (17 MB of source) is compiled again on every run,
    over a second. Returns the folder, or None (then everything is imported from the zip) when no cache can
    be written or the one there cannot be trusted. KUBECTL_JETSTREAM_CACHE: the cache folder, or `off`."""
    setting = os.environ.get("KUBECTL_JETSTREAM_CACHE", "")
    uid = getattr(os, "geteuid", lambda: None)()
    if setting == "off" or uid is None:
        return None
    import hashlib
    import zipfile

    base, parent = cache_folder(setting)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            key = hashlib.sha256()
            for m in members:
                key.update(("%s %d %d\n" % (m.filename, m.CRC, m.file_size)).encode())
            target = os.path.join(base, key.hexdigest()[:24])
            reason = prepare(base, parent, own_by_name=not setting, uid=uid)
            if reason is None and not os.path.isfile(os.path.join(target, ".complete")):
                unpack(zf, members, base, target)
        if reason is None and os.path.isfile(os.path.join(target, ".complete")):
            reason = untrusted(target, uid)
            if reason is None:
                return target
    except (OSError, zipfile.BadZipFile):
        return None
    if reason:
        sys.stderr.write("warning: kubectl-jetstream: not using the cache %s: %s; running from the archive "
                         "(slower). Remove it, or set KUBECTL_JETSTREAM_CACHE to another folder or to off\n"
                         % (base, reason))
    return None


archive = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == archive:
    folder = unpacked(archive)
    if folder:
        sys.path[0] = folder
        sys.dont_write_bytecode = False  # the cache is there to hold bytecode, even with PYTHONDONTWRITEBYTECODE

if os.path.basename(sys.argv[0]).startswith("kubectl_complete-"):
    from kubectl_jetstream.cli import kubectl_complete

    sys.exit(kubectl_complete())

from kubectl_jetstream.cli import main  # noqa: E402

sys.exit(main())
