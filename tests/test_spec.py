"""spec/ / schema.py: loading the three file spellings, normalization, names, export."""
import json
import os
from pathlib import Path

import pytest
import yaml

from kubectl_jetstream import schema
from kubectl_jetstream.plan import plan
from kubectl_jetstream.spec.export import document_for
from kubectl_jetstream.spec.load import StreamSpec, load_specs
from kubectl_jetstream.spec.names import name_problem

S = 1_000_000_000
H = 3600 * S
D = 24 * H


def write(folder, name, text):
    path = folder / name
    path.write_text(text if isinstance(text, str) else json.dumps(text, indent=2))
    return path


def load_one(path, warnings=None):
    specs = load_specs([str(path)], warn=(warnings.append if warnings is not None else lambda m: None))
    assert len(specs) == 1
    return specs[0]


without_server_metadata = schema.without_server_metadata
SHIPPED_STREAMS = Path(__file__).resolve().parent.parent / "streams.d"


# --- native files ---------------------------------------------------------------------------------------

NATIVE = """\
name: ORDERS
description: Orders from the shop
subjects: ["orders.new", "orders.paid"]
retention: WorkQueue
storage: File
discard: OLD
num_replicas: 3
max_age: 30d
max_bytes: 1GiB
max_msg_size: 512KiB
max_msgs: 0
duplicate_window: 90s
placement: {cluster: east, tags: [ssd]}
metadata: {owner: shop, _nats.ver: "2.15.1"}
consumer_limits: {inactive_threshold: 1h, max_ack_pending: 100}
consumers:
  - durable_name: billing
    ack_policy: Explicit
    ack_wait: 45s
    backoff: [1s, 5s, 1m]
    max_deliver: 5
    filter_subject: orders.paid
    max_bytes: 1MiB
  - durable_name: audit
    name: audit
    deliver_policy: last-per-subject
    filter_subjects: ["orders.*"]
    pause_until: 2030-01-01T00:00:00Z
"""


def test_native_yaml_is_normalized_to_api_json(tmp_path):
    spec = load_one(write(tmp_path, "orders.yaml", NATIVE))
    assert isinstance(spec, StreamSpec)
    assert spec.name == "ORDERS"
    assert spec.path == str(tmp_path / "orders.yaml")
    assert spec.config == {
        "name": "ORDERS",
        "description": "Orders from the shop",
        "subjects": ["orders.new", "orders.paid"],
        "retention": "workqueue",
        "storage": "file",
        "discard": "old",
        "num_replicas": 3,
        "max_age": 30 * D,
        "max_bytes": 1024 ** 3,
        "max_msg_size": 512 * 1024,
        "max_msgs": -1,                      # 0 is stored as -1 by the server
        "duplicate_window": 90 * S,
        "placement": {"cluster": "east", "tags": ["ssd"]},
        "metadata": {"owner": "shop"},       # _nats.* belongs to the server
        "consumer_limits": {"inactive_threshold": H, "max_ack_pending": 100},
    }
    assert list(spec.config) == ["name", "description", "subjects", "retention", "storage", "discard",
                                 "num_replicas", "max_age", "max_bytes", "max_msg_size", "max_msgs",
                                 "duplicate_window", "placement", "metadata", "consumer_limits"]


@pytest.fixture
def orders(tmp_path):
    return load_one(write(tmp_path, "orders.yaml", NATIVE))


def test_subjects_keep_file_order(orders):
    assert orders.config["subjects"] == ["orders.new", "orders.paid"]


def test_consumers_are_normalized(orders):
    billing, audit = orders.consumers
    assert billing == {"durable_name": "billing", "ack_policy": "explicit", "ack_wait": 45 * S,
                       "backoff": [S, 5 * S, 60 * S], "max_deliver": 5, "filter_subject": "orders.paid",
                       "max_bytes": 1024 ** 2}
    assert audit == {"durable_name": "audit", "name": "audit", "deliver_policy": "last_per_subject",
                     "filter_subjects": ["orders.*"], "pause_until": "2030-01-01T00:00:00Z"}


def test_only_the_keys_the_file_sets(tmp_path):
    spec = load_one(write(tmp_path, "tiny.yaml", "name: TINY\n"))
    assert spec.config == {"name": "TINY"}
    assert spec.consumers == []


