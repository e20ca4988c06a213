"""Values: each normalized by its schema type to the API form -- durations in int nanoseconds, sizes in int
bytes, enums lower-case as the server writes them, subjects checked -- every problem reported with its key."""
import datetime
import difflib
import re

from .. import schema, units
from ..errors import shown
from ..schema import (BOOL, DURATION, DURATIONS, ENUM, INT, MAP, OBJECT, OBJECTS, SIZE, STRING, STRINGS,
                      TIME)
from ..subjects import subject_problem
from .nack import NACK_STREAM_KEYS, snake_case
from .problems import join_key, type_name

# The server stores 0 in these as -1, "unlimited": normalize so plans compare equal.
_ZERO_IS_UNLIMITED = {"stream": schema.UNLIMITED_STREAM_KEYS, "consumer": schema.UNLIMITED_CONSUMER_KEYS}
_INVALID = object()


def check_object(doc, fields, prefix, problems, what):
    """Type-check and normalize every key of `doc` against `fields`; unknown keys are problems."""
    out = {}
    for key, value in doc.items():
        path = join_key(prefix, key)
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


def _unknown_key_message(key, fields, what):
    if not isinstance(key, str):
        return f"keys must be strings, got {type_name(key)} {shown(key)}"
    message = f"unknown {what} setting {shown(key)}"
    suggestion = _suggest(key, fields)
    return f"{message}; did you mean {suggestion!r}?" if suggestion else message


def _suggest(key, known):
    snake = snake_case(key)
    if snake in known and snake != key:
        return snake
    if key in NACK_STREAM_KEYS and NACK_STREAM_KEYS[key][0] in known:  # a NACK spelling in a native file
        return NACK_STREAM_KEYS[key][0]
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _normalize(value, spec, path, problems):
    """One value -> its API form (int ns, int bytes, lower-case enum...), or _INVALID after reporting."""
    try:
        return _NORMALIZERS[spec.kind](value, spec, path, problems)
    except ValueError as err:  # _Invalid, units.UnitError, or int() refusing 5000 digits
        problems(path, err.__str__)  # worded only if shown
        return _INVALID


class _Invalid(ValueError):
    pass


class _Expected(_Invalid):
    def __init__(self, what, value):
        super().__init__(what)
        self.what, self.value = what, value

    def __str__(self):
        if self.value is None:
            return f"expected {self.what}, got nothing (null)"
        return f"expected {self.what}, got {type_name(self.value)} {shown(self.value)}"


def _string(value, spec, path, problems):
    if not isinstance(value, str):
        raise _Expected("a string" + (" (quote it)" if isinstance(value, (int, float, bool)) else ""), value)
    problem = spec.subject and value and subject_problem(value)
    if problem:
        raise _Invalid(problem)
    return value


def _bool(value, spec, path, problems):
    if not isinstance(value, bool):
        raise _Expected("true or false", value)
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
        raise _Expected("a whole number", value)
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
        raise _Expected("one of " + ", ".join(spec.values), value)
    canonical = value.strip().lower().replace("-", "_")
    if canonical not in spec.values:
        close = difflib.get_close_matches(canonical, spec.values, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _Invalid(f"invalid value {shown(value)}: must be one of {', '.join(spec.values)}{hint}")
    return canonical


def _list_of(kind, what):
    """The normalizer of a list whose items are of `kind`, each reported on its own."""
    def normalize(value, spec, path, problems):
        if not isinstance(value, list):
            raise _Expected(f"a list of {what}", value)
        out = []
        for i, item in enumerate(value):
            item = _normalize(item, spec._replace(kind=kind), f"{path}[{i}]", problems)
            if item == "" and spec.subject:
                problems(f"{path}[{i}]", "empty subject")  # a lone "" is "not set"; in a list it is a mistake
                item = _INVALID
            out.append(item)
        valid = [item for item in out if item is not _INVALID]
        # Strings: the valid part, so checks between streams see the subjects rather than a made-up default.
        return valid if kind == STRING or len(valid) == len(out) else _INVALID
    return normalize


def _map(value, spec, path, problems):
    if not isinstance(value, dict):
        raise _Expected("a mapping of strings to strings", value)
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            problems(f"{path}.{key}", f"metadata keys and values must be strings (quote them), got {shown(item)}")
        elif not schema.is_server_metadata(key):  # written by the server itself
            out[key] = item
    return out


def _object(value, spec, path, problems):
    if not isinstance(value, dict):
        raise _Expected("a mapping", value)
    return check_object(value, spec.fields, path, problems, path.rsplit(".", 1)[-1].split("[")[0])


# The shape nats-server's JSON decoder (Go's time.Time, strict RFC 3339) reads: 'T', and 'Z' or +hh:mm. Whether
# it is a real time is units.parse_time's to say.
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


def _time(value, spec, path, problems):
    if isinstance(value, datetime.datetime):  # YAML parses unquoted timestamps
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    if not isinstance(value, str) or not _RFC3339.match(value) or units.parse_time(value) is None:
        raise _Invalid(f"expected an RFC 3339 time such as 2024-05-01T12:00:00Z, got {shown(value)}")
    return value


_NORMALIZERS = {STRING: _string, BOOL: _bool, INT: _int, DURATION: _duration, SIZE: _size, ENUM: _enum,
                STRINGS: _list_of(STRING, "strings"), DURATIONS: _list_of(DURATION, "durations"), MAP: _map,
                OBJECT: _object, OBJECTS: _list_of(OBJECT, "mappings"), TIME: _time}

