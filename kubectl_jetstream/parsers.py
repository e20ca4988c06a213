"""Reading an argparse parser: its subcommands, options and positionals, and what kind of value an option takes.

argparse has no public API for this: a parser's arguments are the private `_actions` list and subcommands a
`_SubParsersAction` among them; counting and appending options are `_CountAction` / `_AppendAction`. They are
read here only (completion, job and the README test walk parsers through this module), and
tests/test_parsers.py fails loudly if a Python release changes them.
"""
import argparse

SWITCH, COUNT, APPEND, VALUE = "switch", "count", "append", "value"


def _actions(parser):
    return [a for a in parser._actions if not isinstance(a, argparse._SubParsersAction)]


def subcommands(parser):
    """{name: subparser} of a parser's subcommands ({} when it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def options(parser):
    """The actions of a parser's options (those with option strings), in the order they were added."""
    return [a for a in _actions(parser) if a.option_strings]


def positionals(parser):
    """The actions of a parser's positional arguments, in order (not its subcommands)."""
    return [a for a in _actions(parser) if not a.option_strings]


def kind(action):
    """SWITCH (takes no value: store_true/false/const, help), COUNT (-vv), APPEND (repeatable, each with a
    value) or VALUE."""
    if isinstance(action, argparse._CountAction):
        return COUNT
    if isinstance(action, argparse._AppendAction):
        return APPEND
    return SWITCH if action.nargs == 0 else VALUE
