"""subjects.py: NATS subject matching (wildcards `*` and `>`) as the server reads it; consumer filters."""
import pytest

from kubectl_jetstream.subjects import consumer_filters, subjects_overlap


@pytest.mark.parametrize("a, b, overlap", [
    ("a.b", "a.b", True),
    ("a.b", "a.c", False),
    ("a.>", "a.b", True),
    ("a.>", "a.b.c.d", True),
    ("a.>", "a", False),           # '>' needs at least one more token
    ("a.*", "a.b", True),
    ("a.*", "a.b.c", False),
    ("a.*", "a.>", True),
    ("a.*.c", "a.b.*", True),      # a.b.c matches both
    ("a.*.c", "a.b.d", False),
    ("*.b", "a.*", True),
    ("*", "a", True),
    ("*", "a.b", False),
    (">", "anything.at.all", True),
    (">", "x", True),
    ("a.b.>", "a.*", False),       # a.* is two tokens, a.b.> at least three
    ("a.b.>", "a.*.c", True),
    ("a*", "ab", False),           # '*' inside a token is a literal character
    ("orders.>", "refunds.>", False),
])
def test_subjects_overlap(a, b, overlap):
    assert subjects_overlap(a, b) is overlap
    assert subjects_overlap(b, a) is overlap


def test_consumer_filters():
    assert consumer_filters({"filter_subjects": ["a.*", "b"], "filter_subject": ""}) == ["a.*", "b"]
    assert consumer_filters({"filter_subject": "a.>"}) == ["a.>"]
    assert consumer_filters({"durable_name": "all"}) == []
