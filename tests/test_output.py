"""output: the printers (kubectl-style tables, json and yaml documents)."""
import io
import json

import pytest
import yaml

from kubectl_jetstream.context import PluginContext
from kubectl_jetstream.output import dump, join_subjects, render, table, table_text, to_yaml


def ctx():
    return PluginContext(None, stdout=io.StringIO(), stderr=io.StringIO())


def test_tables_have_upper_case_headers_no_borders_and_no_number_parsing():
    text = table_text(["name", "messages"], [["ORDERS", "1,000"], ["A", "007"]])
    assert text.splitlines() == ["NAME    MESSAGES", "ORDERS  1,000", "A       007"]
    out = ctx()
    table(out, ["name"], [])
    assert out.stdout.getvalue() == ""  # nothing for no rows: the command says so on stderr


def test_json_and_yaml_keep_key_order_and_unicode():
    data = [{"name": "Ü", "config": {"subjects": ["a.>"], "z": 1, "a": 2}, "when": b"x"}]
    assert json.loads(render(data, "json"))[0]["name"] == "Ü"
    assert '"z": 1,\n      "a": 2' in render(data[:1], "json").replace("\r", "")
    text = to_yaml({"z": 1, "a": "two\nlines", "u": "Ü"})
    assert text.splitlines()[:3] == ["z: 1", "a: |-", "  two"] and "u: Ü" in text
    assert yaml.safe_load(text) == {"z": 1, "a": "two\nlines", "u": "Ü"}
    out = ctx()
    dump(out, {"a": 1}, "yaml")
    assert out.stdout.getvalue() == "a: 1\n"
    with pytest.raises(ValueError):
        render({}, "toml")


def test_join_subjects_shows_three_and_counts_the_rest():
    assert join_subjects(None) == ""
    assert join_subjects(["a", "b", "c"]) == "a, b, c"
    assert join_subjects(["a", "b", "c", "d", "e"]) == "a, b, c (+2)"
