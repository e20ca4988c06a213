"""`version`: the plugin version without any cluster (and without importing nats or kubernetes), plus the NATS
server version and JetStream API level when a server is reachable."""
import json
import platform
import re

import pytest
import yaml

from runner import HEAVY, cli_imports, heavy_imports, run_cli
from kubectl_jetstream import __version__


@pytest.mark.parametrize("args", [["version"], ["version", "--client"], ["--help"], ["version", "--help"],
                                  ["--version"], ["job", "--help"], ["completion", "bash"]])
def test_fast_paths_import_neither_nats_nor_kubernetes(args, tmp_path):
    proc, modules = cli_imports(*args, env={"HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "kubectl_jetstream" in modules
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_version_in_process_leaves_sys_modules_clean(tmp_path):
    assert heavy_imports("import io, contextlib\nfrom kubectl_jetstream.cli import main\n"
                         "with contextlib.redirect_stdout(io.StringIO()):\n    assert main(['version']) == 0",
                         env={"HOME": str(tmp_path)}) == []


def test_plugin_version_without_any_cluster(tmp_path):
    result = run_cli("version", env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [f"Plugin Version: v{__version__}",
                                          f"Python Version: {platform.python_version()}"]
    assert result.stderr == ""
    assert json.loads(run_cli("version", "-o", "json").stdout) == \
        {"plugin": {"version": f"v{__version__}", "python": platform.python_version()}}
    assert yaml.safe_load(run_cli("version", "-o", "yaml").stdout)["plugin"]["version"] == f"v{__version__}"
    assert run_cli("--version").stdout.strip() == f"kubectl-jetstream {__version__}"


def test_server_version_and_api_level(nats_server):
    result = run_cli("version", "--nats-url", nats_server.url)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == f"Plugin Version: v{__version__}"
    assert re.fullmatch(r"NATS Server Version: v2\.\d+\.\d+\S*", lines[2]), lines
    assert re.fullmatch(r"JetStream API Level: \d+", lines[3]), lines
    data = json.loads(run_cli("version", "--nats-url", nats_server.url, "-o", "json").stdout)
    assert re.fullmatch(r"v2\.\d+\.\d+\S*", data["server"]["version"])
    assert isinstance(data["server"]["api_level"], int) and data["server"]["via"] == "direct"
    # --client never contacts anything.
    assert "server" not in json.loads(run_cli("version", "--client", "--nats-url", nats_server.url,
                                              "-o", "json").stdout)


def test_unreachable_server_after_the_plugin_version():
    result = run_cli("version", "--nats-url", "nats://127.0.0.1:1", "--timeout", "2s")
    assert result.returncode == 3, result
    assert result.stdout.splitlines()[0] == f"Plugin Version: v{__version__}"
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_server_version_formatting():
    from kubectl_jetstream.commands.version import server_version

    assert server_version("2.15.1") == "v2.15.1"
    assert server_version("v2.15.1") == "v2.15.1"
    assert server_version("2.11.0-beta.2") == "v2.11.0-beta.2"
    assert server_version(None) == "unknown"
