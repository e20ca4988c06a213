"""Issue 11's edges against a real nats-server, the CLI as a subprocess: purge arguments, --prune on interest
streams, export file names, diff's unmanaged consumers, ls/info on a standalone server, one sort order."""
import json

import pytest

import probe
from natsserver import NatsServer
from runner import run_cli


@pytest.fixture(scope="module")
def server():
    with NatsServer(name="solo") as s:
        yield s


def fresh(url, name, subjects, count=0, **config):
    """A stream (deleted first if an earlier test left it) with `count` messages on its first subject."""
    probe.api(url, f"STREAM.DELETE.{name}")
    probe.add_stream(url, {"name": name, "subjects": subjects, **config})
    if count:
        probe.publish(url, subjects[0].replace(">", "x").replace("*", "x"), count)


def only(url, *names):
    """Delete every stream but `names`: --prune deletes what no file defines, so each prune test starts clean."""
    for name in probe.streams(url):
        if name not in names:
            probe.api(url, f"STREAM.DELETE.{name}")


def write(folder, files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


# -- 1. purge arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [["--seq", "0"], ["--seq", "-3"], ["--keep", "-1"],
                                   ["--seq", str(2 ** 64)], ["--subject", "p1..x"], ["--subject", "p1.>.x"]])
def test_purge_bad_numbers_and_subjects_are_refused_before_the_server(server, flags):
    fresh(server.url, "P1", ["p1.>"], count=6)
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("purge", "P1", *flags, "--yes", "--nats-url", server.url)
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result
    assert recorder.subjects == []  # not even a lookup: the server was never asked anything
    assert probe.message_counts(server.url)["P1"] == 6


def test_purge_subject_matching_no_stream_subject_names_them(server):
    fresh(server.url, "P2", ["p2.a.>", "p2.b"], count=4)
    with probe.ApiRecorder(server.url) as recorder:
        result = run_cli("purge", "P2", "--subject", "other.x", "--yes", "--nats-url", server.url)
    assert result.returncode == 2, result
    assert "p2.a.>" in result.stderr and "p2.b" in result.stderr and "P2" in result.stderr
    assert recorder.writes == []
    assert probe.message_counts(server.url)["P2"] == 4
    ok = run_cli("purge", "P2", "--subject", "p2.*.x", "--seq", "3", "--yes", "--nats-url", server.url)
    assert ok.returncode == 0, ok
    assert probe.message_counts(server.url)["P2"] == 2  # seq 1 and 2 went, 3 and 4 stay


def test_purge_subject_of_a_transformed_stream_is_accepted(server):
    fresh(server.url, "P3", ["p3.in.>"], subject_transform={"src": "p3.in.>", "dest": "p3.out.>"})
    probe.publish(server.url, "p3.in.a", 3)
    result = run_cli("purge", "P3", "--subject", "p3.out.a", "--yes", "--nats-url", server.url)
    assert result.returncode == 0, result
    assert probe.message_counts(server.url)["P3"] == 0


# -- 3. init --prune on interest streams ------------------------------------------------------------------
PRUNE_FILES = {"int.yaml": "name: INT\nsubjects: [int.>]\nretention: interest\nconsumers:\n"
                           "  - durable_name: c2\n    ack_policy: explicit\n    filter_subject: int.b\n"}


@pytest.fixture
def interest(server, tmp_path):
    """INT (interest): c1 (everything) and c2 (int.b); 40 messages on int.a only c1 wants, 5 on int.b."""
    only(server.url)
    fresh(server.url, "INT", ["int.>"], retention="interest")
    probe.add_consumer(server.url, "INT", {"durable_name": "c1", "ack_policy": "explicit"})
    probe.add_consumer(server.url, "INT", {"durable_name": "c2", "ack_policy": "explicit", "filter_subject": "int.b"})
    probe.publish(server.url, "int.a", 40)
    probe.publish(server.url, "int.b", 5)
    return write(tmp_path / "streams.d", PRUNE_FILES)


def test_prune_of_an_interest_consumer_counts_the_messages_and_refuses_without_terminal(server, interest):
    dry = run_cli("init", "--prune", "--dry-run", "-f", interest, "--nats-url", server.url)
    assert dry.returncode == 0 and "removes 40 messages" in dry.stderr, dry
    with probe.ApiRecorder(server.url) as recorder:
        refused = run_cli("init", "--prune", "-f", interest, "--nats-url", server.url)
    assert refused.returncode == 2, refused
    assert "INT: deleting consumer c1 of this interest stream removes 40 messages" in refused.stderr
    assert "--yes" in refused.stderr and recorder.writes == []
    assert probe.message_counts(server.url)["INT"] == 45
    done = run_cli("init", "--prune", "--yes", "-f", interest, "--nats-url", server.url)
    assert done.returncode == 0, done
    assert probe.message_counts(server.url)["INT"] == 5  # the count shown was the truth
    assert list(probe.consumers(server.url, "INT")) == ["c2"]


def one_consumer_stream(url, folder, name, retention, count):
    """Only `name` on the server, with one durable consumer its file does not list, and `count` messages."""
    only(url)
    fresh(url, name, [f"{name.lower()}.>"], retention=retention)
    probe.add_consumer(url, name, {"durable_name": "unlisted", "ack_policy": "explicit"})
    probe.publish(url, f"{name.lower()}.a", count)
    return write(folder, {"s.yaml": f"name: {name}\nsubjects: [{name.lower()}.>]\nretention: {retention}\n"})


def test_prune_of_the_last_interest_consumer_counts_every_message(server, tmp_path):
    folder = one_consumer_stream(server.url, tmp_path / "d", "INT2", "interest", 7)
    dry = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", server.url)
    assert "removes 7 messages" in dry.stderr, dry


