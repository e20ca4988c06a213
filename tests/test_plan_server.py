"""kubectl_jetstream/plan/ against a real nats-server: no false differences, and every update/replace rule is the server's.

For each definition: create it with the plan's own `config`, read it back, re-plan -> all "unchanged".
For each in-place case: the planned `config` is accepted by STREAM.UPDATE / CONSUMER.CREATE(update) and a
re-plan is "unchanged". For each replace case: the server really refuses the in-place update, and the
planned config creates the replacement, after which a re-plan is "unchanged".
"""
import json

import pytest

from kubectl_jetstream import schema
from kubectl_jetstream.plan import plan
from kubectl_jetstream.plan.compare import update_config
from kubectl_jetstream.spec.load import StreamSpec, load_specs
from probe import api, consumers, publish, streams

S = 1_000_000_000
MIN = 60 * S
HOUR = 60 * MIN
DAY = 24 * HOUR


def spec(name, consumers=(), **config):
    return StreamSpec(name=name, config=dict(config, name=name), consumers=list(consumers),
                      path=f"streams.d/{name}.yaml")


def in_place(file_config, actual, kind="stream", stream_config=None):
    """The in-place update the plan sends for `file_config` against the server's `actual` config (whether the
    server accepts it or the plan calls it a replace)."""
    if kind == "stream":
        return update_config(kind, file_config, schema.stored_stream(file_config), actual)
    stored = schema.stored_consumer(file_config, schema.stored_stream(stream_config))
    return update_config(kind, file_config, stored, actual)


def snapshot(url):
    """The `server` argument of plan(), read with the test-side probe (not the code under test)."""
    return {name: {"config": info["config"], "state": info["state"], "consumers": consumers(url, name)}
            for name, info in streams(url).items()}


def send(url, action):
    """Carry out one planned action with raw API requests; returns the API response."""
    if action.consumer is None:
        if action.action == "create":
            return api(url, f"STREAM.CREATE.{action.stream}", action.config)
        if action.action == "update":
            return api(url, f"STREAM.UPDATE.{action.stream}", action.config)
        if action.action == "delete":
            return api(url, f"STREAM.DELETE.{action.stream}")
    else:
        if action.action in ("create", "update"):
            return api(url, f"CONSUMER.CREATE.{action.stream}.{action.consumer}",
                       {"stream_name": action.stream, "config": action.config, "action": action.action})
        if action.action == "delete":
            return api(url, f"CONSUMER.DELETE.{action.stream}.{action.consumer}")
    raise AssertionError(f"cannot send {action}")


def apply(url, actions):
    for action in actions:
        if action.action in ("create", "update", "delete"):
            resp = send(url, action)
            assert "error" not in resp, (action, resp)


def replace(url, action, specs):
    """Delete + create, as a replace is carried out (consumers of a replaced stream are re-created)."""
    if action.consumer is None:
        assert "error" not in api(url, f"STREAM.DELETE.{action.stream}")
        assert "error" not in api(url, f"STREAM.CREATE.{action.stream}", action.config)
        wanted = next(s for s in specs if s.name == action.stream)
        for consumer in wanted.consumers:
            assert "error" not in api(url, f"CONSUMER.CREATE.{action.stream}.{consumer['durable_name']}",
                                      {"stream_name": action.stream, "config": consumer})
    else:
        assert "error" not in api(url, f"CONSUMER.DELETE.{action.stream}.{action.consumer}")
        resp = api(url, f"CONSUMER.CREATE.{action.stream}.{action.consumer}",
                   {"stream_name": action.stream, "config": action.config, "action": "create"})
        assert "error" not in resp, resp


def assert_in_sync(url, specs):
    actions = plan(specs, snapshot(url), prune=True)
    assert [(a.stream, a.consumer, a.action, [str(c) for c in a.changes]) for a in actions] == [
        (a.stream, a.consumer, "unchanged", []) for a in actions]
    return actions


def create_all(url, specs):
    actions = plan(specs, snapshot(url))
    assert {a.action for a in actions} <= {"create", "update"}, actions
    apply(url, actions)


