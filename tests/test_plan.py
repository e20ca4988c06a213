"""kubectl_jetstream/plan/: desired (files) vs actual (server) -> actions. Pure: no server, no files.

Server configs below are what nats-server 2.15.1 really returns (captured with tests/probe.py); the
companion tests/test_plan_server.py proves the same rules against a live server.
"""
import copy

import pytest

from kubectl_jetstream.plan import Action, Change, message_loss, plan, unmanaged
from kubectl_jetstream.plan.compare import known_keys
from kubectl_jetstream.plan.loss import consumer_deletion_loss
from kubectl_jetstream.spec.load import StreamSpec

S = 1_000_000_000
MIN = 60 * S
DAY = 86400 * S
SERVER_META = {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"}


def spec(name, consumers=(), **config):
    return StreamSpec(name=name, config=dict(config, name=name), consumers=list(consumers),
                      path=f"streams.d/{name}.yaml")


def server_stream(name, **overrides):
    """What 2.15.1 returns for STREAM.CREATE {"name": name} (then `overrides` applied; None removes)."""
    cfg = {
        "name": name, "subjects": [name], "retention": "limits", "max_consumers": -1, "max_msgs": -1,
        "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": -1, "max_msg_size": -1, "discard": "old",
        "storage": "file", "num_replicas": 1, "duplicate_window": 2 * MIN, "compression": "none",
        "allow_direct": False, "mirror_direct": False, "sealed": False, "deny_delete": False,
        "deny_purge": False, "allow_rollup_hdrs": False, "consumer_limits": {}, "allow_msg_ttl": False,
        "metadata": dict(SERVER_META),
    }
    return with_overrides(cfg, overrides)


def server_consumer(name, **overrides):
    """What 2.15.1 returns for a pull consumer created with {"durable_name": name}."""
    cfg = {"durable_name": name, "name": name, "deliver_policy": "all", "ack_policy": "none",
           "max_deliver": -1, "replay_policy": "instant", "max_waiting": 512, "num_replicas": 0,
           "metadata": dict(SERVER_META)}
    return with_overrides(cfg, overrides)


def with_overrides(cfg, overrides):
    """cfg with overrides applied; an override of None removes the key."""
    for key, value in overrides.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return cfg


def explicit_consumer(name, **overrides):
    return server_consumer(name, **{"ack_policy": "explicit", "ack_wait": 30 * S, "max_ack_pending": 1000,
                                    **overrides})


def push_consumer(name, **overrides):
    return server_consumer(name, deliver_subject=f"deliver.{name}", max_waiting=None, **overrides)


def server(*streams):
    """{name: ServerStream} from (config, {durable: consumer config}) pairs or bare configs."""
    out = {}
    for item in streams:
        cfg, consumers = item if isinstance(item, tuple) else (item, {})
        out[cfg["name"]] = {"config": cfg, "state": {"messages": 0}, "consumers": consumers}
    return out


def only(actions, stream=None, consumer=None):
    found = [a for a in actions if (stream is None or a.stream == stream) and a.consumer == consumer]
    assert len(found) == 1, actions
    return found[0]


def fields(action):
    return [c.field for c in action.changes]


# -- create / unchanged ---------------------------------------------------------------------------------
def test_create_stream_and_its_consumers_in_order():
    specs = [spec("ORDERS", [{"durable_name": "worker", "ack_policy": "explicit"}, {"durable_name": "audit"}],
                  subjects=["orders.>"], max_age=7 * DAY)]
    actions = plan(specs, {})
    assert [(a.stream, a.consumer, a.action) for a in actions] == [
        ("ORDERS", None, "create"), ("ORDERS", "worker", "create"), ("ORDERS", "audit", "create")]
    stream = actions[0]
    # The file's keys; the server fills in the rest (like `nats stream add --config`).
    assert stream.config == {"name": "ORDERS", "subjects": ["orders.>"], "max_age": 7 * DAY}
    assert [str(c) for c in stream.changes] == ["subjects: (unset) → [orders.>]", "max_age: (unset) → 7d"]
    assert actions[1].config == {"durable_name": "worker", "ack_policy": "explicit"}
    assert actions[1].reason == ""


def test_in_sync_server_is_all_unchanged():
    specs = [spec("ORDERS", [{"durable_name": "worker", "ack_policy": "explicit"}, {"durable_name": "pull"}],
                  subjects=["orders.>"], max_age=7 * DAY)]
    srv = server((server_stream("ORDERS", subjects=["orders.>"], max_age=7 * DAY),
                  {"worker": explicit_consumer("worker"), "pull": server_consumer("pull")}))
    actions = plan(specs, srv)
    assert [a.action for a in actions] == ["unchanged"] * 3
    assert all(a.changes == [] and a.config is None for a in actions)


def test_default_subjects_is_the_stream_name():
    assert only(plan([spec("ORDERS")], server(server_stream("ORDERS")))).action == "unchanged"
    action = only(plan([spec("ORDERS")], server(server_stream("ORDERS", subjects=["x.>"]))))
    assert action.action == "update"
    assert [str(c) for c in action.changes] == ["subjects: [x.>] → [ORDERS]"]


def test_subject_order_is_ignored_but_the_files_order_is_sent():
    srv = server(server_stream("S", subjects=["b.>", "a.>"]))
    assert only(plan([spec("S", subjects=["a.>", "b.>"])], srv)).action == "unchanged"
    action = only(plan([spec("S", subjects=["a.>", "b.>", "c.>"])], srv))
    assert action.action == "update"
    assert [str(c) for c in action.changes] == ["subjects: [b.>, a.>] → [a.>, b.>, c.>]"]
    assert action.config["subjects"] == ["a.>", "b.>", "c.>"]


def test_server_metadata_keys_are_ignored():
    srv = server(server_stream("S", metadata=dict(SERVER_META, owner="team-a")))
    assert only(plan([spec("S", metadata={"owner": "team-a"})], srv)).action == "unchanged"
    # Only _nats.* on the server and no metadata in the file: in sync.
    assert only(plan([spec("S")], server(server_stream("S")))).action == "unchanged"
    action = only(plan([spec("S", metadata={"owner": "team-b"})], srv))
    assert [str(c) for c in action.changes] == ["metadata.owner: team-a → team-b"]
    # The file's metadata is sent without _nats.* keys: the server writes those itself.
    assert action.config["metadata"] == {"owner": "team-b"}


def test_file_metadata_with_server_keys_is_not_a_difference():
    srv = server(server_stream("S", metadata=dict(SERVER_META, owner="a")))
    action = only(plan([spec("S", metadata={"owner": "a", "_nats.ver": "2.10.0"})], srv))
    assert action.action == "unchanged"


def test_explicit_defaults_equal_server_defaults():
    specs = [spec("S", retention="limits", max_consumers=-1, max_msgs=-1, max_bytes=-1, max_age=0,
                  max_msgs_per_subject=-1, max_msg_size=-1, discard="old", storage="file", num_replicas=1,
                  duplicate_window=2 * MIN, compression="none", allow_direct=False, sealed=False,
                  deny_delete=False, deny_purge=False, allow_rollup_hdrs=False, consumer_limits={},
                  allow_msg_ttl=False, description="", metadata={}, first_seq=0, no_ack=False,
                  allow_msg_counter=False, allow_atomic=False, persist_mode="default")]
    assert only(plan(specs, server(server_stream("S")))).action == "unchanged"


def test_zero_limits_mean_unlimited_like_the_server():
    # nats-server turns max_msgs: 0 into -1, num_replicas 0 into 1, duplicate_window 0 into 2m.
    specs = [spec("S", max_msgs=0, max_bytes=0, num_replicas=0, duplicate_window=0, max_consumers=0)]
    assert only(plan(specs, server(server_stream("S")))).action == "unchanged"


def test_empty_and_missing_are_equal():
    srv = server(server_stream("S", consumer_limits=None, placement={}, description=""))
    assert only(plan([spec("S", consumer_limits={}, placement={"tags": []})], srv)).action == "unchanged"


def test_unknown_server_keys_are_ignored_and_kept_in_updates():
    srv = server(server_stream("S", some_future_key={"x": 1}, another=True))
    assert only(plan([spec("S")], srv)).action == "unchanged"
    action = only(plan([spec("S", max_msgs=10)], srv))
    assert action.action == "update"
    assert action.config["some_future_key"] == {"x": 1} and action.config["another"] is True
    assert action.config["max_msgs"] == 10


def test_key_left_out_means_the_server_default():
    srv = server(server_stream("S", max_bytes=1000, description="by hand"))
    action = only(plan([spec("S")], srv))
    assert action.action == "update"
    assert [str(c) for c in action.changes] == ["description: by hand → (unset)", "max_bytes: 1000 → -1"]
    assert action.config["max_bytes"] == -1
    assert "description" not in action.config or action.config["description"] == ""


def test_update_config_is_the_server_config_overlaid():
    current = server_stream("S", subjects=["s.>"], max_age=DAY, metadata=dict(SERVER_META, a="1"))
    action = only(plan([spec("S", subjects=["s.>"], max_age=30 * DAY, metadata={"b": "2"})], server(current)))
    expected = dict(current, max_age=30 * DAY, metadata={"b": "2"})
    assert action.config == expected
    assert [str(c) for c in action.changes] == ["max_age: 1d → 30d", "metadata.b: (unset) → 2",
                                                "metadata.a: 1 → (unset)"]


def test_server_derived_duplicate_window_follows_max_age():
    # max_age below 2m: the server sets duplicate_window = max_age.
    srv = server(server_stream("S", max_age=30 * S, duplicate_window=30 * S))
    assert only(plan([spec("S", max_age=30 * S)], srv)).action == "unchanged"


def test_sources_and_mirrors_get_no_default_subjects_or_duplicate_window():
    srv = server(server_stream("SRC", subjects=None, duplicate_window=None, sources=[{"name": "A"}]),
                 server_stream("MIR", subjects=None, duplicate_window=None, mirror={"name": "A"},
                               mirror_direct=True))
    specs = [spec("SRC", sources=[{"name": "A", "filter_subject": "", "opt_start_seq": 0}]),
             spec("MIR", mirror={"name": "A"})]
    assert [a.action for a in plan(specs, srv)] == ["unchanged", "unchanged"]


def test_duplicate_window_of_sourced_streams_on_2_10_is_tolerated():
    srv = server(server_stream("SRC", subjects=None, sources=[{"name": "A"}]))  # 2.10 keeps 2m
    assert only(plan([spec("SRC", sources=[{"name": "A"}])], srv)).action == "unchanged"


def test_sources_order_and_nested_empty_values_are_ignored():
    srv = server(server_stream("S", subjects=None, duplicate_window=None,
                               sources=[{"name": "B", "external": {"api": "$JS.x.API", "deliver": ""}},
                                        {"name": "A", "opt_start_time": "2024-01-01T01:00:00+01:00"}]))
    specs = [spec("S", sources=[{"name": "A", "opt_start_time": "2024-01-01T00:00:00Z"},
                                {"name": "B", "external": {"api": "$JS.x.API"}}])]
    assert only(plan(specs, srv)).action == "unchanged"


def test_mirror_direct_follows_the_origin_and_is_not_compared_on_mirrors():
    srv = server(server_stream("MIR", subjects=None, duplicate_window=None, mirror={"name": "A"},
                               mirror_direct=True))
    assert only(plan([spec("MIR", mirror={"name": "A"}, mirror_direct=False)], srv)).action == "unchanged"


def test_server_forced_values_are_not_differences():
    # subject_delete_marker_ttl turns on allow_msg_ttl and roll-ups; schedules turn on roll-ups;
    # an empty republish source becomes ">".
    srv = server(server_stream("A", subject_delete_marker_ttl=MIN, allow_msg_ttl=True, allow_rollup_hdrs=True),
                 server_stream("B", allow_msg_schedules=True, allow_rollup_hdrs=True),
                 server_stream("C", subjects=["c.>"], republish={"src": ">", "dest": "rp.>"}))
    specs = [spec("A", subject_delete_marker_ttl=MIN), spec("B", allow_msg_schedules=True),
             spec("C", subjects=["c.>"], republish={"src": "", "dest": "rp.>"})]
    assert [a.action for a in plan(specs, srv)] == ["unchanged"] * 3


def test_sealed_stream_forces_its_limits():
    srv = server(server_stream("S", sealed=True, discard="new", deny_delete=True, deny_purge=True))
    # The file may still say max_age 7d: sealing sets it to 0, which is not a difference to fix.
    assert only(plan([spec("S", sealed=True, max_age=7 * DAY)], srv)).action == "unchanged"


def test_sealing_is_an_update():
    action = only(plan([spec("S", sealed=True)], server(server_stream("S"))))
    assert action.action == "update"
    assert "sealed: false → true" in [str(c) for c in action.changes]


def test_creating_a_sealed_stream_creates_it_open_then_seals_it():
    actions = plan([spec("S", [{"durable_name": "c"}], sealed=True, subjects=["s"])], {})
    assert [(a.stream, a.consumer, a.action) for a in actions] == [
        ("S", None, "create"), ("S", None, "update"), ("S", "c", "create")]
    assert "sealed" not in actions[0].config
    assert actions[1].config["sealed"] is True and [str(c) for c in actions[1].changes] == ["sealed: false → true"]


def test_first_seq_one_is_the_same_as_none():
    assert only(plan([spec("S", first_seq=1)], server(server_stream("S")))).action == "unchanged"


# -- in place vs replace (streams) ------------------------------------------------------------------------
IN_PLACE = [
    ("max_age", {}, {"max_age": 30 * DAY}),
    ("max_msgs", {}, {"max_msgs": 10}),
    ("max_bytes", {}, {"max_bytes": 1024 ** 3}),
    ("subjects", {}, {"subjects": ["a.>", "b.>"]}),
    ("description", {}, {"description": "orders"}),
    ("num_replicas", {}, {"num_replicas": 3}),
    ("discard", {}, {"discard": "new"}),
    ("duplicate_window", {}, {"duplicate_window": MIN}),
    ("allow_rollup_hdrs", {}, {"allow_rollup_hdrs": True}),
    ("allow_rollup_hdrs", {"allow_rollup_hdrs": True}, {}),
    ("deny_delete", {}, {"deny_delete": True}),
    ("deny_purge", {}, {"deny_purge": True}),
    ("allow_msg_ttl", {}, {"allow_msg_ttl": True}),
    ("retention", {}, {"retention": "interest"}),
    ("retention", {"retention": "interest"}, {}),
    ("compression", {}, {"compression": "s2"}),
    ("allow_direct", {"allow_direct": True}, {}),
    ("consumer_limits.max_ack_pending", {}, {"consumer_limits": {"max_ack_pending": 100}}),
    ("sources", {"sources": [{"name": "A"}], "subjects": None, "duplicate_window": None},
     {"sources": [{"name": "A"}, {"name": "B"}]}),
    ("mirror", {"mirror": {"name": "A"}, "subjects": None, "duplicate_window": None}, {}),  # promotion
]


@pytest.mark.parametrize("key, before, after", IN_PLACE, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(IN_PLACE)])
def test_stream_changes_made_in_place(key, before, after):
    action = only(plan([spec("S", **after)], server(server_stream("S", **before))))
    assert action.action == "update", action
    assert key in fields(action)
    assert action.reason == ""
    assert action.config["name"] == "S"


