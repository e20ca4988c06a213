"""Which files a streams.d path names, and reading one safely: a regular file, at most 1 MiB, UTF-8 text,
parsed into its documents. Problems are added to `errors`, never raised."""
import errno
import os
import stat

from .. import units
from ..errors import InvalidDefinition
from .parse import parse_json, parse_yaml

MAX_FILE_BYTES = 1024 * 1024
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


def definition_files(paths, errors):
    """The files to read, in order: folders non-recursively and sorted, each real file once."""
    files, seen = [], set()
    for path in map(str, paths):
        problem = _path_problem(path)
        if problem:
            errors.append(InvalidDefinition(path, None, problem))
            continue
        if os.path.isdir(path):
            found = _files_in_folder(path, errors)
        else:
            found = _explicit_file(path, errors)
        for file in found:
            if os.path.realpath(file) not in seen:
                seen.add(os.path.realpath(file))
                files.append(file)
    return files


def _path_problem(path):
    """Why `path` cannot be opened (missing, dangling or looping symlink), or None."""
    try:
        os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken symlink (points to {os.readlink(path)}, which does not exist)"
        return "no such file or directory"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symlink loop (the link resolves to itself)"
        return f"cannot read: {err.strerror}"
    return None


def _files_in_folder(folder, errors):
    files, candidates = [], 0
    try:
        entries = sorted(os.listdir(folder))
    except OSError as err:
        errors.append(InvalidDefinition(folder, None, f"cannot list the folder: {err.strerror}"))
        return []
    for entry in entries:
        if entry.startswith(".") or not entry.lower().endswith(DEFINITION_SUFFIXES):
            continue  # hidden files (editor locks, swap files) and other extensions are not definitions
        candidates += 1
        path = os.path.join(folder, entry)
        problem = _path_problem(path)
        if problem:
            errors.append(InvalidDefinition(path, None, problem))
        elif stat.S_ISREG(os.stat(path).st_mode):
            files.append(path)
        else:
            errors.append(InvalidDefinition(path, None, _not_a_file(path)))
    if candidates == 0:
        errors.append(InvalidDefinition(
            folder, None, "no stream definition files (*.yaml, *.yml, *.json) in this folder"))
    return files


def _explicit_file(path, errors):
    if not path.lower().endswith(DEFINITION_SUFFIXES):
        errors.append(InvalidDefinition(path, None, "not a definition file: the name must end in .yaml, .yml or .json"))
        return []
    if not stat.S_ISREG(os.stat(path).st_mode):
        errors.append(InvalidDefinition(path, None, _not_a_file(path)))
        return []
    return [path]


def _not_a_file(path):
    if os.path.isdir(path):
        return "not a regular file but a folder (folders inside streams.d are not read)"
    return "not a regular file"


def read_documents(path, errors, warn):
    """The documents in `path`, or none (with the reason added to `errors`)."""
    def fail(message, key=None):
        errors.append(InvalidDefinition(path, key, message))
        return []

    size = os.stat(path).st_size
    if size > MAX_FILE_BYTES:
        return fail(f"file is {units.human_bytes(size)}; definition files are limited to 1 MiB")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # a file may grow between stat and read
    except OSError as err:
        return fail(f"cannot read: {err.strerror}")
    if len(data) > MAX_FILE_BYTES:
        return fail("file is over 1 MiB; definition files are limited to 1 MiB")
    if b"\0" in data:
        return fail("binary file (contains NUL bytes), not YAML or JSON")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return fail(f"not UTF-8 text (invalid byte 0x{data[err.start]:02x} at offset {err.start}); binary file?")
    try:
        docs = parse_json(text, path, warn) if path.lower().endswith(".json") else parse_yaml(text)
    except ValueError as err:
        return fail(str(err), getattr(err, "key", None))
    if not docs:
        return fail("empty file: expected the settings of one stream")
    return docs
