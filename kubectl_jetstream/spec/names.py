"""Names and subjects as nats-server checks them: stream, consumer and domain names, subjects and filters,
the subjects a stream listens on (subjects_overlap itself is subjects.py's). Light on purpose: commands
import it for one check."""
from .. import schema
from ..errors import shown


def name_problem(name, what="stream name"):
    """Why the server would refuse `name` for a stream or consumer (isValidAssetName), or None."""
    if not isinstance(name, str) or not name:
        return f"{what} must be a non-empty string"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > schema.MAX_NAME_LEN:  # the server counts bytes: 'é' is two
        return f"{what} is {size} bytes long (UTF-8); the maximum is {schema.MAX_NAME_LEN}"
    bad = sorted({c for c in name if c in schema.NAME_FORBIDDEN}, key=name.index)
    if bad:
        listed = ", ".join("space" if c == " " else repr(c) for c in bad)
        return f"invalid {what} {shown(name)}: must not contain {listed} (no whitespace, '.', '*', '>', '/' or '\\')"
    return None


def domain_problem(domain):
    """Why `domain` cannot be a JetStream domain (one subject token of $JS.<domain>.API), or None."""
    if not isinstance(domain, str) or not domain:
        return "a JetStream domain must be a non-empty string"
    if any(c.isspace() or c in ".*>" for c in domain):
        return f"invalid JetStream domain {shown(domain)}: must not contain whitespace, '.', '*' or '>'"
    return None


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


def listed(subjects, most=5):
    """Subjects for a message: the first few, and how many more."""
    text = ", ".join(s if len(s) <= 80 else s[:77] + "..." for s in subjects[:most])
    return text + (f" and {len(subjects) - most:,} more" if len(subjects) > most else "")


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


def overlap_candidates(groups):
    """For each group of subjects j, (j, the earlier groups i < j, in order, that may share a subject with it).

    Comparing every pair is quadratic (1000 files: 500,000 pairs, most of a second). Two subjects can only
    overlap when the literal tokens before the first wildcard of one begin those of the other, so index the
    earlier groups by these prefixes and name only the candidates found there."""
    exact, extends = {}, {}
    for j, subjects in enumerate(groups):
        prefixes = {_literal_prefix(subject) for subject in subjects}
        candidates = set()
        for prefix in prefixes:
            for m in range(len(prefix)):
                candidates.update(exact.get(prefix[:m], ()))
            candidates.update(extends.get(prefix, ()))
        yield j, sorted(candidates)
        for prefix in prefixes:
            exact.setdefault(prefix, []).append(j)
            for m in range(len(prefix) + 1):
                extends.setdefault(prefix[:m], []).append(j)


def _literal_prefix(subject):
    """The tokens of `subject` before its first wildcard, as a tuple."""
    tokens = []
    for token in subject.split("."):
        if token in ("*", ">"):
            break
        tokens.append(token)
    return tuple(tokens)