def test_native_json_file(tmp_path):
    path = write(tmp_path, "orders.json", {"name": "ORDERS", "subjects": ["orders.>"], "max_age": 3600 * S,
                                           "max_bytes": "10MB", "consumers": [{"durable_name": "c", "ack_wait": "1m"}]})
    spec = load_one(path)
    assert spec.config == {"name": "ORDERS", "subjects": ["orders.>"], "max_age": H, "max_bytes": 10 * 1024 ** 2}  # MB is 1024-based, as in natscli
    assert spec.consumers == [{"durable_name": "c", "ack_wait": 60 * S}]


def test_json_repeated_keys_load_as_go_reads_them_with_a_warning(tmp_path):
    path = write(tmp_path, "s.json", """{
  "name": "FIRST",
  "subjects": ["a.>"],
  "max_age": "1h",
  "placement": {"cluster": "east", "tags": ["ssd"]},
  "sources": [{"name": "X", "filter_subject": "x.a", "filter_subject": "x.b"}],
  "subjects": ["b.>"],
  "placement": {"cluster": "west"},
  "name": "LAST"
}""")
    warnings = []
    spec = load_one(path, warnings)
    # The later value wins; a repeated object merges into the earlier one key by key (Go decodes it into the
    # struct the first one filled).
    assert spec.name == "LAST"
    assert spec.config["subjects"] == ["b.>"]
    assert spec.config["placement"] == {"cluster": "west", "tags": ["ssd"]}
    assert spec.config["sources"] == [{"name": "X", "filter_subject": "x.b"}]
    assert warnings == [
        f"{path}: sources[0].filter_subject: repeated at line 6 (first at line 6); the later value wins, "
        "as natscli reads JSON",
        f"{path}: subjects: repeated at line 7 (first at line 3); the later value wins, as natscli reads JSON",
        f"{path}: placement: repeated at line 8 (first at line 5); the later value wins, as natscli reads JSON",
        f"{path}: name: repeated at line 9 (first at line 2); the later value wins, as natscli reads JSON",
    ]


def test_json_keys_repeated_only_in_different_objects_are_not_repeats(tmp_path):
    doc = {"name": "A", "description": 'has "name": {"x", [1, 2]}, in it',
           "sources": [{"name": "X", "filter_subject": "x"}, {"name": "Y"}], "metadata": {"name": "n"}}
    path = write(tmp_path, "s.json", json.dumps(doc, indent=1)[:-2] + ',\n "name": "A"\n}')
    warnings = []
    assert load_one(path, warnings).config == doc
    assert warnings == [f"{path}: name: repeated at line 16 (first at line 2); the later value wins, "
                        "as natscli reads JSON"]


def test_integral_floats_and_nanosecond_strings(tmp_path):
    spec = load_one(write(tmp_path, "s.json", '{"name": "A", "max_msgs": 1000000.0, "max_age": "3600000000000"}'))
    assert spec.config == {"name": "A", "max_msgs": 1_000_000, "max_age": H}


# --- natscli output -------------------------------------------------------------------------------------