# -- no false differences ----------------------------------------------------------------------------------
# Every key with a non-default value somewhere below; keys that exclude each other are on separate streams.
FULL = spec(
    "FULL",
    [
        {"durable_name": "pull_all", "description": "every pull key", "deliver_policy": "by_start_sequence",
         "opt_start_seq": 10, "ack_policy": "explicit", "ack_wait": 2 * S, "backoff": [2 * S, 10 * S, MIN],
         "max_deliver": 5, "filter_subjects": ["full.b.x", "full.a.>"], "replay_policy": "original",
         "sample_freq": "30%", "max_waiting": 64, "max_ack_pending": 200, "headers_only": True,
         "max_batch": 50, "max_expires": 30 * S, "max_bytes": 1024 ** 2, "inactive_threshold": 30 * MIN,
         "num_replicas": 1, "mem_storage": True, "metadata": {"team": "orders", "kind": "pull"},
         "priority_groups": ["g2", "g1"], "priority_policy": "pinned_client", "priority_timeout": 90 * S,
         "pause_until": "2099-01-01T01:00:00+01:00"},
        {"durable_name": "push_fc", "deliver_subject": "out.fc", "deliver_policy": "by_start_time",
         "opt_start_time": "2024-05-01T12:00:00.25+02:00", "ack_policy": "all", "ack_wait": 10 * S,
         "max_ack_pending": 100, "idle_heartbeat": 5 * S, "flow_control": True, "rate_limit_bps": 1_000_000,
         "filter_subject": "full.a.>"},
        {"durable_name": "push_group", "deliver_subject": "out.group", "deliver_group": "workers",
         "deliver_policy": "last_per_subject", "filter_subject": "full.b.>", "ack_policy": "explicit",
         "max_deliver": -1},
        # Only defaults: max_ack_pending and inactive_threshold come from the stream's consumer_limits.
        {"durable_name": "plain"},
    ],
    description="every key", subjects=["full.b.>", "full.a.>"], retention="interest", max_consumers=10,
    max_msgs=1000, max_bytes=10 * 1024 ** 2, max_age=7 * DAY, max_msgs_per_subject=5, max_msg_size=64 * 1024,
    discard="new", discard_new_per_subject=True, storage="memory", num_replicas=1, no_ack=True,
    duplicate_window=MIN, first_seq=50, subject_transform={"src": "full.a.>", "dest": "full.t.>"},
    republish={"src": "full.b.>", "dest": "rp.full.>", "headers_only": True}, allow_direct=True,
    deny_delete=True, deny_purge=True, consumer_limits={"max_ack_pending": 500, "inactive_threshold": HOUR},
    allow_msg_ttl=True, allow_atomic=True, allow_batched=True, metadata={"owner": "team", "tier": "gold"},
)

DEFINITIONS = {
    "full": [FULL],
    "minimal": [spec("MINIMAL", [{"durable_name": "c"}, {"durable_name": "p", "deliver_subject": "out.p"}])],
    "explicit-defaults": [spec(
        "EXPLICIT", [{"durable_name": "c", "ack_policy": "explicit", "ack_wait": 30 * S, "max_ack_pending": 1000,
                      "max_waiting": 512, "max_deliver": -1, "deliver_policy": "all", "replay_policy": "instant",
                      "num_replicas": 0, "metadata": {}, "backoff": [], "filter_subjects": []}],
        subjects=["explicit.>"], retention="limits", max_consumers=-1, max_msgs=-1, max_bytes=-1, max_age=0,
        max_msgs_per_subject=-1, max_msg_size=-1, discard="old", storage="file", num_replicas=1,
        duplicate_window=2 * MIN, compression="none", allow_direct=False, mirror_direct=False, sealed=False,
        deny_delete=False, deny_purge=False, allow_rollup_hdrs=False, consumer_limits={}, allow_msg_ttl=False,
        metadata={}, description="", first_seq=0)],
    "zero-means-default": [spec("ZEROS", [{"durable_name": "c", "max_deliver": 0, "max_waiting": 0}],
                                subjects=["zeros.>"], max_msgs=0, max_bytes=0, max_consumers=0, num_replicas=0,
                                duplicate_window=0)],
    "short-max-age": [spec("SHORT", subjects=["short.>"], max_age=30 * S)],
    "file-keys": [spec("FILEKEYS", subjects=["fk.>"], compression="s2", allow_rollup_hdrs=True, deny_delete=True,
                       placement={"cluster": "", "tags": []}, max_msgs_per_subject=3, discard="new")],
    "counter": [spec("COUNTER", subjects=["cnt.>"], allow_msg_counter=True)],
    "schedules": [spec("SCHED", subjects=["sched.>"], allow_msg_schedules=True)],
    "delete-markers": [spec("SDM", subjects=["sdm.>"], subject_delete_marker_ttl=5 * MIN, deny_purge=True)],
    "async": [spec("ASYNC", subjects=["async.>"], persist_mode="async")],
    "workqueue": [spec("WQ", [{"durable_name": "w", "ack_policy": "explicit", "filter_subject": "wq.a"}],
                       subjects=["wq.>"], retention="workqueue")],
    "sealed": [spec("SEALED", [{"durable_name": "reader"}], subjects=["sealed.>"], sealed=True, max_age=DAY,
                    allow_rollup_hdrs=False)],
    "republish": [spec("REPUB", subjects=["rep.>"], republish={"src": "", "dest": "rp.rep.>"})],
    "mirror-and-sources": [
        spec("ORIGIN", subjects=["origin.>"], allow_direct=True),
        spec("ORIGIN2", subjects=["origin2.>"]),
        spec("MIRROR", [{"durable_name": "m"}], mirror={"name": "ORIGIN", "opt_start_seq": 1}),
        spec("SOURCED", sources=[{"name": "ORIGIN2", "subject_transforms": [{"src": "origin2.>", "dest": "x.>"}]},
                                 {"name": "ORIGIN", "filter_subject": "origin.a.>", "opt_start_seq": 0}]),
        spec("SOURCED_SUBJ", subjects=["ss.>"],
             sources=[{"name": "ORIGIN", "opt_start_time": "2024-01-01T01:00:00+01:00"}]),
        spec("EXTERNAL", sources=[{"name": "REMOTE", "external": {"api": "$JS.remote.API", "deliver": ""}}]),
    ],
}