REPLACE = [
    ("storage", {}, {"storage": "memory"}),
    ("storage", {"storage": "memory"}, {}),
    ("retention", {}, {"retention": "workqueue"}),
    ("retention", {"retention": "workqueue"}, {}),
    ("retention", {"retention": "workqueue"}, {"retention": "interest"}),
    ("unsealed", {"sealed": True, "discard": "new", "deny_delete": True, "deny_purge": True}, {}),
    ("deny_delete", {"deny_delete": True}, {}),
    ("deny_purge", {"deny_purge": True}, {}),
    ("mirror", {"mirror": {"name": "A"}, "subjects": None, "duplicate_window": None}, {"mirror": {"name": "B"}}),
    ("mirror", {}, {"mirror": {"name": "A"}}),
    ("first_seq", {}, {"first_seq": 100}),
    ("first_seq", {"first_seq": 100}, {}),
    ("allow_msg_ttl", {"allow_msg_ttl": True}, {}),
    ("allow_msg_counter", {}, {"allow_msg_counter": True}),
    ("allow_msg_counter", {"allow_msg_counter": True}, {}),
    ("allow_msg_schedules", {"allow_msg_schedules": True, "allow_rollup_hdrs": True}, {"allow_rollup_hdrs": True}),
    ("persist_mode", {}, {"persist_mode": "async"}),
    ("persist_mode", {"persist_mode": "async"}, {}),
]


