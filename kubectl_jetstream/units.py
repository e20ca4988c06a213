"""Durations, sizes and timestamps: the API's integers and RFC 3339 times <-> what people write. Pure."""
import re
import struct
from datetime import datetime, timezone
from fractions import Fraction

from .errors import UsageError, shown

_HOUR = 3600 * 1_000_000_000
# Go's time.ParseDuration units, then the ones natscli adds (its duration flags go through fisk.ParseDuration):
# d/D, w/W, M (30 days) and y/Y (365 days). Case matters as there: m is a minute, M a month, H is nothing.
NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
      "m": 60 * 1_000_000_000, "h": _HOUR}
_NATSCLI_HOURS = {"d": 24, "D": 24, "w": 7 * 24, "W": 7 * 24, "M": 30 * 24, "y": 365 * 24, "Y": 365 * 24}
NS.update({unit: hours * _HOUR for unit, hours in _NATSCLI_HOURS.items()})
# Largest first, for formatting. Years only when exact (1y, 2y); weeks and months never (people write 14d
# and 30d, and M next to m misleads).
_YEAR = NS["y"]
_FORMAT_UNITS = [("d", NS["d"]), ("h", NS["h"]), ("m", NS["m"]), ("s", NS["s"]),
                 ("ms", NS["ms"]), ("us", NS["us"]), ("ns", 1)]

# natscli's ParseStringAsBytes ("nats-server derived"): every suffix is 1024-based and case-insensitive,
# K = KB = KiB = 1024. Ki/Mi/Gi/Ti (Kubernetes' spelling) mean the same.
SIZES = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgt", start=1):
    SIZES.update(dict.fromkeys((_letter, _letter + "b", _letter + "i", _letter + "ib"), 1024 ** _power))