@pytest.mark.parametrize("name", list(DEFINITIONS))
def test_no_false_differences(nats_server, name):
    specs = DEFINITIONS[name]
    create_all(nats_server.url, specs)
    actions = assert_in_sync(nats_server.url, specs)
    assert len(actions) == len(specs) + sum(len(s.consumers) for s in specs)


def test_every_definition_on_one_server_is_in_sync(nats_server):
    specs = [s for group in DEFINITIONS.values() for s in group]
    create_all(nats_server.url, specs)
    assert_in_sync(nats_server.url, specs)


def test_full_definition_really_has_non_default_values(nats_server):
    """Guard against the proof being vacuous: the server kept what FULL asked for."""
    create_all(nats_server.url, [FULL])
    current = snapshot(nats_server.url)["FULL"]
    cfg = current["config"]
    for key, value in FULL.config.items():
        if key in ("subjects", "metadata"):
            continue
        assert cfg.get(key) == value, key
    assert sorted(cfg["subjects"]) == sorted(FULL.config["subjects"])
    assert {k: v for k, v in cfg["metadata"].items() if not k.startswith("_nats.")} == FULL.config["metadata"]
    assert current["consumers"]["plain"]["max_ack_pending"] == 500
    assert current["consumers"]["plain"]["inactive_threshold"] == HOUR
    assert current["consumers"]["pull_all"]["priority_groups"] == ["g2", "g1"]


def test_streams_made_by_hand_are_compared_semantically(nats_server):
    url = nats_server.url
    # As natscli would send them: every key spelt out, in another order.
    api(url, "STREAM.CREATE.HAND", {"name": "HAND", "subjects": ["hand.b", "hand.a"], "retention": "limits",
                                    "max_consumers": -1, "max_msgs_per_subject": -1, "max_msgs": -1,
                                    "max_bytes": -1, "max_age": 0, "max_msg_size": -1, "storage": "file",
                                    "discard": "old", "num_replicas": 1, "duplicate_window": 2 * MIN,
                                    "sealed": False, "deny_delete": False, "deny_purge": False,
                                    "allow_rollup_hdrs": False, "allow_direct": False, "mirror_direct": False})
    api(url, "CONSUMER.CREATE.HAND.c", {"stream_name": "HAND", "config": {
        "durable_name": "c", "deliver_policy": "all", "ack_policy": "explicit", "ack_wait": 30 * S,
        "max_deliver": -1, "replay_policy": "instant", "max_ack_pending": 1000, "max_waiting": 512}})
    assert_in_sync(url, [spec("HAND", [{"durable_name": "c", "ack_policy": "explicit"}],
                              subjects=["hand.a", "hand.b"])])