SERVER_CONFIG = {  # as nats-server 2.15.1 returns it for: name, subjects, max_age 7d, max_msgs 100000
    "name": "CONTEXT", "subjects": ["context.>"], "retention": "limits", "max_consumers": -1,
    "max_msgs": 100000, "max_bytes": -1, "max_age": 7 * D, "max_msgs_per_subject": -1, "max_msg_size": -1,
    "discard": "old", "storage": "file", "num_replicas": 1, "duplicate_window": 120 * S,
    "compression": "none", "allow_direct": True, "mirror_direct": False, "sealed": False,
    "deny_delete": False, "deny_purge": False, "allow_rollup_hdrs": False, "consumer_limits": {},
    "allow_msg_ttl": False,
    "metadata": {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"},
}


def test_natscli_stream_info_json(tmp_path):
    info = {
        "config": SERVER_CONFIG,
        "created": "2026-11-26T22:26:47.841612777Z",
        "state": {"messages": 12, "bytes": 3400, "first_seq": 1, "last_seq": 12, "consumer_count": 2},
        "cluster": {"name": "east", "leader": "n1"},
        "ts": "2026-11-26T22:26:47.845076075Z",
    }
    spec = load_one(write(tmp_path, "context.json", info))
    assert spec.name == "CONTEXT"
    assert spec.config == without_server_metadata(SERVER_CONFIG)
    assert "state" not in spec.config and "metadata" not in spec.config


def test_natscli_stream_info_errors_name_the_config_key(tmp_path):
    path = write(tmp_path, "context.json", {"config": {**SERVER_CONFIG, "max_age": "30x"}, "state": {}})
    with pytest.raises(Exception) as raised:
        load_one(path)
    assert f"{path}: config.max_age: invalid duration '30x'" in str(raised.value)


def test_natscli_stream_add_output(tmp_path):
    spec = load_one(write(tmp_path, "context.json", without_server_metadata(SERVER_CONFIG)))
    assert spec.config == without_server_metadata(SERVER_CONFIG)


def test_consumer_info_json_inside_consumers(tmp_path):
    consumer_info = {"stream_name": "CONTEXT", "name": "c", "created": "2026-01-01T00:00:00Z",
                     "config": {"durable_name": "c", "name": "c", "ack_policy": "explicit", "ack_wait": 30 * S},
                     "delivered": {"consumer_seq": 0, "stream_seq": 0}, "num_pending": 0}
    spec = load_one(write(tmp_path, "context.json", {**without_server_metadata(SERVER_CONFIG),
                                                     "consumers": [consumer_info]}))
    assert spec.consumers == [{"durable_name": "c", "name": "c", "ack_policy": "explicit", "ack_wait": 30 * S}]


# --- NACK -----------------------------------------------------------------------------------------------

NACK_STREAM = """\
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata:
  name: orders
  namespace: shop
spec:
  name: ORDERS
  description: orders
  subjects: ["orders.*"]
  storage: file
  retention: interest
  maxAge: 1h30m
  maxMsgs: 1000
  maxBytes: 1073741824
  maxMsgsPerSubject: 10
  replicas: 3
  duplicateWindow: 2m
  denyDelete: true
  allowRollup: true
  allowDirect: true
  discard: new
  discardPerSubject: true
  compression: ""
  firstSequence: 5
  placement: {cluster: east, tags: [ssd]}
  republish: {source: "orders.>", destination: "copy.orders.>", headers_only: true}
  consumerLimits: {inactiveThreshold: 10m, maxAckPending: 50}
  metadata: {team: shop}
  servers: ["nats://nats:4222"]
  creds: /etc/nats/creds
  preventDelete: true
  account: shop
status:
  observedGeneration: 1
"""


def test_nack_stream_maps_to_api_keys(tmp_path):
    warnings = []
    spec = load_one(write(tmp_path, "orders.yaml", NACK_STREAM), warnings)
    assert spec.name == "ORDERS"
    assert spec.config == {
        "name": "ORDERS", "description": "orders", "subjects": ["orders.*"], "storage": "file",
        "retention": "interest", "max_age": 90 * 60 * S, "max_msgs": 1000, "max_bytes": 1024 ** 3,
        "max_msgs_per_subject": 10, "num_replicas": 3, "duplicate_window": 120 * S, "deny_delete": True,
        "allow_rollup_hdrs": True, "allow_direct": True, "discard": "new", "discard_new_per_subject": True,
        "first_seq": 5, "placement": {"cluster": "east", "tags": ["ssd"]},
        "republish": {"src": "orders.>", "dest": "copy.orders.>", "headers_only": True},
        "consumer_limits": {"inactive_threshold": 600 * S, "max_ack_pending": 50},
        "metadata": {"team": "shop"},
    }


def test_nack_connection_fields_are_ignored_with_a_warning(tmp_path):
    warnings = []
    path = write(tmp_path, "orders.yaml", NACK_STREAM)
    load_one(path, warnings)
    assert sorted(warnings) == sorted(
        f"{path}: spec.{key}: ignored (NACK connection setting; kubectl-jetstream connects on its own)"
        for key in ("servers", "creds", "preventDelete", "account"))


def test_nack_sources_mirror_and_transforms(tmp_path):
    text = """\
apiVersion: jetstream.nats.io/v1beta2
kind: Stream
spec:
  name: AGG
  storage: memory
  numReplicas: 1
  subjectTransform: {source: "in.>", dest: "out.>"}
  sources:
    - name: ORDERS
      optStartSeq: 10
      filterSubject: orders.new
      externalApiPrefix: $JS.hub.API
      externalDeliverPrefix: deliver.hub
    - name: REFUNDS
      optStartTime: "2024-05-01T12:00:00Z"
      subjectTransforms: [{source: "refunds.>", dest: "agg.refunds.>"}]
"""
    spec = load_one(write(tmp_path, "agg.yaml", text))
    assert spec.config == {
        "name": "AGG", "storage": "memory", "num_replicas": 1,
        "subject_transform": {"src": "in.>", "dest": "out.>"},
        "sources": [
            {"name": "ORDERS", "opt_start_seq": 10, "filter_subject": "orders.new",
             "external": {"api": "$JS.hub.API", "deliver": "deliver.hub"}},
            {"name": "REFUNDS", "opt_start_time": "2024-05-01T12:00:00Z",
             "subject_transforms": [{"src": "refunds.>", "dest": "agg.refunds.>"}]},
        ],
    }


def test_nack_storage_defaults_to_memory_like_the_crd(tmp_path):
    warnings = []
    path = write(tmp_path, "s.yaml", "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\nspec: {name: S}\n")
    spec = load_one(path, warnings)
    assert spec.config == {"name": "S", "storage": "memory"}
    assert warnings == [f"{path}: spec.storage: not set; NACK's CRD default is memory, "
                        "so this stream uses memory storage"]


def test_nack_connection_settings_are_ignored_with_a_warning(tmp_path):
    warnings = []
    path = write(tmp_path, "mem.yaml", {"apiVersion": "jetstream.nats.io/v1beta2", "kind": "Stream",
                                        "spec": {"name": "S", "storage": "file", "tlsFirst": True}})
    spec = load_one(path, warnings)
    assert (spec.name, spec.config, spec.path) == ("S", {"name": "S", "storage": "file"}, str(path))
    assert warnings == [f"{path}: spec.tlsFirst: ignored (NACK connection setting; kubectl-jetstream connects on its own)"]


# --- folders --------------------------------------------------------------------------------------------

def test_folder_is_read_sorted_non_recursively_and_by_extension(tmp_path):
    write(tmp_path, "b.yml", "name: B\nsubjects: [b]\n")
    write(tmp_path, "a.json", '{"name": "A", "subjects": ["a"]}')
    write(tmp_path, "c.yaml", "name: C\nsubjects: [c]\n")
    write(tmp_path, "notes.txt", "name: IGNORED\n")
    write(tmp_path, "README.md", "# streams")
    write(tmp_path, ".hidden.yaml", "name: HIDDEN\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "d.yaml", "name: D\nsubjects: [d]\n")
    assert [s.name for s in load_specs([str(tmp_path)])] == ["A", "B", "C"]


def test_several_paths_and_the_same_file_twice(tmp_path):
    write(tmp_path, "a.yaml", "name: A\nsubjects: [a]\n")
    other = tmp_path / "other"
    other.mkdir()
    b = write(other, "b.yaml", "name: B\nsubjects: [b]\n")
    specs = load_specs([str(tmp_path), str(b), str(tmp_path / "a.yaml")])
    assert [s.name for s in specs] == ["A", "B"]


def test_shipped_streams():
    specs = load_specs([str(SHIPPED_STREAMS)])
    expected = {
        "PLANNING_EVENTS": ("planning.>", 30 * D, 1_000_000),
        "CONTEXT": ("context.>", 7 * D, 100_000),
        "ORCHESTRATOR_EVENTS": ("orchestration.>", 7 * D, 50_000),
        "AGENT_COMMANDS": ("agent.cmd.>", H, 10_000),
        "AGENT_RESPONSES": ("agent.response.>", H, 10_000),
        "AGENT_WORK": ("agent.work.>", 2 * H, 50_000),
        "WORKFLOW_EVENTS": ("workflow.>", 7 * D, 100_000),
        "task_derivation": ("task.derivation.>", 7 * D, 100_000),
    }
    assert {s.name: (s.config["subjects"], s.config["max_age"], s.config["max_msgs"]) for s in specs} == {
        name: ([subject], age, msgs) for name, (subject, age, msgs) in expected.items()}
    for spec in specs:
        assert os.path.basename(spec.path) == spec.name.lower() + ".yaml"
        assert spec.config["description"]
        assert {k: spec.config[k] for k in ("retention", "storage", "num_replicas", "discard")} == {
            "retention": "limits", "storage": "file", "num_replicas": 1, "discard": "old"}
        assert spec.consumers == []


# --- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, ok", [
    ("ORDERS", True), ("task_derivation", True), ("a-b", True), ("x" * 255, True),
    ("", False), ("a b", False), ("a.b", False), ("a*", False), ("a>", False), ("a/b", False), ("a\\b", False),
    ("a\nb", False), ("x" * 256, False), (None, False), (5, False),
])
def test_name_problem(name, ok):
    assert (name_problem(name) is None) is ok