@pytest.mark.parametrize("word, before, after", REPLACE, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(REPLACE)])
def test_stream_changes_that_need_a_replace(word, before, after):
    action = only(plan([spec("S", **after)], server(server_stream("S", **before))))
    assert action.action == "replace", action
    assert word in action.reason
    assert action.changes
    assert action.config == dict(after, name="S")  # what to create after deleting


def test_replace_lists_every_reason():
    action = only(plan([spec("S", storage="memory", retention="workqueue")], server(server_stream("S"))))
    assert action.reason == ("storage cannot be changed in place; "
                             "retention cannot be changed to or from workqueue in place")


def test_removing_subject_delete_marker_ttl_keeps_msg_ttl_or_replaces():
    before = {"subject_delete_marker_ttl": MIN, "allow_msg_ttl": True, "allow_rollup_hdrs": True}
    action = only(plan([spec("S", allow_rollup_hdrs=True)], server(server_stream("S", **before))))
    assert action.action == "replace" and "allow_msg_ttl" in action.reason
    action = only(plan([spec("S", allow_rollup_hdrs=True, allow_msg_ttl=True)], server(server_stream("S", **before))))
    assert action.action == "update" and fields(action) == ["subject_delete_marker_ttl"]


# -- consumers ----------------------------------------------------------------------------------------------
def test_consumer_defaults_depend_on_the_consumer():
    consumers = {
        "pull": server_consumer("pull"),
        "push": push_consumer("push"),
        "explicit": explicit_consumer("explicit"),
        "all": server_consumer("all", ack_policy="all", ack_wait=30 * S, max_ack_pending=1000),
        "backoff": explicit_consumer("backoff", ack_wait=S, backoff=[S, 2 * S], max_deliver=5),
        "pinned": explicit_consumer("pinned", priority_groups=["g"], priority_policy="pinned_client",
                                    priority_timeout=2 * MIN),
        "hb": push_consumer("hb", idle_heartbeat=5 * S, flow_control=True),
    }
    specs = [spec("S", [
        {"durable_name": "pull"},
        {"durable_name": "push", "deliver_subject": "deliver.push"},
        {"durable_name": "explicit", "ack_policy": "explicit"},
        {"durable_name": "all", "ack_policy": "all"},
        {"durable_name": "backoff", "ack_policy": "explicit", "backoff": [S, 2 * S], "max_deliver": 5},
        {"durable_name": "pinned", "ack_policy": "explicit", "priority_groups": ["g"],
         "priority_policy": "pinned_client"},
        {"durable_name": "hb", "deliver_subject": "deliver.hb", "idle_heartbeat": 5 * S, "flow_control": True},
    ])]
    actions = plan(specs, server((server_stream("S"), consumers)))
    assert [(a.consumer, a.action) for a in actions[1:]] == [(name, "unchanged") for name in consumers]