# -- in place ------------------------------------------------------------------------------------------------
STREAM_UPDATES = [
    ("max_age", {}, {"max_age": 30 * DAY}),
    ("max_age-to-default", {"max_age": DAY}, {}),
    ("max_msgs", {}, {"max_msgs": 10}),
    ("max_bytes", {}, {"max_bytes": 1024 ** 3}),
    ("max_bytes-to-default", {"max_bytes": 1000}, {}),
    ("max_msgs_per_subject", {}, {"max_msgs_per_subject": 5}),
    ("max_msg_size", {}, {"max_msg_size": 1024}),
    ("max_consumers", {}, {"max_consumers": 5}),
    ("subjects", {"subjects": ["u.a", "u.b"]}, {"subjects": ["u.c", "u.b", "u.a"]}),
    ("subjects-to-default", {"subjects": ["u.a"]}, {}),
    ("description", {}, {"description": "orders"}),
    ("description-removed", {"description": "orders"}, {}),
    ("discard", {}, {"discard": "new"}),
    ("discard_new_per_subject", {}, {"discard": "new", "discard_new_per_subject": True, "max_msgs_per_subject": 3}),
    ("duplicate_window", {}, {"duplicate_window": MIN}),
    ("allow_rollup_hdrs", {}, {"allow_rollup_hdrs": True}),
    ("allow_rollup_hdrs-off", {"allow_rollup_hdrs": True}, {}),
    ("allow_direct", {}, {"allow_direct": True}),
    ("allow_direct-off", {"allow_direct": True}, {}),
    ("compression", {}, {"compression": "s2"}),
    ("compression-off", {"compression": "s2"}, {}),
    ("no_ack", {}, {"no_ack": True}),
    ("consumer_limits", {}, {"consumer_limits": {"max_ack_pending": 100, "inactive_threshold": HOUR}}),
    ("consumer_limits-removed", {"consumer_limits": {"max_ack_pending": 100}}, {}),
    ("republish", {}, {"republish": {"src": ">", "dest": "rp.>"}}),
    ("republish-removed", {"republish": {"src": ">", "dest": "rp.>"}}, {}),
    ("subject_transform", {}, {"subject_transform": {"src": ">", "dest": "t.>"}}),
    ("metadata", {"metadata": {"a": "1", "b": "2"}}, {"metadata": {"a": "2", "c": "3"}}),
    ("metadata-removed", {"metadata": {"a": "1"}}, {}),
    ("deny_delete", {}, {"deny_delete": True}),
    ("deny_purge", {}, {"deny_purge": True}),
    ("sealed", {}, {"sealed": True}),
    ("allow_msg_ttl", {}, {"allow_msg_ttl": True}),
    ("allow_msg_schedules", {}, {"allow_msg_schedules": True}),
    ("subject_delete_marker_ttl", {}, {"subject_delete_marker_ttl": MIN}),
    ("subject_delete_marker_ttl-removed", {"subject_delete_marker_ttl": MIN},
     {"allow_msg_ttl": True, "allow_rollup_hdrs": True}),
    ("allow_atomic", {}, {"allow_atomic": True}),
    ("allow_atomic-off", {"allow_atomic": True}, {}),
    ("allow_batched", {}, {"allow_batched": True}),
    ("allow_batched-off", {"allow_batched": True}, {}),
    ("retention-interest", {}, {"retention": "interest"}),
    ("retention-limits", {"retention": "interest"}, {}),
    ("sources-added", {"sources": [{"name": "ORIGIN"}]}, {"sources": [{"name": "ORIGIN"}, {"name": "ORIGIN2"}]}),
    ("sources-removed", {"sources": [{"name": "ORIGIN"}]}, {}),
    ("mirror-promoted", {"mirror": {"name": "ORIGIN"}}, {"subjects": ["promoted.>"]}),
    ("several-at-once", {"max_age": DAY, "subjects": ["u.a"]},
     {"max_age": 2 * DAY, "subjects": ["u.a", "u.b"], "max_bytes": 1024 ** 2, "description": "x",
      "metadata": {"k": "v"}}),
]

ORIGINS = [spec("ORIGIN", subjects=["origin.>"], allow_direct=True), spec("ORIGIN2", subjects=["origin2.>"])]


@pytest.mark.parametrize("before, after", [c[1:] for c in STREAM_UPDATES], ids=[c[0] for c in STREAM_UPDATES])
def test_stream_update_is_accepted_and_converges(nats_server, before, after):
    url = nats_server.url
    create_all(url, ORIGINS + [spec("U", [{"durable_name": "c"}], **before)])
    specs = ORIGINS + [spec("U", [{"durable_name": "c"}], **after)]
    actions = plan(specs, snapshot(url))
    stream = [a for a in actions if a.stream == "U" and a.consumer is None]
    assert [a.action for a in stream] == ["update"], stream
    assert stream[0].changes and not stream[0].reason
    # Consumer defaults can follow (consumer_limits): stream first, then its consumers, as apply does.
    assert {a.action for a in actions if a is not stream[0]} <= {"unchanged", "update"}, actions
    apply(url, actions)
    assert_in_sync(url, specs)


def test_limit_set_by_hand_is_planned_back_to_the_default(nats_server):
    url = nats_server.url
    api(url, "STREAM.CREATE.H", {"name": "H", "subjects": ["h.>"], "max_bytes": 1000, "max_msgs": 5,
                                 "description": "by hand", "metadata": {"who": "me"}})
    specs = [spec("H", subjects=["h.>"])]
    action = plan(specs, snapshot(url))[0]
    assert action.action == "update"
    assert sorted(str(c) for c in action.changes) == sorted([
        "description: by hand → (unset)", "max_msgs: 5 → -1", "max_bytes: 1000 → -1",
        "metadata.who: me → (unset)"])
    assert "error" not in send(url, action)
    cfg = snapshot(url)["H"]["config"]
    assert cfg["max_bytes"] == -1 and "description" not in cfg
    assert not [k for k in cfg.get("metadata", {}) if not k.startswith("_nats.")]
    assert_in_sync(url, specs)


def test_lowering_consumer_limits_updates_the_consumers_first(nats_server):
    """The server refuses consumer_limits below a consumer's current value ("change to limits violates
    consumers"), so the plan puts those consumer updates before the stream update."""
    url = nats_server.url
    consumers_ = [{"durable_name": "a", "ack_policy": "explicit"}, {"durable_name": "b"}]
    create_all(url, [spec("L", consumers_, subjects=["l.>"])])
    specs = [spec("L", consumers_, subjects=["l.>"], consumer_limits={"max_ack_pending": 100})]
    current = snapshot(url)
    actions = plan(specs, current)
    assert [(a.consumer, a.action) for a in actions] == [("a", "update"), (None, "update"), ("b", "update")]
    # In the other order the stream update is refused.
    resp = send(url, actions[1])
    assert "violates consumers" in resp["error"]["description"]
    apply(url, actions)
    assert_in_sync(url, specs)


