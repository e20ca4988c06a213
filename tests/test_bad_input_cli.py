"""Bad streams.d input through the CLI: `init` exits 2 naming the file and the key, sends no write request
and leaves the server empty, and never prints a traceback — for every kind of broken input.

(tests/test_bad_input.py checks the same problems at the spec.load_specs level; this is the user's view:
subprocess, real nats-server, ApiRecorder.)
"""
import json
import os
import resource
import time

import pytest

import probe
from runner import run_cli, spawn_cli
from test_bad_input import alias_bomb, merge_key_bomb

GOOD = "name: GOOD\nsubjects: [good.>]\n"
NACK = "apiVersion: jetstream.nats.io/v1beta2\nkind: {kind}\nmetadata:\n  name: orders\nspec:\n  name: ORDERS\n" \
       "  subjects: [orders.>]\n"


def folder_named_yaml(folder):
    (folder / "nested.yaml").mkdir()


def symlink_loop(folder):
    os.symlink(folder / "loop-b.yaml", folder / "loop-a.yaml")
    os.symlink(folder / "loop-a.yaml", folder / "loop-b.yaml")


# id: (files {name: text | bytes | callable(folder)}, what must be named in stderr besides the file)
CASES = {
    "yaml-syntax-error": ({"s.yaml": "name: S\nsubjects: [s.>\nmax_age: 1h\n"}, ["line"]),
    "several-documents": ({"s.yaml": "name: A\nsubjects: [a.>]\n---\nname: B\nsubjects: [b.>]\nmax_age: 30x\n"}, ["document 2", "max_age"]),
    "top-level-list": ({"s.yaml": "- name: S\n- subjects: [s.>]\n"}, ["mapping"]),
    "top-level-scalar": ({"s.yaml": "just a string\n"}, ["mapping"]),
    "non-utf8": ({"s.yaml": b"name: S\ndescription: caf\xe9\nsubjects: [s.>]\n"}, ["UTF-8"]),
    "binary": ({"s.yaml": bytes(range(256)) * 4}, []),
    "unknown-key": ({"s.yaml": "name: S\nsubjects: [s.>]\nmax_mesgs: 5\n"}, ["max_mesgs", "max_msgs"]),
    "unknown-consumer-key": ({"s.yaml": "name: S\nsubjects: [s.>]\nconsumers:\n  - durable_name: c\n"
                                        "    ack_polcy: explicit\n"}, ["ack_polcy", "ack_policy"]),
    "wrong-type": ({"s.yaml": "name: S\nsubjects: [s.>]\nmax_msgs: lots\n"}, ["max_msgs"]),
    "negative-size": ({"s.yaml": "name: S\nsubjects: [s.>]\nmax_bytes: -5MiB\n"}, ["max_bytes"]),
    "garbage-size": ({"s.yaml": "name: S\nsubjects: [s.>]\nmax_bytes: 10QB\n"}, ["max_bytes"]),
    "bad-duration": ({"s.yaml": "name: S\nsubjects: [s.>]\nmax_age: 30x\n"}, ["max_age"]),
    "name-with-space": ({"s.yaml": "name: 'BAD NAME'\nsubjects: [s.>]\n"}, ["name"]),
    "name-with-dot": ({"s.yaml": "name: BAD.NAME\nsubjects: [s.>]\n"}, ["name"]),
    "name-with-star": ({"s.yaml": "name: 'BAD*'\nsubjects: [s.>]\n"}, ["name"]),
    "name-with-gt": ({"s.yaml": "name: 'BAD>'\nsubjects: [s.>]\n"}, ["name"]),
    "duplicate-names": ({"a.yaml": "name: SAME\nsubjects: [a.>]\n", "b.yaml": "name: SAME\nsubjects: [b.>]\n"},
                        ["SAME", "a.yaml"]),
    "overlapping-subjects": ({"a.yaml": "name: A\nsubjects: [orders.>]\n",
                              "b.yaml": "name: B\nsubjects: [orders.created]\n"}, ["subjects", "orders"]),
    "subjects-not-a-list": ({"s.yaml": "name: S\nsubjects: {a: b}\n"}, ["subjects"]),
    "subjects-not-strings": ({"s.yaml": "name: S\nsubjects: [1, [x]]\n"}, ["subjects"]),
    "consumer-without-durable": ({"s.yaml": "name: S\nsubjects: [s.>]\nconsumers:\n  - ack_policy: explicit\n"},
                                 ["durable_name"]),
    "consumer-filter-outside-stream": ({"s.yaml": "name: S\nsubjects: [s.>]\nconsumers:\n  - durable_name: c\n"
                                                  "    filter_subject: other.x\n"}, ["filter_subject"]),
    "retention-value": ({"s.yaml": "name: S\nsubjects: [s.>]\nretention: forever\n"}, ["retention"]),
    "num-replicas-over-5": ({"s.yaml": "name: S\nsubjects: [s.>]\nnum_replicas: 7\n"}, ["num_replicas"]),
    "nack-wrong-kind": ({"s.yaml": NACK.format(kind="Account")}, ["kind"]),
    "nack-misspelled-kind": ({"s.yaml": NACK.format(kind="Strem")}, ["kind"]),
    "json-syntax-error": ({"s.json": '{"name": "S",\n "subjects": ["s.>"],,\n}'}, ["line"]),
    "over-1-MiB": ({"s.yaml": GOOD + "# " + "x" * (1024 * 1024) + "\n"}, ["MiB"]),
    "symlink-loop": ({"good.yaml": GOOD, "loop": symlink_loop}, ["loop-"]),
    "folder-named-yaml": ({"good.yaml": GOOD, "nested": folder_named_yaml}, ["nested.yaml", "folder"]),
    "deep-yaml": ({"s.yaml": "name: S\nsubjects: [s.>]\nmetadata: " + "[" * 5000 + "]" * 5000 + "\n"},
                  ["metadata", "nested more than 32 levels"]),
    "deep-json": ({"s.json": '{"name": "S", "metadata": ' + "[" * 5000 + "]" * 5000 + "}"},
                  ["metadata", "nested more than 32 levels"]),
    "nack-api-version": ({"s.yaml": NACK.replace("v1beta2", "v1").format(kind="Stream")},
                         ["apiVersion", "jetstream.nats.io/v1'"]),
    "name-over-255-bytes": ({"s.yaml": f"name: {'é' * 128}\nsubjects: [s.>]\n"}, ["name", "256 bytes"]),
    "durable-over-255-bytes": ({"s.yaml": f"name: S\nsubjects: [s.>]\nconsumers: [{{durable_name: {'é' * 128}}}]\n"},
                               ["consumers[0].durable_name", "256 bytes"]),
    "jetstream-api-subject": ({"s.yaml": "name: S\nsubjects: [$JS.API.>]\n"}, ["subjects[0]", "$JS.>"]),
    "system-subject": ({"s.yaml": "name: S\nsubjects: [$SYS.>]\n"}, ["subjects[0]", "$SYS.>"]),
    "capture-all-subject": ({"s.yaml": "name: S\nsubjects: ['>']\n"}, ["subjects[0]", "no_ack"]),
}


