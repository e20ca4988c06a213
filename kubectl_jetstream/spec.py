"""streams.d: load, validate and normalize stream definition files. Pure but for reading files.

A file holds one or more YAML documents. A stream has one of three spellings, all normalized to StreamConfig
API JSON:
  native   top-level StreamConfig keys (as `nats stream info --json` shows them) + optional `consumers:`
  natscli  `nats stream info --json` output (config under `config`) or `nats stream add --output`
  NACK     a jetstream.nats.io Stream custom resource (camelCase keys under `spec`)
Every file is checked before anything is returned; all problems are raised together. Other kinds of documents
(NACK Consumer, key-value buckets, object stores) are resources.py's: it passes load_specs its `resolve`.
"""
import datetime
import difflib
import errno
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field

import yaml

from . import schema, units
from .errors import DefinitionErrors, InvalidDefinition, shown
from .schema import (BOOL, DURATION, DURATIONS, ENUM, INT, MAP, OBJECT, OBJECTS, SIZE, STRING, STRINGS,
                     TIME)
from .subjects import subjects_overlap

MAX_FILE_BYTES = 1024 * 1024
# Bounds on the work one file can cause, whatever it holds: lists and mappings nested this deep at most (real
# definitions need 5); this many values (keys, items, lists and mappings) in a YAML file, its aliases expanded
# (a 400-byte "billion laughs" file otherwise expands to billions; a large real stream has a few thousand);
# this many problems shown per file.
MAX_NESTING = 32
MAX_VALUES = 100_000
MAX_PROBLEMS_PER_FILE = 100
DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
NACK_GROUP = "jetstream.nats.io"

# The server stores 0 in these as -1, "unlimited": normalize so plans compare equal.
_ZERO_IS_UNLIMITED = {"stream": schema.UNLIMITED_STREAM_KEYS, "consumer": schema.UNLIMITED_CONSUMER_KEYS}
_MIN_AGE_NS = 100_000_000  # the server refuses max_age and duplicate_window under 100ms


@dataclass
class StreamSpec:
    name: str
    config: dict
    consumers: list = field(default_factory=list)
    path: str = ""
    js_domain: str = ""     # a NACK resource's jsDomain: the JetStream domain it belongs to
    # Keys whose server value stands when the file does not set them: defaults that differ between the
    # clients that create such streams (a key-value bucket's allow_direct: nats.go true, nats.py unset).
    tolerated: tuple = ()
    more_paths: list = field(default_factory=list)  # other files defining its consumers (NACK Consumer)


@dataclass
class ConsumerDocument:
    """A consumer in a document of its own (a NACK Consumer), attached to its stream once every file is read."""
    stream: str
    config: dict
    path: str            # the file
    where: str           # the file, and the document when the file holds several
    stream_key: str      # the key naming the stream, as the file spells it
    problems: object     # the document's _Problems (key spellings)


def print_to_stderr(message):
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------
# Loading


