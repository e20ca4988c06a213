"""Strict JSON and YAML: a file read the way natscli (JSON) and nats-server's users (YAML) mean it, with a
bound on the work any file can cause. Each parser returns the file's documents or raises ValueError (with
`key`, the top-level key, when a bound was passed under one)."""
import json
import re

import yaml

from ..errors import shown

# Bounds on the work one file can cause, whatever it holds: lists and mappings nested this deep at most (real
# definitions need 5); this many values (keys, items, lists and mappings) in a YAML file, its aliases expanded
# (a 400-byte "billion laughs" file otherwise expands to billions; a large real stream has a few thousand).
MAX_NESTING = 32
MAX_VALUES = 100_000


class _TooBig(ValueError):
    """A file past one of the bounds above; `key` is the top-level key it happened under."""

    def __init__(self, key, message):
        super().__init__(message)
        self.key = key


_TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"


def parse_json(text, path, warn):
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


class _Bounds:
    """The bounds on a YAML file's work, checked on its parser's events before anything is built from them:
    nesting deeper than MAX_NESTING, or more than MAX_VALUES values with aliases expanded, raise _TooBig.
    PyYAML builds each anchored value once and shares it, but every check, copy or message afterwards walks
    the expansion: an alias counts the values and levels its anchor held."""

    def __init__(self):
        self.stack, self.anchors, self.values, self.key = [], {}, 0, None

    def see(self, event):
        kind, stack = type(event), self.stack
        if kind in _COLLECTION_ENDS:
            done = stack.pop()
            if stack and stack[-1].height <= done.height:
                stack[-1].height = done.height + 1
            if done.anchor is not None:
                self.anchors[done.anchor] = (self.values - done.start, done.height)
            return
        if kind is yaml.DocumentStartEvent:
            self.stack, self.anchors, self.key = [], {}, None
            return
        if kind is not yaml.ScalarEvent and kind is not yaml.AliasEvent and kind not in _COLLECTION_STARTS:
            return
        if stack:
            parent = stack[-1]
            if len(stack) == 1 and parent.is_mapping and parent.children % 2 == 0:
                self.key = event.value if kind is yaml.ScalarEvent else None  # the top-level key, for messages
            parent.children += 1
        if kind is yaml.ScalarEvent:
            self.values += 1
            if event.anchor is not None:
                self.anchors[event.anchor] = (1, 0)
        elif kind is yaml.AliasEvent:
            if any(c.anchor == event.anchor for c in stack):
                raise _TooBig(self.key, f"alias *{event.anchor} refers to a value that contains it")
            count, height = self.anchors.get(event.anchor, (1, 0))
            self.values += count
            if self.values > MAX_VALUES:
                raise _TooBig(self.key, f"YAML aliases expand the file to more than {MAX_VALUES:,} values "
                                        "(an alias bomb?); write the values out")
            if len(stack) + height > MAX_NESTING:
                raise _TooBig(self.key, _TOO_DEEP)
            if stack and stack[-1].height <= height:
                stack[-1].height = height + 1
        else:
            self.values += 1
            stack.append(_Collection(event.anchor, self.values - 1, kind is yaml.MappingStartEvent))
            if len(stack) > MAX_NESTING:
                raise _TooBig(self.key, _TOO_DEEP)
        if self.values > MAX_VALUES:
            raise _TooBig(self.key, f"more than {MAX_VALUES:,} values (keys, items, lists and mappings); "
                                    "a stream definition holds far fewer")


class _Collection:
    """An open list or mapping while scanning YAML events."""

    __slots__ = ("anchor", "start", "is_mapping", "height", "children")

    def __init__(self, anchor, start, is_mapping):
        self.anchor, self.start, self.is_mapping = anchor, start, is_mapping
        self.height = 1        # levels of nesting in it, itself included
        self.children = 0      # for a mapping: even = a key comes next


_COLLECTION_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


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
    """PyYAML's own parser, one pass: the bounds are checked on each event as its composer takes it."""

    def __init__(self, stream):
        super().__init__(stream)
        self._bounds = _Bounds()

    def get_event(self):
        event = super().get_event()
        self._bounds.see(event)
        return event


try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML without libyaml (the release zipapp bundles only its pure-Python part)
    CParser = None
else:
    # libyaml is ~5x faster: 1000 files load in 0.15 s instead of 0.7 s. Its composer builds each document in
    # C, where no bound can be checked, so its events are checked in a pass of their own first: two libyaml
    # passes cost less than one through PyYAML's composer.
    class _FastStrictLoader(_RefuseDuplicateKeys, yaml.CSafeLoader):
        pass


for _loader in (_StrictLoader, _FastStrictLoader) if CParser else (_StrictLoader,):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _loader.construct_mapping)


def parse_yaml(text):
    try:
        docs = _documents(text)
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


def _documents(text):
    if CParser is not None:
        try:
            return _libyaml_documents(text)
        except yaml.YAMLError:
            pass  # libyaml words some problems differently: report them as the pure-Python parser does
    return list(yaml.load_all(text, Loader=_StrictLoader))


def _libyaml_documents(text):
    parser, bounds = CParser(text), _Bounds()
    try:
        event = parser.get_event()
        while event is not None:
            bounds.see(event)
            event = parser.get_event()
    finally:
        parser.dispose()
    return list(yaml.load_all(text, Loader=_FastStrictLoader))
