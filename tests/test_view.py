"""`view`: a stream's messages, read-only, against a real nats-server. Looking must not change what a workqueue
or interest stream holds, nor its consumers; payloads are shown as JSON, text or a hex dump."""
import asyncio
import base64
import json

import nats
import pytest

import probe
from runner import run_cli


def seqs(result):
    assert result.returncode == 0, result
    return [m["seq"] for m in json.loads(result.stdout)]


def observed(url, stream):
    """What a user cares about: the stream's counts and sequences, and its consumers with their positions."""
    info = probe.api(url, f"STREAM.INFO.{stream}")
    consumers = probe.api(url, f"CONSUMER.LIST.{stream}", {"offset": 0}).get("consumers") or []
    return (info["state"]["messages"], info["state"]["first_seq"], info["state"]["last_seq"],
            info["state"]["consumer_count"],
            sorted((c["name"], c["num_pending"], c["num_ack_pending"], c["delivered"]["stream_seq"],
                    c["ack_floor"]["stream_seq"]) for c in consumers))


@pytest.mark.parametrize("retention", ["workqueue", "interest"])
def test_view_leaves_workqueue_and_interest_streams_unchanged(server, retention):
    url, name = server.url, f"VIEW_{retention.upper()}"
    probe.add_stream(url, {"name": name, "subjects": [f"{retention}.>"], "retention": retention})
    probe.add_consumer(url, name, {"durable_name": "worker", "ack_policy": "explicit"})
    if retention == "interest":  # a second consumer that acked nothing keeps every message
        probe.add_consumer(url, name, {"durable_name": "audit", "ack_policy": "explicit"})
    probe.publish(url, f"{retention}.job", count=6)

    async def take_two():  # a consumer part-way: two acked (gone from a workqueue), one unacked
        nc = await nats.connect(url)
        try:
            sub = await nc.jetstream().pull_subscribe(f"{retention}.>", durable="worker", stream=name)
            msgs = await sub.fetch(3, timeout=5)
            for msg in msgs[:2]:
                await msg.ack_sync()
        finally:
            await nc.close()

    asyncio.run(take_two())
    before = observed(url, name)
    with probe.ApiRecorder(url) as recorder:
        shown = seqs(run_cli("view", name, "--nats-url", url, "-o", "json"))
        text = run_cli("view", name, "--nats-url", url, "--last", "2")
        since = seqs(run_cli("view", name, "--nats-url", url, "--since", "1h", "-o", "json"))
    assert text.returncode == 0 and "[6] Subject:" in text.stdout and "[4]" not in text.stdout
    assert observed(url, name) == before
    assert not recorder.writes
    assert not [s for s in recorder.subjects if ".CONSUMER." in s]
    expected = [3, 4, 5, 6] if retention == "workqueue" else [1, 2, 3, 4, 5, 6]
    assert shown == expected and since == expected


def test_selection_last_seq_since_and_subject(server):
    url = server.url
    probe.add_stream(url, {"name": "PICK", "subjects": ["pick.>"]})
    for i in range(1, 31):
        probe.publish(url, "pick.even" if i % 2 == 0 else "pick.odd", payload=str(i).encode())
    probe.api(url, "STREAM.MSG.DELETE.PICK", {"seq": 29})  # a gap
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "-o", "json")) == [20, 21, 22, 23, 24, 25, 26, 27, 28, 30]
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--last", "3", "--subject", "pick.odd", "-o", "json")) \
        == [23, 25, 27]
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--seq", "28", "--last", "5", "-o", "json")) == [28, 30]
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--seq", "5", "--last", "2", "--subject", "pick.even",
                        "-o", "json")) == [6, 8]
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--since", "1h", "--last", "2", "-o", "json")) == [1, 2]
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--since", "2099-01-01T00:00:00Z", "-o", "json")) == []
    assert seqs(run_cli("view", "PICK", "--nats-url", url, "--last", "100", "--subject", "pick.none",
                        "-o", "json")) == []
    assert len(seqs(run_cli("view", "PICK", "--nats-url", url, "--last", "100", "-o", "json"))) == 29


def test_payloads_json_text_binary_and_large(server):
    url = server.url
    probe.add_stream(url, {"name": "BODIES", "subjects": ["bodies.>"]})
    binary = bytes(range(256))
    large = ("line of text " * 1000).encode()
    for subject, payload in (("bodies.json", b'{"task": "t-1", "steps": [1, 2]}'), ("bodies.bin", binary),
                             ("bodies.text", b"plain text\nsecond line"), ("bodies.large", large)):
        probe.publish(url, subject, payload=payload)

    async def with_header():
        nc = await nats.connect(url)
        try:
            await nc.jetstream().publish("bodies.hdr", b"x", headers={"Nats-Msg-Id": "m-1", "X-Trace": "abc"})
        finally:
            await nc.close()

    asyncio.run(with_header())
    text = run_cli("view", "BODIES", "--nats-url", url, "--max-bytes", "1KiB")
    assert text.returncode == 0, text
    out = text.stdout
    assert '{\n  "task": "t-1",\n  "steps": [\n    1,\n    2\n  ]\n}' in out  # pretty-printed
    assert "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|" in out
    assert "000000f0  f0 f1" in out  # the whole 256 bytes fit in 1 KiB
    assert "plain text\nsecond line" in out
    assert f"... {len(large) - 1024:,} more bytes (--max-bytes 1024)" in out
    assert "  Nats-Msg-Id: m-1" in out and "  X-Trace: abc" in out
    assert "Subject: bodies.large" in out and "Size: 12.7 KiB" in out

    as_json = json.loads(run_cli("view", "BODIES", "--nats-url", url, "-o", "json", "--max-bytes", "10").stdout)
    by_subject = {m["subject"]: m for m in as_json}
    assert base64.b64decode(by_subject["bodies.bin"]["data"]) == binary
    assert base64.b64decode(by_subject["bodies.large"]["data"]) == large  # whole in json
    assert by_subject["bodies.large"]["size"] == len(large)
    assert by_subject["bodies.hdr"]["headers"] == {"Nats-Msg-Id": ["m-1"], "X-Trace": ["abc"]}

    cut_binary = run_cli("view", "BODIES", "--nats-url", url, "--subject", "bodies.bin", "--max-bytes", "32")
    assert "00000010  10 11" in cut_binary.stdout and "00000020" not in cut_binary.stdout
    assert "... 224 more bytes (--max-bytes 32)" in cut_binary.stdout


def test_bad_input_and_missing_stream(server):
    url = server.url
    for flags, named in ((["--last", "0"], "--last"), (["--seq", "0"], "--seq"), (["--since", "soon"], "--since"),
                         (["--subject", "a..b"], "--subject"), (["--max-bytes", "lots"], "--max-bytes"),
                         (["--since", "-5m"], "--since")):
        result = run_cli("view", "ANY", "--nats-url", "nats://127.0.0.1:9", *flags)
        assert result.returncode == 2 and named in result.stderr, (flags, result)
    both = run_cli("view", "ANY", "--nats-url", url, "--seq", "1", "--since", "1h")
    assert both.returncode == 2
    assert run_cli("view", "bad.name", "--nats-url", url).returncode == 2
    missing = run_cli("view", "NOPE", "--nats-url", url)
    assert missing.returncode == 4 and "stream not found" in missing.stderr
