"""NATS subject matching shared by loading (overlapping streams), planning and purge. Pure."""


def subjects_overlap(a, b):
    """True if some subject matches both `a` and `b` (NATS wildcards: `*` one token, `>` one or more)."""
    ta, tb = a.split("."), b.split(".")
    for x, y in zip(ta, tb):
        if x == ">" or y == ">":
            return True
        if x != y and x != "*" and y != "*":
            return False
    return len(ta) == len(tb)
