"""units.py: durations and sizes between the API's integers and the strings people write."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubectl_jetstream import units
from kubectl_jetstream.units import UnitError, format_duration, format_size, parse_duration, parse_size

S = 1_000_000_000
INT64_MAX = 2 ** 63 - 1


@pytest.mark.parametrize("text, ns", [
    ("500ms", 500_000_000),
    ("90s", 90 * S),
    ("30m", 1800 * S),
    ("1h", 3600 * S),
    ("7d", 7 * 86400 * S),
    ("2w", 14 * 86400 * S),
    ("1h30m", 5400 * S),
    ("1.5h", 5400 * S),
    ("1.1d", 95_040 * S),            # exact, not float-rounded
    ("1m30s", 90 * S),
    ("250us", 250_000),
    ("250µs", 250_000),
    ("15ns", 15),
    (" 1h 30m ", 5400 * S),
    ("0", 0),
    ("0s", 0),
    ("-1", -1),
    ("120000000000", 120 * S),        # nanoseconds as text, as in JSON written by hand
    (120 * S, 120 * S),
    (0, 0),
    (-1, -1),
    (2.0, 2),                         # YAML/JSON numbers that are whole
    ("106751d", 106751 * 86400 * S),  # the largest whole day an int64 holds
])
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["30x", "", "  ", "h", "1h30", "-5s", "5 sec", "1e3", "1H", "0.5ns",
                                 "106752d", -2, 2 ** 63, 1.5, True, None, [1], {"s": 1}])
def test_parse_duration_rejects(bad):
    with pytest.raises(UnitError):
        parse_duration(bad)


def test_parse_duration_message_names_the_value_and_examples():
    with pytest.raises(UnitError, match=r"invalid duration '30x'.*90s"):
        parse_duration("30x")


@pytest.mark.parametrize("ns, text", [
    (30 * 86400 * S, "30d"),
    (120 * S, "2m"),
    (5400 * S, "1h30m"),
    (90 * S, "1m30s"),
    (1_500_000_000, "1s500ms"),
    (500_000_000, "500ms"),
    (1, "1ns"),
    (0, "0s"),
    (-1, "-1"),
    (None, None),
])
def test_format_duration(ns, text):
    assert format_duration(ns) == text


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_duration_round_trip(ns):
    assert parse_duration(format_duration(ns)) == ns


@pytest.mark.parametrize("text, size", [
    ("512KiB", 512 * 1024),
    ("10MB", 10_000_000),
    ("1GiB", 1024 ** 3),
    ("1G", 1_000_000_000),
    ("1gib", 1024 ** 3),
    ("10 MiB", 10 * 1024 ** 2),
    ("1.5KiB", 1536),
    ("0.5MiB", 512 * 1024),
    ("2TiB", 2 * 1024 ** 4),
    ("100b", 100),
    ("1024", 1024),
    ("-1", -1),
    (-1, -1),
    (0, 0),
    (4096, 4096),
    (1024.0, 1024),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["-5", -2, "garbage", "1.5", "0.3b", "10XB", "1e3", "MiB", "", "1 G B",
                                 True, None, 1.5, [1], 2 ** 63])
def test_parse_size_rejects(bad):
    with pytest.raises(UnitError):
        parse_size(bad)


def test_parse_size_negative_message():
    with pytest.raises(UnitError, match=r"-1 \(unlimited\) or positive, got -5"):
        parse_size(-5)


@pytest.mark.parametrize("size, out", [
    (1024 ** 3, "1GiB"),
    (512 * 1024, "512KiB"),
    (1536 * 1024, "1536KiB"),
    (3 * 1024 ** 4, "3TiB"),
    (1000, 1000),           # not a whole KiB: stays an exact integer
    (1536, 1536),
    (0, 0),
    (-1, -1),
    (None, None),
])
def test_format_size(size, out):
    assert format_size(size) == out


@given(st.integers(min_value=-1, max_value=INT64_MAX))
def test_size_round_trip(size):
    assert parse_size(format_size(size)) == size


def test_human_helpers():
    assert units.human_bytes(1536) == "1.5 KiB"
    assert units.human_bytes(0) == "0 B"
    assert units.human_count(1234567) == "1,234,567"
    assert units.human_age(45) == "45s"
    assert units.human_age(3 * 86400 + 5) == "3d"
    assert units.human_age(None) == "never"
