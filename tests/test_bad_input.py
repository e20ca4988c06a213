"""Every kind of broken streams.d input: each is reported with its file, its key and a useful message."""
import os

import pytest

from kubectl_jetstream.errors import DefinitionErrors, ExitStatus, InvalidDefinition
from kubectl_jetstream.resources import load_specs

GOOD = "name: ORDERS\nsubjects: [orders.>]\n"


def write(folder, name, text):
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def problems(*paths, warn=None):
    """The InvalidDefinition list load_specs raises for `paths` (fails if it loads)."""
    with pytest.raises(DefinitionErrors) as raised:
        load_specs([str(p) for p in paths], warn=warn or (lambda msg: None))
    assert all(isinstance(e, InvalidDefinition) for e in raised.value.errors)
    return raised.value.errors


def only_problem(*paths):
    errors = problems(*paths)
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def stream_problem(tmp_path, text, name="s.yaml"):
    """The single problem of one file holding `text`."""
    path = write(tmp_path, name, text)
    error = only_problem(path)
    assert error.path == str(path)
    assert str(error).startswith(str(path) + ": ")
    return error


# --- paths, files and parsing ---------------------------------------------------------------------------

def test_empty_folder(tmp_path):
    write(tmp_path, "README.md", "not a definition")
    error = only_problem(tmp_path)
    assert error.path == str(tmp_path)
    assert "no stream definition files" in error.message


def test_missing_path(tmp_path):
    error = only_problem(tmp_path / "nope")
    assert error.path == str(tmp_path / "nope")
    assert error.message == "no such file or directory"


def test_explicit_file_with_another_extension(tmp_path):
    error = only_problem(write(tmp_path, "orders.txt", GOOD))
    assert ".yaml, .yml or .json" in error.message


def test_non_utf8_file(tmp_path):
    error = stream_problem(tmp_path, b"name: \xff\xfeORDERS\n")
    assert "not UTF-8" in error.message and "offset 6" in error.message


