"""NATS subjects as the server reads them: valid subjects, wildcard matching (`*` one token, `>` one or more),
the subjects a stream listens on, what a consumer filters on. Shared by loading, planning, purge and view. Pure."""
from .errors import shown


def subjects_overlap(a, b):
    """True if some subject matches both `a` and `b` (NATS wildcards: `*` one token, `>` one or more)."""
    ta, tb = a.split("."), b.split(".")
    for x, y in zip(ta, tb):
        if x == ">" or y == ">":
            return True
        if x != y and x != "*" and y != "*":
            return False
    return len(ta) == len(tb)


def consumer_filters(config):
    """The subjects a consumer config filters on (filter_subjects, else filter_subject); [] for all."""
    return config.get("filter_subjects") or ([config["filter_subject"]] if config.get("filter_subject") else [])


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
