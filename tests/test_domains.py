"""JetStream domains: a hub and a leafnode nats-server on loopback, each with its own domain; the tool reaches
the leaf's JetStream through the hub's connection with --js-domain (or NACK's jsDomain)."""
import asyncio
import json
import time

import nats
import pytest

import probe
from natsserver import NatsServer, free_port
from runner import run_cli

# Domains need accounts: the server maps $JS.<domain>.API into each JetStream-enabled account.
ACCOUNTS = """
accounts {
  SYS { users [{user: sys, password: sys}] }
  APP { users [{user: app, password: app}], jetstream: enabled }
}
system_account: SYS
no_auth_user: app
"""
LEAFY = "name: LEAFY\nsubjects: [leafy.>]\nmax_bytes: 1GB\nconsumers:\n  - durable_name: worker\n    ack_policy: explicit\n"
NACK = """apiVersion: jetstream.nats.io/v1beta2
kind: Stream
metadata: {name: nacked}
spec:
  name: NACKED
  subjects: [nacked.>]
  storage: file
  jsDomain: %s
"""


def _domain_answers(url, domain):
    async def ask():
        nc = await nats.connect(url)
        try:
            msg = await nc.request(f"$JS.{domain}.API.INFO", b"", timeout=1)
            return json.loads(msg.data).get("domain") == domain
        except Exception:
            return False
        finally:
            await nc.close()
    return asyncio.run(ask())


@pytest.fixture(scope="module")
def servers():
    leaf_port = free_port()
    hub = NatsServer(name="hub", jetstream_config='domain: "hub"',
                     config=ACCOUNTS + "leafnodes { listen: 127.0.0.1:%d }" % leaf_port)
    leaf = NatsServer(name="leaf", jetstream_config='domain: "leaf"', config=ACCOUNTS + """
leafnodes { remotes [ { url: "nats-leaf://app:app@127.0.0.1:%d", account: APP } ] }""" % leaf_port)
    with hub, leaf:
        deadline = time.monotonic() + 20
        while not _domain_answers(hub.url, "leaf"):
            assert time.monotonic() < deadline, "the leaf's JetStream domain never answered through the hub"
            time.sleep(0.1)
        yield hub, leaf


def files(tmp_path, **named):
    folder = tmp_path / "streams.d"
    folder.mkdir()
    for name, text in named.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def test_init_diff_ls_in_the_leaf_domain_through_the_hub(servers, tmp_path):
    hub, leaf = servers
    folder = files(tmp_path, leafy=LEAFY)
    at_leaf = ("-f", folder, "--nats-url", hub.url, "--js-domain", "leaf")
    init = run_cli("init", *at_leaf)
    assert init.returncode == 0, init
    assert "LEAFY" in probe.streams(leaf.url) and "LEAFY" not in probe.streams(hub.url)
    assert probe.consumers(leaf.url, "LEAFY").keys() == {"worker"}
    diff = run_cli("diff", *at_leaf)
    assert diff.returncode == 0, diff
    ls = run_cli("ls", *at_leaf, "-o", "name")
    assert ls.returncode == 0, ls
    assert "stream/LEAFY" in ls.stdout.split()
    again = run_cli("init", *at_leaf, "-o", "json")
    assert again.returncode == 0, again
    assert {r["action"] for r in json.loads(again.stdout)} == {"unchanged"}
    # The hub's own domain does not have it: without the flag, the stream is missing there.
    assert run_cli("diff", "-f", folder, "--nats-url", hub.url).returncode == 1


def test_env_and_verbose_name_the_domain(servers, tmp_path):
    hub, leaf = servers
    probe.add_stream(leaf.url, {"name": "ENVY", "subjects": ["envy.>"]})
    ls = run_cli("ls", "-o", "name", "-v", "--nats-url", hub.url, cwd=tmp_path, env={"NATS_JS_DOMAIN": "leaf"})
    assert ls.returncode == 0, ls
    assert "stream/ENVY" in ls.stdout.split()
    assert "JetStream domain leaf: API requests go to $JS.leaf.API" in ls.stderr


def test_a_nack_resource_s_js_domain_is_used(servers, tmp_path):
    hub, leaf = servers
    folder = files(tmp_path, nacked=NACK % "leaf")
    init = run_cli("init", "-f", folder, "--nats-url", hub.url)
    assert init.returncode == 0, init
    assert "jsDomain" not in init.stderr  # used, not ignored with a warning
    assert "NACKED" in probe.streams(leaf.url) and "NACKED" not in probe.streams(hub.url)
    assert run_cli("diff", "-f", folder, "--nats-url", hub.url).returncode == 0


@pytest.mark.parametrize("extra, flag, message", [
    ({"plain": "name: PLAIN\nsubjects: [plain.>]\n"}, (),
     "JetStream domain none; the files name leaf, none: one command talks to one domain"),
    ({"other": NACK.replace("NACKED", "OTHER").replace("nacked", "other") % "hub"}, (),
     "the files name hub, leaf"),
    ({}, ("--js-domain", "hub"), "spec.jsDomain: is 'leaf', but --js-domain is 'hub'"),
])
def test_files_that_could_mean_two_domains_are_refused(servers, tmp_path, extra, flag, message):
    hub, leaf = servers
    folder = files(tmp_path, refused=NACK.replace("NACKED", "REFUSED").replace("nacked", "refused") % "leaf",
                   **extra)
    before = set(probe.streams(leaf.url)), set(probe.streams(hub.url))
    result = run_cli("init", "-f", folder, "--nats-url", hub.url, *flag)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert (set(probe.streams(leaf.url)), set(probe.streams(hub.url))) == before


def test_a_bad_or_unknown_domain(servers, tmp_path):
    hub, _ = servers
    bad = run_cli("ls", "--nats-url", hub.url, "--js-domain", "a.b", cwd=tmp_path)
    assert bad.returncode == 2, bad
    assert "--js-domain: invalid JetStream domain 'a.b'" in bad.stderr
    unknown = run_cli("ls", "--nats-url", hub.url, "--js-domain", "nowhere", "--timeout", "2s", cwd=tmp_path)
    assert unknown.returncode == 3, unknown
    assert "no JetStream answers for domain 'nowhere'" in unknown.stderr