def test_creating_a_sealed_stream(nats_server):
    url = nats_server.url
    specs = [spec("SEALED", subjects=["sealed.>"], sealed=True)]
    actions = plan(specs, {})
    assert [a.action for a in actions] == ["create", "update"]
    # Why the plan takes two steps: the server refuses a sealed stream on create.
    refused = api(url, "STREAM.CREATE.SEALED", dict(specs[0].config))
    assert "can not be sealed" in refused["error"]["description"]
    apply(url, actions)
    assert snapshot(url)["SEALED"]["config"]["sealed"] is True
    assert_in_sync(url, specs)


CONSUMER_UPDATES = [
    ("description", {}, {"description": "x"}),
    ("ack_wait", {"ack_policy": "explicit"}, {"ack_policy": "explicit", "ack_wait": MIN}),
    ("max_deliver", {"ack_policy": "explicit"}, {"ack_policy": "explicit", "max_deliver": 5}),
    ("backoff", {"ack_policy": "explicit"}, {"ack_policy": "explicit", "backoff": [S, 5 * S], "max_deliver": 4}),
    ("backoff-removed", {"ack_policy": "explicit", "backoff": [S, 5 * S], "max_deliver": 4},
     {"ack_policy": "explicit", "max_deliver": 4}),
    ("filter_subject", {}, {"filter_subject": "U.a"}),
    ("filter_subjects", {"filter_subject": "U.a"}, {"filter_subjects": ["U.b", "U.a"]}),
    ("sample_freq", {}, {"sample_freq": "50%"}),
    ("max_ack_pending", {"ack_policy": "explicit"}, {"ack_policy": "explicit", "max_ack_pending": 50}),
    ("headers_only", {}, {"headers_only": True}),
    ("max_batch", {}, {"max_batch": 10}),
    ("max_expires", {}, {"max_expires": 10 * S}),
    ("max_bytes", {}, {"max_bytes": 1024}),
    ("inactive_threshold", {}, {"inactive_threshold": HOUR}),
    ("num_replicas", {}, {"num_replicas": 1}),
    ("metadata", {"metadata": {"a": "1"}}, {"metadata": {"b": "2"}}),
    ("priority-added", {"ack_policy": "explicit"},
     {"ack_policy": "explicit", "priority_groups": ["g"], "priority_policy": "overflow"}),
    ("priority-pinned", {"ack_policy": "explicit", "priority_groups": ["g"], "priority_policy": "overflow"},
     {"ack_policy": "explicit", "priority_groups": ["g", "h"], "priority_policy": "pinned_client"}),
    ("priority-removed", {"ack_policy": "explicit", "priority_groups": ["g"], "priority_policy": "overflow"},
     {"ack_policy": "explicit"}),
    ("push-rate_limit", {"deliver_subject": "out.a"}, {"deliver_subject": "out.a", "rate_limit_bps": 8000}),
    ("push-deliver_group", {"deliver_subject": "out.a"}, {"deliver_subject": "out.a", "deliver_group": "g"}),
    ("push-deliver_subject", {"deliver_subject": "out.a"}, {"deliver_subject": "out.b"}),
]


@pytest.mark.parametrize("before, after", [c[1:] for c in CONSUMER_UPDATES], ids=[c[0] for c in CONSUMER_UPDATES])
def test_consumer_update_is_accepted_and_converges(nats_server, before, after):
    url = nats_server.url
    create_all(url, [spec("U", [dict(before, durable_name="c")], subjects=["U.>"])])
    specs = [spec("U", [dict(after, durable_name="c")], subjects=["U.>"])]
    actions = plan(specs, snapshot(url))
    assert [(a.consumer, a.action) for a in actions] == [(None, "unchanged"), ("c", "update")], actions
    resp = send(url, actions[1])
    assert "error" not in resp, resp
    assert_in_sync(url, specs)


# -- replace ---------------------------------------------------------------------------------------------------
STREAM_REPLACES = [
    ("storage-memory", {}, {"storage": "memory"}, "storage"),
    ("storage-file", {"storage": "memory"}, {}, "storage"),
    ("retention-to-workqueue", {}, {"retention": "workqueue"}, "workqueue"),
    ("retention-from-workqueue", {"retention": "workqueue"}, {}, "workqueue"),
    ("retention-workqueue-interest", {"retention": "workqueue"}, {"retention": "interest"}, "workqueue"),
    ("unseal", {"sealed": True}, {}, "unsealed"),
    ("deny_delete-off", {"deny_delete": True}, {}, "deny_delete"),
    ("deny_purge-off", {"deny_purge": True}, {}, "deny_purge"),
    ("allow_msg_ttl-off", {"allow_msg_ttl": True}, {}, "allow_msg_ttl"),
    ("delete-markers-removed", {"subject_delete_marker_ttl": MIN}, {"allow_rollup_hdrs": True}, "allow_msg_ttl"),
    ("allow_msg_counter-on", {}, {"allow_msg_counter": True}, "allow_msg_counter"),
    ("allow_msg_counter-off", {"allow_msg_counter": True}, {}, "allow_msg_counter"),
    ("allow_msg_schedules-off", {"allow_msg_schedules": True}, {"allow_rollup_hdrs": True}, "allow_msg_schedules"),
    ("persist_mode-async", {}, {"persist_mode": "async"}, "persist_mode"),
    ("persist_mode-default", {"persist_mode": "async"}, {}, "persist_mode"),
    ("mirror-added", {}, {"mirror": {"name": "ORIGIN"}}, "mirror"),
    ("mirror-changed", {"mirror": {"name": "ORIGIN"}}, {"mirror": {"name": "ORIGIN2"}}, "mirror"),
    ("mirror-filter-changed", {"mirror": {"name": "ORIGIN"}},
     {"mirror": {"name": "ORIGIN", "filter_subject": "origin.a"}}, "mirror"),
]