def test_consumer_defaults_come_from_the_streams_consumer_limits():
    stream = server_stream("S", consumer_limits={"max_ack_pending": 100, "inactive_threshold": DAY})
    consumers = {"c": explicit_consumer("c", max_ack_pending=100, inactive_threshold=DAY)}
    specs = [spec("S", [{"durable_name": "c", "ack_policy": "explicit"}],
                  consumer_limits={"max_ack_pending": 100, "inactive_threshold": DAY})]
    assert [a.action for a in plan(specs, server((stream, consumers)))] == ["unchanged", "unchanged"]


def test_consumer_update():
    srv = server((server_stream("S"), {"c": explicit_consumer("c", metadata=dict(SERVER_META, x="1"))}))
    action = only(plan([spec("S", [{"durable_name": "c", "ack_policy": "explicit", "ack_wait": MIN,
                                    "max_deliver": 5, "metadata": {"x": "1"}}])], srv), consumer="c")
    assert action.action == "update"
    assert [str(c) for c in action.changes] == ["ack_wait: 30s → 1m", "max_deliver: -1 → 5"]
    assert action.config == dict(explicit_consumer("c"), ack_wait=MIN, max_deliver=5, metadata={"x": "1"})


def test_consumer_backoff_sets_ack_wait():
    srv = server((server_stream("S"), {"c": explicit_consumer("c")}))
    action = only(plan([spec("S", [{"durable_name": "c", "ack_policy": "explicit",
                                    "backoff": [S, 5 * S], "max_deliver": 3}])], srv), consumer="c")
    assert action.action == "update"
    assert [str(c) for c in action.changes] == [
        "ack_wait: 30s → 1s", "max_deliver: -1 → 3", "backoff: (unset) → [1s, 5s]"]