def materialize(folder, files):
    folder.mkdir()
    for name, content in files.items():
        if callable(content):
            content(folder)
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)


def assert_refused_untouched(server, result, recorder, *named):
    assert result.returncode == 2, result
    assert "Traceback" not in result.output
    for text in named:
        assert text in result.stderr, (text, result)
    assert all(line.startswith(("error: ", "warning: ")) for line in result.stderr.splitlines()), result.stderr
    assert recorder.writes == [], recorder.writes
    assert probe.streams(server.url) == {}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_definition_is_refused_with_the_file_and_key_and_nothing_changes(server, tmp_path, case):
    files, named = CASES[case]
    folder = tmp_path / "streams.d"
    materialize(folder, files)
    file_named = sorted(n for n, c in files.items() if not callable(c) and n != "good.yaml")
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "-f", folder, "--nats-url", server.url)
    assert_refused_untouched(server, result, recorder, *named, *(file_named[:1]))


def test_every_problem_is_reported_at_once(server, tmp_path):
    folder = tmp_path / "streams.d"
    materialize(folder, {"a.yaml": "name: A\nsubjects: [a.>]\nmax_age: 30x\n",
                         "b.yaml": "name: B\nsubjects: [b.>]\nmax_msgs: lots\n", "c.yaml": GOOD})
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "-f", folder, "--nats-url", server.url)
    assert_refused_untouched(server, result, recorder, "a.yaml", "max_age", "b.yaml", "max_msgs")


def test_empty_folder(server, tmp_path):
    folder = tmp_path / "streams.d"
    materialize(folder, {"README.md": "not a stream"})
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "-f", folder, "--nats-url", server.url)
    assert_refused_untouched(server, result, recorder, str(folder))


def test_missing_path(server, tmp_path):
    missing = tmp_path / "nope.d"
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "-f", missing, "--nats-url", server.url)
    assert_refused_untouched(server, result, recorder, str(missing))


