"""Problems: what one file got wrong, each with the key as the file spells it; and how values are named in
those messages."""
import datetime

from ..errors import InvalidDefinition

MAX_PROBLEMS_PER_FILE = 100  # shown per file; the rest are counted


class Problems:
    """Collects the problems of one file. `names` maps API key paths to the keys as the file spells them."""

    def __init__(self, path, prefix="", names=None):
        self.path = str(path)
        self.prefix = prefix
        self.names = names or {}
        self.errors = []
        self.not_shown = 0
        self._about = set()  # every key with a problem, and the keys it lies in

    def __call__(self, key, message):
        self.add(self.spelled(key) if len(self.errors) < MAX_PROBLEMS_PER_FILE else key, message)

    def add(self, spelled_key, message):
        """`message` may be a function: it is called only for a problem that is shown (suggestions take
        time, and a file can hold a hundred thousand unknown keys)."""
        if len(self.errors) >= MAX_PROBLEMS_PER_FILE:
            self.not_shown += 1
            return
        self.errors.append(InvalidDefinition(self.path, spelled_key, message() if callable(message) else message))
        self._about.update(_key_paths(spelled_key))

    def clear(self):
        self.errors, self.not_shown, self._about = [], 0, set()

    def all(self):
        if not self.not_shown:
            return self.errors
        return self.errors + [InvalidDefinition(self.path, None, f"and {self.not_shown:,} more problems "
                                                                 f"(the first {MAX_PROBLEMS_PER_FILE} are shown)")]

    def about(self, key):
        """Whether a problem was already reported for `key` (or inside it): rules then stay quiet."""
        return self.spelled(key) in self._about

    def spelled(self, key):
        if not key:
            return key
        for api in _key_paths(key):  # the longest recorded key that `key` is or lies in
            if api in self.names:
                return self.names[api] + key[len(api):]
        return self.prefix + key


def _key_paths(key):
    """`key` and the keys it lies in, longest first: a.b[0].c, a.b[0], a.b, a."""
    cut = len(key or "")
    while cut > 0:
        yield key[:cut]
        cut = max(key.rfind(".", 0, cut), key.rfind("[", 0, cut))


def type_name(value):
    """How a value is named in messages: "a list", "nothing (null)"."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    return type(value).__name__


def join_key(prefix, key):
    return f"{prefix}.{key}" if prefix else str(key)