def test_consumer_pause_until_is_operational_state_and_never_compared():
    srv = server((server_stream("S"), {"c": server_consumer("c", pause_until="2030-01-01T00:00:00Z")}))
    assert only(plan([spec("S", [{"durable_name": "c"}])], srv), consumer="c").action == "unchanged"
    c = {"durable_name": "c", "pause_until": "2040-01-01T00:00:00Z"}
    assert only(plan([spec("S", [c])], srv), consumer="c").action == "unchanged"
    # ... but a new consumer is created paused, as the file says.
    assert only(plan([spec("S", [c])], server(server_stream("S"))), consumer="c").config == c


def test_mirror_promotion_resets_mirror_direct():
    srv = server(server_stream("S", subjects=None, duplicate_window=None, mirror={"name": "A"}, mirror_direct=True))
    action = only(plan([spec("S", subjects=["s.>"])], srv))
    assert action.action == "update"
    assert action.config["mirror_direct"] is False and "mirror" not in action.config
    assert fields(action) == ["subjects", "duplicate_window", "mirror", "mirror_direct"]


def test_metadata_and_consumer_limits_show_key_by_key():
    srv = server(server_stream("S", metadata=dict(SERVER_META, who="me"), consumer_limits={"max_ack_pending": 5}))
    action = only(plan([spec("S")], srv))
    assert [str(c) for c in action.changes] == ["consumer_limits.max_ack_pending: 5 → (unset)",
                                                "metadata.who: me → (unset)"]


