"""Shell completion: what `kubectl_complete-jetstream` (cli.kubectl_complete) and `kubectl-jetstream completion
__complete` answer; commands/completion.py prints the bash and zsh scripts that ask the latter.

kubectl (1.26 and later) completes `kubectl jetstream ...` by running `kubectl_complete-jetstream` from PATH
with the words typed after `jetstream`, the last one being the word under the cursor ("" for a new word). It
reads one candidate per line (`candidate<TAB>description`) and, as the last line, `:<directive>` — cobra's
ShellCompDirective bit field. The scripts printed by `completion bash|zsh` ask `kubectl-jetstream completion
__complete -- WORDS...` for the same answer.

Candidates come from the argparse parser itself (subcommands, flags, choices), so they never drift from the
CLI, and stream names from the streams.d files (`-f` on the line, else ./streams.d), read with a small
line scanner: no nats, kubernetes or yaml import, so a completion costs a few tens of milliseconds.
"""
import argparse
import json
import os
import re
import sys

from .parsers import APPEND, COUNT, kind, options, positionals, subcommands

# cobra's ShellCompDirective bits
DIRECTIVE_DEFAULT = 0  # the shell may fall back to file names
DIRECTIVE_ERROR = 1
DIRECTIVE_NO_SPACE = 2
DIRECTIVE_NO_FILE_COMP = 4
DIRECTIVE_FILTER_FILE_EXT = 8
DIRECTIVE_FILTER_DIRS = 16
DIRECTIVE_KEEP_ORDER = 32

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE = 1 << 20
# Flags whose value is a file or folder name: the shell completes those itself.
FILE_DESTS = {"filename", "kubeconfig", "creds", "nkey", "tls_ca", "tls_cert", "tls_key"}
DIR_DESTS = {"dir"}
STREAM_DESTS = {"streams"}


class Completion:
    def __init__(self, candidates=(), directive=DIRECTIVE_NO_FILE_COMP):
        self.candidates = list(candidates)  # [(value, description)]
        self.directive = directive

    def lines(self):
        out = []
        for value, description in self.candidates:
            description = " ".join(str(description or "").split())
            out.append(f"{value}\t{description}" if description else value)
        out.append(f":{self.directive}")
        return out


# -- the parser -----------------------------------------------------------------------------------------
def _options(parser):
    """{option string: action} of a parser."""
    return {opt: action for action in options(parser) for opt in action.option_strings}


def _takes_value(action):
    return action.nargs != 0


def _short_help(action):
    text = action.help or ""
    if text == argparse.SUPPRESS:
        return ""
    text = text.split(";")[0].split(" (")[0]
    return text[:70]


# -- walking the words typed so far -----------------------------------------------------------------------
class State:
    def __init__(self, root):
        self.root = root
        self.parser = root
        self.command = None
        self.positionals = []
        self.values = {}  # dest -> [values]
        self.used = set()  # actions given
        self.expecting = None  # action whose value is the next word
        self.after_dashdash = False

    def record(self, action, value):
        self.values.setdefault(action.dest, []).append(value)


def _find_option(state, word):
    """(action, attached value or None) for an option word such as --nats-url, --output=json, -nfoo, -vv."""
    options = _options(state.parser)
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        action = options.get(name)
        if action is None:  # argparse accepts unique prefixes
            matches = {a for o, a in options.items() if o.startswith(name)}
            action = matches.pop() if len(matches) == 1 else None
        return action, (value if eq else None)
    action = options.get(word[:2])
    if action is not None and len(word) > 2:
        return action, (word[2:] if _takes_value(action) else None)
    return action, None


def walk(root, words):
    state = State(root)
    commands = subcommands(root)
    for word in words:
        if state.expecting is not None:
            state.record(state.expecting, word)
            state.expecting = None
            continue
        if state.after_dashdash:
            state.positionals.append(word)
            continue
        if word == "--":
            state.after_dashdash = True
            continue
        if word.startswith("-") and len(word) > 1:
            action, value = _find_option(state, word)
            if action is None:
                continue
            state.used.add(action)
            if not _takes_value(action):
                continue
            if value is None:
                state.expecting = action
            else:
                state.record(action, value)
            continue
        if state.command is None and word in commands:
            state.command = word
            state.parser = commands[word]
            continue
        state.positionals.append(word)
    return state