def test_binary_file(tmp_path):
    error = stream_problem(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary file" in error.message


def test_yaml_syntax_error_names_the_line(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\nsubjects: [orders.>\nmax_age: 1h\n")
    assert error.message.startswith("invalid YAML at line 3")


def test_yaml_bad_indentation(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\n  subjects: x\n")
    assert "invalid YAML at line 2" in error.message


def test_json_syntax_error_names_the_line(tmp_path):
    error = stream_problem(tmp_path, '{\n  "name": "ORDERS",\n  "subjects": ["a"],\n}\n', name="s.json")
    assert error.message.startswith("invalid JSON at line 4")


def test_duplicate_yaml_key(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\nmax_age: 1h\nmax_age: 2h\n")
    assert "duplicate key 'max_age'" in error.message and "line 3" in error.message


def test_duplicate_yaml_key_in_a_nested_mapping(tmp_path):
    # go-yaml (NACK, kubectl) refuses a repeated key; so does the tool, JSON's last-wins rule is not YAML's.
    error = stream_problem(tmp_path, "name: ORDERS\nplacement:\n  cluster: a\n  cluster: b\n")
    assert "duplicate key 'cluster'" in error.message and "line 4" in error.message


def test_several_yaml_documents_are_several_resources_and_problems_name_the_document(tmp_path):
    path = write(tmp_path, "s.yaml", GOOD + "---\nname: OTHER\n")
    assert [s.name for s in load_specs([str(path)])] == ["ORDERS", "OTHER"]
    error = only_problem(write(tmp_path, "t.yaml", GOOD + "---\nname: OTHER\nmax_age: 30x\n"))
    assert error.path == f"{tmp_path / 't.yaml'} (document 2)" and error.key == "max_age"


def test_a_stream_defined_twice_in_one_file(tmp_path):
    error = only_problem(write(tmp_path, "s.yaml", GOOD + "---\n" + GOOD))
    assert error.key == "name" and "also defined" in error.message


def test_empty_file(tmp_path):
    error = stream_problem(tmp_path, "# nothing here\n")
    assert "empty file" in error.message


@pytest.mark.parametrize("text, what", [("- name: ORDERS\n", "a list"), ("ORDERS\n", "a string"),
                                        ("42\n", "a number")])
def test_top_level_not_a_mapping(tmp_path, text, what):
    error = stream_problem(tmp_path, text)
    assert "top level must be a mapping" in error.message and what in error.message


@pytest.mark.parametrize("kind", ["{a: 1}", "[KeyValue]"])
def test_a_kind_that_is_no_name_is_a_problem_of_the_file(tmp_path, kind):
    error = stream_problem(tmp_path, f"kind: {kind}\nname: ORDERS\n")
    assert "kind Stream" in error.message


def test_file_over_one_mib_is_refused_before_parsing(tmp_path):
    # Valid YAML (one long comment), so the size is the only thing wrong with it.
    error = stream_problem(tmp_path, GOOD + "#" + "x" * (1024 * 1024) + "\n")
    assert "limited to 1 MiB" in error.message


def test_file_of_exactly_one_mib_loads(tmp_path):
    text = GOOD + "#"
    text += "x" * (1024 * 1024 - len(text) - 1) + "\n"
    path = write(tmp_path, "s.yaml", text)
    assert os.path.getsize(path) == 1024 * 1024
    assert load_specs([str(path)])[0].name == "ORDERS"


def test_symlink_loop_in_folder(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    os.symlink(tmp_path / "b.yaml", tmp_path / "a.yaml")
    os.symlink(tmp_path / "a.yaml", tmp_path / "b.yaml")
    errors = problems(tmp_path)
    assert [(e.path, "symlink loop" in e.message) for e in errors] == [
        (str(tmp_path / "a.yaml"), True), (str(tmp_path / "b.yaml"), True)]


def test_dangling_symlink_in_folder(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    os.symlink(tmp_path / "gone.yaml", tmp_path / "link.yaml")
    error = only_problem(tmp_path)
    assert error.path == str(tmp_path / "link.yaml")
    assert "broken symlink" in error.message and "gone.yaml" in error.message


def test_symlink_to_a_file_is_followed(tmp_path):
    real = write(tmp_path, "real.definition", GOOD)  # not picked up by its own name
    os.symlink(real, tmp_path / "orders.yaml")
    assert [s.name for s in load_specs([str(tmp_path)])] == ["ORDERS"]


# --- keys, types, units ---------------------------------------------------------------------------------

def test_missing_name(tmp_path):
    error = stream_problem(tmp_path, "subjects: [orders.>]\n")
    assert error.key == "name" and "missing" in error.message


def test_unknown_key_suggests_the_right_one(tmp_path):
    error = stream_problem(tmp_path, GOOD + "max_msg: 10\n")
    assert error.key == "max_msg"
    assert "unknown stream setting 'max_msg'" in error.message
    assert "did you mean 'max_msgs'?" in error.message


def test_camel_case_key_suggests_the_api_key(tmp_path):
    error = stream_problem(tmp_path, GOOD + "maxAge: 1h\n")
    assert "did you mean 'max_age'?" in error.message


def test_unknown_consumer_key(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: C\n    ack_wiat: 30s\n")
    assert error.key == "consumers[0].ack_wiat"
    assert "unknown consumer setting" in error.message and "'ack_wait'" in error.message


def test_unknown_nested_key(tmp_path):
    error = stream_problem(tmp_path, GOOD + "placement:\n  clster: east\n")
    assert error.key == "placement.clster" and "did you mean 'cluster'?" in error.message


@pytest.mark.parametrize("line, key, expected", [
    ("max_msgs: lots", "max_msgs", "expected a whole number, got a string 'lots'"),
    ("max_msgs: '1000'", "max_msgs", "expected a whole number"),
    ("num_replicas: true", "num_replicas", "expected a whole number, got a boolean"),
    ("deny_delete: 'yes'", "deny_delete", "expected true or false"),
    ("description: 42", "description", "expected a string (quote it)"),
    ("metadata: [a, b]", "metadata", "expected a mapping"),
    ("placement: east", "placement", "expected a mapping"),
    ("sources: {name: A}", "sources", "expected a list of mappings"),
    ("max_msgs: 1.5", "max_msgs", "expected a whole number"),
    ("max_msgs: -2", "max_msgs", "below the minimum -1"),
    ("max_msg_size: 4GiB", "max_msg_size", "above the maximum"),
    ("first_seq: -1", "first_seq", "below the minimum 0"),
])
def test_wrong_type(tmp_path, line, key, expected):
    error = stream_problem(tmp_path, GOOD + line + "\n")
    assert error.key == key
    assert expected in error.message


def test_metadata_value_must_be_a_string(tmp_path):
    error = stream_problem(tmp_path, GOOD + "metadata:\n  version: 2\n")
    assert error.key == "metadata.version" and "must be strings" in error.message


@pytest.mark.parametrize("value, expected", [
    ("-5", "size must be -1 (unlimited) or positive, got -5"),
    ("-5MiB", "invalid size '-5MiB'"),
    ("lots", "invalid size 'lots'"),
    ("10XB", "invalid size '10XB'"),
    ("1.5", "not a whole number of bytes"),
])
def test_negative_or_garbage_size(tmp_path, value, expected):
    error = stream_problem(tmp_path, GOOD + f"max_bytes: '{value}'\n")
    assert error.key == "max_bytes"
    assert expected in error.message


def test_consumer_size(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: C\n    max_bytes: -1\n")
    assert error.key == "consumers[0].max_bytes" and "below the minimum 0" in error.message


@pytest.mark.parametrize("line, key", [
    ("max_age: 30x", "max_age"),
    ("duplicate_window: soon", "duplicate_window"),
    ("consumer_limits: {inactive_threshold: 5 minutes}", "consumer_limits.inactive_threshold"),
])
def test_bad_duration(tmp_path, line, key):
    error = stream_problem(tmp_path, GOOD + line + "\n")
    assert error.key == key
    assert "invalid duration" in error.message


def test_bad_consumer_duration(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: C\n    ack_wait: 30x\n")
    assert error.key == "consumers[0].ack_wait" and "invalid duration '30x'" in error.message


def test_bad_backoff_entry(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, backoff: [1s, later]}\n")
    assert error.key == "consumers[0].backoff[1]" and "invalid duration 'later'" in error.message


def test_negative_duration(tmp_path):
    error = stream_problem(tmp_path, GOOD + "max_age: -1\n")
    assert error.key == "max_age" and "must not be negative" in error.message


def test_max_age_below_100ms(tmp_path):
    error = stream_problem(tmp_path, GOOD + "max_age: 50ms\n")
    assert error.key == "max_age" and "100ms" in error.message


def test_duplicate_window_longer_than_max_age(tmp_path):
    error = stream_problem(tmp_path, GOOD + "max_age: 1m\nduplicate_window: 2m\n")
    assert error.key == "duplicate_window" and "longer than max_age 1m" in error.message


def test_bad_time(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: C\n    deliver_policy: by_start_time\n"
                                            "    opt_start_time: yesterday\n")
    assert error.key == "consumers[0].opt_start_time" and "RFC 3339" in error.message


def test_a_time_that_cannot_be_is_refused_before_the_server_sees_it(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: C\n    deliver_policy: by_start_time\n"
                                            "    opt_start_time: '2024-02-30T12:00:00Z'\n")
    assert error.key == "consumers[0].opt_start_time" and "RFC 3339" in error.message


# --- enums and ranges -----------------------------------------------------------------------------------

def test_retention_not_an_allowed_value(tmp_path):
    error = stream_problem(tmp_path, GOOD + "retention: forever\n")
    assert error.key == "retention"
    assert "must be one of limits, interest, workqueue" in error.message


def test_enum_typo_suggests(tmp_path):
    error = stream_problem(tmp_path, GOOD + "retention: workqeue\n")
    assert "did you mean 'workqueue'?" in error.message


def test_consumer_enum(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, ack_policy: sometimes}\n")
    assert error.key == "consumers[0].ack_policy" and "none, all, explicit" in error.message


@pytest.mark.parametrize("replicas", [0, 6, -1])
def test_num_replicas_out_of_range(tmp_path, replicas):
    error = stream_problem(tmp_path, GOOD + f"num_replicas: {replicas}\n")
    assert error.key == "num_replicas"
    assert "minimum 1" in error.message or "maximum 5" in error.message


def test_consumer_replicas_above_stream(tmp_path):
    error = stream_problem(tmp_path, GOOD + "num_replicas: 1\nconsumers:\n  - {durable_name: C, num_replicas: 3}\n")
    assert error.key == "consumers[0].num_replicas" and "more than the stream's 1" in error.message


# --- bounded work: aliases, nesting, sizes of messages ---------------------------------------------------

def alias_bomb():
    """A "billion laughs" file: 500 bytes whose aliases expand to 9**9 strings."""
    lines = ["name: BOMB", "subjects: [bomb.>]", "metadata:", '  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def merge_key_bomb():
    """The same with merge keys: each mapping merges the one before nine times."""
    lines = ["name: BOMB", "subjects: [bomb.>]", "x0: &x0 {a: 1, b: 2, c: 3}"]
    lines += [f"x{i}: &x{i} {{<<: [{', '.join([f'*x{i - 1}'] * 9)}]}}" for i in range(1, 9)]
    return "\n".join(lines) + "\n"

# The bombs themselves are tested through the CLI (test_bad_input_cli.py), in a child process with a memory
# limit and a deadline: loaded in this process, a regression would take the whole test run down with it.


def test_alias_to_the_value_that_holds_it_is_refused(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsubjects: [s]\nmetadata: &m {a: *m}\n")
    assert error.key == "metadata" and "refers to a value that contains it" in error.message


def test_ordinary_anchors_and_merge_keys_load(tmp_path):
    path = write(tmp_path, "s.yaml", "name: S\nsubjects: [s.>]\nconsumers:\n"
                                     "  - &c {durable_name: a, ack_policy: explicit, max_deliver: 5}\n"
                                     "  - {<<: *c, durable_name: b}\n")
    spec = load_specs([str(path)])[0]
    assert [(c["durable_name"], c["max_deliver"]) for c in spec.consumers] == [("a", 5), ("b", 5)]


def test_more_values_than_any_definition_holds_is_refused(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsubjects: [s]\nmetadata: {" + ",".join(f"k{i}: v" for i in range(50_000)) + "}\n")
    assert error.key == "metadata" and "more than 100,000 values" in error.message


@pytest.mark.parametrize("name, text", [
    ("flow.yaml", "name: S\nsubjects: [s]\nmetadata: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("unclosed.yaml", "name: S\nsubjects: [s]\nmetadata: " + "[" * 5000 + "\n"),
    ("block.yaml", "name: S\nsubjects: [s]\nmetadata:\n  " + "- " * 5000 + "x\n"),
    ("deep.json", '{"name": "S", "subjects": ["s"], "metadata": ' + "[" * 5000 + "]" * 5000 + "}"),
    ("unclosed.json", '{"name": "S", "metadata": ' + '{"a": ' * 5000),
])
def test_deep_nesting_is_refused_naming_the_file_and_key(tmp_path, name, text):
    write(tmp_path, "other.yaml", "name: OTHER\nsubjects: [other]\nmax_age: 30x\n")
    deep = write(tmp_path, name, text)
    errors = problems(tmp_path)
    assert sorted((os.path.basename(e.path), e.key) for e in errors) == sorted(
        [(name, "metadata"), ("other.yaml", "max_age")])
    assert next(e for e in errors if e.path == str(deep)).message == "nested more than 32 levels deep"


def test_nesting_up_to_the_limit_is_read(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsubjects: [s]\nmetadata: " + "[" * 31 + "]" * 31 + "\n")
    assert error.key == "metadata" and "expected a mapping of strings to strings" in error.message


def test_messages_quote_values_briefly(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsubjects: [s]\nmax_msgs: '" + "x" * 100_000 + "'\n")
    assert error.key == "max_msgs" and len(str(error)) < 300


def test_problems_shown_per_file_are_bounded(tmp_path):
    path = write(tmp_path, "s.yaml", "name: S\nsubjects: [s]\n" + "".join(f"k{i}: 1\n" for i in range(1000)))
    errors = problems(path)
    assert len(errors) == 101
    assert errors[-1].message == "and 900 more problems (the first 100 are shown)"


@pytest.mark.parametrize("line, expected", [
    ("opt_start_time: 2024-13-45", "month must be in 1..12"),
    ("max_msgs: " + "1" * 5000, "5000 digits"),
])
def test_values_yaml_cannot_build_are_reported(tmp_path, line, expected):
    error = stream_problem(tmp_path, f"name: S\nsubjects: [s]\n{line}\n")
    assert error.message.startswith("invalid YAML") and expected in error.message


def test_a_folder_named_like_a_definition_is_reported(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    (tmp_path / "nested.yaml").mkdir()
    error = only_problem(tmp_path)
    assert error.path == str(tmp_path / "nested.yaml") and "folder" in error.message


# --- names ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("''", "must be a non-empty string"),
    ("'my stream'", "space"),
    ("orders.v1", "'.'"),
    ("'orders*'", "'*'"),
    ("'orders>'", "'>'"),
    ("a/b", "'/'"),
    ("'a\\b'", "'\\\\'"),
    ("'a\tb'", "'\\t'"),
    ("x" * 256, "256 bytes long (UTF-8); the maximum is 255"),
])
def test_invalid_stream_name(tmp_path, name, expected):
    error = stream_problem(tmp_path, f"name: {name}\nsubjects: [orders.>]\n")
    assert error.key == "name"
    assert expected in error.message


def test_name_length_is_counted_in_bytes_as_the_server_does(tmp_path):
    error = stream_problem(tmp_path, f"name: {'é' * 128}\nsubjects: [a]\n")
    assert error.key == "name" and "256 bytes long (UTF-8); the maximum is 255" in error.message
    error = stream_problem(tmp_path, f"name: S\nsubjects: [a]\nconsumers: [{{durable_name: {'ü' * 128}}}]\n")
    assert error.key == "consumers[0].durable_name" and "256 bytes long" in error.message


@pytest.mark.parametrize("subject, expected", [
    ("$JS.API.>", "overlaps $JS.> (the JetStream API)"),
    ("$JS.*.x", "overlaps $JS.>"),
    ("'*.>'", "overlaps $JS.>"),
    ("$JSC.R.x", "overlaps $JSC.>"),
    ("$NRG.>", "overlaps $NRG.>"),
    ("$SYS.REQ.>", "overlaps $SYS.> (the system API)"),
    ("'>'", "capturing all subjects ('>') requires no_ack: true"),
])
def test_subjects_in_the_servers_namespaces_are_refused(tmp_path, subject, expected):
    error = stream_problem(tmp_path, f"name: S\nsubjects: [{subject}]\n")
    assert error.key == "subjects[0]" and expected in error.message


@pytest.mark.parametrize("subjects, extra", [
    ("[$JS.EVENT.>, $SYS.ACCOUNT.>, $KV.cfg.>, $O.x.>, JS.API.x]", ""),  # what the server allows
    ("[$JS.API.>, $SYS.>]", "no_ack: true\n"),
    ("['>']", "no_ack: true\nnum_replicas: 1\n"),
])
def test_subjects_the_server_allows(tmp_path, subjects, extra):
    path = write(tmp_path, "s.yaml", f"name: S\nsubjects: {subjects}\n{extra}")
    assert load_specs([str(path)])[0].name == "S"


def test_capturing_everything_needs_one_replica(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsubjects: ['>']\nno_ack: true\nnum_replicas: 3\n")
    assert error.key == "subjects[0]" and "requires num_replicas: 1" in error.message


def test_stream_name_of_255_characters_is_fine(tmp_path):
    path = write(tmp_path, "s.yaml", f"name: {'x' * 255}\nsubjects: [a]\n")
    assert load_specs([str(path)])[0].name == "x" * 255


def test_name_must_be_a_string(tmp_path):
    error = stream_problem(tmp_path, "name: 42\nsubjects: [a]\n")
    assert error.key == "name" and "expected a string" in error.message


@pytest.mark.parametrize("durable, expected", [
    ("'a b'", "space"), ("a.b", "'.'"), ("'a*'", "'*'"), ("'a>'", "'>'"), ("a/b", "'/'"),
    ("''", "non-empty"), ("y" * 256, "maximum is 255"),
])
def test_invalid_durable_name(tmp_path, durable, expected):
    error = stream_problem(tmp_path, GOOD + f"consumers:\n  - durable_name: {durable}\n")
    assert error.key == "consumers[0].durable_name"
    assert "durable name" in error.message and expected in error.message


def test_consumer_without_durable_name(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - ack_policy: explicit\n")
    assert error.key == "consumers[0].durable_name" and "missing" in error.message


def test_consumer_name_differs_from_durable(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: A, name: B}\n")
    assert error.key == "consumers[0].name" and "differs from durable_name 'A'" in error.message


def test_consumers_not_a_list(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  durable_name: A\n")
    assert error.key == "consumers" and "expected a list" in error.message


def test_consumer_not_a_mapping(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers: [A]\n")
    assert error.key == "consumers[0]" and "a mapping" in error.message


def test_duplicate_consumer_names(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - durable_name: A\n  - durable_name: B\n  - durable_name: A\n")
    assert error.key == "consumers[2].durable_name"
    assert "duplicate consumer 'A' (also consumers[0])" in error.message


# --- subjects -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("subjects, expected", [
    ("orders.>", "expected a list of strings"),
    ("[orders, 5]", "expected a string"),
    ("{a: b}", "expected a list of strings"),
])
def test_subjects_not_a_list_of_strings(tmp_path, subjects, expected):
    error = stream_problem(tmp_path, f"name: ORDERS\nsubjects: {subjects}\n")
    assert error.key.startswith("subjects")
    assert expected in error.message


@pytest.mark.parametrize("subject, expected", [
    ("a..b", "empty token"),
    (".a", "empty token"),
    ("a.", "empty token"),
    ("a.>.b", "'>' must be the last token"),
    ("a b", "whitespace"),
    ("", "empty subject"),
])
def test_invalid_subject_tokens(tmp_path, subject, expected):
    error = stream_problem(tmp_path, f"name: ORDERS\nsubjects: [ok, '{subject}']\n")
    assert error.key == "subjects[1]"
    assert expected in error.message


def test_subjects_overlapping_within_a_stream(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\nsubjects: [orders.*, orders.new]\n")
    assert error.key == "subjects[1]" and "overlaps 'orders.*'" in error.message


def test_duplicate_subject_within_a_stream(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\nsubjects: [a, a]\n")
    assert error.key == "subjects[1]" and "duplicate subject 'a'" in error.message


def test_duplicate_stream_names_across_files(tmp_path):
    first = write(tmp_path, "a.yaml", "name: ORDERS\nsubjects: [orders.a]\n")
    second = write(tmp_path, "b.yaml", "name: ORDERS\nsubjects: [orders.b]\n")
    error = only_problem(tmp_path)
    assert error.path == str(second) and error.key == "name"
    assert f"stream 'ORDERS' is also defined in {first}" in error.message
    assert str(first) in str(error) and str(second) in str(error)


def test_duplicate_stream_name_reported_even_when_the_file_has_other_problems(tmp_path):
    write(tmp_path, "a.yaml", "name: ORDERS\nsubjects: [orders.a]\n")
    write(tmp_path, "b.yaml", "name: ORDERS\nsubjects: [orders.b]\nmax_age: 30x\n")
    messages = [e.message for e in problems(tmp_path)]
    assert any("invalid duration" in m for m in messages)
    assert any("also defined in" in m for m in messages)


def test_subjects_overlapping_between_streams(tmp_path):
    first = write(tmp_path, "a.yaml", "name: A\nsubjects: [x, 'a.>']\n")
    second = write(tmp_path, "b.yaml", "name: B\nsubjects: [y, a.b]\n")
    error = only_problem(tmp_path)
    assert error.path == str(second) and error.key == "subjects[1]"
    assert "'a.b' overlaps 'a.>' of stream 'A'" in error.message and str(first) in error.message


def test_stream_without_subjects_listens_on_its_name(tmp_path):
    write(tmp_path, "a.yaml", "name: A\nsubjects: ['*']\n")
    write(tmp_path, "b.yaml", "name: B\n")
    error = only_problem(tmp_path)
    assert error.key == "name" and "'B' overlaps '*'" in error.message


# --- consumers against their stream ---------------------------------------------------------------------

def test_consumer_filter_outside_the_stream(tmp_path):
    error = stream_problem(tmp_path, "name: ORDERS\nsubjects: [orders.>, refunds.*]\n"
                                     "consumers:\n  - {durable_name: C, filter_subject: payments.>}\n")
    assert error.key == "consumers[0].filter_subject"
    assert "'payments.>' matches none of the stream's subjects (orders.>, refunds.*)" in error.message


def test_consumer_filter_subjects_outside_the_stream(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, filter_subjects: [orders.new, other]}\n")
    assert error.key == "consumers[0].filter_subjects[1]" and "'other'" in error.message


def test_consumer_filter_and_filters_together(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, filter_subject: orders.a,"
                                            " filter_subjects: [orders.b]}\n")
    assert error.key == "consumers[0].filter_subjects" and "not both" in error.message


def test_consumer_filter_with_bad_token(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, filter_subject: 'orders..x'}\n")
    assert error.key == "consumers[0].filter_subject" and "empty token" in error.message


def test_deliver_policy_needs_its_start(tmp_path):
    error = stream_problem(tmp_path, GOOD + "consumers:\n  - {durable_name: C, deliver_policy: by_start_sequence}\n")
    assert error.key == "consumers[0].opt_start_seq" and "required" in error.message


# --- streams that copy from others ----------------------------------------------------------------------

def test_mirror_with_subjects(tmp_path):
    error = stream_problem(tmp_path, "name: M\nsubjects: [m]\nmirror: {name: ORDERS}\n")
    assert error.key == "subjects" and "mirror" in error.message


def test_source_without_name(tmp_path):
    error = stream_problem(tmp_path, "name: S\nsources:\n  - filter_subject: a.>\n")
    assert error.key == "sources[0].name" and "missing" in error.message


def test_deny_purge_with_delete_markers(tmp_path):
    error = stream_problem(tmp_path, GOOD + "deny_purge: true\nsubject_delete_marker_ttl: 1m\n")
    assert error.key == "deny_purge" and "subject_delete_marker_ttl" in error.message


def test_deny_purge_with_rollups(tmp_path):
    error = stream_problem(tmp_path, GOOD + "deny_purge: true\nallow_rollup_hdrs: true\n")
    assert error.key == "allow_rollup_hdrs" and "deny_purge" in error.message


# --- NACK -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["Account", "StreamTemplate"])
def test_nack_resource_of_another_kind(tmp_path, kind):
    error = stream_problem(tmp_path, f"apiVersion: jetstream.nats.io/v1beta2\nkind: {kind}\n"
                                     "metadata: {name: x}\nspec: {name: x}\n")
    assert error.key == "kind"
    assert f"NACK kind '{kind}' is not supported" in error.message


def test_other_api_version(tmp_path):
    error = stream_problem(tmp_path, "apiVersion: apps/v1\nkind: Deployment\nspec: {}\n")
    assert error.key == "apiVersion" and "not a NACK resource" in error.message


@pytest.mark.parametrize("version", ["jetstream.nats.io/v1", "jetstream.nats.io/v1alpha1", "jetstream.nats.io/"])
def test_nack_api_version_other_than_v1beta2_or_v1beta1(tmp_path, version):
    error = stream_problem(tmp_path, f"apiVersion: {version}\nkind: Stream\nspec: {{name: A, storage: file}}\n")
    assert error.key == "apiVersion" and f"'{version}' is not a version of NACK's Stream" in error.message


def test_nack_v1beta1_loads_like_v1beta2(tmp_path):
    body = "kind: Stream\nspec: {name: A, subjects: [a.>], storage: file, maxAge: 1h, replicas: 1,\n" \
           "       sources: [{name: B, filterSubject: b.x, optStartSeq: 4}]}\n"
    v1 = write(tmp_path, "v1.yaml", "apiVersion: jetstream.nats.io/v1beta1\n" + body)
    v2 = write(tmp_path, "v2.yaml", "apiVersion: jetstream.nats.io/v1beta2\n" + body)
    assert load_specs([str(v1)])[0].config == load_specs([str(v2)])[0].config


def test_nack_v1beta1_refuses_what_its_schema_does_not_have(tmp_path):
    path = write(tmp_path, "s.yaml", "apiVersion: jetstream.nats.io/v1beta1\nkind: Stream\n"
                                     "spec: {name: A, storage: file, denyDelete: true,\n"
                                     "       mirror: {name: B, subjectTransforms: [{source: a, dest: b}]}}\n")
    errors = problems(path)
    assert [e.key for e in errors] == ["spec.denyDelete", "spec.mirror.subjectTransforms"]
    assert all("not in NACK's v1beta1 Stream" in e.message and "v1beta2" in e.message for e in errors)


def test_nack_error_names_the_camel_case_key(tmp_path):
    error = stream_problem(tmp_path, "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\n"
                                     "spec: {name: A, storage: file, maxAge: 30x}\n")
    assert error.key == "spec.maxAge" and "invalid duration '30x'" in error.message


def test_nack_nested_error_names_the_camel_case_key(tmp_path):
    error = stream_problem(tmp_path, "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\n"
                                     "spec: {name: A, storage: file, sources: [{name: B, filterSubject: 'a..b'}]}\n")
    assert error.key == "spec.sources[0].filterSubject" and "empty token" in error.message


def test_nack_unknown_key(tmp_path):
    error = stream_problem(tmp_path, "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\n"
                                     "spec: {name: A, storage: file, maxMsg: 5}\n")
    assert error.key == "spec.maxMsg" and "did you mean 'maxMsgs'?" in error.message


def test_nack_without_spec_name(tmp_path):
    error = stream_problem(tmp_path, "apiVersion: jetstream.nats.io/v1beta2\nkind: Stream\n"
                                     "metadata: {name: orders}\nspec: {storage: file}\n")
    assert error.key == "spec.name" and "missing" in error.message


# --- all problems at once -------------------------------------------------------------------------------

def test_every_problem_of_every_file_is_raised_together(tmp_path):
    write(tmp_path, "a.yaml", "name: A\nsubjects: [a]\nmax_age: 30x\nretention: forever\n")
    write(tmp_path, "b.yaml", "name: 'B B'\nsubjects: [b]\n")
    write(tmp_path, "c.yaml", "[not, a, mapping]\n")
    write(tmp_path, "d.yaml", "name: D\nsubjects: [d]\n")   # fine
    with pytest.raises(DefinitionErrors) as raised:
        load_specs([str(tmp_path)], warn=lambda m: None)
    errors = raised.value.errors
    assert [(os.path.basename(e.path), e.key) for e in errors] == [
        ("a.yaml", "max_age"), ("a.yaml", "retention"), ("b.yaml", "name"), ("c.yaml", None)]
    assert raised.value.exit_status == ExitStatus.USAGE
    assert str(raised.value).count("\n") == 3  # one line per problem


# --- key-value buckets, object stores, NACK consumers -----------------------------------------------------

NACK_CONSUMER = "apiVersion: jetstream.nats.io/v1beta2\nkind: Consumer\nmetadata: {name: c}\nspec:\n"


@pytest.mark.parametrize("text, key, message", [
    ("kind: KeyValue\nbucket: my.bucket\n", "bucket", "invalid bucket name 'my.bucket'"),
    ("kind: KeyValue\nbucket: b\nhistory: 65\n", "history", "above the maximum 64"),
    ("kind: KeyValue\nbucket: b\nttl: 30x\n", "ttl", "invalid duration '30x'"),
    ("kind: KeyValue\nhistory: 2\n", "bucket", "missing"),
    ("kind: ObjectStore\nbucket: b\nhistory: 2\n", "history", "unknown object store setting 'history'"),
    ("kind: KeyValue\nbucket: b\nmirror: {name: a}\nsources: [{name: c}]\n", "sources", "not both"),
    ("apiVersion: jetstream.nats.io/v1beta2\nkind: KeyValue\nspec: {bucket: b, maxValueSise: 1}\n",
     "spec.maxValueSise", "did you mean 'maxValueSize'"),
    ("apiVersion: jetstream.nats.io/v1beta2\nkind: ObjectStore\nspec: {bucket: b, maxBytes: lots}\n",
     "spec.maxBytes", "lots"),
    (NACK_CONSUMER + "  durableName: c\n", "spec.streamName", "missing"),
    (NACK_CONSUMER + "  streamName: NOPE\n  durableName: c\n", "spec.streamName", "'NOPE' is not defined"),
    (NACK_CONSUMER + "  streamName: ORDERS\n", "spec.durableName", "missing"),
    (GOOD + "---\n" + NACK_CONSUMER + "  streamName: ORDERS\n  durableName: c\n  ackWait: soon\n",
     "spec.ackWait", "soon"),
    (GOOD + "---\n" + NACK_CONSUMER + "  streamName: ORDERS\n  durableName: c\n  filterSubject: other.x\n",
     "spec.filterSubject", "matches none of the stream's subjects"),
    (GOOD + "consumers: [{durable_name: c}]\n---\n" + NACK_CONSUMER + "  streamName: ORDERS\n  durableName: c\n",
     "spec.durableName", "also defined in"),
])
def test_bucket_and_consumer_documents(tmp_path, text, key, message):
    errors = problems(write(tmp_path, "s.yaml", text))
    assert len(errors) == 1, "\n".join(map(str, errors))
    assert errors[0].key == key and message in errors[0].message, str(errors[0])
    assert errors[0].path.startswith(str(tmp_path / "s.yaml"))


def test_a_consumer_joins_its_stream_from_another_file(tmp_path):
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", NACK_CONSUMER + "  streamName: ORDERS\n  durableName: c\n  deliverPolicy: lastPerSubject\n"
                              "  filterSubject: orders.x\n")
    [spec] = load_specs([str(tmp_path)])
    assert spec.consumers == [{"durable_name": "c", "deliver_policy": "last_per_subject",
                               "filter_subject": "orders.x"}]
    assert spec.path == str(tmp_path / "a.yaml") and spec.more_paths == [str(tmp_path / "b.yaml")]


def test_a_nack_bucket_carries_its_js_domain(tmp_path):
    path = write(tmp_path, "kv.yaml", "apiVersion: jetstream.nats.io/v1beta2\nkind: KeyValue\n"
                                      "spec: {bucket: config, jsDomain: leaf}\n")
    [spec] = load_specs([str(path)])
    assert (spec.name, spec.js_domain) == ("KV_config", "leaf")
