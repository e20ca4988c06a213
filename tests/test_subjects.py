"""subjects.py: NATS subject matching (wildcards `*` and `>`) as the server reads it."""
import pytest

from kubectl_jetstream.subjects import subjects_overlap


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