# -- candidates -------------------------------------------------------------------------------------------
def complete(root, words, cwd=None):
    """The Completion for `kubectl jetstream WORDS...` read from the parser `root` (cli.build_parser, with at
    least the subcommands named in `words` built); the last word is the one being completed."""
    words = list(words) or [""]
    current = words[-1]
    state = walk(root, words[:-1])
    if state.expecting is not None:
        return _values(state, state.expecting, current, cwd)
    if not state.after_dashdash and current.startswith("-"):
        if current.startswith("--") and "=" in current:
            action, _ = _find_option(state, current)
            name = current.split("=", 1)[0]
            if action is None or not _takes_value(action):
                return Completion()
            found = _values(state, action, current.split("=", 1)[1], cwd)
            found.candidates = [(f"{name}={v}", d) for v, d in found.candidates]
            return found
        return _flags(state, current)
    if state.command is None and not state.after_dashdash:
        return Completion([(name, sub.description or "") for name, sub in subcommands(root).items()
                           if name.startswith(current)])
    return _positional(state, current, cwd)


def _flags(state, current):
    candidates = []
    seen = set()
    for action in options(state.parser):
        if action.help == argparse.SUPPRESS:
            continue
        repeatable = kind(action) in (APPEND, COUNT)
        if action in state.used and not repeatable:
            continue
        for opt in action.option_strings:
            if opt.startswith(current) and opt not in seen:
                seen.add(opt)
                candidates.append((opt, _short_help(action)))
    return Completion(candidates)


def _values(state, action, current, cwd):
    if action.choices:
        return Completion([(str(c), "") for c in action.choices if str(c).startswith(current)])
    if action.dest in FILE_DESTS:
        return Completion([], DIRECTIVE_DEFAULT)
    if action.dest in DIR_DESTS:
        return Completion([], DIRECTIVE_FILTER_DIRS)
    return Completion()


def _positional(state, current, cwd):
    # Which positional is next: argparse fills them in order; nargs ?/*/+ and N are enough here.
    given = list(state.positionals)
    for action in positionals(state.parser):
        if action.nargs in (None, "?", 1):
            if given:
                given.pop(0)
                continue
        elif isinstance(action.nargs, int) and len(given) >= action.nargs:
            del given[:action.nargs]
            continue
        return _positional_values(state, action, current, cwd)
    return Completion()


def _positional_values(state, action, current, cwd):
    if action.choices:
        choices = [str(c) for c in action.choices if not str(c).startswith("__")]
        return Completion([(c, "") for c in choices if c.startswith(current)])
    if action.dest in STREAM_DESTS:
        taken = set(state.positionals)
        names = stream_names(state.values.get("filename") or ["streams.d"], cwd)
        return Completion([(name, f"stream in {path}") for name, path in names
                           if name.startswith(current) and name not in taken])
    return Completion()


# -- stream names from streams.d, cheaply -----------------------------------------------------------------
def definition_files(paths, cwd=None):
    files = []
    for path in paths:
        full = os.path.join(cwd or os.getcwd(), os.path.expanduser(path))
        if os.path.isdir(full):
            try:
                entries = sorted(os.listdir(full))
            except OSError:
                continue
            files += [(os.path.join(full, e), os.path.join(path, e)) for e in entries
                      if not e.startswith(".") and e.lower().endswith(DEFINITION_SUFFIXES)]
        elif os.path.isfile(full):
            files.append((full, path))
    return files


def stream_names(paths, cwd=None):
    """[(stream name, file as given)] for the definition files, in file order; unreadable files are skipped."""
    found, seen = [], set()
    for full, shown in definition_files(paths, cwd):
        try:
            with open(full, encoding="utf-8", errors="replace") as f:
                text = f.read(MAX_FILE)
        except OSError:
            continue
        name = name_in_json(text) if full.lower().endswith(".json") else name_in_yaml(text)
        if name and name not in seen:
            seen.add(name)
            found.append((name, shown))
    return found


def name_in_json(text):
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for holder in (doc, doc.get("config"), doc.get("spec")):
        if isinstance(holder, dict) and isinstance(holder.get("name"), str):
            return holder["name"]
    return None


_KEY = re.compile(r"^(\s*)([A-Za-z_][\w.-]*)\s*:\s*(.*?)\s*$")


def _scalar(raw):
    raw = raw.split(" #", 1)[0].strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw or None


def name_in_yaml(text):
    """The stream name of a streams.d YAML file: top-level `name:` (native form), or `name:` under
    `config:` (natscli) or `spec:` (NACK Stream resource)."""
    section, nested = None, None
    for line in text.splitlines():
        if line.startswith("---") and section is not None:
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            continue
        indent, key, value = match.groups()
        if not indent:
            section = key
            if key == "name" and value:
                return _scalar(value)
        elif key == "name" and section in ("config", "spec") and nested is None:
            nested = _scalar(value)
    return nested


# -- entry points -----------------------------------------------------------------------------------------
def print_completion(parser, words, out=None):
    """The protocol's lines for `words` on `out`; cli.kubectl_complete and `completion __complete` call it."""
    out = out or sys.stdout
    try:
        result = complete(parser, words)
    except Exception:  # never a traceback in the middle of someone's command line
        result = Completion([], DIRECTIVE_ERROR)
    out.write("\n".join(result.lines()) + "\n")
    out.flush()