def test_prune_of_a_workqueue_consumer_keeps_its_messages_on_the_server(server, tmp_path):
    """The server keeps a work queue's messages for the next consumer: not a message-removing change."""
    folder = one_consumer_stream(server.url, tmp_path / "d", "WQ", "workqueue", 6)
    dry = run_cli("init", "--prune", "--dry-run", "-f", folder, "--nats-url", server.url)
    assert dry.returncode == 0 and "remove" not in dry.stderr, dry
    assert run_cli("init", "--prune", "--yes", "-f", folder, "--nats-url", server.url).returncode == 0
    assert probe.message_counts(server.url)["WQ"] == 6 and probe.consumers(server.url, "WQ") == {}


# -- 5. export -d ----------------------------------------------------------------------------------------
def test_export_keeps_streams_whose_names_differ_only_in_case(server, tmp_path):
    import yaml

    for name, subject in (("ORDERS", "up.>"), ("orders", "low.>"), ("Orders", "mid.>")):
        fresh(server.url, name, [subject])
    out = tmp_path / "out"
    result = run_cli("export", "ORDERS", "orders", "Orders", "-d", out, "--nats-url", server.url)
    assert result.returncode == 0, result
    wrote = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("wrote ")]
    assert len(wrote) == 3 and len({p.lower() for p in wrote}) == 3, result  # distinct even ignoring case
    names = {yaml.safe_load((out / f).read_text())["name"] for f in sorted(p.name for p in out.iterdir())}
    assert names == {"ORDERS", "orders", "Orders"}
    back = run_cli("diff", "ORDERS", "orders", "Orders", "-f", out, "--nats-url", server.url)
    assert back.returncode == 0, back  # the files load back to the three streams, in sync


@pytest.mark.parametrize("target", ["/proc/x", "/dev/full"])
def test_export_to_an_unwritable_folder_is_one_line_and_exit_2(server, target):
    fresh(server.url, "E5", ["e5"])
    result = run_cli("export", "E5", "-d", target, "--nats-url", server.url)
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result
    assert target in result.stderr and "Traceback" not in result.stderr


# -- 6. diff lists consumers added by hand ---------------------------------------------------------------
def test_diff_lists_consumers_added_by_hand_as_unmanaged(server, tmp_path):
    folder = write(tmp_path / "d", {"d6.yaml": "name: D6\nsubjects: [d6.>]\nconsumers:\n"
                                               "  - durable_name: listed\n    ack_policy: explicit\n"})
    fresh(server.url, "D6", ["d6.>"])
    assert run_cli("init", "-f", folder, "--nats-url", server.url).returncode == 0
    probe.add_consumer(server.url, "D6", {"durable_name": "byhand", "ack_policy": "explicit"})
    table = run_cli("diff", "-f", folder, "--nats-url", server.url)
    assert table.returncode == 0, table  # like unmanaged streams: listed, not a difference
    assert "unmanaged consumers" in table.stdout and "D6/byhand" in table.stdout and "D6/listed" not in table.stdout
    data = json.loads(run_cli("diff", "D6", "-f", folder, "-o", "json", "--nats-url", server.url).stdout)
    assert data["unmanaged_consumers"] == [{"stream": "D6", "consumer": "byhand"}]


# -- 14. deny_delete forbids deleting messages, not the stream ------------------------------------------------
def test_deny_delete_stream_can_be_deleted_and_the_readme_says_so(server):
    from runner import REPO

    fresh(server.url, "D14", ["d14"], deny_delete=True)
    result = run_cli("delete", "D14", "--yes", "--nats-url", server.url)
    assert result.returncode == 0, result
    assert "D14" not in probe.streams(server.url)
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Destructive commands are safe by default", 1)[1].split("\n## ", 1)[0]
    assert "`deny_delete`" in section and "purge or delete" not in section
    assert "`deny_delete` only forbids deleting single messages" in section


# -- 15. ls -o wide and info on a standalone server ----------------------------------------------------------
def test_standalone_server_is_leader_and_replica_of_its_streams(server, tmp_path):
    fresh(server.url, "S15", ["s15"], count=2)
    wide = run_cli("ls", "-o", "wide", "--nats-url", server.url, cwd=tmp_path)  # no streams.d there
    assert wide.returncode == 0, wide
    header, *rows = wide.stdout.splitlines()
    cells = next(r for r in rows if r.startswith("S15 ")).split()
    assert cells[-2:] == ["solo", "1/1"], wide  # LEADER, REPLICAS OK (no STATUS column without streams.d)
    info = run_cli("info", "S15", "--nats-url", server.url)
    assert info.returncode == 0, info
    assert "  leader: solo" in info.stdout.splitlines()
    assert not [line for line in info.stdout.splitlines() if line.rstrip().endswith(":") and "name" in line], info


# -- 20. ls and init list streams in one order -----------------------------------------------------------
def test_ls_and_init_sort_stream_names_the_same_way(server, tmp_path):
    # File order (1, 2, 3) is not name order.
    folder = write(tmp_path / "d", {"1.yaml": "name: b20\nsubjects: [b20]\n", "2.yaml": "name: A20\nsubjects: [A20]\n",
                                    "3.yaml": "name: a20\nsubjects: [a20]\n"})
    mine = {"b20", "A20", "a20"}
    init = run_cli("init", "-f", folder, "--nats-url", server.url)
    assert init.returncode == 0, init
    init_order = [line.split()[0] for line in init.stdout.splitlines()[1:-1] if line.split()[0] in mine]
    ls = run_cli("ls", "-f", folder, "--nats-url", server.url)
    ls_order = [line.split()[0] for line in ls.stdout.splitlines()[1:] if line.split()[0] in mine]
    assert init_order == ls_order == ["A20", "a20", "b20"], (init, ls)
