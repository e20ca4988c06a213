"""Files mean what natscli means, against a real nats-server: sizes and durations, natscli's JSON."""
import yaml

import probe
from runner import run_cli

GIB = 1024 ** 3


def test_1gb_in_a_file_is_the_1gb_natscli_created(server, tmp_path):
    # `nats stream add --max-bytes 1GB --max-age 1y` sends these numbers (ParseStringAsBytes, fisk.ParseDuration).
    probe.add_stream(server.url, {"name": "SIZED", "subjects": ["sized.>"], "max_bytes": 1073741824,
                                  "max_msg_size": 1024 ** 2, "max_age": 365 * 86400 * 10 ** 9})
    (tmp_path / "sized.yaml").write_text(
        "name: SIZED\nsubjects: [sized.>]\nmax_bytes: 1GB\nmax_msg_size: 1M\nmax_age: 1y\n")
    diff = run_cli("diff", "-f", tmp_path, "--nats-url", server.url, "SIZED")
    assert diff.returncode == 0, diff
    with probe.ApiRecorder(server.url) as recorder:
        init = run_cli("init", "-f", tmp_path, "--nats-url", server.url, "-o", "json", "SIZED")
    assert init.returncode == 0, init
    assert '"action": "unchanged"' in init.stdout
    assert recorder.writes == []
    assert probe.streams(server.url)["SIZED"]["config"]["max_bytes"] == GIB


def test_export_writes_units_only_where_a_person_would(server, tmp_path):
    probe.add_stream(server.url, {"name": "ROUND", "subjects": ["round.>"], "max_bytes": 10_000_000_000,
                                  "max_msg_size": 1536 * 1024, "max_age": 36 * 3600 * 10 ** 9})
    exported = run_cli("export", "--nats-url", server.url, "ROUND")
    assert exported.returncode == 0, exported
    doc = yaml.safe_load(exported.stdout)
    assert (doc["max_bytes"], doc["max_msg_size"], doc["max_age"]) == (10_000_000_000, "1536KiB", "1d12h")
    (tmp_path / "round.yaml").write_text(exported.stdout)
    diff = run_cli("diff", "-f", tmp_path, "--nats-url", server.url, "ROUND")
    assert diff.returncode == 0, diff


# The "Minimal example" for `nats stream add --config stream_with_sources.json` in nats.docs
# (nats-concepts/jetstream/source_and_mirror_example.md), as published: "name" appears twice.
NATS_DOCS_SOURCES_EXAMPLE = """{
  "name": "SOURCE_TARGET",
  "subjects": [
    "foo1.ext.*",
    "foo2.ext.*"
  ],
  "discard": "old",
  "duplicate_window": 120000000000,
  "sources": [
    {
      "name": "SOURCE1_ORIGIN"
    }
  ],
  "deny_delete": false,
  "sealed": false,
  "max_msg_size": -1,
  "allow_rollup_hdrs": false,
  "max_bytes": -1,
  "storage": "file",
  "allow_direct": false,
  "max_age": 0,
  "max_consumers": -1,
  "max_msgs_per_subject": -1,
  "num_replicas": 1,
  "name": "SOURCE_TARGET",
  "deny_purge": false,
  "compression": "none",
  "max_msgs": -1,
  "retention": "limits",
  "mirror_direct": false
}
"""


def test_the_nats_docs_sources_example_round_trips(server, tmp_path):
    files = tmp_path / "streams.d"
    files.mkdir()
    (files / "stream_with_sources.json").write_text(NATS_DOCS_SOURCES_EXAMPLE)
    url = ("--nats-url", server.url)
    init = run_cli("init", "-f", files, *url, "SOURCE_TARGET")
    assert init.returncode == 0, init
    assert "stream_with_sources.json: name: repeated at line 25 (first at line 2)" in init.stderr
    config = probe.streams(server.url)["SOURCE_TARGET"]["config"]
    assert config["subjects"] == ["foo1.ext.*", "foo2.ext.*"] and config["sources"][0]["name"] == "SOURCE1_ORIGIN"
    assert run_cli("diff", "-f", files, *url, "SOURCE_TARGET").returncode == 0
    exported = tmp_path / "exported"
    export = run_cli("export", "-d", exported, *url, "SOURCE_TARGET")
    assert export.returncode == 0, export
    diff = run_cli("diff", "-f", exported, *url, "SOURCE_TARGET")
    assert diff.returncode == 0, diff