def test_consumer_start_time_is_compared_as_an_instant():
    srv = server((server_stream("S"), {"c": server_consumer(
        "c", deliver_policy="by_start_time", opt_start_time="2024-01-01T01:00:00.5+01:00")}))
    c = {"durable_name": "c", "deliver_policy": "by_start_time", "opt_start_time": "2024-01-01T00:00:00.500Z"}
    assert only(plan([spec("S", [c])], srv), consumer="c").action == "unchanged"
    c["opt_start_time"] = "2024-01-01T00:00:01Z"
    action = only(plan([spec("S", [c])], srv), consumer="c")
    assert action.action == "replace" and "opt_start_time" in action.reason


CONSUMER_IN_PLACE = [
    ("description", {}, {"description": "x"}),
    ("max_deliver", {}, {"max_deliver": 5}),
    ("filter_subject", {}, {"filter_subject": "S.a"}),
    ("filter_subjects", {}, {"filter_subjects": ["S.a", "S.b"]}),
    ("max_batch", {}, {"max_batch": 10}),
    ("max_expires", {}, {"max_expires": 10 * S}),
    ("inactive_threshold", {}, {"inactive_threshold": DAY}),
    ("num_replicas", {}, {"num_replicas": 1}),
    ("headers_only", {}, {"headers_only": True}),
    ("sample_freq", {}, {"sample_freq": "50%"}),
    ("priority_groups", {}, {"priority_groups": ["g"], "priority_policy": "overflow"}),
]


@pytest.mark.parametrize("key, before, after", CONSUMER_IN_PLACE, ids=[k for k, _, _ in CONSUMER_IN_PLACE])
def test_consumer_changes_made_in_place(key, before, after):
    srv = server((server_stream("S"), {"c": server_consumer("c", **before)}))
    action = only(plan([spec("S", [dict(after, durable_name="c")])], srv), consumer="c")
    assert action.action == "update", action
    assert key in fields(action)


def test_push_consumer_changes_made_in_place():
    srv = server((server_stream("S"), {"c": push_consumer("c")}))
    c = {"durable_name": "c", "deliver_subject": "elsewhere", "deliver_group": "g", "rate_limit_bps": 1000}
    action = only(plan([spec("S", [c])], srv), consumer="c")
    assert action.action == "update" and fields(action) == ["rate_limit_bps", "deliver_subject", "deliver_group"]


CONSUMER_REPLACE = [
    ("deliver_policy", {}, {"deliver_policy": "new"}),
    ("opt_start_seq", {"deliver_policy": "by_start_sequence", "opt_start_seq": 5},
     {"deliver_policy": "by_start_sequence", "opt_start_seq": 6}),
    ("ack_policy", {}, {"ack_policy": "explicit"}),
    ("ack_policy", {"ack_policy": "explicit", "ack_wait": 30 * S, "max_ack_pending": 1000}, {"ack_policy": "all"}),
    ("replay_policy", {}, {"replay_policy": "original"}),
    ("mem_storage", {}, {"mem_storage": True}),
    ("max_waiting", {}, {"max_waiting": 100}),
    ("a pull consumer cannot become push", {}, {"deliver_subject": "out"}),
    ("a push consumer cannot become pull", {"deliver_subject": "out", "max_waiting": None}, {}),
    ("idle_heartbeat", {"deliver_subject": "out", "max_waiting": None},
     {"deliver_subject": "out", "idle_heartbeat": 5 * S}),
    ("flow_control", {"deliver_subject": "out", "max_waiting": None, "idle_heartbeat": 5 * S},
     {"deliver_subject": "out", "idle_heartbeat": 5 * S, "flow_control": True}),
]


@pytest.mark.parametrize("word, before, after", CONSUMER_REPLACE,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CONSUMER_REPLACE)])
def test_consumer_changes_that_need_a_replace(word, before, after):
    srv = server((server_stream("S"), {"c": server_consumer("c", **before)}))
    action = only(plan([spec("S", [dict(after, durable_name="c")])], srv), consumer="c")
    assert action.action == "replace", action
    assert word in action.reason
    assert action.config == dict(after, durable_name="c")


def test_push_pull_switch_names_deliver_subject_not_max_waiting():
    srv = server((server_stream("S"), {"c": server_consumer("c")}))
    action = only(plan([spec("S", [{"durable_name": "c", "deliver_subject": "out"}])], srv), consumer="c")
    assert action.reason == "deliver_subject: a pull consumer cannot become push in place"


