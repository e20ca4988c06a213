"""schema.py: the server's defaults and what it forces, the one place planning and export read them from.

The values are nats-server 2.15.1's (tests/test_spec.py and tests/test_plan_server.py check them against real
servers); these tests pin the rules: a zero that means the default, values forced whatever was asked, and the
_nats.* metadata filter."""
import pytest

from kubectl_jetstream import schema

S = 1_000_000_000
MIN = 60 * S


def test_a_zero_means_the_default_for_a_stream():
    stored = schema.stored_stream({"name": "S", "max_msgs": 0, "max_bytes": -7, "num_replicas": 0,
                                   "duplicate_window": 0, "subjects": []})
    assert (stored["max_msgs"], stored["max_bytes"], stored["num_replicas"]) == (-1, -1, 1)
    assert stored["duplicate_window"] == 2 * MIN and stored["subjects"] == ["S"]
    assert schema.stored_stream({"name": "S", "max_age": 30 * S})["duplicate_window"] == 30 * S
    mirror = schema.stored_stream({"name": "M", "mirror": {"name": "S"}})
    assert "subjects" not in mirror and mirror["duplicate_window"] == 0


def test_what_the_server_forces_on_a_stream():
    sealed = schema.stored_stream({"name": "S", "sealed": True, "max_age": MIN, "allow_rollup_hdrs": True})
    assert {k: sealed[k] for k in ("max_age", "discard", "deny_delete", "deny_purge", "allow_rollup_hdrs")} == {
        "max_age": 0, "discard": "new", "deny_delete": True, "deny_purge": True, "allow_rollup_hdrs": False}
    markers = schema.stored_stream({"name": "S", "subject_delete_marker_ttl": MIN, "allow_msg_ttl": False,
                                    "deny_purge": True})
    assert (markers["allow_msg_ttl"], markers["allow_rollup_hdrs"], markers["deny_purge"]) == (True, True, False)
    asked = schema.stored_stream({"name": "S", "allow_msg_schedules": True, "allow_rollup_hdrs": True,
                                  "deny_purge": True})
    assert (asked["allow_rollup_hdrs"], asked["deny_purge"]) == (True, True)  # roll-ups asked for: purge stays
    assert schema.stored_stream({"name": "S", "republish": {"dest": "x"}})["republish"] == {"dest": "x", "src": ">"}


def test_what_the_server_stores_for_a_consumer():
    stream = schema.stored_stream({"name": "S", "consumer_limits": {"max_ack_pending": 50, "inactive_threshold": MIN}})
    stored = schema.stored_consumer({"durable_name": "c", "ack_policy": "explicit", "max_deliver": 0,
                                     "max_ack_pending": 0}, stream)
    assert (stored["name"], stored["max_deliver"], stored["max_waiting"], stored["ack_wait"]) == ("c", -1, 512, 30 * S)
    assert (stored["max_ack_pending"], stored["inactive_threshold"]) == (50, MIN)
    backoff = schema.stored_consumer({"durable_name": "c", "ack_policy": "explicit", "ack_wait": MIN,
                                      "backoff": [2 * S, 5 * S]})
    assert backoff["ack_wait"] == 2 * S  # the first backoff, whatever ack_wait says
    flow = schema.stored_consumer({"durable_name": "c", "ack_policy": "flow_control", "flow_control": False})
    assert (flow["flow_control"], flow["idle_heartbeat"]) == (True, S)
    pinned = schema.stored_consumer({"durable_name": "c", "priority_policy": "pinned_client", "priority_timeout": 0})
    assert pinned["priority_timeout"] == 2 * MIN
    push = schema.stored_consumer({"durable_name": "p", "deliver_subject": "x"})
    assert (push["max_waiting"], push["ack_wait"], push["max_ack_pending"]) == (0, 0, 0)


@pytest.mark.parametrize("config", [
    {"name": "S"}, {"name": "S", "max_age": 30 * S}, {"name": "M", "mirror": {"name": "S"}},
    {"name": "S", "subject_delete_marker_ttl": MIN}, {"name": "S", "allow_msg_schedules": True},
])
def test_export_defaults_are_what_the_server_stores_for_left_out_keys(config):
    defaults, stored = schema.stream_defaults(config), schema.stored_stream(config)
    assert {k: v for k, v in defaults.items() if k not in config} == \
        {k: stored[k] for k in defaults if k not in config}


def test_server_metadata_is_filtered_in_one_place():
    metadata = {"team": "ops", "_nats.ver": "2.15.1", "_nats.level": "1"}
    assert schema.user_metadata(metadata) == {"team": "ops"} and schema.user_metadata(None) == {}
    assert schema.is_server_metadata("_nats.req.level") and not schema.is_server_metadata("nats.x")
    assert schema.without_server_metadata({"name": "S", "metadata": {"_nats.ver": "2.15.1"}}) == {"name": "S"}
    assert schema.without_server_metadata({"name": "S", "metadata": metadata})["metadata"] == {"team": "ops"}