# --- export ---------------------------------------------------------------------------------------------

SERVER_CONSUMERS = [  # as nats-server 2.15.1 returns them
    {"durable_name": "billing", "name": "billing", "deliver_policy": "all", "ack_policy": "explicit",
     "ack_wait": 30 * S, "max_deliver": -1, "replay_policy": "instant", "max_waiting": 512,
     "max_ack_pending": 1000, "num_replicas": 0, "filter_subject": "context.billing",
     "metadata": {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"}},
    {"durable_name": "push", "name": "push", "deliver_policy": "new", "ack_policy": "none", "max_deliver": -1,
     "replay_policy": "instant", "deliver_subject": "deliver.push", "num_replicas": 0,
     "backoff": [S, 5 * S], "ack_wait": S, "idle_heartbeat": 5 * S, "flow_control": True,
     "metadata": {"_nats.ver": "2.15.1", "team": "ops"}},
]


def test_document_for_drops_defaults_and_uses_human_units():
    doc = document_for(SERVER_CONFIG, SERVER_CONSUMERS)
    assert doc == {
        "name": "CONTEXT",
        "subjects": ["context.>"],
        "max_age": "7d",
        "max_msgs": 100000,
        "allow_direct": True,
        "consumers": [
            {"durable_name": "billing", "ack_policy": "explicit", "filter_subject": "context.billing"},
            {"durable_name": "push", "deliver_policy": "new", "backoff": ["1s", "5s"],
             "deliver_subject": "deliver.push", "flow_control": True, "idle_heartbeat": "5s",
             "metadata": {"team": "ops"}},
        ],
    }


def test_document_for_key_order():
    config = {**SERVER_CONFIG, "description": "ctx", "max_bytes": 1024 ** 3, "num_replicas": 3,
              "storage": "memory", "deny_delete": True, "metadata": {"team": "ai", "_nats.ver": "2.15.1"}}
    assert list(document_for(config, [])) == ["name", "description", "subjects", "storage", "num_replicas",
                                              "max_age", "max_msgs", "max_bytes", "allow_direct",
                                              "deny_delete", "metadata"]
    assert document_for(config, [])["max_bytes"] == "1GiB"


def test_document_for_keeps_values_that_differ_from_context_defaults():
    # duplicate_window defaults to max_age when that is under 2m; 2m is then a real setting.
    short = {**SERVER_CONFIG, "max_age": 60 * S, "duplicate_window": 60 * S}
    assert "duplicate_window" not in document_for(short, [])
    longer = {**SERVER_CONFIG, "max_age": 7 * D, "duplicate_window": 10 * 60 * S}
    assert document_for(longer, [])["duplicate_window"] == "10m"
    # A stream whose only subject is its name: the server's default subject.
    assert "subjects" not in document_for({**SERVER_CONFIG, "subjects": ["CONTEXT"]}, [])


def stream_filled(config):
    """`config` with the server's defaults for the keys it leaves out."""
    return {**schema.stream_defaults(config), **config}


def consumer_filled(config, stream_config):
    return {**schema.consumer_defaults(config, stream_config), **config}


def planned_changes(spec, server_config, server_consumers=()):
    """What `diff` and `init` would change to make the server's configs match `spec` (nothing: in sync)."""
    current = {spec.name: {"config": server_config, "state": {},
                           "consumers": {c["durable_name"]: c for c in server_consumers}}}
    return [(a.target, a.action, [str(c) for c in a.changes]) for a in plan([spec], current)
            if a.action != "unchanged"]


def as_spec(config, consumers=()):
    return StreamSpec(name=config["name"], config=dict(config), consumers=list(consumers), path="streams.d/x.yaml")


def round_trip(tmp_path, config, consumers):
    """document_for -> YAML file -> load_specs; returns the loaded spec."""
    path = tmp_path / (config["name"].lower() + ".yaml")
    path.write_text(yaml.safe_dump(document_for(config, consumers), sort_keys=False))
    return load_one(path)


def test_document_for_round_trip(tmp_path):
    spec = round_trip(tmp_path, SERVER_CONFIG, SERVER_CONSUMERS)
    assert spec.config == {"name": "CONTEXT", "subjects": ["context.>"], "max_age": 7 * D, "max_msgs": 100000,
                           "allow_direct": True}
    assert [c["durable_name"] for c in spec.consumers] == ["billing", "push"]
    assert planned_changes(spec, SERVER_CONFIG, SERVER_CONSUMERS) == []


def test_document_for_round_trip_of_a_rich_config(tmp_path):
    config = {
        "name": "RICH", "description": "everything", "subjects": ["rich.*", "more.>"], "retention": "interest",
        "max_consumers": 10, "max_msgs": 5, "max_bytes": 1000, "max_age": 90 * S, "max_msgs_per_subject": 3,
        "max_msg_size": 4096, "discard": "new", "storage": "memory", "num_replicas": 3, "no_ack": False,
        "duplicate_window": 30 * S, "placement": {"cluster": "c1", "tags": ["a", "b"]},
        "compression": "s2", "first_seq": 7, "subject_transform": {"src": "rich.*", "dest": "rich.x.{{wildcard(1)}}"},
        "republish": {"src": "rich.>", "dest": "re.>", "headers_only": True}, "allow_direct": True,
        "discard_new_per_subject": True, "deny_delete": True, "deny_purge": False,
        "consumer_limits": {"inactive_threshold": 3600 * S, "max_ack_pending": 20},
        "allow_msg_ttl": True, "subject_delete_marker_ttl": 5 * 60 * S, "allow_rollup_hdrs": True,
        "metadata": {"a": "1"},
    }
    consumers = [{"durable_name": "w", "ack_policy": "all", "ack_wait": 45 * S, "max_ack_pending": 20,
                  "inactive_threshold": 60 * S, "opt_start_seq": 3, "deliver_policy": "by_start_sequence",
                  "max_bytes": 2048, "max_expires": 30 * S, "priority_groups": ["g"],
                  "priority_policy": "pinned_client", "priority_timeout": 120 * S}]
    spec = round_trip(tmp_path, config, consumers)
    assert stream_filled(spec.config) == stream_filled(config)
    assert consumer_filled(spec.consumers[0], spec.config) == consumer_filled(consumers[0], config)
    # Neither left out anything that was not a default:
    assert "priority_timeout" not in spec.consumers[0]          # 2m is the pinned_client default
    assert spec.config["subject_delete_marker_ttl"] == 5 * 60 * S
    assert "allow_msg_ttl" not in spec.config                   # implied by subject_delete_marker_ttl


def test_export_of_shipped_streams_round_trips(tmp_path):
    for shipped in load_specs([str(SHIPPED_STREAMS)]):
        server_view = stream_filled(shipped.config)
        spec = round_trip(tmp_path, server_view, [])
        assert stream_filled(spec.config) == server_view
        defaults = {"retention", "storage", "num_replicas", "discard"}  # as the server's defaults: left out
        assert spec.config == {k: v for k, v in shipped.config.items() if k not in defaults}


# --- schema ---------------------------------------------------------------------------------------------

def test_schema_knows_the_keys_of_2_10_through_2_15():
    assert {"allow_msg_ttl", "subject_delete_marker_ttl", "allow_msg_counter", "allow_atomic",
            "allow_msg_schedules", "persist_mode", "allow_batched", "template_owner"} <= set(schema.STREAM_FIELDS)
    assert {"pause_until", "priority_groups", "priority_policy", "priority_timeout", "sourcing"} <= set(schema.CONSUMER_FIELDS)
    assert schema.STREAM_FIELDS["retention"].values == ("limits", "interest", "workqueue")
    assert schema.CONSUMER_FIELDS["deliver_policy"].values == (
        "all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject")
    assert schema.field_at(schema.STREAM_FIELDS, "sources.external.api").kind == schema.STRING
    assert schema.field_at(schema.STREAM_FIELDS, "consumer_limits.inactive_threshold").kind == schema.DURATION
    assert set(schema.STREAM_DEFAULTS) <= set(schema.STREAM_FIELDS)
    assert set(schema.CONSUMER_DEFAULTS) <= set(schema.CONSUMER_FIELDS)


def test_consumer_defaults_depend_on_the_consumer():
    pull = schema.consumer_defaults({"durable_name": "p", "ack_policy": "explicit"})
    assert (pull["max_waiting"], pull["ack_wait"], pull["max_ack_pending"], pull["name"]) == (512, 30 * S, 1000, "p")
    push = schema.consumer_defaults({"durable_name": "q", "deliver_subject": "x"})
    assert (push["max_waiting"], push["ack_wait"], push["max_ack_pending"]) == (0, 0, 0)
    limited = schema.consumer_defaults({"ack_policy": "explicit"}, {"consumer_limits": {"max_ack_pending": 50}})
    assert limited["max_ack_pending"] == 50


# --- the defaults against a real server -----------------------------------------------------------------

STREAMS_TO_CREATE = [
    {"name": "MIN", "subjects": ["min.>"]},
    {"name": "NOSUBJ"},
    {"name": "SHORT", "subjects": ["short"], "max_age": 60 * S},
    {"name": "MIRROR", "mirror": {"name": "MIN"}},
    {"name": "SOURCED", "sources": [{"name": "MIN"}]},
    {"name": "MARKERS", "subjects": ["markers"], "subject_delete_marker_ttl": 5 * S},
    {"name": "SCHED", "subjects": ["sched"], "allow_msg_schedules": True},
    {"name": "WQ", "subjects": ["wq"], "retention": "workqueue", "consumer_limits": {"max_ack_pending": 50}},
]
CONSUMERS_TO_CREATE = [
    ("MIN", {"durable_name": "pull"}),
    ("MIN", {"durable_name": "pullx", "ack_policy": "explicit"}),
    ("MIN", {"durable_name": "all", "ack_policy": "all"}),
    ("MIN", {"durable_name": "push", "deliver_subject": "dlv.push"}),
    ("MIN", {"durable_name": "pushx", "deliver_subject": "dlv.pushx", "ack_policy": "explicit"}),
    ("MIN", {"durable_name": "pin", "ack_policy": "explicit", "priority_policy": "pinned_client", "priority_groups": ["g"]}),
    ("MIN", {"durable_name": "bo", "ack_policy": "explicit", "backoff": [S, 5 * S], "max_deliver": 3}),
    ("WQ", {"durable_name": "w", "ack_policy": "explicit"}),
]


_GO_ZERO = {schema.STRING: "", schema.BOOL: False, schema.INT: 0, schema.DURATION: 0, schema.SIZE: 0,
            schema.STRINGS: [], schema.DURATIONS: [], schema.MAP: {}, schema.OBJECT: {}, schema.OBJECTS: [],
            schema.TIME: None}
_ENUM_ZERO = {"persist_mode": "default", "priority_policy": "none"}  # enums the server leaves out at zero


def as_server_wrote(got, fields, keys):
    """The server's value for each of `keys`: what it wrote, or the zero value it left out (omitempty)."""
    got = schema.without_server_metadata(got)
    return {k: got[k] if k in got else _ENUM_ZERO.get(k, _GO_ZERO.get(fields[k].kind)) for k in keys}


def test_defaults_match_a_real_server(nats_server):
    import probe
    created = {}
    for config in STREAMS_TO_CREATE:
        created[config["name"]] = got = probe.add_stream(nats_server.url, config)["config"]
        filled = stream_filled(config)
        assert filled == as_server_wrote(got, schema.STREAM_FIELDS, filled), config["name"]
        assert planned_changes(as_spec(config), got) == [], config["name"]
    requested = {c["name"]: c for c in STREAMS_TO_CREATE}
    for stream, consumer in CONSUMERS_TO_CREATE:
        got = probe.add_consumer(nats_server.url, stream, consumer)["config"]
        filled = consumer_filled(consumer, created[stream])
        assert filled == as_server_wrote(got, schema.CONSUMER_FIELDS, filled), consumer["durable_name"]
        changes = planned_changes(as_spec(requested[stream], [consumer]), created[stream], [got])
        assert changes == [], consumer["durable_name"]


def test_exported_server_configs_round_trip_with_a_real_server(nats_server, tmp_path):
    import probe
    for spec in load_specs([str(SHIPPED_STREAMS)]):
        probe.add_stream(nats_server.url, spec.config)
    probe.add_consumer(nats_server.url, "CONTEXT", {"durable_name": "c", "ack_policy": "explicit",
                                                    "filter_subject": "context.x"})
    for name, info in probe.streams(nats_server.url).items():
        consumers = list(probe.consumers(nats_server.url, name).values())
        spec = round_trip(tmp_path, info["config"], consumers)
        assert planned_changes(spec, info["config"], consumers) == [], name


# --- odds and ends --------------------------------------------------------------------------------------

def test_server_managed_keys_are_ignored_with_a_warning(tmp_path):
    warnings = []
    path = write(tmp_path, "s.json", {"config": {"name": "T", "subjects": ["t"], "template_owner": "TPL"},
                                      "consumers": [{"durable_name": "c", "direct": True, "sourcing": False}]})
    spec = load_one(path, warnings)
    assert spec.config == {"name": "T", "subjects": ["t"]}
    assert spec.consumers == [{"durable_name": "c"}]
    assert warnings == [f"{path}: config.template_owner: ignored (set by the server, not by definitions)",
                        f"{path}: consumers[0].direct: ignored (only the server sets it)"]


def test_one_path_as_a_string(tmp_path):
    path = write(tmp_path, "s.yaml", "name: ONE\n")
    assert [s.name for s in load_specs(str(path))] == ["ONE"]


def test_enum_spellings_people_use(tmp_path):
    spec = load_one(write(tmp_path, "s.yaml", "name: E\nretention: Interest\nstorage: MEMORY\ncompression: S2\n"
                                              "consumers: [{durable_name: c, deliver_policy: by-start-sequence,"
                                              " opt_start_seq: 5, replay_policy: Original}]\n"))
    assert (spec.config["retention"], spec.config["storage"], spec.config["compression"]) == ("interest", "memory", "s2")
    assert spec.consumers[0]["deliver_policy"] == "by_start_sequence"
    assert spec.consumers[0]["replay_policy"] == "original"


def test_unquoted_yaml_timestamp_becomes_rfc3339(tmp_path):
    spec = load_one(write(tmp_path, "s.yaml", "name: T\nsources:\n  - name: O\n    opt_start_time: 2024-05-01 12:30:00\n"))
    assert spec.config["sources"] == [{"name": "O", "opt_start_time": "2024-05-01T12:30:00Z"}]


# --- JetStream domains ----------------------------------------------------------------------------------

def test_js_domain_rule(tmp_path):
    from kubectl_jetstream.errors import DefinitionErrors
    from kubectl_jetstream.spec.rules import js_domain

    leaf = StreamSpec("A", {"name": "A"}, path="a.yaml", js_domain="leaf")
    leaf2 = StreamSpec("B", {"name": "B"}, path="b.yaml", js_domain="leaf")
    hub = StreamSpec("C", {"name": "C"}, path="c.yaml", js_domain="hub")
    plain = StreamSpec("D", {"name": "D"}, path="d.yaml")
    assert js_domain([]) is None and js_domain([plain]) is None
    assert js_domain([plain], "hub") == "hub"           # a file that names none goes where the flag says
    assert js_domain([leaf, leaf2]) == "leaf"
    assert js_domain([leaf, plain], "leaf") == "leaf"
    for specs, given in (([leaf, hub], None), ([leaf, plain], None), ([leaf], "hub")):
        with pytest.raises(DefinitionErrors) as raised:
            js_domain(specs, given)
        assert {e.path for e in raised.value.errors} <= {"a.yaml", "c.yaml", "d.yaml"}


def test_nack_js_domain_is_kept_and_checked(tmp_path):
    doc = {"apiVersion": "jetstream.nats.io/v1beta2", "kind": "Stream",
           "spec": {"name": "S", "storage": "file", "jsDomain": "leaf"}}
    warnings = []
    assert load_one(write(tmp_path, "s.json", doc), warnings).js_domain == "leaf"
    assert warnings == []
    doc["spec"]["jsDomain"] = "a b"
    with pytest.raises(Exception, match=r"spec.jsDomain: invalid JetStream domain 'a b'"):
        load_one(write(tmp_path, "s.json", doc))
