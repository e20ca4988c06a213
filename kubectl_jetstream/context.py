"""The shared plugin context: parsed flags, logging, definitions and the way to NATS, built once per command."""
import os
import sys
from functools import cached_property

from .errors import UsageError, error_message


class PluginContext:
    def __init__(self, args, stdout=None, stderr=None):
        self.args = args
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.verbosity = getattr(args, "verbose", 0) or 0
        # What a command has changed so far, printed if it is interrupted or loses NATS half-way.
        self.done = []
        self._specs = None
        self.connections = []  # the JetStream connections opened (their `unanswered` writes)
        self.may_fork = False  # set by cli.main when the plugin runs as a program
        self.parser = None  # set by cli.main: the argparse parser the command line was parsed with
        self.kube_child = None  # kube.child.KubeChild started by run(), used by the first connection

    # -- the edges' options, read once from the flags -------------------------------------------
    @cached_property
    def kube_options(self):
        from .options import KubeOptions  # here: dataclasses (with inspect) only when an edge is reached

        a = self.args
        return KubeOptions(kubeconfig=a.kubeconfig, context=a.context, cluster=a.cluster, user=a.user,
                           namespace=a.namespace, request_timeout=a.request_timeout, service=a.service, port=a.port,
                           creds_secret=a.creds_secret, token_secret=a.token_secret, user_secret=a.user_secret)

    @cached_property
    def nats_options(self):
        from .options import NatsOptions

        a = self.args
        return NatsOptions(url=a.nats_url, creds=a.creds, nkey=a.nkey, user=a.nats_user, password=a.password,
                           token=a.token, tls_ca=a.tls_ca, tls_cert=a.tls_cert, tls_key=a.tls_key, timeout=a.timeout)

    # -- messages -------------------------------------------------------------------------------
    def log(self, message, level=1):
        """Diagnostics for -v (level 1) and -vv (level 2); always on stderr."""
        if self.verbosity >= level:
            print(f"[jetstream] {message}", file=self.stderr, flush=True)

    def warn(self, message):
        print(f"warning: {message}", file=self.stderr, flush=True)

    def echo(self, text=""):
        print(text, file=self.stdout, flush=True)

    def report(self, exc, unexpected=False):
        if self.verbosity >= 2 or (unexpected and self.verbosity >= 1):
            self.report_traceback(exc)
        message = error_message(exc)
        lines = message.splitlines() or [type(exc).__name__]
        for line in lines:
            print(f"error: {line}", file=self.stderr, flush=True)

    def report_traceback(self, exc):
        import traceback  # here: linecache and tokenize cost every command ~5 ms

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=self.stderr)

    def report_interrupt(self):
        print("interrupted", file=self.stderr, flush=True)
        if not self.report_progress("before the interrupt"):
            print("nothing was changed", file=self.stderr, flush=True)

    def report_progress(self, when):
        """Print what was applied and which writes were sent without an answer; False if neither."""
        from .jetstream import describe_write  # here: jetstream imports nats-py

        unanswered = [describe_write(s) for js in self.connections for s in js.unanswered]
        if self.done:
            print(f"done {when} ({len(self.done)}): " + ", ".join(self.done), file=self.stderr, flush=True)
        if unanswered:
            print(f"sent {when} but not confirmed, may or may not have been applied ({len(unanswered)}): "
                  + ", ".join(unanswered), file=self.stderr, flush=True)
        if (self.done or unanswered) and getattr(self.args, "command", None) == "init":
            print("init is idempotent: run it again to finish", file=self.stderr, flush=True)
        if (self.done or unanswered) and getattr(self.args, "keep_messages", False):
            print("the backup stream holds every message: run the same command again to finish, or add --abort",
                  file=self.stderr, flush=True)
        return bool(self.done or unanswered)

    # -- definitions ----------------------------------------------------------------------------
    def definition_paths(self):
        return self.args.filename or ["streams.d"]

    def load_specs(self, required=True):
        """Load and validate streams.d. With required=False a missing default folder gives None
        (ls/diff annotate with it when present)."""
        paths = self.definition_paths()
        if not required and not self.args.filename and not os.path.exists(paths[0]):
            return None
        if self._specs is None:  # once per command: purge --all and recreate both ask for them
            from .resources import load_specs  # here: yaml and the spec modules, for commands that read files

            self._specs = load_specs(paths, warn=self.warn)
        return self._specs

    # -- the way to NATS ------------------------------------------------------------------------
    def js_domain(self):
        """--js-domain (NATS_JS_DOMAIN), else the NACK files' jsDomain where it can only mean one thing."""
        given = getattr(self.args, "js_domain", None)
        if not given and not self._specs:
            return None
        from .spec.names import domain_problem  # here: as load_specs
        from .spec.rules import js_domain

        if given and domain_problem(given):
            raise UsageError(f"--js-domain: {domain_problem(given)}")
        return js_domain(self._specs or [], given)

    def jetstream(self, timeout=None, check=False):
        """Async context manager yielding a connected `jetstream.JetStream` (timeout in seconds overrides
        --timeout; `check`: ask for the account info first, see connect.open_jetstream)."""
        from .connect import open_jetstream  # here: connect.py and units only for commands that reach NATS

        return open_jetstream(self, timeout, check)

    def run(self, coroutine, kube_early=True):
        """Run the command's coroutine. Through Kubernetes, the Kubernetes side starts first in a child
        process (kube/child.py), so that it overlaps asyncio's and nats-py's imports; `kube_early=False` for
        commands that wait for the Kubernetes side themselves."""
        if kube_early and self.may_fork and not self.nats_options.url:
            from .kube import child as kubechild  # here: as open_jetstream
            from .connect import preflight

            if kubechild.available():
                try:
                    preflight(self)  # bad flags stop the command before the Kubernetes API is asked anything
                    self.kube_child = kubechild.KubeChild(self)
                except BaseException:
                    coroutine.close()  # never started: no "coroutine was never awaited" warning
                    raise
        try:
            import asyncio  # here: tens of ms that only commands reaching NATS pay

            return asyncio.run(coroutine)
        finally:
            if self.kube_child is not None:  # the command ended before it connected
                self.kube_child.close()
                self.kube_child = None