def test_default_streams_d_missing(server, tmp_path):
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "--nats-url", server.url, cwd=tmp_path)
    assert_refused_untouched(server, result, recorder, "streams.d")


@pytest.mark.parametrize("command", [("diff",), ("recreate", "--all", "--yes"), ("purge", "--all", "--yes"),
                                     ("delete", "--all", "--yes"), ("init", "--prune", "--yes")],
                         ids=lambda c: " ".join(c))
def test_other_commands_that_read_streams_d_refuse_it_too(server, tmp_path, command):
    probe.add_stream(server.url, {"name": "KEEP", "subjects": ["keep.>"]})
    probe.publish(server.url, "keep.x", 2)
    folder = tmp_path / "streams.d"
    materialize(folder, {"s.yaml": "name: KEEP\nsubjects: [keep.>]\nmax_age: 30x\n"})
    try:
        with probe.ApiRecorder(server.url) as recorder:
            result = run_cli(*command, "-f", folder, "--nats-url", server.url)
        assert result.returncode == 2, result
        assert "s.yaml" in result.stderr and "max_age" in result.stderr and "Traceback" not in result.output
        assert recorder.writes == []
        assert probe.message_counts(server.url) == {"KEEP": 2}
    finally:
        probe.api(server.url, "STREAM.DELETE.KEEP")


@pytest.mark.parametrize("argv, named", [
    (("--timeout", "soon"), "--timeout"),
    (("--timeout", "-5s"), "--timeout"),
    (("--wait", "forever"), "--wait"),
    (("-o", "xml"), "-o"),
    (("--tls-ca", "/nonexistent/ca.pem"), "--tls-ca"),
    (("--creds", "/nonexistent/user.creds"), "--creds"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_bad_flags_are_usage_errors_before_any_write(server, tmp_path, argv, named):
    folder = tmp_path / "streams.d"
    materialize(folder, {"good.yaml": GOOD})
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("init", "-f", folder, "--nats-url", server.url, *argv)
    assert result.returncode == 2, result
    assert named in result.stderr and "Traceback" not in result.output
    assert recorder.writes == [] and probe.streams(server.url) == {}


def test_json_and_yaml_problems_name_the_line(server, tmp_path):
    folder = tmp_path / "streams.d"
    materialize(folder, {"s.yaml": "name: S\nsubjects:\n  - s.>\n  bad: [\n"})
    result = run_cli("init", "-f", folder, "--nats-url", server.url)
    assert result.returncode == 2 and "line 4" in result.stderr, result
    folder2 = tmp_path / "json.d"
    materialize(folder2, {"s.json": json.dumps({"name": "S"})[:-1] + ',\n"subjects": }\n'})
    result = run_cli("init", "-f", folder2, "--nats-url", server.url)
    assert result.returncode == 2 and "line 2" in result.stderr, result


@pytest.mark.parametrize("bomb, key", [(alias_bomb, "metadata"), (merge_key_bomb, "x5")], ids=["aliases", "merge-keys"])
def test_alias_bomb_is_refused_quickly_in_little_memory(server, tmp_path, bomb, key):
    """A 500-byte "billion laughs" file: exit 2 naming it (and the other file's problem) instead of hanging
    with gigabytes. The address-space limit only protects the machine; the measure is the child's peak RSS."""
    folder = tmp_path / "streams.d"
    materialize(folder, {"bomb.yaml": bomb(), "other.yaml": "name: OTHER\nsubjects: [o.>]\nmax_age: 30x\n"})
    assert os.path.getsize(folder / "bomb.yaml") < 600

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr, probe.ApiRecorder(server.url) as recorder:
        proc = spawn_cli("init", "-f", folder, "--nats-url", server.url, stdout=stdout, stderr=stderr,
                         preexec_fn=limit_memory)
        deadline = time.monotonic() + 20  # a hang catcher, not a speed measure
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not pid:
            proc.kill()
            proc.wait()
            raise AssertionError(f"still running after 20 s: {err.read_text()[-500:]}")
        proc.returncode = os.waitstatus_to_exitcode(status)
    stderr_text = err.read_text()
    assert proc.returncode == 2, stderr_text
    assert f"bomb.yaml: {key}: YAML aliases expand" in stderr_text
    assert "other.yaml: max_age" in stderr_text and "Traceback" not in stderr_text
    assert usage.ru_maxrss < 200 * 1024, f"peak RSS {usage.ru_maxrss} KiB"  # Linux: KiB
    assert recorder.writes == [] and probe.streams(server.url) == {}
