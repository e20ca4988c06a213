"""units.py: durations, sizes and timestamps between the API's values and the strings people write."""
from datetime import datetime, timedelta, timezone

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
    ("1.25h", 4500 * S),              # exact, not float-rounded
    ("1.5d", 36 * 3600 * S),
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


@pytest.mark.parametrize("bad", ["30x", "", "  ", "h", "1h30", "-5s", "5 sec", "1e3", "1H", "0.5ns", "1.1d",
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
    (365 * 86400 * S, "1y"),
    (730 * 86400 * S, "2y"),
    (366 * 86400 * S, "366d"),        # years only when exact
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
    ("10MB", 10 * 1024 ** 2),
    ("1GiB", 1024 ** 3),
    ("1G", 1024 ** 3),
    ("1Gi", 1024 ** 3),               # Kubernetes' spelling, same meaning
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
    (9999 * 1024, "9999KiB"),
    (10_000_000_000, 10_000_000_000),  # 9765625KiB is exact but nobody writes it: plain bytes
    (10000 * 1024 ** 2, 10000 * 1024 ** 2),
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


# -- timestamps: the one reading of RFC 3339 (server times with nanoseconds, Kubernetes times, people's input)
UTC = timezone.utc


@pytest.mark.parametrize("text, moment, ns", [
    ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC), 0),
    ("2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, tzinfo=UTC), 123_456_789),  # as nats-server writes it
    ("2024-01-01T00:00:00.5Z", datetime(2024, 1, 1, tzinfo=UTC), 500_000_000),
    ("2024-01-01T01:00:00.5+01:00", datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 500_000_000),
    ("2024-01-01t00:00:00z", datetime(2024, 1, 1, tzinfo=UTC), 0),
    ("2024-01-01 00:00:00 -0230", datetime(2024, 1, 1, tzinfo=timezone(-timedelta(hours=2, minutes=30))), 0),
    (" 2024-01-01T00:00:00Z ", datetime(2024, 1, 1, tzinfo=UTC), 0),
    ("2024-01-01T00:00:00", datetime(2024, 1, 1), 0),  # no zone: naive (people's local time)
])
def test_parse_time_keeps_nanoseconds(text, moment, ns):
    assert units.parse_time(text) == (moment, ns)
    assert units.parse_time(text)[0].tzinfo == moment.tzinfo


@pytest.mark.parametrize("text", ["", "soon", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00.1234567891Z",
                                  "2024-01-01", None, 5])
def test_parse_time_refuses_what_is_no_rfc3339_time(text):
    assert units.parse_time(text) is None


def test_parse_ts_for_api_timestamps_and_peoples_input():
    assert units.parse_ts("2024-05-01T10:00:00.123456789Z") == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert units.parse_ts("0001-01-01T00:00:00Z") is None and units.parse_ts("") is None and units.parse_ts(None) is None
    assert units.parse_ts("2026-01-31") == datetime(2026, 1, 31)  # a date alone: ISO 8601 as Python reads it
    with pytest.raises(ValueError):
        units.parse_ts("soon")
    then = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    assert units.age_seconds("2024-05-01T09:59:30Z", now=then) == 30.0


# natscli reads sizes with ParseStringAsBytes (nats-io/natscli internal/util/util.go, "nats-server derived"):
# digits then a suffix looked up upper-cased in {B: 0, K/KB/KIB: 10, M/MB/MIB: 20, G/GB/GIB: 30,
# T/TB/TIB: 40} and multiplied by 1 << that; a bare number is bytes; "-1" is unlimited. Expected values are
# that arithmetic, written out.
NATSCLI_SIZES = [
    ("0", 0), ("1024", 1024), ("-1", -1), ("100B", 100), ("100b", 100),
    ("1K", 1 << 10), ("1KB", 1 << 10), ("1KiB", 1 << 10), ("1k", 1 << 10), ("1kb", 1 << 10), ("1kib", 1 << 10),
    ("512K", 512 << 10),
    ("1M", 1 << 20), ("1MB", 1 << 20), ("1MiB", 1 << 20), ("10mb", 10 << 20), ("1Mib", 1 << 20),
    ("1G", 1 << 30), ("1GB", 1 << 30), ("1GiB", 1 << 30), ("1gB", 1 << 30), ("5GB", 5 << 30),
    ("1T", 1 << 40), ("1TB", 1 << 40), ("1TiB", 1 << 40), ("2tb", 2 << 40),
    (" 1GB ", 1 << 30),                          # trimmed
]

# natscli's duration flags (stream --max-age/--dupe-window, consumer --ack-wait, --inactive-threshold,
# --backoff-min/max ...) go through fisk.ParseDuration (choria-io/fisk durations.go, natscli's go.mod v0.9.1):
# "0" is 0; Go's ns us µs ms s m h; w/W = 7 days, d/D = 24 hours, M = 30 days, y/Y = 365 days, each of
# 24-hour days; parts add up (1y1d); case matters (m minute, M month; H is refused).
MIN, HOUR, DAY = 60 * S, 3600 * S, 86400 * S
NATSCLI_DURATIONS = [
    ("0", 0), ("15ns", 15), ("250us", 250_000), ("250µs", 250_000), ("500ms", 500 * 1_000_000),
    ("90s", 90 * S), ("1.5s", 1_500_000_000), ("30m", 30 * MIN), ("1h", HOUR), ("1.5h", 90 * MIN),
    ("1h30m", 90 * MIN), ("2h45m30s", 2 * HOUR + 45 * MIN + 30 * S),
    ("1d", DAY), ("1D", DAY), ("7d", 7 * DAY), ("1.5d", 36 * HOUR), ("1d12h", 36 * HOUR),
    ("1w", 7 * DAY), ("2W", 14 * DAY), ("0.5w", 84 * HOUR),
    ("1M", 30 * DAY), ("3M", 90 * DAY), ("1m", MIN),
    ("1y", 365 * DAY), ("1Y", 365 * DAY), ("1y1d", 366 * DAY), ("10y", 3650 * DAY),
]


@pytest.mark.parametrize("text, expected", NATSCLI_SIZES)
def test_sizes_as_natscli_reads_them(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text, expected", NATSCLI_DURATIONS)
def test_durations_as_natscli_reads_them(text, expected):
    assert parse_duration(text) == expected


# Where natscli guesses, the tool refuses rather than pick a meaning: natscli cuts a fraction of d/w/M/y
# to whole hours (1.1d -> 26h), drops an unmatched tail (1h30 -> 1h), reads any negative size as -1.
@pytest.mark.parametrize("text", ["1.1d", "0.1w", "1.01M", "1h30", "1H", "-5", "-5GB", "1mo"])
def test_what_natscli_would_guess_is_refused(text):
    with pytest.raises(UnitError):
        parse_size(text) if text.startswith("-") else parse_duration(text)


def test_fraction_refusal_says_what_to_write():
    with pytest.raises(UnitError, match=r"natscli cuts 1.1d to whole hours; write it exactly, e.g. 1d2h24m"):
        parse_duration("1.1d")


@pytest.mark.parametrize("size", [10_000_000_000, 1024 ** 3, 10 * 1024 ** 2 + 1, 1536 * 1024, 1 << 62])
def test_exported_sizes_load_back_and_read_naturally(size):
    text = format_size(size)
    assert parse_size(text) == size
    assert not (isinstance(text, str) and len(text) > 7), text  # at most 4 digits and a unit


def test_duration_flags_keep_each_flags_forms_and_name_the_flag():
    from kubectl_jetstream.errors import UsageError

    flag = units.parse_duration_flag
    assert flag("90s", "--timeout") == 90 and flag("500ms", "--interval") == 0.5 and flag("1h", "--ttl") == 3600
    assert flag("5000000000", "--timeout") == 5  # a plain integer is nanoseconds, as in the files and natscli
    assert flag("0s", "--ttl", zero=True) == 0
    # kubectl's --request-timeout: a plain number is seconds
    assert [flag(v, "--request-timeout", plain_seconds=True) for v in ("30", "1.5", "1s", "2m", "3h")] == \
        [30, 1.5, 1, 120, 10800]
    for value, name, options, says in (("soon", "--idle", {}, "--idle: invalid duration 'soon'"),
                                       ("0s", "--interval", {}, "--interval: must be positive, got '0s'"),
                                       ("-1", "--ttl", {"zero": True}, "--ttl: must be zero or positive, got '-1'"),
                                       ("-2", "--request-timeout", {"plain_seconds": True}, "--request-timeout: must"),
                                       ("x", "--request-timeout", {"plain_seconds": True}, "--request-timeout: inv")):
        with pytest.raises(UsageError) as err:
            flag(value, name, **options)
        assert str(err.value).startswith(says), err.value


def test_request_timeout_as_kubectl_reads_it():
    from kubectl_jetstream.errors import UsageError

    assert [units.parse_request_timeout(v) for v in (None, "", "0", "5", "1m", "500ms")] == [None, None, None, 5, 60,
                                                                                             0.5]
    for value in ("soon", "inf", "nan", "1e300", "-1"):  # no OverflowError, no endless wait
        with pytest.raises(UsageError, match="--request-timeout"):
            units.parse_request_timeout(value)

