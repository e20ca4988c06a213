"""Names as nats-server checks them: stream, consumer and JetStream domain names (subjects are subjects.py's)."""
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