def test_consumers_above_lowered_limits_are_updated_before_the_stream():
    srv = server((server_stream("S"), {"a": explicit_consumer("a"), "b": server_consumer("b"),
                                       "c": explicit_consumer("c", max_ack_pending=50)}))
    specs = [spec("S", [{"durable_name": "a", "ack_policy": "explicit"}, {"durable_name": "b"},
                        {"durable_name": "c", "ack_policy": "explicit", "max_ack_pending": 50}],
                  consumer_limits={"max_ack_pending": 100})]
    actions = plan(specs, srv)
    # a (1000 > 100) first; b gets the new default 100 but had none, c stays at 50.
    assert [(a.consumer, a.action) for a in actions] == [
        ("a", "update"), (None, "update"), ("b", "update"), ("c", "unchanged")]
    assert [str(c) for c in actions[0].changes] == ["max_ack_pending: 1000 → 100"]


# -- prune / delete -------------------------------------------------------------------------------------------
def prune_world():
    return server((server_stream("KEEP"), {"listed": server_consumer("listed"), "extra": server_consumer("extra"),
                                           "ephemeral": dict(server_consumer("ephemeral"), durable_name=None)}),
                  server_stream("ZOLD"), server_stream("AOLD"))


def test_without_prune_unmanaged_things_have_no_action():
    actions = plan([spec("KEEP", [{"durable_name": "listed"}])], prune_world())
    assert [(a.stream, a.consumer, a.action) for a in actions] == [
        ("KEEP", None, "unchanged"), ("KEEP", "listed", "unchanged")]


def test_prune_deletes_unlisted_durables_then_unmanaged_streams():
    actions = plan([spec("KEEP", [{"durable_name": "listed"}])], prune_world(), prune=True)
    assert [(a.stream, a.consumer, a.action) for a in actions] == [
        ("KEEP", None, "unchanged"), ("KEEP", "listed", "unchanged"), ("KEEP", "extra", "delete"),
        ("AOLD", None, "delete"), ("ZOLD", None, "delete")]
    assert all(a.config is None and a.changes == [] for a in actions if a.action == "delete")


def test_unmanaged():
    assert unmanaged([spec("KEEP")], prune_world()) == ["AOLD", "ZOLD"]
    assert unmanaged([], {}) == []


def test_streams_in_name_order_whatever_the_file_order():
    """The order `ls` lists them in (issue 11 point 20): by name, upper case before lower case."""
    specs = [spec("b"), spec("B"), spec("A"), spec("a")]
    assert [a.stream for a in plan(specs, server(server_stream("A")))] == ["A", "B", "a", "b"]
    assert [a.action for a in plan(specs, server(server_stream("A")))] == ["unchanged", "create", "create", "create"]


# -- changes / Change ---------------------------------------------------------------------------------------------
def test_changes_of_stream_and_consumer():
    assert only(plan([spec("S")], server(server_stream("S")))).changes == []
    assert only(plan([spec("S", max_age=DAY)], server(server_stream("S")))).changes == [Change("max_age", 0, DAY)]
    assert only(plan([spec("S", [{"durable_name": "c"}])], server((server_stream("S"), {"c": server_consumer("c")}))),
                consumer="c").changes == []
    limited = server((server_stream("S", consumer_limits={"max_ack_pending": 5}),
                      {"c": explicit_consumer("c", max_ack_pending=5)}))
    assert only(plan([spec("S", [{"durable_name": "c", "ack_policy": "explicit"}],
                          consumer_limits={"max_ack_pending": 5})], limited), consumer="c").changes == []


@pytest.mark.parametrize("change, text", [
    (Change("max_age", 7 * DAY, 30 * DAY), "max_age: 7d → 30d"),
    (Change("max_age", 0, 90 * MIN), "max_age: 0s → 1h30m"),
    (Change("max_bytes", -1, 1024 ** 3), "max_bytes: -1 → 1GiB"),
    (Change("max_msg_size", 1000, None), "max_msg_size: 1000 → (unset)"),
    (Change("max_msgs", -1, 1000), "max_msgs: -1 → 1000"),
    (Change("subjects", ["a.>"], ["a.>", "b.>"]), "subjects: [a.>] → [a.>, b.>]"),
    (Change("description", None, "orders"), "description: (unset) → orders"),
    (Change("deny_delete", False, True), "deny_delete: false → true"),
    (Change("consumer_limits.inactive_threshold", None, 3600 * S),
     "consumer_limits.inactive_threshold: (unset) → 1h"),
    (Change("backoff", None, [S, 500_000_000]), "backoff: (unset) → [1s, 500ms]"),
    (Change("ack_wait", 30 * S, MIN), "ack_wait: 30s → 1m"),
    (Change("duplicate_window", 2 * MIN, None), "duplicate_window: 2m → (unset)"),
    (Change("mirror", {"name": "A"}, None), "mirror: {name: A} → (unset)"),
    (Change("description", "x", ""), 'description: x → ""'),
])
def test_change_str(change, text):
    assert str(change) == text


