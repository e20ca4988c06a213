"""Durations and sizes: the API's integers <-> the strings people write. Pure."""
import re
from fractions import Fraction

NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
      "m": 60 * 1_000_000_000, "h": 3600 * 1_000_000_000, "d": 86400 * 1_000_000_000,
      "w": 7 * 86400 * 1_000_000_000}
# Largest first, for formatting; weeks are left out (natscli and people write 14d, not 2w).
_FORMAT_UNITS = [("d", NS["d"]), ("h", NS["h"]), ("m", NS["m"]), ("s", NS["s"]),
                 ("ms", NS["ms"]), ("us", NS["us"]), ("ns", 1)]

SIZES = {"": 1, "b": 1,
         "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3, "gb": 1000 ** 3,
         "t": 1000 ** 4, "tb": 1000 ** 4,
         "ki": 1024, "kib": 1024, "mi": 1024 ** 2, "mib": 1024 ** 2, "gi": 1024 ** 3, "gib": 1024 ** 3,
         "ti": 1024 ** 4, "tib": 1024 ** 4}
_FORMAT_SIZES = [("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$")
# The API carries both as Go int64; anything larger is rejected by the server's JSON decoder.
INT64_MAX = 2 ** 63 - 1


class UnitError(ValueError):
    pass


def parse_duration(value):
    """90s, 1h30m, 500ms, 7d or integer nanoseconds -> int nanoseconds. -1 and 0 pass through."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration such as 90s, 1h or 7d, got {value!r}")
    if isinstance(value, int):
        if value < -1:
            raise UnitError(f"duration must not be negative, got {value}")
        if value > INT64_MAX:
            raise UnitError(f"duration {value} is too large (over 292 years)")
        return value
    if isinstance(value, float) and value.is_integer():
        return parse_duration(int(value))
    if not isinstance(value, str):
        raise UnitError(f"expected a duration such as 90s, 1h or 7d, got {value!r}")
    text = value.strip().replace(" ", "")
    if re.fullmatch(r"-?\d+", text):
        return parse_duration(int(text))
    pos, total = 0, Fraction(0)
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        # Fraction, not float: 1.1d must be exact nanoseconds, floats drift above 2**53 (~104 days).
        total += Fraction(match.group(1)) * NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise UnitError(f"invalid duration {value!r} (use e.g. 500ms, 90s, 30m, 1h, 7d or nanoseconds)")
    if total.denominator != 1:
        raise UnitError(f"invalid duration {value!r}: finer than one nanosecond")
    return parse_duration(int(total))


def format_duration(ns):
    """Int nanoseconds -> the shortest exact string: 2592000000000000 -> 30d, 5400000000000 -> 1h30m."""
    if ns is None:
        return None
    ns = int(ns)
    if ns <= 0:
        return str(ns) if ns < 0 else "0s"
    parts = []
    for unit, size in _FORMAT_UNITS:
        if ns >= size:
            count, ns = divmod(ns, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(value):
    """512KiB, 10MB, 1GiB, 1G or an integer -> int bytes. -1 means unlimited."""
    if isinstance(value, bool):
        raise UnitError(f"expected a size such as 512KiB, 10MB or 1GiB, got {value!r}")
    if isinstance(value, int):
        if value < -1:
            raise UnitError(f"size must be -1 (unlimited) or positive, got {value}")
        if value > INT64_MAX:
            raise UnitError(f"size {value} is too large")
        return value
    if isinstance(value, float) and value.is_integer():
        return parse_size(int(value))
    if not isinstance(value, str):
        raise UnitError(f"expected a size such as 512KiB, 10MB or 1GiB, got {value!r}")
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return parse_size(int(text))
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in SIZES:
        raise UnitError(f"invalid size {value!r} (use e.g. 512KiB, 10MB, 1GiB or bytes)")
    total = Fraction(match.group(1)) * SIZES[match.group(2).lower()]
    if total.denominator != 1:
        raise UnitError(f"invalid size {value!r}: not a whole number of bytes")
    return parse_size(int(total))


def format_size(n):
    """Exact, human bytes for files: 1073741824 -> 1GiB; 1000 -> 1000 (no loss in a round trip)."""
    if n is None:
        return None
    n = int(n)
    if n <= 0:
        return n
    for unit, size in _FORMAT_SIZES:
        if n % size == 0:
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


def human_age(seconds):
    """Seconds -> kubectl-style age: 45s, 12m, 3h, 5d."""
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