@pytest.mark.parametrize("before, after, word", [c[1:] for c in STREAM_REPLACES], ids=[c[0] for c in STREAM_REPLACES])
def test_stream_replace_is_refused_in_place_by_the_server(nats_server, before, after, word):
    url = nats_server.url
    consumer = {"durable_name": "c", "ack_policy": "explicit"}  # workqueue needs acks
    create_all(url, ORIGINS + [spec("R", [consumer], **before)])
    specs = ORIGINS + [spec("R", [consumer], **after)]
    current = snapshot(url)
    actions = plan(specs, current)
    stream = [a for a in actions if a.stream == "R" and a.consumer is None]
    assert [a.action for a in stream] == ["replace"], stream
    assert word in stream[0].reason
    # The in-place update the plan refuses to make is refused by the server too.
    attempt = in_place(specs[-1].config, current["R"]["config"])
    resp = api(url, "STREAM.UPDATE.R", attempt)
    assert "error" in resp, (attempt, resp)
    # The planned config creates the replacement, which is then in sync.
    replace(url, stream[0], specs)
    assert_in_sync(url, specs)


def test_pause_until_is_taken_on_create_only(nats_server):
    """Why the plan never compares pause_until: an update request cannot change it."""
    url = nats_server.url
    create_all(url, [spec("P", [{"durable_name": "c", "pause_until": "2099-01-01T00:00:00Z"}], subjects=["p"])])
    current = snapshot(url)
    assert current["P"]["consumers"]["c"]["pause_until"] == "2099-01-01T00:00:00Z"
    specs = [spec("P", [{"durable_name": "c", "pause_until": "2098-01-01T00:00:00Z"}], subjects=["p"])]
    assert_in_sync(url, specs)
    attempt = dict(current["P"]["consumers"]["c"], pause_until="2098-01-01T00:00:00Z")
    resp = api(url, "CONSUMER.CREATE.P.c", {"stream_name": "P", "config": attempt, "action": "update"})
    assert "error" not in resp
    assert consumers(url, "P")["c"]["pause_until"] == "2099-01-01T00:00:00Z"


def test_first_seq_is_accepted_but_has_no_effect_in_place(nats_server):
    """STREAM.UPDATE takes first_seq without error, but an existing stream's sequence does not move: the
    plan therefore calls a first_seq change a replace."""
    url = nats_server.url
    create_all(url, [spec("F", subjects=["f"])])
    specs = [spec("F", subjects=["f"], first_seq=1000)]
    current = snapshot(url)
    [action] = plan(specs, current)
    assert action.action == "replace" and "first_seq" in action.reason
    resp = api(url, "STREAM.UPDATE.F", in_place(specs[0].config, current["F"]["config"]))
    assert "error" not in resp and resp["config"]["first_seq"] == 1000
    publish(url, "f")
    assert streams(url)["F"]["state"]["first_seq"] == 1  # not 1000
    replace(url, action, specs)
    publish(url, "f")
    assert streams(url)["F"]["state"]["first_seq"] == 1000
    assert_in_sync(url, specs)


def test_num_replicas_above_one_is_an_update_a_single_server_refuses(nats_server):
    """Not a replace: a cluster accepts it; a single server refuses any R3, created or updated."""
    url = nats_server.url
    create_all(url, [spec("R3", subjects=["r3"])])
    specs = [spec("R3", subjects=["r3"], num_replicas=3)]
    [action] = plan(specs, snapshot(url))
    assert action.action == "update"
    assert "replicas" in send(url, action)["error"]["description"]


