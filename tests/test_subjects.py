"""subjects.py: NATS subjects as the server reads them: valid ones, matching (wildcards `*` and `>`), consumer filters."""
import pytest

from kubectl_jetstream.subjects import consumer_filters, subject_problem, subjects_overlap


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


@pytest.mark.parametrize("subject, ok", [
    ("a", True), ("a.b.c", True), ("a.*.c", True), ("a.>", True), (">", True), ("*", True), ("$JS.API.>", True),
    ("", False), ("a..b", False), (".a", False), ("a.", False), ("a.>.b", False), ("a b", False), ("a.\tb", False),
])
def test_subject_problem(subject, ok):
    assert (subject_problem(subject) is None) is ok
