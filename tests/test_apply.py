"""apply.py against a real nats-server: every action's outcome recorded, a failed stream blocks only its own
consumers, create_from_spec raises the first refusal, prove_accepted leaves nothing behind."""
import asyncio

import pytest

from kubectl_jetstream.apply import apply_actions, by_stream, check_name, create_from_spec, prove_accepted
from kubectl_jetstream.errors import JetStreamAPIError
from kubectl_jetstream.jetstream import JetStream
from kubectl_jetstream.plan import Action, plan
from kubectl_jetstream.spec.load import StreamSpec
from probe import add_stream, consumers, streams


class Ctx:
    def __init__(self):
        self.done = []


def spec(name, consumers=(), **config):
    return StreamSpec(name=name, config=dict(config, name=name), consumers=list(consumers), path=f"{name}.yaml")


def run(url, work):
    """work(js) on a JetStream connection to `url`, closed afterwards."""
    async def go():
        js = await JetStream.connect(url, timeout=10)
        try:
            return await work(js)
        finally:
            await js.close()
    return asyncio.run(go())


def test_by_stream_keeps_plan_order_within_a_stream():
    actions = [Action("B", None, "create"), Action("A", None, "update"), Action("B", "c", "create"),
               Action("A", "d", "delete")]
    groups = by_stream(actions)
    assert list(groups) == ["B", "A"]
    assert [a.target for a in groups["B"]] == ["B", "B/c"] and [a.target for a in groups["A"]] == ["A", "A/d"]


def test_a_refused_stream_blocks_only_its_own_consumers(server):
    ctx = Ctx()
    specs = [spec("AP_GOOD", [{"durable_name": "c", "ack_policy": "explicit"}], subjects=["ap.good"]),
             spec("AP_BAD", [{"durable_name": "c"}], subjects=["ap.bad"], num_replicas=3)]  # one server: refused
    actions = run(server.url, lambda js: apply_actions(ctx, js, plan(specs, {})))
    outcome = {a.target: (a.result, a.error) for a in actions}
    assert outcome["AP_GOOD"] == ("created", "") and outcome["AP_GOOD/c"] == ("created", "")
    assert outcome["AP_BAD"][0] == "failed" and "replicas" in outcome["AP_BAD"][1]
    assert outcome["AP_BAD/c"] == ("failed", "not applied: stream AP_BAD failed")
    assert ctx.done == ["created AP_GOOD", "created AP_GOOD/c"]
    on_server = streams(server.url)
    assert "AP_GOOD" in on_server and "AP_BAD" not in on_server
    assert list(consumers(server.url, "AP_GOOD")) == ["c"]


def test_unchanged_and_replace_are_recorded_not_sent(server):
    add_stream(server.url, {"name": "AP_SAME", "subjects": ["ap.same"]})
    current = {"AP_SAME": {"config": streams(server.url)["AP_SAME"]["config"], "consumers": {}}}
    ctx = Ctx()
    same = plan([spec("AP_SAME", subjects=["ap.same"])], current)
    replace = plan([spec("AP_SAME", subjects=["ap.same"], storage="memory")], current)
    results = run(server.url, lambda js: apply_actions(ctx, js, same + replace))
    assert [a.result for a in results] == ["unchanged", "replace"] and ctx.done == []
    assert streams(server.url)["AP_SAME"]["config"]["storage"] == "file"


def test_create_from_spec_raises_the_first_refusal_naming_it(server):
    # the server wants max_deliver above the number of backoff steps
    bad = spec("AP_FIRST", [{"durable_name": "c", "ack_policy": "explicit", "max_deliver": 1,
                             "backoff": [1_000_000_000, 2_000_000_000]}], subjects=["ap.first"])
    with pytest.raises(JetStreamAPIError) as refused:
        run(server.url, lambda js: create_from_spec(Ctx(), js, bad))
    assert str(refused.value.description).startswith("AP_FIRST/c: ")
    assert "AP_FIRST" in streams(server.url) and consumers(server.url, "AP_FIRST") == {}


def test_prove_accepted_leaves_nothing_behind(server):
    good = spec("AP_PROVE", [{"durable_name": "c", "ack_policy": "explicit"}], subjects=["ap.prove"], sealed=True)
    run(server.url, lambda js: prove_accepted(Ctx(), js, good))
    assert check_name("AP_PROVE") not in streams(server.url) and "AP_PROVE" not in streams(server.url)

    refused = spec("AP_PROVE", subjects=["ap.prove"], num_replicas=3)
    with pytest.raises(JetStreamAPIError) as error:
        run(server.url, lambda js: prove_accepted(Ctx(), js, refused))
    assert check_name("AP_PROVE") not in error.value.description and "AP_PROVE" in error.value.description
    assert check_name("AP_PROVE") not in streams(server.url)


def test_prove_accepted_never_touches_a_stream_holding_its_trial_name(server):
    add_stream(server.url, {"name": check_name("AP_TAKEN"), "subjects": ["ap.taken"]})
    with pytest.raises(JetStreamAPIError) as error:
        run(server.url, lambda js: prove_accepted(Ctx(), js, spec("AP_TAKEN", subjects=["ap.t"])))
    assert "is taken by an existing stream" in error.value.description
    assert check_name("AP_TAKEN") in streams(server.url)
