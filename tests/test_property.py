"""Property-based: whatever the streams.d file or the command line, the tool ends with a documented exit
status and one-line errors — never a traceback, never an unexpected exception.

Runs the CLI in-process (`kubectl_jetstream.cli.main(argv)`, stdout/stderr captured) for speed, against a
real nats-server (and a port where nothing listens). An "unexpected" exception is one `cli.main` had to catch
with its last-resort handler (a bug); it is recorded by wrapping PluginContext.report.
"""
import contextlib
import io
import json
import os
import shutil
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from kubectl_jetstream import cli, context
from natsserver import NatsServer, free_port

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

try:
    from kubectl_jetstream.schema import CONSUMER_FIELDS, STREAM_FIELDS

    STREAM_KEYS = sorted(STREAM_FIELDS)
    CONSUMER_KEYS = sorted(CONSUMER_FIELDS)
except ImportError:  # the schema module is not there: a fixed list still exercises the paths
    STREAM_KEYS = ["name", "subjects", "retention", "storage", "num_replicas", "max_age", "max_msgs", "max_bytes",
                   "discard", "duplicate_window", "description", "metadata", "placement", "sources", "mirror"]
    CONSUMER_KEYS = ["durable_name", "ack_policy", "ack_wait", "filter_subject", "max_deliver", "backoff"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A real server, a closed port, a clean environment and a scratch cwd (export -d writes there)."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    for key in list(os.environ):
        if key.startswith(("NATS_", "KUBERNETES_")):
            del os.environ[key]
    os.environ["KUBECONFIG"] = os.devnull
    work = tmp_path_factory.mktemp("property")
    os.chdir(work)
    (work / "streams.d").mkdir()
    (work / "streams.d" / "orders.yaml").write_text("name: ORDERS\nsubjects: [orders.>]\n")
    try:
        with NatsServer() as server:
            yield {"url": server.url, "closed": f"nats://127.0.0.1:{free_port()}", "work": work}
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


class Run:
    def __init__(self, code, out, err, unexpected, verbosity=0):
        self.code, self.out, self.err, self.unexpected = code, out, err, unexpected
        self.verbosity = verbosity  # -vv prints tracebacks on purpose

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out[-2000:]}\nstderr:\n{self.err[-2000:]}\nunexpected: " \
               f"{self.unexpected!r}>"


def run_main(argv):
    unexpected, verbosity = [], [0]
    original = context.PluginContext.report

    def report(self, exc, unexpected_flag=False, **kw):
        verbosity[0] = self.verbosity
        if unexpected_flag or kw.get("unexpected"):
            unexpected.append(exc)
        return original(self, exc, unexpected_flag or kw.get("unexpected", False))

    out, err = io.StringIO(), io.StringIO()
    context.PluginContext.report = report
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # what the process would exit with
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        context.PluginContext.report = original
    return Run(code, out.getvalue(), err.getvalue(), unexpected, verbosity[0])


def assert_clean(run, allowed=(0, 1, 2, 3)):
    event(f"exit {run.code}")
    assert run.code in allowed, run
    assert not run.unexpected, run
    if run.verbosity < 2:
        assert "Traceback" not in run.out + run.err, run
    for line in run.err.splitlines():
        if line.startswith("error: "):
            assert not line.startswith(("error: KeyError", "error: TypeError", "error: AttributeError",
                                        "error: ValueError", "error: IndexError")), run


# --- random streams.d files ---------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["1h", "30x", "-5MiB", "10QB", "1e3", "0", "-1", "90s", "1GiB", "orders.>", "*", ">", "",
                     "limits", "interest", "workqueue", "file", "memory", "explicit", "none", "all", "old", "new",
                     "2024-01-01T00:00:00Z", "ORDERS", "a b", "a.b", "\x00", "ü"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(STREAM_KEYS + CONSUMER_KEYS), st.text(max_size=8)), inner,
                    max_size=4)), max_leaves=12)
consumer = st.dictionaries(st.sampled_from(CONSUMER_KEYS), values, max_size=5)
stream_doc = st.fixed_dictionaries(
    {},
    optional={"name": st.one_of(st.sampled_from(["ORDERS", "S1", "bad name", "a.b", "X*", ""]), values),
              "subjects": st.one_of(st.sampled_from([["orders.>"], ["s1.*", "s1.x"], [">"], []]), values),
              "consumers": st.one_of(st.lists(consumer, max_size=3), values),
              "apiVersion": st.sampled_from(["jetstream.nats.io/v1beta2", "v1", 5]),
              "kind": st.sampled_from(["Stream", "Consumer", "Strem", None]),
              "spec": values, "config": values},
).flatmap(lambda base: st.dictionaries(st.sampled_from(STREAM_KEYS), values, max_size=5).map(
    lambda extra: {**extra, **base}))
documents = st.one_of(stream_doc, stream_doc, values)


def file_text(doc, form):
    if form == "yaml":
        try:
            return yaml.safe_dump(doc, allow_unicode=True)
        except Exception:
            return None
    try:
        return json.dumps(doc, allow_nan=True)
    except (TypeError, ValueError):
        return None


