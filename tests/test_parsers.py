"""parsers: reading an argparse parser through argparse's private `_actions`, `_SubParsersAction`, `_CountAction`
and `_AppendAction`. These tests fail loudly when a Python release changes them."""
import argparse

from kubectl_jetstream import parsers
from kubectl_jetstream.cli import COMMANDS, build_parser


def sample():
    parser = argparse.ArgumentParser(prog="p")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    parser.add_argument("-f", "--file", action="append")
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--no-color", dest="color", action="store_false")
    parser.add_argument("--output", choices=("json", "yaml"))
    parser.add_argument("first")
    parser.add_argument("rest", nargs="*")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("go", description="Go somewhere").add_argument("--far", action="store_true")
    sub.add_parser("stay")
    return parser


def test_subcommands_options_and_positionals():
    parser = sample()
    assert list(parsers.subcommands(parser)) == ["go", "stay"]
    assert parsers.subcommands(parser)["go"].description == "Go somewhere"
    assert [a.dest for a in parsers.options(parser)] == ["help", "verbose", "file", "yes", "color", "output"]
    assert [a.dest for a in parsers.positionals(parser)] == ["first", "rest"]
    assert [a.dest for a in parsers.options(parsers.subcommands(parser)["go"])] == ["help", "far"]
    assert parsers.subcommands(parsers.subcommands(parser)["stay"]) == {}


def test_kinds_of_options():
    kinds = {a.dest: parsers.kind(a) for a in parsers.options(sample())}
    assert kinds == {"help": parsers.SWITCH, "verbose": parsers.COUNT, "file": parsers.APPEND,
                     "yes": parsers.SWITCH, "color": parsers.SWITCH, "output": parsers.VALUE}


def test_the_plugins_parser_reads_the_same():
    parser = build_parser(prog="kubectl jetstream")
    assert list(parsers.subcommands(parser)) == list(COMMANDS)
    purge = {opt: a for a in parsers.options(parsers.subcommands(parser)["purge"]) for opt in a.option_strings}
    assert parsers.kind(purge["--yes"]) == parsers.SWITCH and parsers.kind(purge["-f"]) == parsers.APPEND
    assert parsers.kind(purge["-v"]) == parsers.COUNT and parsers.kind(purge["--keep"]) == parsers.VALUE
