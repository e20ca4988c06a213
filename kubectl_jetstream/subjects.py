"""NATS subjects: matching (shared by loading, planning and purge) and what a consumer filters on. Pure."""


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
