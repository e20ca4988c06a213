"""Run the CLI as a subprocess, as a user would (natscli's test style). Shared by every test module."""
import ast
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPPED_STREAMS = REPO / "streams.d"
# Seconds. Tests bound how long something takes only by this: it catches a hang, a retry loop or a timeout
# ignored (wait's 30s and 60s), never a slow, loaded machine. Speed is the bench's job.
HANG = 20.0


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


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn_cli(*args, env=None, cwd=None, **popen):
    """Start the CLI without waiting for it: stdout and stderr piped as text, no stdin, unless `popen` says.
    SIGINT is set back to its default in the child: a shell running the suite in the background (`make test &`)
    passes SIGINT on ignored, and Python then never turns Ctrl-C into KeyboardInterrupt, as a user's shell does."""
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "text": True,
             "preexec_fn": _default_sigint, **popen}
    return subprocess.Popen([sys.executable, "-m", "kubectl_jetstream", *map(str, args)], env=clean_env(env),
                            cwd=cwd or REPO, **popen)


class Terminal:
    """The CLI on a pseudo-terminal (its stdin, stdout and stderr unless `popen` says otherwise), as a user at a
    shell runs it: it asks its questions and redraws. A context manager: the process is gone on exit."""

    def __init__(self, *args, **popen):
        self.fd, child = pty.openpty()
        self.proc = spawn_cli(*args, **{"stdin": child, "stdout": child, "stderr": child, "text": False, **popen})
        os.close(child)
        self.output = b""

    def _read(self, wait):
        """Append what the CLI printed within `wait` seconds to self.output: True if something came, None if
        nothing did, False once no process holds the terminal any more (EIO) and all was read."""
        if not select.select([self.fd], [], [], max(wait, 0))[0]:
            return None
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO
            return False
        self.output += chunk
        return bool(chunk) or False

    def read_until(self, done, timeout=HANG):
        """Read until done(output so far) holds (a bytes marker: until it appears); fails after `timeout`."""
        test = (lambda out: done in out) if isinstance(done, bytes) else done
        deadline = time.monotonic() + timeout
        while not test(self.output):
            if time.monotonic() > deadline or self._read(min(0.5, deadline - time.monotonic())) is False:
                raise AssertionError(f"not seen in time: {done!r}; got {self.text()!r}")

    def write(self, text):
        os.write(self.fd, text.encode())

    def wait(self, timeout=HANG):
        """Read until the CLI exits and its output is all read; its exit status. Fails if it runs past `timeout`."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running {timeout} s later; printed {self.text()!r}")
            self._read(0.2)
        while self._read(0.5):
            pass
        return self.proc.returncode

    def text(self):
        return self.output.decode(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.fd)


class EdgeLog:
    """The `log(message, level=1)` an edge function is given, kept in memory: what -v shows (-vv with
    verbosity=2). For in-process tests of the Kubernetes edge, with KubeOptions built directly."""

    def __init__(self, verbosity=1):
        self.verbosity = verbosity
        self.lines = []

    def __call__(self, message, level=1):
        if self.verbosity >= level:
            self.lines.append(message)

    def text(self):
        return "\n".join(self.lines)


# Packages a fast path (--help, version, completion) must not import: each costs tens of milliseconds.
HEAVY = ("nats", "kubernetes", "yaml", "tabulate", "urllib3", "websocket", "aiohttp")


def heavy_imports(code, env=None):
    """The HEAVY packages a fresh interpreter has imported after running `code` (a sorted list)."""
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                          env=clean_env(env), timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


def cli_imports(*args, env=None):
    """(the finished process, the top-level modules imported) of `python -X importtime -m kubectl_jetstream ARGS`:
    the CLI ends with os._exit, so only the interpreter's own import log sees what a whole command imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kubectl_jetstream", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, env=clean_env(env), timeout=60)
    found = (re.match(r"import time:\s+\d+\s+\|\s+\d+\s+\|\s+(\S+)", line) for line in proc.stderr.splitlines())
    return proc, {match.group(1).split(".")[0] for match in found if match}
