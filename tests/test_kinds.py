"""kinds: what kind a server stream is, and kubectl's TYPE/NAME addresses on the command line. Pure."""
import pytest

from kubectl_jetstream import kinds


@pytest.mark.parametrize("text, stream", [
    ("ORDERS", "ORDERS"), ("stream/ORDERS", "ORDERS"), ("streams/ORDERS", "ORDERS"),
    ("kv/config", "KV_config"), ("KeyValue/config", "KV_config"), ("obj/files", "OBJ_files"),
    ("objectstores/files", "OBJ_files"),
    ("pods/x", "pods/x"),  # no kind: left for the name check to refuse
])
def test_command_line_addresses_name_the_stream_behind_them(text, stream):
    assert kinds.stream_name(text) == stream


@pytest.mark.parametrize("stream", ["ORDERS", "KV_config", "OBJ_files"])
def test_ls_name_output_reads_back_as_the_same_stream(stream):
    assert kinds.stream_name(kinds.address(stream)) == stream


def test_a_stream_is_the_kind_of_its_name_or_of_what_it_mirrors():
    assert kinds.kind_of({"name": "KV_config"}) is kinds.KV
    assert kinds.kind_of({"name": "OBJ_files"}) is kinds.OBJECTS
    assert kinds.kind_of({"name": "config_copy", "mirror": {"name": "KV_config"}}) is kinds.KV
    assert kinds.kind_of({"name": "KV_"}) is kinds.STREAM  # a prefix alone names no bucket
    assert kinds.kind_of(None) is kinds.STREAM
    assert kinds.address("KV_config") == "kv/config" and kinds.address("ORDERS") == "stream/ORDERS"


def test_bucket_names_come_from_their_stream_names():
    assert kinds.KV.bucket("KV_config") == "config" and kinds.OBJECTS.bucket("OBJ_files") == "files"
    assert kinds.KV.bucket("config") == "config"


def test_a_backup_stream_says_whose_it_is():
    meta = {kinds.BACKUP_OF: "ORDERS", kinds.STEP: "verified"}
    assert kinds.backup_label({"metadata": meta}) == "backup of ORDERS (step verified)"
    assert kinds.backup_label({"metadata": {"owner": "x"}}) == "" and kinds.backup_label(None) == ""