@settings(max_examples=120, **SETTINGS)
@given(doc=documents, form=st.sampled_from(["yaml", "json"]), command=st.sampled_from(["diff", "init --dry-run"]))
def test_random_document_never_crashes(env, doc, form, command):
    text = file_text(doc, form)
    assume(text is not None)
    folder = tempfile.mkdtemp(dir=env["work"])
    try:
        with open(os.path.join(folder, f"random.{form}"), "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
        run = run_main([*command.split(), "-f", folder, "--nats-url", env["url"], "--timeout", "2s"])
        assert_clean(run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=60, **SETTINGS)
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "replace"))),
       suffix=st.sampled_from([".yaml", ".yml", ".json"]))
def test_random_bytes_as_a_file_never_crash(env, content, suffix):
    folder = tempfile.mkdtemp(dir=env["work"])
    try:
        with open(os.path.join(folder, "random" + suffix), "wb") as f:
            f.write(content)
        run = run_main(["init", "--dry-run", "-f", folder, "--nats-url", env["url"], "--timeout", "2s"])
        assert_clean(run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- random command lines -----------------------------------------------------------------------------

COMMAND_WORDS = ["init", "diff", "ls", "info", "export", "purge", "delete", "recreate", "wait", "version",
                 "completion", "job", "nope", "help", ""]
FLAG_VALUES = {
    "-o": ["json", "yaml", "name", "wide", "xml", ""],
    "--output": ["json", "yaml", "table"],
    "-f": ["streams.d", "streams.d/orders.yaml", "missing.d", "/dev/null", "."],
    "--timeout": ["1s", "500ms", "0", "-1s", "soon", "2s", "1"],
    "--wait": ["1s", "0s", "never", "300ms"],
    "--subject": ["orders.>", "", "*", "a b"],
    "--seq": ["1", "0", "-3", "x", "99999999999999999999"],
    "--keep": ["1", "0", "-1", "x"],
    "-d": ["out", "", "/dev/null/x"],
    "--dir": ["out2"],
    "-n": ["default", "nats", ""],
    "--namespace": ["x"],
    "--context": ["nope"],
    "--kubeconfig": ["/nonexistent", "/dev/null"],
    "--service": ["nats"],
    "--port": ["4222", "client", "-1", "x"],
    "--request-timeout": ["1s", "bad", "0"],
    "--creds": ["/nonexistent.creds", "/dev/null"],
    "--nkey": ["/nonexistent.nk"],
    "--token": ["t0k"],
    "--nats-user": ["u"],
    "--password": ["p"],
    "--tls-ca": ["/nonexistent.pem", "/dev/null"],
    "--tls-cert": ["/dev/null"],
    "--tls-key": ["/dev/null"],
    "--creds-secret": ["s/k", "s"],
    "--token-secret": ["t"],
    "--user-secret": ["u"],
    "--image": ["img:1"],
    "--ttl": ["1h", "x"],
    "--backoff-limit": ["2", "x"],
}
BARE_FLAGS = ["-v", "--yes", "-y", "--force", "--dry-run", "--prune", "--all", "--ignore-not-found", "--client",
              "--help", "-h", "--version", "--", "-", "--unknown", "-x"]
WORDS = ["ORDERS", "NOPE", "stream/ORDERS", "bash", "zsh", "fish", "init", "purge", "a.b", "*", "", "ü"]


def token(url_kinds):
    flag_with_value = st.sampled_from(sorted(FLAG_VALUES)).flatmap(
        lambda f: st.one_of(st.sampled_from(FLAG_VALUES[f]), st.text(max_size=6)).map(lambda v: [f, v]))
    nats_url = st.sampled_from(url_kinds).map(lambda u: ["--nats-url", u])
    return st.one_of(
        flag_with_value, nats_url,
        st.sampled_from(BARE_FLAGS).map(lambda f: [f]),
        st.sampled_from(WORDS + COMMAND_WORDS).map(lambda w: [w]),
        st.text(max_size=8).map(lambda w: [w]),
    )


@settings(max_examples=200, **SETTINGS)
@given(data=st.data())
def test_random_command_lines_never_crash(env, data):
    url_kinds = [env["url"], env["url"], env["closed"], "junk", "nats://", "tls://127.0.0.1:1"]
    command = data.draw(st.sampled_from(COMMAND_WORDS), label="command")
    rest = data.draw(st.lists(token(url_kinds), max_size=6), label="rest")
    argv = [command] + [t for group in rest for t in group]
    # Bounded waits whatever the draw: the base flags come first, so drawn ones (all short) override them.
    argv = ["--nats-url", env["url"], "--timeout", "1s"] + argv
    run = run_main(argv)
    # 4 is documented for "a named stream was not found" and server rejections.
    assert_clean(run, allowed=(0, 1, 2, 3, 4))
    assert os.path.isdir(env["work"] / "streams.d")


@settings(max_examples=25, **SETTINGS)
@given(command=st.sampled_from(["ls", "init", "diff", "wait", "purge --all --yes", "info ORDERS", "export"]),
       timeout=st.sampled_from(["300ms", "1s"]))
def test_unreachable_server_is_always_exit_3(env, command, timeout):
    run = run_main([*command.split(), "--nats-url", env["closed"], "--timeout", timeout])
    assert_clean(run, allowed=(3,))
    assert run.err.count("error: ") == 1