_FORMAT_SIZES = [("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)]
# A unit only while the count stays readable: 1536KiB yes, 9765625KiB (10000000000) no — plain bytes then.
_MAX_FORMAT_COUNT = 9999

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|D|w|W|M|y|Y)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$")
# RFC 3339 (T or a space, Z or an offset, ±hhmm too) with up to nanoseconds; without a zone for people's input.
_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*([Zz]|[+-]\d{2}:?\d{2})?$")
# The API carries both as Go int64; anything larger is rejected by the server's JSON decoder.
INT64_MAX = 2 ** 63 - 1


class UnitError(ValueError):
    pass


def _number_or_text(value, example, normalize=str.strip):
    """The front parse_duration and parse_size share: an int, a whole float or a string of digits -> that int;
    other text -> the text normalized, for the caller's units; a bool or anything else -> UnitError."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise UnitError(f"expected {example}, got {shown(value)}")
    text = normalize(value)
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _within_int64(number, negative, too_large):
    """-1 (unlimited / default), 0 or positive, and what Go's int64 holds; else UnitError."""
    if number < -1:
        raise UnitError(negative.format(number))
    if number > INT64_MAX:
        raise UnitError(too_large.format(number))
    return number


def parse_duration(value):
    """90s, 1h30m, 500ms, 7d, 2w, 1M, 1y or integer nanoseconds -> int nanoseconds. -1 and 0 pass through."""
    text = _number_or_text(value, "a duration such as 90s, 1h or 7d", lambda t: t.strip().replace(" ", ""))
    if isinstance(text, int):
        return _within_int64(text, "duration must not be negative, got {}",
                             "duration {} is too large (over 292 years)")
    pos, total = 0, Fraction(0)
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        # Fraction, not float: 1.5h must be exact nanoseconds, floats drift above 2**53 (~104 days).
        amount, unit = Fraction(match.group(1)), match.group(2)
        if unit in _NATSCLI_HOURS and amount.denominator != 1:
            _check_fraction_as_natscli(value, match.group(1), unit)
        total += amount * NS[unit]
        pos = match.end()
    if pos != len(text) or not text:
        raise UnitError(f"invalid duration {shown(value)} (use e.g. 500ms, 90s, 30m, 1h, 7d, 1y or nanoseconds)")
    if total.denominator != 1:
        raise UnitError(f"invalid duration {shown(value)}: finer than one nanosecond")
    return parse_duration(int(total))


def _check_fraction_as_natscli(value, amount, unit):
    """natscli reads a fraction of d/w/M/y as a float32 times the hours, cut to whole hours (1.1d is 26h, not
    26h24m). Accept a fraction only where that and the exact value agree, so a file never means two things."""
    hours = Fraction(amount) * _NATSCLI_HOURS[unit]
    as_float32 = struct.unpack("f", struct.pack("f", float(amount)))[0]
    if hours.denominator != 1 or int(as_float32 * _NATSCLI_HOURS[unit]) != hours:
        raise UnitError(f"invalid duration {shown(value)}: natscli cuts {amount}{unit} to whole hours; "
                        f"write it exactly, e.g. {format_duration(int(hours * _HOUR))}")


def parse_duration_flag(value, flag, zero=False, plain_seconds=False):
    """A duration flag's value -> seconds (float); anything else is a UsageError naming the flag. The files'
    forms (90s, 1h30m, 500ms, 7d; a plain integer is nanoseconds, as natscli reads it), or with `plain_seconds`
    a plain number is seconds (kubectl's --request-timeout). Positive; with `zero`, 0 is accepted too."""
    try:
        seconds = _plain_number(value) if plain_seconds else None
        if seconds is None:
            seconds = parse_duration(value) / 1e9
    except UnitError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not seconds * 1e9 <= INT64_MAX:  # inf, nan and over 292 years: what no duration of NATS can hold
        raise UsageError(f"{flag}: expected a duration such as 30s or 2m, got {value!r}")
    if seconds < 0 or (seconds == 0 and not zero):
        raise UsageError(f"{flag}: must be {'zero or ' if zero else ''}positive, got {value!r}")
    return seconds


def parse_request_timeout(value):
    """kubectl's --request-timeout -> seconds, or None for none: 0 or empty is none; a plain number is seconds;
    else 10s, 1m, 500ms..."""
    if value is None or str(value).strip() in ("", "0"):
        return None
    return parse_duration_flag(value, "--request-timeout", plain_seconds=True)


def _plain_number(value):
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def format_duration(ns):
    """Int nanoseconds -> the shortest exact string: 2592000000000000 -> 30d, 5400000000000 -> 1h30m."""
    if ns is None:
        return None
    ns = int(ns)
    if ns <= 0:
        return str(ns) if ns < 0 else "0s"
    if ns % _YEAR == 0:
        return f"{ns // _YEAR}y"
    parts = []
    for unit, size in _FORMAT_UNITS:
        if ns >= size:
            count, ns = divmod(ns, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(value):
    """512KiB, 10MB, 1GB, 1G or an integer -> int bytes, every unit 1024-based as in natscli. -1: unlimited."""
    text = _number_or_text(value, "a size such as 512KiB, 10MiB or 1GiB")
    if isinstance(text, int):
        return _within_int64(text, "size must be -1 (unlimited) or positive, got {}", "size {} is too large")
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in SIZES:
        raise UnitError(f"invalid size {shown(value)} (use e.g. 512KiB, 10MiB, 1GiB or bytes; K, M, G and T are "
                        f"1024-based with or without B or iB, as in natscli)")
    total = Fraction(match.group(1)) * SIZES[match.group(2).lower()]
    if total.denominator != 1:
        raise UnitError(f"invalid size {shown(value)}: not a whole number of bytes")
    return parse_size(int(total))


def format_size(n):
    """Exact, human bytes for files: 1073741824 -> 1GiB; 1000 and 10000000000 stay integers."""
    if n is None:
        return None
    n = int(n)
    if n <= 0:
        return n
    for unit, size in _FORMAT_SIZES:
        if n % size == 0 and n // size <= _MAX_FORMAT_COUNT:
            return f"{n // size}{unit}"
    return n


def human_bytes(n):
    """Approximate, for tables: 1536 -> 1.5 KiB."""
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_count(n):
    return f"{int(n or 0):,}"


def age_seconds(ts, now=None):
    """Seconds since an API timestamp (None when it never happened)."""
    when = parse_ts(ts)
    if when is None:
        return None
    return max(0.0, ((now or datetime.now(timezone.utc)) - when).total_seconds())


def human_age(seconds):
    """Seconds -> kubectl-style age: 45s, 12m, 3h, 5d."""
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_time(text):
    """An RFC 3339 time with up to nanoseconds (as nats-server and Kubernetes write it) -> (the time to the whole
    second, the nanoseconds within it): aware, or naive when `text` has no zone (people's local time). None when
    `text` is no such time. The one reading of timestamps: planning compares instants to the nanosecond."""
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    date, clock, fraction, zone = match.groups()
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif zone and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{zone or ''}")
    except ValueError:  # the shape of a time, not a real one (month 13, hour 25)
        return None
    return moment, int((fraction or "0").ljust(9, "0"))


def parse_ts(ts):
    """An API timestamp -> datetime to the microsecond (aware; naive when `ts` has no zone); None for Go's zero
    time or nothing. Other ISO 8601 forms people type (a date alone, no seconds) are read as Python reads them;
    ValueError when `ts` is no time at all."""
    if not ts or ts.startswith("0001-"):
        return None
    parsed = parse_time(ts)
    if parsed is None:
        return datetime.fromisoformat(ts)
    moment, ns = parsed
    return moment.replace(microsecond=ns // 1000)