def load_specs(paths, warn=print_to_stderr, resolve=None):
    """Every stream defined in `paths` (files or folders), validated together; raises DefinitionErrors.

    A file may hold several YAML documents. `resolve(doc, where, warn)` turns one document into
    ([StreamSpec], [ConsumerDocument], [problems]) -- the kind registry (resources.py) passes its own;
    by default every document is a stream."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one path, not a list of one-character paths
    resolve = resolve or stream_document
    errors, specs, consumers = [], [], []
    for path in _definition_files(paths, errors):
        docs = _read_documents(path, errors, warn)
        for i, doc in enumerate(docs):
            where = path if len(docs) == 1 else f"{path} (document {i + 1})"
            found, attached, problems = resolve(doc, where, warn)
            errors.extend(problems)
            for spec in found:
                spec.path = path
            for consumer in attached:
                consumer.path = path
            specs.extend(found)
            consumers.extend(attached)
    errors.extend(_conflicts_between_files(specs))
    errors.extend(_attach_consumers(specs, consumers))
    if errors:
        raise DefinitionErrors(errors)
    return specs


def _definition_files(paths, errors):
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


def _read_documents(path, errors, warn):
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
        docs = _parse_json(text, path, warn) if path.lower().endswith(".json") else _parse_yaml(text)
    except ValueError as err:
        return fail(str(err), getattr(err, "key", None))
    if not docs:
        return fail("empty file: expected the settings of one stream")
    return docs


class _TooBig(ValueError):
    """A file past one of the bounds above; `key` is the top-level key it happened under."""

    def __init__(self, key, message):
        super().__init__(message)
        self.key = key


_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"


def _parse_json(text, path, warn):
    """natscli reads JSON with Go's encoding/json: a repeated key is no error, the later value wins (an object
    decodes into the one before it, key by key). Read it the same way, and say where."""
    repeated = []

    def go_object(pairs):
        out = {}
        for key, value in pairs:
            if key in out:
                repeated.append(key)
                value = _merged(out[key], value)
            out[key] = value
        return out
    _check_json_nesting(text)  # the decoder recurses: 5000 levels are a RecursionError
    try:
        doc = json.loads(text, object_pairs_hook=go_object)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    if repeated:  # rare: only then scan again for the lines
        for key, line, first in _repeated_json_keys(text):
            warn(f"{path}: {key}: repeated at line {line} (first at line {first}); the later value wins, "
                 f"as natscli reads JSON")
    return [doc]


def _merged(earlier, later):
    """Go decodes a repeated object into the struct or map the first one filled: keys merge, later wins."""
    if not (isinstance(earlier, dict) and isinstance(later, dict)):
        return later
    out = dict(earlier)
    for key, value in later.items():
        out[key] = _merged(out[key], value) if key in out else value
    return out


def _repeated_json_keys(text):
    """(key path, line, line of the first) for each key repeated within one object of valid JSON `text`."""
    found, stack, i = [], [], 0
    # One frame per open object or array: {"path", "keys": {key: offset}, "key", "expect_key", "index"}.
    while i < len(text):
        char = text[i]
        if char == '"':
            value, end = json.decoder.scanstring(text, i + 1)
            top = stack[-1] if stack else None
            if top is not None and top.get("expect_key"):
                if value in top["keys"]:
                    found.append((_json_path(top["path"], value), i, top["keys"][value]))
                else:
                    top["keys"][value] = i
                top["key"], top["expect_key"] = value, False
            i = end
            continue
        if char in "{[":
            parent = stack[-1] if stack else None
            if parent is None:
                path = ""
            elif "keys" in parent:
                path = _json_path(parent["path"], parent["key"])
            else:
                path = f"{parent['path']}[{parent['index']}]"
            stack.append({"path": path, "keys": {}, "expect_key": True} if char == "{"
                         else {"path": path, "index": 0})
        elif char in "}]":
            stack.pop()
        elif char == "," and stack:
            if "keys" in stack[-1]:
                stack[-1]["expect_key"] = True
            else:
                stack[-1]["index"] += 1
        i += 1
    return [(key, text.count("\n", 0, at) + 1, text.count("\n", 0, first) + 1) for key, at, first in found]


def _json_path(parent, key):
    return f"{parent}.{key}" if parent else key


_JSON_TOKEN = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"(\s*:)?|[\[\]{}]')


def _check_json_nesting(text):
    """Raise _TooBig for arrays and objects nested deeper than MAX_NESTING (a linear scan, no recursion)."""
    depth, key = 0, None
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group(0)
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise _TooBig(key, _TOO_DEEP)
        elif bracket in "]}":
            depth -= 1
        elif depth == 1 and token.group(2):
            try:
                key = json.loads(f'"{token.group(1)}"')
            except ValueError:
                key = token.group(1)


class _RefuseDuplicateKeys:
    """Loader mixin that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` keys: merged below, and the mapping's own keys win
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {shown(key)}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


class _StrictLoader(_RefuseDuplicateKeys, yaml.SafeLoader):
    pass


# libyaml's parser (when PyYAML has it) is ~5x faster: 1000 files load in 0.15 s instead of 0.7 s.
class _FastStrictLoader(_RefuseDuplicateKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


for _loader in (_StrictLoader, _FastStrictLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _loader.construct_mapping)


def _parse_yaml(text):
    try:
        try:
            _check_yaml_events(text, _FastStrictLoader)
            docs = list(yaml.load_all(text, Loader=_FastStrictLoader))
        except yaml.YAMLError:
            # libyaml words some problems differently: report them as the pure-Python parser does.
            _check_yaml_events(text, _StrictLoader)
            docs = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"invalid YAML{where}: {problem}") from None
    except _TooBig:
        raise
    except ValueError as err:  # a timestamp such as 2024-13-45, an integer of 5000 digits
        raise ValueError(f"invalid YAML: {err}") from None
    return [doc for doc in docs if doc is not None]


class _Collection:
    """An open list or mapping while scanning YAML events."""

    __slots__ = ("anchor", "start", "is_mapping", "height", "children")

    def __init__(self, anchor, start, is_mapping):
        self.anchor, self.start, self.is_mapping = anchor, start, is_mapping
        self.height = 1        # levels of nesting in it, itself included
        self.children = 0      # for a mapping: even = a key comes next


_COLLECTION_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_yaml_events(text, loader_class):
    """Raise _TooBig before anything is built if the file nests deeper than MAX_NESTING or holds more than
    MAX_VALUES values, its aliases expanded. PyYAML builds each anchored value once and shares it, but every
    check, copy or message afterwards walks the expansion. One pass over the parser's events, cheaper than
    building the values: an alias counts the values and levels its anchor held."""
    loader = loader_class(text)
    try:
        stack, anchors, values, key = [], {}, 0, None
        while True:
            event = loader.get_event()
            kind = type(event)
            if event is None:
                return
            if kind in _COLLECTION_ENDS:
                done = stack.pop()
                if stack and stack[-1].height <= done.height:
                    stack[-1].height = done.height + 1
                if done.anchor is not None:
                    anchors[done.anchor] = (values - done.start, done.height)
                continue
            if kind is yaml.DocumentStartEvent:
                stack, anchors, key = [], {}, None
                continue
            if kind is not yaml.ScalarEvent and kind is not yaml.AliasEvent and kind not in _COLLECTION_STARTS:
                continue
            if stack:
                parent = stack[-1]
                if len(stack) == 1 and parent.is_mapping and parent.children % 2 == 0:
                    key = event.value if kind is yaml.ScalarEvent else None  # the top-level key, for messages
                parent.children += 1
            if kind is yaml.ScalarEvent:
                values += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
            elif kind is yaml.AliasEvent:
                if any(c.anchor == event.anchor for c in stack):
                    raise _TooBig(key, f"alias *{event.anchor} refers to a value that contains it")
                count, height = anchors.get(event.anchor, (1, 0))
                values += count
                if values > MAX_VALUES:
                    raise _TooBig(key, f"YAML aliases expand the file to more than {MAX_VALUES:,} values "
                                       "(an alias bomb?); write the values out")
                if len(stack) + height > MAX_NESTING:
                    raise _TooBig(key, _TOO_DEEP)
                if stack and stack[-1].height <= height:
                    stack[-1].height = height + 1
            else:
                values += 1
                stack.append(_Collection(event.anchor, values - 1, kind is yaml.MappingStartEvent))
                if len(stack) > MAX_NESTING:
                    raise _TooBig(key, _TOO_DEEP)
            if values > MAX_VALUES:
                raise _TooBig(key, f"more than {MAX_VALUES:,} values (keys, items, lists and mappings); "
                                   "a stream definition holds far fewer")
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------------------
# One document -> StreamSpec


class _Problems:
    """Collects the problems of one file. `names` maps API key paths to the keys as the file spells them."""

    def __init__(self, path, prefix="", names=None):
        self.path = str(path)
        self.prefix = prefix
        self.names = names or {}
        self.errors = []
        self.not_shown = 0
        self._about = set()  # every key with a problem, and the keys it lies in

    def __call__(self, key, message):
        self.add(self.spelled(key) if len(self.errors) < MAX_PROBLEMS_PER_FILE else key, message)

    def add(self, spelled_key, message):
        """`message` may be a function: it is called only for a problem that is shown (suggestions take
        time, and a file can hold a hundred thousand unknown keys)."""
        if len(self.errors) >= MAX_PROBLEMS_PER_FILE:
            self.not_shown += 1
            return
        self.errors.append(InvalidDefinition(self.path, spelled_key, message() if callable(message) else message))
        self._about.update(_key_paths(spelled_key))

    def clear(self):
        self.errors, self.not_shown, self._about = [], 0, set()

    def all(self):
        if not self.not_shown:
            return self.errors
        return self.errors + [InvalidDefinition(self.path, None, f"and {self.not_shown:,} more problems "
                                                                 f"(the first {MAX_PROBLEMS_PER_FILE} are shown)")]

    def about(self, key):
        """Whether a problem was already reported for `key` (or inside it): rules then stay quiet."""
        return self.spelled(key) in self._about

    def spelled(self, key):
        if not key:
            return key
        for api in _key_paths(key):  # the longest recorded key that `key` is or lies in
            if api in self.names:
                return self.names[api] + key[len(api):]
        return self.prefix + key


def _key_paths(key):
    """`key` and the keys it lies in, longest first: a.b[0].c, a.b[0], a.b, a."""
    cut = len(key or "")
    while cut > 0:
        yield key[:cut]
        cut = max(key.rfind(".", 0, cut), key.rfind("[", 0, cut))


def spec_from_document(doc, path, warn=print_to_stderr):
    """A parsed file (native, natscli JSON or NACK Stream) -> StreamSpec; raises DefinitionErrors."""
    spec, errors = _spec_and_problems(doc, str(path), warn)
    if errors:
        raise DefinitionErrors(errors)
    return spec


def stream_document(doc, where, warn):
    """One document that must be a stream -> ([StreamSpec], [], problems)."""
    spec, problems = _spec_and_problems(doc, where, warn)
    return [spec] if spec is not None else [], [], problems


def _spec_and_problems(doc, path, warn):
    """(StreamSpec of what is valid or None, problems): cross-file checks still see flawed files."""
    if not isinstance(doc, dict):
        message = f"the top level must be a mapping of stream settings, not {_type_name(doc)}"
        return None, [InvalidDefinition(path, None, message)]
    domain = ""
    if "apiVersion" in doc or "kind" in doc:
        problems = _Problems(path, prefix="spec.")
        domain = _nack_js_domain(doc, problems)
        doc = _from_nack(doc, path, warn, problems)
        if not doc:
            return None, problems.all()
    elif isinstance(doc.get("config"), dict):
        problems = _Problems(path, prefix="config.", names={"consumers": "consumers"})
        doc = _from_stream_info(doc)
    else:
        problems = _Problems(path)
    spec = _stream_spec(doc, path, warn, problems)
    if spec is not None:
        spec.js_domain = domain
    return spec, problems.all()


def _from_stream_info(doc):
    """`nats stream info --json`: the config; state, cluster, created, ts... describe the server, not the file."""
    stream = dict(doc["config"])
    if "consumers" in doc:
        stream["consumers"] = doc["consumers"]
    return stream


def _stream_spec(doc, path, warn, problems):
    doc = dict(doc)
    raw_consumers = doc.pop("consumers", None)
    for key in sorted(schema.server_managed_stream_keys & set(doc)):
        warn(f"{path}: {problems.spelled(key)}: ignored (set by the server, not by definitions)")
        del doc[key]
    config = _check_object(doc, schema.STREAM_FIELDS, "", problems, "stream")
    _check_stream(config, problems)
    consumers = _check_consumers(raw_consumers, config, path, warn, problems)
    if not isinstance(config.get("name"), str):
        return None
    return StreamSpec(name=config["name"], config=config, consumers=consumers, path=path)


# ---------------------------------------------------------------------------------------------------------
# Values


_INVALID = object()


def _check_object(doc, fields, prefix, problems, what):
    """Type-check and normalize every key of `doc` against `fields`; unknown keys are problems."""
    out = {}
    for key, value in doc.items():
        path = _join(prefix, key)
        spec = fields.get(key) if isinstance(key, str) else None
        if spec is None:
            problems(path, lambda: _unknown_key_message(key, fields, what))
            continue
        value = _normalize(value, spec, path, problems)
        if value is _INVALID:
            continue
        if key in _ZERO_IS_UNLIMITED.get(what, ()) and isinstance(value, int) and value == 0:
            value = -1  # what the server stores, so plans compare equal
        if spec.kind == MAP and not value:
            continue  # empty (or only server-managed) metadata is no metadata
        out[key] = value
    return out


def _join(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)


def _unknown_key_message(key, fields, what):
    if not isinstance(key, str):
        return f"keys must be strings, got {_type_name(key)} {shown(key)}"
    message = f"unknown {what} setting {shown(key)}"
    suggestion = _suggest(key, fields)
    return f"{message}; did you mean {suggestion!r}?" if suggestion else message


def _suggest(key, known):
    snake = _snake_case(key)
    if snake in known and snake != key:
        return snake
    if key in NACK_STREAM_KEYS and NACK_STREAM_KEYS[key][0] in known:
        return NACK_STREAM_KEYS[key][0]
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _snake_case(key):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _normalize(value, spec, path, problems):
    """One value -> its API form (int ns, int bytes, lower-case enum...), or _INVALID after reporting."""
    try:
        return _NORMALIZERS[spec.kind](value, spec, path, problems)
    except ValueError as err:  # _Invalid, units.UnitError, or int() refusing 5000 digits
        problems(path, err.__str__)  # worded only if shown
        return _INVALID


class _Invalid(ValueError):
    pass


def _type_name(value):
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    return type(value).__name__


class _Expected(_Invalid):
    def __init__(self, what, value):
        super().__init__(what)
        self.what, self.value = what, value

    def __str__(self):
        if self.value is None:
            return f"expected {self.what}, got nothing (null)"
        return f"expected {self.what}, got {_type_name(self.value)} {shown(self.value)}"


def _expected(what, value):
    return _Expected(what, value)


def _string(value, spec, path, problems):
    if not isinstance(value, str):
        raise _expected("a string" + (" (quote it)" if isinstance(value, (int, float, bool)) else ""), value)
    if spec.subject and value:
        _check_subject(value)
    return value


def _bool(value, spec, path, problems):
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def _in_range(number, spec, what="value"):
    if spec.minimum is not None and number < spec.minimum:
        raise _Invalid(f"{what} {number} is below the minimum {spec.minimum}")
    if spec.maximum is not None and number > spec.maximum:
        raise _Invalid(f"{what} {number} is above the maximum {spec.maximum}")
    return number


def _int(value, spec, path, problems):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _expected("a whole number", value)
    return _in_range(value, spec)


def _duration(value, spec, path, problems):
    ns = units.parse_duration(value)
    if spec.minimum is not None and ns < spec.minimum:
        raise _Invalid(f"duration must not be negative, got {shown(value)}")
    return _in_range(ns, spec, "duration")


def _size(value, spec, path, problems):
    return _in_range(units.parse_size(value), spec, "size")


def _enum(value, spec, path, problems):
    if not isinstance(value, str):
        raise _expected("one of " + ", ".join(spec.values), value)
    canonical = value.strip().lower().replace("-", "_")
    if canonical not in spec.values:
        close = difflib.get_close_matches(canonical, spec.values, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _Invalid(f"invalid value {shown(value)}: must be one of {', '.join(spec.values)}{hint}")
    return canonical


def _strings(value, spec, path, problems):
    if not isinstance(value, list):
        raise _expected("a list of strings", value)
    out = []
    for i, item in enumerate(value):
        item = _normalize(item, spec._replace(kind=STRING), f"{path}[{i}]", problems)
        if item == "" and spec.subject:
            problems(f"{path}[{i}]", "empty subject")  # a lone "" is "not set"; in a list it is a mistake
        elif item is not _INVALID:
            out.append(item)
    return out  # the valid part: checks between streams should not see a made-up default instead


def _durations(value, spec, path, problems):
    if not isinstance(value, list):
        raise _expected("a list of durations", value)
    out = [_normalize(item, spec._replace(kind=DURATION), f"{path}[{i}]", problems) for i, item in enumerate(value)]
    return _INVALID if _INVALID in out else out


def _map(value, spec, path, problems):
    if not isinstance(value, dict):
        raise _expected("a mapping of strings to strings", value)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            problems(f"{path}.{key}", f"metadata keys and values must be strings (quote them), got {shown(item)}")
        elif not schema.is_server_metadata(key):  # written by the server itself
            out[key] = item
    return out


def _object(value, spec, path, problems):
    if not isinstance(value, dict):
        raise _expected("a mapping", value)
    return _check_object(value, spec.fields, path, problems, path.rsplit(".", 1)[-1].split("[")[0])


def _objects(value, spec, path, problems):
    if not isinstance(value, list):
        raise _expected("a list of mappings", value)
    out = [_normalize(item, spec._replace(kind=OBJECT), f"{path}[{i}]", problems) for i, item in enumerate(value)]
    return _INVALID if _INVALID in out else out


_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


def _time(value, spec, path, problems):
    if isinstance(value, datetime.datetime):  # YAML parses unquoted timestamps
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise _Invalid(f"expected an RFC 3339 time such as 2024-05-01T12:00:00Z, got {shown(value)}")
    return value


_NORMALIZERS = {STRING: _string, BOOL: _bool, INT: _int, DURATION: _duration, SIZE: _size, ENUM: _enum,
                STRINGS: _strings, DURATIONS: _durations, MAP: _map, OBJECT: _object, OBJECTS: _objects,
                TIME: _time}


# ---------------------------------------------------------------------------------------------------------
# Names and subjects


def name_problem(name, what="stream name"):
    """Why the server would refuse `name` for a stream or consumer (isValidAssetName), or None."""
    if not isinstance(name, str) or not name:
        return f"{what} must be a non-empty string"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > schema.MAX_NAME_LEN:  # the server counts bytes: 'é' is two
        return f"{what} is {size} bytes long (UTF-8); the maximum is {schema.MAX_NAME_LEN}"
    bad = sorted({c for c in name if c in schema.NAME_FORBIDDEN}, key=name.index)
    if bad:
        listed = ", ".join("space" if c == " " else repr(c) for c in bad)
        return f"invalid {what} {shown(name)}: must not contain {listed} (no whitespace, '.', '*', '>', '/' or '\\')"
    return None


def domain_problem(domain):
    """Why `domain` cannot be a JetStream domain (one subject token of $JS.<domain>.API), or None."""
    if not isinstance(domain, str) or not domain:
        return "a JetStream domain must be a non-empty string"
    if any(c.isspace() or c in ".*>" for c in domain):
        return f"invalid JetStream domain {shown(domain)}: must not contain whitespace, '.', '*' or '>'"
    return None


def js_domain(specs, given=None):
    """The JetStream domain a command talks to: `given` (--js-domain / NATS_JS_DOMAIN), else the one the files
    name (NACK jsDomain) when that can only mean one thing: every file names it. Raises DefinitionErrors."""
    named = [s for s in specs if s.js_domain]
    if given:
        errors = [InvalidDefinition(s.path, "spec.jsDomain", f"is {s.js_domain!r}, but --js-domain is {given!r}")
                  for s in named if s.js_domain != given]
    elif named and (len({s.js_domain for s in named}) > 1 or len(named) < len(specs)):
        domains = ", ".join(sorted({s.js_domain or "none" for s in specs}))
        errors = [InvalidDefinition(s.path, "spec.jsDomain" if s.js_domain else None,
                                    f"JetStream domain {s.js_domain or 'none'}; the files name {domains}: one "
                                    "command talks to one domain (pass --js-domain, or -f one domain's files)")
                  for s in specs]
    else:
        return given or (named[0].js_domain if named else None)
    if errors:
        raise DefinitionErrors(errors)
    return given


def subject_problem(subject):
    """Why `subject` is not a valid NATS subject or filter (as the server's IsValidSubject), or None."""
    if not subject:
        return "empty subject"
    tokens = subject.split(".")
    for i, token in enumerate(tokens):
        if not token:
            return f"invalid subject {shown(subject)}: empty token (leading, trailing or double '.')"
        if any(c in token for c in " \t\r\n\f"):
            return f"invalid subject {shown(subject)}: contains whitespace"
        if token == ">" and i != len(tokens) - 1:
            return f"invalid subject {shown(subject)}: '>' must be the last token"
    return None


def _check_subject(subject):
    problem = subject_problem(subject)
    if problem:
        raise _Invalid(problem)


def _listed(subjects, most=5):
    """Subjects for a message: the first few, and how many more."""
    text = ", ".join(s if len(s) <= 80 else s[:77] + "..." for s in subjects[:most])
    return text + (f" and {len(subjects) - most:,} more" if len(subjects) > most else "")


def subject_within(subject, other):
    """True if every subject `subject` matches is also matched by `other` (the server's subjectIsSubsetMatch)."""
    tokens, within = subject.split("."), other.split(".")
    for i, token in enumerate(tokens):
        if i >= len(within) or token == ">" and within[i] != ">":
            return False
        if within[i] == ">":
            return True
        if within[i] != "*" and token != within[i]:
            return False
    return len(tokens) == len(within)


def stream_subjects(config):
    """The subjects a stream listens on: its own, or its name when it has none (the server's default)."""
    if config.get("subjects"):
        return list(config["subjects"])
    if config.get("mirror") or config.get("sources"):
        return []
    return [config["name"]] if config.get("name") else []


# ---------------------------------------------------------------------------------------------------------
# Rules beyond single values


def _check_stream(config, problems):
    name = config.get("name")
    if "name" not in config:
        if not problems.about("name"):
            problems("name", "missing: every stream needs a name")
    else:
        problem = name_problem(name)
        if problem:
            problems("name", problem)
    _check_own_subjects(config, problems)
    _check_limits(config, problems)
    _check_sources(config, problems)
    _check_text_limits(config, "", problems)


def _check_text_limits(config, key, problems):
    """Description and metadata as the server measures them: in bytes."""
    def size(text):
        return len(text.encode("utf-8", "surrogatepass"))
    if size(config.get("description", "")) > schema.MAX_DESCRIPTION_LEN:
        problems(_join(key, "description"), f"longer than {schema.MAX_DESCRIPTION_LEN} bytes")
    if sum(size(k) + size(v) for k, v in config.get("metadata", {}).items()) > schema.MAX_METADATA_LEN:
        problems(_join(key, "metadata"), "larger than 128 KiB in total")


def _check_own_subjects(config, problems):
    subjects = config.get("subjects", [])
    for i, candidates in _overlap_candidates([[subject] for subject in subjects]):
        subject = subjects[i]
        for j in candidates:
            if subjects[j] == subject:
                problems(f"subjects[{i}]", f"duplicate subject {shown(subject)} (also subjects[{j}])")
            elif subjects_overlap(subjects[j], subject):
                problems(f"subjects[{i}]",
                         f"subject {shown(subject)} overlaps {shown(subjects[j])} (subjects[{j}]) of the same stream")
    for i, subject in enumerate(subjects):
        reserved = _reserved_problem(subject, config)
        if reserved:
            problems(f"subjects[{i}]", reserved)


# The server refuses stream subjects in its own namespaces unless no_ack is set (checkStreamCfg): the
# JetStream API and cluster traffic, and the system account's subjects; older $JS.EVENT and $SYS.ACCOUNT
# streams are allowed.
_RESERVED_SUBJECTS = (("$JS.>", "$JS.EVENT.>", "the JetStream API"), ("$JSC.>", None, "JetStream's cluster traffic"),
                      ("$NRG.>", None, "JetStream's cluster traffic"), ("$SYS.>", "$SYS.ACCOUNT.>", "the system API"))


def _reserved_problem(subject, config):
    if subject == ">" and config.get("num_replicas", 1) != 1:
        return "capturing all subjects ('>') requires num_replicas: 1"
    if config.get("no_ack"):
        return None
    if subject == ">":
        return "capturing all subjects ('>') requires no_ack: true"
    for namespace, allowed, what in _RESERVED_SUBJECTS:
        if subjects_overlap(subject, namespace) and not (allowed and subject_within(subject, allowed)):
            return f"{shown(subject)} overlaps {namespace} ({what}); the server allows that only with no_ack: true"
    return None


def _check_limits(config, problems):
    max_age = config.get("max_age", 0)
    window = config.get("duplicate_window", 0)
    if 0 < max_age < _MIN_AGE_NS:
        problems("max_age", "must be 0 (unlimited) or at least 100ms")
    if 0 < window < _MIN_AGE_NS:
        problems("duplicate_window", "must be at least 100ms")
    if max_age and window > max_age:
        problems("duplicate_window", f"{units.format_duration(window)} is longer than "
                                     f"max_age {units.format_duration(max_age)}")
    if config.get("deny_purge") and config.get("allow_rollup_hdrs"):
        problems("allow_rollup_hdrs", "roll-ups purge messages, so they cannot be combined with deny_purge")
    for needs_rollups in ("subject_delete_marker_ttl", "allow_msg_schedules"):
        if config.get(needs_rollups) and config.get("deny_purge"):
            # The server would turn roll-ups on and deny_purge off, and every plan would show it again.
            problems("deny_purge", f"cannot be combined with {needs_rollups}, which needs roll-ups (and so purges)")
    if config.get("discard_new_per_subject"):
        if config.get("discard") != "new":
            problems("discard_new_per_subject", "requires discard: new")
        if config.get("max_msgs_per_subject", -1) <= 0:
            problems("discard_new_per_subject", "requires max_msgs_per_subject > 0")


def _check_sources(config, problems):
    if "mirror" in config:
        for key in ("subjects", "sources"):
            if config.get(key):
                problems(key, "a mirror cannot have its own " + key)
        _check_source(config["mirror"], "mirror", problems)
    for i, source in enumerate(config.get("sources", [])):
        _check_source(source, f"sources[{i}]", problems)


def _check_source(source, key, problems):
    if "name" not in source:
        problems(f"{key}.name", "missing: the name of the stream to copy from")
    elif name_problem(source["name"]):
        problems(f"{key}.name", name_problem(source["name"]))


def _check_consumers(raw, stream_config, path, warn, problems):
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems("consumers", f"expected a list of consumers, got {_type_name(raw)}")
        return []
    consumers, first_index = [], {}
    for i, item in enumerate(raw):
        key = f"consumers[{i}]"
        if isinstance(item, dict) and isinstance(item.get("config"), dict):
            item = item["config"]  # `nats consumer info --json`
        if not isinstance(item, dict):
            problems(key, f"expected the settings of one consumer (a mapping), got {_type_name(item)}")
            continue
        config = _consumer(item, key, path, warn, problems)
        durable = config.get("durable_name")
        if not isinstance(durable, str) or name_problem(durable, "durable name"):
            continue
        if durable in first_index:
            problems(f"{key}.durable_name", f"duplicate consumer {shown(durable)} (also consumers[{first_index[durable]}])")
            continue
        first_index[durable] = i
        _check_consumer_rules(config, stream_config, key, problems)
        consumers.append(config)
    return consumers


def _consumer(item, key, path, warn, problems):
    item = dict(item)
    for name in sorted(schema.server_managed_consumer_keys & set(item)):
        if item[name]:
            warn(f"{path}: {problems.spelled(_join(key, name))}: ignored (only the server sets it)")
        del item[name]
    config = _check_object(item, schema.CONSUMER_FIELDS, key, problems, "consumer")
    if "durable_name" not in config:
        if "durable_name" not in item:
            problems(_join(key, "durable_name"),
                     "missing: every consumer in streams.d is durable and needs a durable_name")
    elif name_problem(config["durable_name"], "durable name"):
        problems(_join(key, "durable_name"), name_problem(config["durable_name"], "durable name"))
    if "name" in config and config.get("durable_name") and config["name"] != config["durable_name"]:
        problems(_join(key, "name"), f"{shown(config['name'])} differs from durable_name "
                                     f"{shown(config['durable_name'])}; "
                                "leave name out or make them equal")
    return config


def _check_consumer_rules(config, stream_config, key, problems):
    _check_text_limits(config, key, problems)
    if "filter_subject" in config and config.get("filter_subjects"):
        problems(f"{key}.filter_subjects", "use either filter_subject or filter_subjects, not both")
    filters = [("filter_subject", config["filter_subject"])] if config.get("filter_subject") else []
    filters += [(f"filter_subjects[{i}]", s) for i, s in enumerate(config.get("filter_subjects", []))]
    subjects = [] if problems.about("subjects") else stream_subjects(stream_config)
    for where, subject in filters:
        if subjects and not any(subjects_overlap(subject, s) for s in subjects):
            problems(f"{key}.{where}", f"{shown(subject)} matches none of the stream's subjects "
                                       f"({_listed(subjects)})")
    stream_replicas = stream_config.get("num_replicas", 1)
    if config.get("num_replicas", 0) > stream_replicas:
        problems(f"{key}.num_replicas", f"{config['num_replicas']} is more than the stream's {stream_replicas}")
    policy = config.get("deliver_policy")
    for needed, start in (("by_start_sequence", "opt_start_seq"), ("by_start_time", "opt_start_time")):
        if policy == needed and not config.get(start) and not problems.about(f"{key}.{start}"):
            problems(f"{key}.{start}", f"required with deliver_policy {needed}")
    if policy == "last_per_subject" and not filters and not problems.about(f"{key}.filter_subject"):
        problems(f"{key}.filter_subject", "required with deliver_policy last_per_subject")
    if config.get("deliver_subject") and config.get("max_waiting"):
        problems(f"{key}.max_waiting", "only for pull consumers (this one has a deliver_subject)")


def _conflicts_between_files(specs):
    """Two files defining one stream, or two streams listening on overlapping subjects."""
    errors, first = [], {}
    for spec in specs:
        if spec.name in first:
            message = f"stream {shown(spec.name)} is also defined in {first[spec.name].path}"
            errors.append(InvalidDefinition(spec.path, "name", message))
        else:
            first[spec.name] = spec
    unique = list(first.values())
    for j, candidates in _overlap_candidates([stream_subjects(spec.config) for spec in unique]):
        for i in candidates:
            errors.extend(_overlaps(unique[i], unique[j]))
    return errors


def _overlap_candidates(groups):
    """For each group of subjects j, (j, the earlier groups i < j, in order, that may share a subject with it).

    Comparing every pair is quadratic (1000 files: 500,000 pairs, most of a second). Two subjects can only
    overlap when the literal tokens before the first wildcard of one begin those of the other, so index the
    earlier groups by these prefixes and name only the candidates found there."""
    exact, extends = {}, {}
    for j, subjects in enumerate(groups):
        prefixes = {_literal_prefix(subject) for subject in subjects}
        candidates = set()
        for prefix in prefixes:
            for m in range(len(prefix)):
                candidates.update(exact.get(prefix[:m], ()))
            candidates.update(extends.get(prefix, ()))
        yield j, sorted(candidates)
        for prefix in prefixes:
            exact.setdefault(prefix, []).append(j)
            for m in range(len(prefix) + 1):
                extends.setdefault(prefix[:m], []).append(j)


def _attach_consumers(specs, documents):
    """Consumers defined in documents of their own join their stream, which may be defined in another file;
    a stream no file defines, or a durable name the stream already has, is a problem."""
    errors, by_name = [], {spec.name: spec for spec in specs}
    origin = {(spec.name, c.get("durable_name")): spec.path for spec in specs for c in spec.consumers}
    for doc in documents:
        stream = by_name.get(doc.stream)
        durable = doc.config.get("durable_name")
        if stream is None:
            errors.append(InvalidDefinition(doc.where, doc.stream_key,
                                            f"stream {doc.stream!r} is not defined in any file"))
            continue
        if (doc.stream, durable) in origin:
            errors.append(InvalidDefinition(doc.where, doc.problems.spelled("spec.durable_name"),
                                            f"consumer {durable!r} of stream {doc.stream!r} is also defined in "
                                            f"{origin[(doc.stream, durable)]}"))
            continue
        origin[(doc.stream, durable)] = doc.where
        doc.problems.clear()
        _check_consumer_rules(doc.config, stream.config, "spec", doc.problems)
        errors.extend(doc.problems.errors)
        stream.consumers.append(doc.config)
        if doc.path != stream.path and doc.path not in stream.more_paths:
            stream.more_paths.append(doc.path)
    return errors


def _literal_prefix(subject):
    """The tokens of `subject` before its first wildcard, as a tuple."""
    tokens = []
    for token in subject.split("."):
        if token in ("*", ">"):
            break
        tokens.append(token)
    return tuple(tokens)


def _overlaps(earlier, later):
    """A published message is stored by at most one stream; the server refuses overlapping streams."""
    errors = []
    listed = bool(later.config.get("subjects"))  # else the stream listens on its name
    for i, subject in enumerate(stream_subjects(later.config)):
        for other in stream_subjects(earlier.config):
            if subjects_overlap(subject, other):
                message = (f"subject {shown(subject)} overlaps {shown(other)} of stream {shown(earlier.name)} in {earlier.path}; "
                           "a message can be stored by only one stream")
                errors.append(InvalidDefinition(later.path, f"subjects[{i}]" if listed else "name", message))
    return errors


# ---------------------------------------------------------------------------------------------------------
# NACK (https://github.com/nats-io/nack) Stream resources


def _nested(api_key, table):
    return (api_key, table)


_NACK_TRANSFORM = {"source": ("src", None), "dest": ("dest", None)}
_NACK_SOURCE = {
    "name": ("name", None), "optStartSeq": ("opt_start_seq", None), "optStartTime": ("opt_start_time", None),
    "filterSubject": ("filter_subject", None),
    "externalApiPrefix": ("external.api", None), "externalDeliverPrefix": ("external.deliver", None),
    "subjectTransforms": _nested("subject_transforms", _NACK_TRANSFORM),
}
NACK_STREAM_KEYS = {
    "name": ("name", None), "description": ("description", None), "subjects": ("subjects", None),
    "retention": ("retention", None), "maxConsumers": ("max_consumers", None),
    "maxMsgsPerSubject": ("max_msgs_per_subject", None), "maxMsgs": ("max_msgs", None),
    "maxBytes": ("max_bytes", None), "maxAge": ("max_age", None), "maxMsgSize": ("max_msg_size", None),
    "storage": ("storage", None), "discard": ("discard", None),
    "replicas": ("num_replicas", None), "numReplicas": ("num_replicas", None), "noAck": ("no_ack", None),
    "duplicateWindow": ("duplicate_window", None),
    "placement": _nested("placement", {"cluster": ("cluster", None), "tags": ("tags", None),
                                       "preferred": ("preferred", None)}),
    "mirror": _nested("mirror", _NACK_SOURCE), "sources": _nested("sources", _NACK_SOURCE),
    "compression": ("compression", None),
    "subjectTransform": _nested("subject_transform", _NACK_TRANSFORM),
    "republish": _nested("republish", {"source": ("src", None), "destination": ("dest", None),
                                       "headers_only": ("headers_only", None), "headersOnly": ("headers_only", None)}),
    "sealed": ("sealed", None), "denyDelete": ("deny_delete", None), "denyPurge": ("deny_purge", None),
    "allowDirect": ("allow_direct", None), "allowRollup": ("allow_rollup_hdrs", None),
    "mirrorDirect": ("mirror_direct", None), "discardPerSubject": ("discard_new_per_subject", None),
    "firstSequence": ("first_seq", None), "metadata": ("metadata", None),
    "consumerLimits": _nested("consumer_limits", {"inactiveThreshold": ("inactive_threshold", None),
                                                  "maxAckPending": ("max_ack_pending", None)}),
    "allowMsgTtl": ("allow_msg_ttl", None), "subjectDeleteMarkerTtl": ("subject_delete_marker_ttl", None),
    "allowMsgCounter": ("allow_msg_counter", None), "allowAtomicPublish": ("allow_atomic", None),
    "allowMsgSchedules": ("allow_msg_schedules", None), "persistMode": ("persist_mode", None),
}
# How NACK's controller reaches NATS: this tool brings its own connection, so these do not apply.
NACK_CONNECTION_KEYS = {"account", "creds", "nkey", "servers", "tls", "tlsFirst", "preventDelete",
                        "preventUpdate"}
_NACK_TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec", "status"}
# NACK leaves these out of the config when they are "" (e.g. the CRD's `compression: ''` default).
_NACK_EMPTY_IS_UNSET = {"max_age", "duplicate_window", "compression", "persist_mode", "subject_delete_marker_ttl",
                        "opt_start_time", "inactive_threshold", "retention", "storage", "discard"}


def _nack_js_domain(doc, problems):
    """spec.jsDomain of a NACK resource ("" when it names none)."""
    spec = doc.get("spec")
    domain = spec.get("jsDomain") if isinstance(spec, dict) else None
    if domain in (None, ""):
        return ""
    problem = domain_problem(domain)
    if problem:
        problems("jsDomain", problem)
        return ""
    return domain


# NACK's CRDs serve v1beta2 (stored). The Stream CRD also serves v1beta1: the same keys with the same meaning,
# but fewer of them; Kubernetes prunes the others from a v1beta1 resource, so they are refused here.
NACK_API_VERSION = f"{NACK_GROUP}/v1beta2"
NACK_STREAM_V1BETA1 = f"{NACK_GROUP}/v1beta1"
_NACK_V1BETA1_KEYS = {"allowMsgTtl", "description", "discard", "duplicateWindow", "maxAge", "maxBytes",
                      "maxConsumers", "maxMsgSize", "maxMsgs", "maxMsgsPerSubject", "mirror", "name", "noAck",
                      "placement", "replicas", "retention", "sources", "storage", "subjectDeleteMarkerTtl",
                      "subjects"}
_NACK_V1BETA1_SOURCE_KEYS = {"externalApiPrefix", "externalDeliverPrefix", "filterSubject", "name",
                             "optStartSeq", "optStartTime"}


def _from_nack(doc, path, warn, problems):
    spec = nack_spec(doc, path, warn, problems, "Stream")
    if spec is None:
        return {}
    if doc.get("apiVersion") == NACK_STREAM_V1BETA1:
        _check_v1beta1(spec, problems)
    stream = _translate(spec, NACK_STREAM_KEYS, "", "spec.", problems)
    if "storage" not in stream:
        # The CRD defaults storage to memory, so that is what NACK would create from this resource.
        stream["storage"] = "memory"
        warn(f"{path}: spec.storage: not set; NACK's CRD default is memory, so this stream uses memory storage")
    return stream


NACK_KINDS = ("Stream", "Consumer", "KeyValue", "ObjectStore")


def nack_spec(doc, path, warn, problems, kind):
    """The `spec` of a NACK resource of `kind`, without NACK's connection settings (warned about); None after
    reporting a resource that is not one. Keys outside `spec` are reported as written."""
    api_version = doc.get("apiVersion")
    if not (isinstance(api_version, str) and api_version.startswith(NACK_GROUP + "/")):
        problems.add("apiVersion", f"{shown(api_version)} is not a NACK resource; expected {NACK_API_VERSION} "
                                   f"(kind {kind})")
        return None
    versions = [NACK_API_VERSION] + ([NACK_STREAM_V1BETA1] if kind == "Stream" else [])
    if api_version not in versions:
        problems.add("apiVersion", f"{shown(api_version)} is not a version of NACK's {kind}; "
                                   f"expected {' or '.join(versions)}")
        return None
    if doc.get("kind") != kind:
        problems.add("kind", f"NACK kind {shown(doc.get('kind'))} is not supported; streams.d holds the kinds "
                             f"{', '.join(NACK_KINDS)}")
        return None
    for key in doc:
        if key not in _NACK_TOP_LEVEL:
            problems.add(str(key), lambda key=key: f"unknown top-level key {shown(key)} in a NACK {kind} "
                                                   "(expected apiVersion, kind, metadata, spec)")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        problems.add("spec", f"expected the {kind}'s settings (a mapping), got {_type_name(spec)}")
        return None
    for key in sorted(NACK_CONNECTION_KEYS & set(spec)):
        warn(f"{path}: spec.{key}: ignored (NACK connection setting; kubectl-jetstream connects on its own)")
    return {k: v for k, v in spec.items() if k not in NACK_CONNECTION_KEYS and k != "jsDomain"}


def _check_v1beta1(spec, problems):
    newer = f"not in NACK's v1beta1 Stream (Kubernetes would drop it); use apiVersion: {NACK_API_VERSION}"
    for key, value in spec.items():
        if key not in _NACK_V1BETA1_KEYS and key in NACK_STREAM_KEYS:
            problems.add(f"spec.{key}", newer)
        sources = [(f"spec.{key}", value)] if key == "mirror" else []
        if key == "sources" and isinstance(value, list):
            sources = [(f"spec.{key}[{i}]", v) for i, v in enumerate(value)]
        for where, source in sources:
            for nested in source if isinstance(source, dict) else ():
                if nested not in _NACK_V1BETA1_SOURCE_KEYS and nested in _NACK_SOURCE:
                    problems.add(f"{where}.{nested}", newer)


def _translate(spec, table, api_prefix, spelled_prefix, problems, what="Stream"):
    """camelCase NACK keys -> API keys, recording each key's spelling for error messages."""
    out = {}
    for key, value in spec.items():
        spelled = f"{spelled_prefix}{key}"
        if key not in table:
            problems.add(spelled, lambda key=key: _unknown_nack_key_message(key, table, what))
            continue
        api_key, nested = table[key]
        if value == "" and api_key.split(".")[-1] in _NACK_EMPTY_IS_UNSET:
            continue
        api_path = _join(api_prefix, api_key)
        problems.names[api_path] = spelled
        if nested and isinstance(value, dict):
            value = _translate(value, nested, api_path, spelled + ".", problems, what)
        elif nested and isinstance(value, list):
            value = [_translate(v, nested, f"{api_path}[{i}]", f"{spelled}[{i}].", problems, what)
                     if isinstance(v, dict) else v for i, v in enumerate(value)]
        _set_dotted(out, api_key, value)
    return out


def _unknown_nack_key_message(key, table, what):
    close = difflib.get_close_matches(str(key), list(table), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown NACK {what} setting {shown(key)}{hint}"


def _set_dotted(target, dotted, value):
    head, _, rest = dotted.partition(".")
    if rest:
        _set_dotted(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


# ---------------------------------------------------------------------------------------------------------
# Export

# The keys people look for first; everything else follows in the server's order.
STREAM_KEY_ORDER = ["name", "description", "subjects", "retention", "storage", "num_replicas", "discard",
                    "max_age", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size", "max_consumers",
                    "duplicate_window"]
CONSUMER_KEY_ORDER = ["durable_name", "description", "deliver_policy", "opt_start_seq", "opt_start_time",
                      "ack_policy", "ack_wait", "max_deliver", "backoff", "filter_subject", "filter_subjects",
                      "max_ack_pending", "max_waiting", "deliver_subject", "deliver_group"]


def document_for(config, consumers=()):
    """Server configs -> the canonical streams.d document: human units, readable order, and without
    server defaults or _nats.* metadata (loading it back and filling in defaults gives the same config)."""
    doc = _export(config, schema.STREAM_FIELDS, schema.stream_defaults(config), STREAM_KEY_ORDER)
    doc["name"] = config["name"]
    doc = {"name": doc.pop("name"), **doc}
    exported = [_export(c, schema.CONSUMER_FIELDS, schema.consumer_defaults(c, config), CONSUMER_KEY_ORDER)
                for c in consumers]
    if exported:
        doc["consumers"] = exported
    return doc


def _export(config, fields, defaults, order):
    keys = [k for k in order if k in config] + [k for k in fields if k in config and k not in order]
    keys += sorted(k for k in config if k not in fields)  # from a newer server: keep, the loader will say
    out = {}
    for key in keys:
        value = config[key]
        if key == "metadata" and isinstance(value, dict):
            value = schema.user_metadata(value)
        if key in defaults and _same(value, defaults[key]):
            continue
        out[key] = _human(value, fields.get(key))
    return out


def _same(value, default):
    if isinstance(default, (dict, list)) and not default:
        return not value
    return value == default


def _human(value, spec):
    """API value -> the form people write: durations as 30d, sizes as 1GiB, nested objects likewise."""
    if spec is None or value is None:
        return value
    if spec.kind == DURATION and isinstance(value, int):
        return units.format_duration(value)
    if spec.kind == DURATIONS and isinstance(value, list):
        return [units.format_duration(v) if isinstance(v, int) else v for v in value]
    if spec.kind == SIZE and isinstance(value, int):
        return units.format_size(value)
    if spec.kind == OBJECT and isinstance(value, dict):
        return {k: _human(v, spec.fields.get(k)) for k, v in value.items()}
    if spec.kind == OBJECTS and isinstance(value, list):
        return [_human(v, spec._replace(kind=OBJECT)) for v in value]
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value))  # a copy: callers may edit the document
    return value