CONSUMER_REPLACES = [
    ("deliver_policy", {}, {"deliver_policy": "new"}, "deliver_policy"),
    ("opt_start_seq", {"deliver_policy": "by_start_sequence", "opt_start_seq": 5},
     {"deliver_policy": "by_start_sequence", "opt_start_seq": 6}, "opt_start_seq"),
    ("opt_start_time", {"deliver_policy": "by_start_time", "opt_start_time": "2024-01-01T00:00:00Z"},
     {"deliver_policy": "by_start_time", "opt_start_time": "2024-02-01T00:00:00Z"}, "opt_start_time"),
    ("ack_policy-on", {}, {"ack_policy": "explicit"}, "ack_policy"),
    ("ack_policy-all", {"ack_policy": "explicit"}, {"ack_policy": "all"}, "ack_policy"),
    ("replay_policy", {}, {"replay_policy": "original"}, "replay_policy"),
    ("mem_storage", {}, {"mem_storage": True}, "mem_storage"),
    ("max_waiting", {}, {"max_waiting": 100}, "max_waiting"),
    ("pull-to-push", {}, {"deliver_subject": "out.x"}, "pull consumer cannot become push"),
    ("push-to-pull", {"deliver_subject": "out.x"}, {}, "push consumer cannot become pull"),
    ("idle_heartbeat", {"deliver_subject": "out.x"}, {"deliver_subject": "out.x", "idle_heartbeat": 5 * S},
     "idle_heartbeat"),
    ("idle_heartbeat-changed", {"deliver_subject": "out.x", "idle_heartbeat": 5 * S},
     {"deliver_subject": "out.x", "idle_heartbeat": 10 * S}, "idle_heartbeat"),
    ("flow_control", {"deliver_subject": "out.x", "idle_heartbeat": 5 * S},
     {"deliver_subject": "out.x", "idle_heartbeat": 5 * S, "flow_control": True}, "flow_control"),
]


@pytest.mark.parametrize("before, after, word", [c[1:] for c in CONSUMER_REPLACES],
                         ids=[c[0] for c in CONSUMER_REPLACES])
def test_consumer_replace_is_refused_in_place_by_the_server(nats_server, before, after, word):
    url = nats_server.url
    create_all(url, [spec("R", [dict(before, durable_name="c")], subjects=["R.>"])])
    specs = [spec("R", [dict(after, durable_name="c")], subjects=["R.>"])]
    current = snapshot(url)
    actions = plan(specs, current)
    assert [(a.consumer, a.action) for a in actions] == [(None, "unchanged"), ("c", "replace")], actions
    assert word in actions[1].reason
    attempt = in_place(specs[0].consumers[0], current["R"]["consumers"]["c"], kind="consumer",
                            stream_config=specs[0].config)
    resp = api(url, "CONSUMER.CREATE.R.c", {"stream_name": "R", "config": attempt, "action": "update"})
    assert "error" in resp, (attempt, resp)
    replace(url, actions[1], specs)
    assert_in_sync(url, specs)


def test_desired_defaults_match_what_the_server_fills_in(nats_server):
    """schema.stored_stream() of a bare definition is what the server stores for it, key by key."""
    url = nats_server.url
    for name, extra in (("A", {}), ("B", {"max_age": 10 * S}), ("C", {"sources": [{"name": "A"}]})):
        resp = api(url, f"STREAM.CREATE.{name}", dict(extra, name=name))
        assert "error" not in resp, resp
        stored = {k: v for k, v in resp["config"].items() if k != "metadata"}
        desired = schema.stored_stream(dict(extra, name=name))
        for key, value in stored.items():
            assert desired.get(key) == value, (name, key)


# -- with the real loader ------------------------------------------------------------------------------------
def test_shipped_streams_d_is_in_sync_after_creation(nats_server):
    from runner import SHIPPED_STREAMS

    specs = load_specs([str(SHIPPED_STREAMS)], warn=lambda message: None)
    assert specs
    create_all(nats_server.url, specs)
    assert_in_sync(nats_server.url, specs)


def test_definitions_exported_from_the_server_are_in_sync(nats_server, tmp_path):
    """`nats stream info --json` of a live stream, read back as a definition: nothing to change."""
    url = nats_server.url
    specs = [s for group in DEFINITIONS.values() for s in group]
    create_all(url, specs)
    infos = streams(url)
    imported = []
    for s in specs:
        doc = {"config": infos[s.name]["config"],
               "consumers": [consumers(url, s.name)[c["durable_name"]] for c in s.consumers]}
        path = tmp_path / f"{s.name}.json"
        path.write_text(json.dumps(doc))
        imported.extend(load_specs([str(path)], warn=lambda message: None))
    assert_in_sync(url, imported)