def test_nested_objects_show_the_changed_keys():
    srv = server(server_stream("S", consumer_limits={"max_ack_pending": 10}))
    action = only(plan([spec("S", consumer_limits={"max_ack_pending": 10, "inactive_threshold": 3600 * S})], srv))
    assert [str(c) for c in action.changes] == ["consumer_limits.inactive_threshold: (unset) → 1h"]


def test_plan_does_not_mutate_its_inputs():
    specs = [spec("S", [{"durable_name": "c", "ack_policy": "explicit", "max_deliver": 3}],
                  subjects=["s.>"], metadata={"a": "b"})]
    srv = server((server_stream("S", max_bytes=10), {"c": explicit_consumer("c")}), server_stream("OLD"))
    before = (copy.deepcopy(specs), copy.deepcopy(srv))
    actions = plan(specs, srv, prune=True)
    assert (specs, srv) == before
    actions[0].config["subjects"].append("mutated")
    assert srv["S"]["config"]["subjects"] == ["S"] and specs[0].config["subjects"] == ["s.>"]


def test_action_defaults():
    action = Action("S", None, "unchanged", [], None)
    assert action.reason == "" and action.target == "S"
    assert Action("S", "c", "delete", [], None).target == "S/c"
    assert known_keys("stream")[0] == "name"


@pytest.mark.parametrize("field, old, new, state, lossy", [
    ("max_msgs", -1, 2, {"messages": 5}, True),
    ("max_msgs", -1, 10, {"messages": 5}, False),
    ("max_bytes", -1, 100, {"messages": 5, "bytes": 500}, True),
    ("max_bytes", -1, 1000, {"messages": 5, "bytes": 500}, False),
    ("max_age", 0, 3600 * S, {"messages": 1}, True),
    ("max_age", 3600 * S, 7200 * S, {"messages": 1}, False),
    ("max_msgs_per_subject", -1, 1, {"messages": 2}, True),
    ("retention", "limits", "interest", {"messages": 1}, True),
    ("max_msgs", -1, 2, {"messages": 0}, False),
    ("description", "a", "b", {"messages": 9}, False),
])
def test_message_loss_flags_updates_that_remove_messages(field, old, new, state, lossy):
    action = Action("S", None, "update", [Change(field, old, new)], {})
    assert bool(message_loss(action, state)) is lossy


def test_message_loss_ignores_creates_and_consumers():
    change = [Change("max_msgs", -1, 1)]
    assert message_loss(Action("S", None, "create", change, {}), {"messages": 5}) == ""
    assert message_loss(Action("S", "c", "update", change, {}), {"messages": 5}) == ""


def _interest(messages, *consumers, retention="interest"):
    infos = [{"name": name, "config": {"durable_name": name, **({"filter_subject": f} if f else {})},
              "num_pending": pending, "num_ack_pending": 0} for name, f, pending in consumers]
    return {"config": {"name": "S", "retention": retention}, "state": {"messages": messages},
            "consumer_infos": infos}


@pytest.mark.parametrize("current, deleted, counts, expected", [
    # the last consumer of an interest stream: the server drops every message
    (_interest(7, ("c1", None, 7)), {"c1"}, None, (7, 7)),
    # limits and workqueue streams keep their messages
    (_interest(7, ("c1", None, 7), retention="limits"), {"c1"}, None, (0, 0)),
    (_interest(7, ("c1", None, 7), retention="workqueue"), {"c1"}, None, (0, 0)),
    # the remaining consumer (int.b) holds every message it matches: exactly what only c1 wants goes
    (_interest(45, ("c1", None, 45), ("c2", "int.b", 5)), {"c1"}, {"int.a": 40, "int.b": 5}, (40, 40)),
    # ... it acked some of them: at least the int.a ones, at most all c1 holds
    (_interest(45, ("c1", None, 45), ("c2", "int.b", 2)), {"c1"}, {"int.a": 40, "int.b": 5}, (40, 45)),
    # without per-subject counts, only the upper bound is known
    (_interest(45, ("c1", None, 45), ("c2", "int.b", 5)), {"c1"}, None, (0, 45)),
    # filters that do not overlap: the deleted consumer's messages go, the others' stay
    (_interest(9, ("a", "s.a", 4), ("b", "s.b", 5)), {"a"}, {"s.a": 4, "s.b": 5}, (4, 4)),
])
def test_consumer_deletion_loss_counts_what_only_the_deleted_consumers_hold(current, deleted, counts, expected):
    assert consumer_deletion_loss(current, deleted, counts) == expected

