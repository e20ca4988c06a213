"""jetstream.JetStream against a real nats-server: the stream and consumer API, snapshots, errors."""
import asyncio

import pytest

import probe
from natsserver import NatsServer, free_port
from runner import HANG
from kubectl_jetstream.errors import (JS_ERR_STREAM_NOT_FOUND, JetStreamAPIError, JetStreamNotEnabled,
                                      NatsConnectionError)
from kubectl_jetstream.jetstream import JetStream, api_prefix, describe_write


def with_js(url, body, **options):
    async def go():
        js = await JetStream.connect(url, **dict({"timeout": 5}, **options))
        try:
            return await body(js)
        finally:
            await js.close()
    return asyncio.run(go())


def test_streams_and_consumers_round_trip(server):
    async def body(js):
        created = await js.create_stream({"name": "JS_RT", "subjects": ["js_rt.>"]})
        await js.update_stream(dict(created["config"], max_msgs=10))
        await js.create_consumer("JS_RT", {"durable_name": "c1", "ack_policy": "explicit"})
        info = await js.stream_info("JS_RT")
        consumers = await js.list_consumers("JS_RT")
        await js.delete_consumer("JS_RT", "c1")
        after = await js.list_consumers("JS_RT")
        await js.delete_stream("JS_RT")
        return info, consumers, after, js.writes, js.unanswered, js.server_name, js.server_version

    info, consumers, after, writes, unanswered, name, version = with_js(server.url, body)
    assert info["config"]["max_msgs"] == 10 and info["state"]["consumer_count"] == 1
    assert [c["name"] for c in consumers] == ["c1"] and after == []
    assert writes == 5 and not unanswered  # every write was answered
    assert name == server.name and version.count(".") == 2
    assert "JS_RT" not in probe.streams(server.url)


def test_snapshot_of_named_streams_holds_only_those(server):
    for name in ("SNAP_A", "SNAP_B"):
        probe.add_stream(server.url, {"name": name, "subjects": [f"{name.lower()}.>"]})
    probe.api(server.url, "CONSUMER.CREATE.SNAP_A.d", {"stream_name": "SNAP_A",
                                                       "config": {"durable_name": "d", "ack_policy": "explicit"}})

    async def body(js):
        return await js.snapshot(names={"SNAP_A", "NOT_THERE", "a.b"}), await js.snapshot()

    named, whole = with_js(server.url, body)
    assert set(named) == {"SNAP_A"}  # no other stream, nothing for names that do not exist
    assert list(named["SNAP_A"]["consumers"]) == ["d"] and named["SNAP_A"]["consumer_infos"][0]["name"] == "d"
    assert {"SNAP_A", "SNAP_B"} <= set(whole) and whole["SNAP_B"]["consumers"] == {}
    assert named["SNAP_A"]["config"]["subjects"] == whole["SNAP_A"]["config"]["subjects"] == ["snap_a.>"]


def test_stream_infos_few_and_many(server):
    names = [f"INFOS_{i}" for i in range(18)]
    for name in names:
        probe.add_stream(server.url, {"name": name, "subjects": [f"{name.lower()}.>"], "storage": "memory"})

    async def body(js):
        return await js.stream_infos(names[:2] + ["MISSING"]), await js.stream_infos(names + ["MISSING"])

    few, many = with_js(server.url, body)  # one STREAM.INFO each; over FEW names, the paged list
    assert set(few) == set(names[:2]) and set(many) == set(names)


def test_messages_purge_and_subject_counts(server):
    probe.add_stream(server.url, {"name": "JS_MSGS", "subjects": ["js_msgs.>"]})

    async def body(js):
        for i in range(3):  # a request, not a publish: the stream's ack says the message is stored
            await js.nc.request(f"js_msgs.{i % 2}", b"x", timeout=HANG)
        counts = await js.subject_counts("JS_MSGS")
        second = await js.get_message("JS_MSGS", 2)
        only_one = await js.get_message("JS_MSGS", 1, subject="js_msgs.1")
        past_end = await js.get_message("JS_MSGS", 99)
        purged = await js.purge_stream("JS_MSGS", keep=1)
        return counts, second, only_one, past_end, purged

    counts, second, only_one, past_end, purged = with_js(server.url, body)
    assert counts == {"js_msgs.0": 2, "js_msgs.1": 1}
    assert second["seq"] == 2 and only_one["seq"] == 2 and past_end is None
    assert purged["purged"] == 2 and probe.streams(server.url)["JS_MSGS"]["state"]["messages"] == 1


def test_api_errors_carry_the_servers_codes(server):
    async def body(js):
        with pytest.raises(JetStreamAPIError) as info:
            await js.stream_info("NO_SUCH_STREAM")
        return info.value

    error = with_js(server.url, body)
    assert error.err_code == JS_ERR_STREAM_NOT_FOUND and "not found" in str(error)


def test_without_jetstream_and_without_a_server():
    with NatsServer(jetstream=False) as plain:
        with pytest.raises(JetStreamNotEnabled):
            with_js(plain.url, lambda js: None, check=True)
    with pytest.raises(NatsConnectionError) as info:
        with_js(f"nats://127.0.0.1:{free_port()}", lambda js: None, timeout=2)
    assert info.value.step == "connect" and "connection refused" in str(info.value)


def test_names_of_api_subjects():
    assert api_prefix() == "$JS.API." and api_prefix("hub") == "$JS.hub.API."
    assert describe_write("$JS.API.STREAM.CREATE.ORDERS") == "create stream ORDERS"
    assert describe_write("$JS.hub.API.CONSUMER.DURABLE.CREATE.ORDERS.c") == "create consumer ORDERS/c"
