"""Run the CLI as a subprocess, as a user would (natscli's test style). Shared by every test module."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED_STREAMS = REPO / "streams.d"


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return f"<exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "KUBECONFIG", "KUBERNETES_"))}
    env["KUBECONFIG"] = os.devnull  # never touch the developer's cluster from a test
    env.update(extra or {})
    return env


def run_cli(*args, env=None, input=None, cwd=None, timeout=120):
    proc = subprocess.run(
        [sys.executable, "-m", "kubectl_jetstream", *map(str, args)],
        capture_output=True, text=True, env=clean_env(env), input=input, cwd=cwd or REPO, timeout=timeout,
    )
    return Result(proc)