# -- random definitions ----------------------------------------------------------------------------------------
# Random before/after pairs that the server accepts as definitions: the plan's update-or-replace verdict must
# be the server's own, and either way the result must converge to "unchanged".
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_DURATIONS = st.sampled_from([0, S, 30 * S, 2 * MIN, HOUR, DAY])
_STREAM_KEYS = {
    "description": st.sampled_from(["", "a", "b"]),
    "max_age": _DURATIONS,
    "duplicate_window": st.sampled_from([0, S, 30 * S]),
    "max_msgs": st.sampled_from([-1, 0, 10, 1000]),
    "max_bytes": st.sampled_from([-1, 1024 ** 2, 10 * 1024 ** 2]),
    "max_msgs_per_subject": st.sampled_from([-1, 1, 5]),
    "max_msg_size": st.sampled_from([-1, 1024]),
    "max_consumers": st.sampled_from([-1, 5]),
    "discard": st.sampled_from(["old", "new"]),
    "storage": st.sampled_from(["file", "memory"]),
    "retention": st.sampled_from(["limits", "interest", "workqueue"]),
    "allow_direct": st.booleans(),
    "allow_rollup_hdrs": st.booleans(),
    "deny_delete": st.booleans(),
    "deny_purge": st.booleans(),
    "allow_msg_ttl": st.booleans(),
    "subject_delete_marker_ttl": st.sampled_from([0, MIN]),
    "allow_msg_counter": st.booleans(),
    "allow_atomic": st.booleans(),
    "compression": st.sampled_from(["none", "s2"]),
    "metadata": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["1", "2"]), max_size=2),
    "consumer_limits": st.fixed_dictionaries({}, optional={"max_ack_pending": st.sampled_from([100, 2000]),
                                                           "inactive_threshold": st.sampled_from([HOUR, DAY])}),
}


@st.composite
def stream_definitions(draw):
    config = draw(st.fixed_dictionaries({}, optional=_STREAM_KEYS))
    config["subjects"] = draw(st.lists(st.sampled_from(["a", "b", "c", "d.>"]), min_size=1, max_size=3,
                                       unique=True))
    ack = draw(st.sampled_from(["explicit", "all"]))
    consumer = draw(st.fixed_dictionaries({"durable_name": st.just("c"), "ack_policy": st.just(ack)}, optional={
        "ack_wait": st.sampled_from([10 * S, MIN]),
        "max_deliver": st.sampled_from([-1, 3, 10]),
        "description": st.just("d"),
        "max_ack_pending": st.sampled_from([50, 100]),
        "inactive_threshold": st.sampled_from([10 * MIN, HOUR]),
        "deliver_policy": st.sampled_from(["all", "new", "last"]),
    }))
    return config, consumer


class _Names:
    count = 0

    @classmethod
    def next(cls, prefix):
        cls.count += 1
        return f"{prefix}{cls.count}"


def _scoped(name, config):
    """The same definition on its own subjects (so many can live on one server)."""
    return dict(config, subjects=[f"{name}.{s}" for s in config["subjects"]])


def _creatable(url, config, consumer):
    """Whether the server accepts this definition at all (invalid combinations are the file's problem)."""
    for _attempt in range(3):  # a 500 ("error creating store") is the loaded machine's, not a verdict on the
        name = _Names.next("PROBE")  # definition: asking again keeps hypothesis's replays consistent
        created = api(url, f"STREAM.CREATE.{name}", dict(_scoped(name, config), name=name))
        if created.get("error", {}).get("code") != 500:
            break
        api(url, f"STREAM.DELETE.{name}")
    try:
        if "error" in created:
            return False
        resp = api(url, f"CONSUMER.CREATE.{name}.c", {"stream_name": name, "config": consumer})
        return "error" not in resp
    finally:
        api(url, f"STREAM.DELETE.{name}")


@pytest.fixture(scope="module")
def shared_server():
    from natsserver import NatsServer

    with NatsServer() as server:
        yield server


@hypothesis.settings(max_examples=100, deadline=None, derandomize=True,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                            hypothesis.HealthCheck.filter_too_much])
@hypothesis.given(before=stream_definitions(), after=stream_definitions())
def test_random_definitions_update_or_replace_as_the_server_does(shared_server, before, after):
    url = shared_server.url
    hypothesis.assume(_creatable(url, *before) and _creatable(url, *after))
    name = _Names.next("RAND")
    first = [spec(name, [before[1]], **_scoped(name, before[0]))]
    second = [spec(name, [after[1]], **_scoped(name, after[0]))]
    try:
        create_all(url, first)
        assert_in_sync(url, first)
        current = snapshot(url)
        stream_action = plan(second, current)[0]
        hypothesis.event(f"stream {stream_action.action}")
        attempt = in_place(second[0].config, current[name]["config"])
        accepted = "error" not in api(url, f"STREAM.UPDATE.{name}", attempt)
        if stream_action.action == "replace" and "first_seq" not in stream_action.reason:
            assert not accepted, stream_action
            replace(url, stream_action, second)
        else:
            assert accepted, (stream_action, attempt)
        current = snapshot(url)
        for action in plan(second, current)[1:]:
            hypothesis.event(f"consumer {action.action}")
            if action.action == "replace":
                wanted = second[0].consumers[0]
                attempt = in_place(wanted, current[name]["consumers"]["c"], kind="consumer",
                                        stream_config=second[0].config)
                resp = api(url, f"CONSUMER.CREATE.{name}.c",
                           {"stream_name": name, "config": attempt, "action": "update"})
                assert "error" in resp, (action, attempt)
                replace(url, action, second)
            else:
                apply(url, [action])
        assert_in_sync(url, second)
    finally:
        api(url, f"STREAM.DELETE.{name}")
