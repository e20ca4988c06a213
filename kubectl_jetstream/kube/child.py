"""The Kubernetes side of a command in a child process, started before the command imports asyncio and nats-py.

Through Kubernetes, a command spends most of its start-up importing: the kubernetes client (kubeconfig loader,
REST and websocket layers) on one side, asyncio and nats-py on the other, then the API requests and the
websocket handshake. One after the other that is their sum; in two processes it is the longer of the two, on
two cores. So when a command is about to run (`PluginContext.run`), the plugin forks: the child does exactly
what the in-process path does (`reach.kube_endpoint`: kubeconfig, Service, pod, Secrets, the port-forward
listener) and sends the Endpoint back over a pipe, then serves the forward until the parent closes the pipe
(when its connection ends, or when it exits for any reason). The parent meanwhile imports nats-py and connects
to the forward's local port as before. The forwarded bytes take the same path as in-process, without competing
with the command for one interpreter lock.

Only when the plugin runs as a program (not when `cli.main(argv)` is called in-process) and the platform can
fork. Errors cross the pipe as their message and exit status, so they read and exit as they do in-process.
"""
import contextlib
import gc
import json
import os
import signal
import sys
import time
from dataclasses import asdict

from ..endpoint import Endpoint
from ..errors import ExitStatus, ToolError, Unreachable, error_message, exit_status_of

CHILD_EXIT_WAIT = 2.0  # seconds the parent waits for the child to close the forward


class ChildError(ToolError):
    """An error raised in the child, as the parent re-raises it: same message, same exit status."""

    def __init__(self, message, exit_status):
        super().__init__(message)
        self.exit_status = ExitStatus(exit_status)


def available():
    return hasattr(os, "fork")


class KubeChild:
    """The forked child and the two pipes to it. `endpoint()` is used once, like `reach.kube_endpoint`."""

    def __init__(self, ctx):
        # What both sides import, imported once before the fork (shared, not done twice).
        import logging  # noqa: F401
        import socket  # noqa: F401
        import ssl  # noqa: F401
        import threading  # noqa: F401
        from urllib.parse import urlsplit  # noqa: F401

        from_child, to_parent = os.pipe()
        from_parent, to_child = os.pipe()
        for stream in (sys.stdout, sys.stderr, ctx.stdout, ctx.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        gc.freeze()  # the objects so far are shared with the child: keep the collector from copying their pages
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                os.close(from_child)
                os.close(to_child)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it closes the pipe
                with os.fdopen(to_parent, "w") as out, os.fdopen(from_parent) as inp:
                    _serve(ctx, out, inp)
            except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
                code = 1
            finally:
                for stream in (sys.stderr, ctx.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                os._exit(code)
        os.close(to_parent)
        os.close(from_parent)
        self.pid = pid
        self.reader = os.fdopen(from_child)
        self.writer = os.fdopen(to_child, "w")

    @contextlib.contextmanager
    def endpoint(self):
        try:
            message = _receive(self.reader)
            if "endpoint" not in message:
                raise _rebuild(message)
            try:
                yield Endpoint(**message["endpoint"])
            except Unreachable as exc:
                # NATS could not be reached through the forward: the child says why the forward failed, if it
                # did (kube_endpoint adds that to the error, as in-process).
                _send(self.writer, {"failed": str(exc)})
                answer = _receive(self.reader)
                if answer.get("message") and answer["message"] != str(exc):
                    exc.args = (answer["message"],)  # keeps .step/.fatal
                raise
        finally:
            self.close()

    def close(self):
        """End the child: closing its pipe ends the forward; wait briefly so nothing prints after we exit."""
        if self.pid is None:
            return
        for f in (self.writer, self.reader):
            with contextlib.suppress(OSError):
                f.close()
        deadline = time.monotonic() + CHILD_EXIT_WAIT
        while True:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        self.pid = None


def _serve(ctx, out, inp):
    """In the child: kube_endpoint, the Endpoint to the parent, then serve until the parent is done."""
    try:
        ctx.log(f"Kubernetes side in child process {os.getpid()} (parent {os.getppid()})", 2)
        from .reach import kube_endpoint  # here: the kubernetes client is imported by the child only

        with kube_endpoint(ctx.kube_options, ctx.log) as ep:
            _send(out, {"endpoint": asdict(ep)})
            line = inp.readline()  # end of file: the parent is done with NATS
            if line:
                raise Unreachable(json.loads(line)["failed"])
    except Exception as exc:  # as cli.main reports it; a traceback with -vv (-v for an unexpected error)
        if ctx.verbosity >= 2 or (ctx.verbosity >= 1 and not isinstance(exc, ToolError)):
            ctx.report_traceback(exc)
        _send(out, {"message": error_message(exc), "exit_status": int(exit_status_of(exc))})


def _send(f, message):
    with contextlib.suppress(OSError, ValueError):
        f.write(json.dumps(message) + "\n")
        f.flush()


def _receive(f):
    line = f.readline()
    if not line:
        return {"message": "the Kubernetes side of the plugin ended without an answer",
                "exit_status": int(ExitStatus.UNREACHABLE)}
    return json.loads(line)


def _rebuild(message):
    return ChildError(message.get("message") or "error", message.get("exit_status", int(ExitStatus.UNREACHABLE)))
