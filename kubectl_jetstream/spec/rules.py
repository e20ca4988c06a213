"""Rules beyond single values: between the keys of a stream or consumer (limits, sources, filters) and
between files (one definition per stream, one stream per subject, consumers joined to their stream)."""
from .. import schema, units
from ..errors import DefinitionErrors, InvalidDefinition, shown
from ..subjects import stream_subjects, subject_within, subjects_overlap
from .names import name_problem
from .problems import join_key, type_name
from .values import check_object

_MIN_AGE_NS = 100_000_000  # the server refuses max_age and duplicate_window under 100ms


def check_stream(config, problems):
    name = config.get("name")
    if "name" not in config:
        if not problems.about("name"):
            problems("name", "missing: every stream needs a name")
    else:
        problem = name_problem(name)
        if problem:
            problems("name", problem)
    _check_own_subjects(config, problems)
    _check_limits(config, problems)
    _check_sources(config, problems)
    _check_text_limits(config, "", problems)


def _check_text_limits(config, key, problems):
    """Description and metadata as the server measures them: in bytes."""
    def size(text):
        return len(text.encode("utf-8", "surrogatepass"))
    if size(config.get("description", "")) > schema.MAX_DESCRIPTION_LEN:
        problems(join_key(key, "description"), f"longer than {schema.MAX_DESCRIPTION_LEN} bytes")
    if sum(size(k) + size(v) for k, v in config.get("metadata", {}).items()) > schema.MAX_METADATA_LEN:
        problems(join_key(key, "metadata"), "larger than 128 KiB in total")


def _check_own_subjects(config, problems):
    subjects = config.get("subjects", [])
    for i, candidates in _overlap_candidates([[subject] for subject in subjects]):
        subject = subjects[i]
        for j in candidates:
            if subjects[j] == subject:
                problems(f"subjects[{i}]", f"duplicate subject {shown(subject)} (also subjects[{j}])")
            elif subjects_overlap(subjects[j], subject):
                problems(f"subjects[{i}]",
                         f"subject {shown(subject)} overlaps {shown(subjects[j])} (subjects[{j}]) of the same stream")
    for i, subject in enumerate(subjects):
        reserved = _reserved_problem(subject, config)
        if reserved:
            problems(f"subjects[{i}]", reserved)


# The server refuses stream subjects in its own namespaces unless no_ack is set (checkStreamCfg): the
# JetStream API and cluster traffic, and the system account's subjects; older $JS.EVENT and $SYS.ACCOUNT
# streams are allowed.
_RESERVED_SUBJECTS = (("$JS.>", "$JS.EVENT.>", "the JetStream API"), ("$JSC.>", None, "JetStream's cluster traffic"),
                      ("$NRG.>", None, "JetStream's cluster traffic"), ("$SYS.>", "$SYS.ACCOUNT.>", "the system API"))


def _reserved_problem(subject, config):
    if subject == ">" and config.get("num_replicas", 1) != 1:
        return "capturing all subjects ('>') requires num_replicas: 1"
    if config.get("no_ack"):
        return None
    if subject == ">":
        return "capturing all subjects ('>') requires no_ack: true"
    for namespace, allowed, what in _RESERVED_SUBJECTS:
        if subjects_overlap(subject, namespace) and not (allowed and subject_within(subject, allowed)):
            return f"{shown(subject)} overlaps {namespace} ({what}); the server allows that only with no_ack: true"
    return None


def _check_limits(config, problems):
    max_age = config.get("max_age", 0)
    window = config.get("duplicate_window", 0)
    if 0 < max_age < _MIN_AGE_NS:
        problems("max_age", "must be 0 (unlimited) or at least 100ms")
    if 0 < window < _MIN_AGE_NS:
        problems("duplicate_window", "must be at least 100ms")
    if max_age and window > max_age:
        problems("duplicate_window", f"{units.format_duration(window)} is longer than "
                                     f"max_age {units.format_duration(max_age)}")
    if config.get("deny_purge") and config.get("allow_rollup_hdrs"):
        problems("allow_rollup_hdrs", "roll-ups purge messages, so they cannot be combined with deny_purge")
    for needs_rollups in ("subject_delete_marker_ttl", "allow_msg_schedules"):
        if config.get(needs_rollups) and config.get("deny_purge"):
            # The server would turn roll-ups on and deny_purge off, and every plan would show it again.
            problems("deny_purge", f"cannot be combined with {needs_rollups}, which needs roll-ups (and so purges)")
    if config.get("discard_new_per_subject"):
        if config.get("discard") != "new":
            problems("discard_new_per_subject", "requires discard: new")
        if config.get("max_msgs_per_subject", -1) <= 0:
            problems("discard_new_per_subject", "requires max_msgs_per_subject > 0")


def _check_sources(config, problems):
    if "mirror" in config:
        for key in ("subjects", "sources"):
            if config.get(key):
                problems(key, "a mirror cannot have its own " + key)
        _check_source(config["mirror"], "mirror", problems)
    for i, source in enumerate(config.get("sources", [])):
        _check_source(source, f"sources[{i}]", problems)


def _check_source(source, key, problems):
    if "name" not in source:
        problems(f"{key}.name", "missing: the name of the stream to copy from")
    elif name_problem(source["name"]):
        problems(f"{key}.name", name_problem(source["name"]))


def check_consumers(raw, stream_config, path, warn, problems):
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems("consumers", f"expected a list of consumers, got {type_name(raw)}")
        return []
    consumers, first_index = [], {}
    for i, item in enumerate(raw):
        key = f"consumers[{i}]"
        if isinstance(item, dict) and isinstance(item.get("config"), dict):
            item = item["config"]  # `nats consumer info --json`
        if not isinstance(item, dict):
            problems(key, f"expected the settings of one consumer (a mapping), got {type_name(item)}")
            continue
        config = consumer_config(item, key, path, warn, problems)
        durable = config.get("durable_name")
        if not isinstance(durable, str) or name_problem(durable, "durable name"):
            continue
        if durable in first_index:
            problems(f"{key}.durable_name", f"duplicate consumer {shown(durable)} (also consumers[{first_index[durable]}])")
            continue
        first_index[durable] = i
        _check_consumer_rules(config, stream_config, key, problems)
        consumers.append(config)
    return consumers


def consumer_config(item, key, path, warn, problems):
    """One consumer's settings (under `key` of the document) -> its normalized ConsumerConfig."""
    item = dict(item)
    for name in sorted(schema.server_managed_consumer_keys & set(item)):
        if item[name]:
            warn(f"{path}: {problems.spelled(join_key(key, name))}: ignored (only the server sets it)")
        del item[name]
    config = check_object(item, schema.CONSUMER_FIELDS, key, problems, "consumer")
    if "durable_name" not in config:
        if "durable_name" not in item:
            problems(join_key(key, "durable_name"),
                     "missing: every consumer in streams.d is durable and needs a durable_name")
    elif name_problem(config["durable_name"], "durable name"):
        problems(join_key(key, "durable_name"), name_problem(config["durable_name"], "durable name"))
    if "name" in config and config.get("durable_name") and config["name"] != config["durable_name"]:
        problems(join_key(key, "name"), f"{shown(config['name'])} differs from durable_name "
                                        f"{shown(config['durable_name'])}; leave name out or make them equal")
    return config


def _check_consumer_rules(config, stream_config, key, problems):
    _check_text_limits(config, key, problems)
    if "filter_subject" in config and config.get("filter_subjects"):
        problems(f"{key}.filter_subjects", "use either filter_subject or filter_subjects, not both")
    filters = [("filter_subject", config["filter_subject"])] if config.get("filter_subject") else []
    filters += [(f"filter_subjects[{i}]", s) for i, s in enumerate(config.get("filter_subjects", []))]
    subjects = [] if problems.about("subjects") else stream_subjects(stream_config)
    for where, subject in filters:
        if subjects and not any(subjects_overlap(subject, s) for s in subjects):
            problems(f"{key}.{where}", f"{shown(subject)} matches none of the stream's subjects "
                                       f"({_listed(subjects)})")
    stream_replicas = stream_config.get("num_replicas", 1)
    if config.get("num_replicas", 0) > stream_replicas:
        problems(f"{key}.num_replicas", f"{config['num_replicas']} is more than the stream's {stream_replicas}")
    policy = config.get("deliver_policy")
    for needed, start in (("by_start_sequence", "opt_start_seq"), ("by_start_time", "opt_start_time")):
        if policy == needed and not config.get(start) and not problems.about(f"{key}.{start}"):
            problems(f"{key}.{start}", f"required with deliver_policy {needed}")
    if policy == "last_per_subject" and not filters and not problems.about(f"{key}.filter_subject"):
        problems(f"{key}.filter_subject", "required with deliver_policy last_per_subject")
    if config.get("deliver_subject") and config.get("max_waiting"):
        problems(f"{key}.max_waiting", "only for pull consumers (this one has a deliver_subject)")


def conflicts_between_files(specs):
    """Two files defining one stream, or two streams listening on overlapping subjects."""
    errors, first = [], {}
    for spec in specs:
        if spec.name in first:
            message = f"stream {shown(spec.name)} is also defined in {first[spec.name].path}"
            errors.append(InvalidDefinition(spec.path, "name", message))
        else:
            first[spec.name] = spec
    unique = list(first.values())
    for j, candidates in _overlap_candidates([stream_subjects(spec.config) for spec in unique]):
        for i in candidates:
            errors.extend(_overlaps(unique[i], unique[j]))
    return errors


def attach_consumers(specs, documents):
    """Consumers defined in documents of their own join their stream, which may be defined in another file;
    a stream no file defines, or a durable name the stream already has, is a problem."""
    errors, by_name = [], {spec.name: spec for spec in specs}
    origin = {(spec.name, c.get("durable_name")): spec.path for spec in specs for c in spec.consumers}
    for doc in documents:
        stream = by_name.get(doc.stream)
        durable = doc.config.get("durable_name")
        if stream is None:
            errors.append(InvalidDefinition(doc.where, doc.stream_key,
                                            f"stream {doc.stream!r} is not defined in any file"))
            continue
        if (doc.stream, durable) in origin:
            errors.append(InvalidDefinition(doc.where, doc.problems.spelled("spec.durable_name"),
                                            f"consumer {durable!r} of stream {doc.stream!r} is also defined in "
                                            f"{origin[(doc.stream, durable)]}"))
            continue
        origin[(doc.stream, durable)] = doc.where
        doc.problems.clear()
        _check_consumer_rules(doc.config, stream.config, "spec", doc.problems)
        errors.extend(doc.problems.errors)
        stream.consumers.append(doc.config)
        if doc.path != stream.path and doc.path not in stream.more_paths:
            stream.more_paths.append(doc.path)
    return errors


def _overlaps(earlier, later):
    """A published message is stored by at most one stream; the server refuses overlapping streams."""
    errors = []
    listed = bool(later.config.get("subjects"))  # else the stream listens on its name
    for i, subject in enumerate(stream_subjects(later.config)):
        for other in stream_subjects(earlier.config):
            if subjects_overlap(subject, other):
                message = (f"subject {shown(subject)} overlaps {shown(other)} of stream {shown(earlier.name)} in {earlier.path}; "
                           "a message can be stored by only one stream")
                errors.append(InvalidDefinition(later.path, f"subjects[{i}]" if listed else "name", message))
    return errors


def js_domain(specs, given=None):
    """The JetStream domain a command talks to: `given` (--js-domain / NATS_JS_DOMAIN), else the one the files
    name (NACK jsDomain) when that can only mean one thing: every file names it. Raises DefinitionErrors."""
    named = [s for s in specs if s.js_domain]
    if given:
        errors = [InvalidDefinition(s.path, "spec.jsDomain", f"is {s.js_domain!r}, but --js-domain is {given!r}")
                  for s in named if s.js_domain != given]
    elif named and (len({s.js_domain for s in named}) > 1 or len(named) < len(specs)):
        domains = ", ".join(sorted({s.js_domain or "none" for s in specs}))
        errors = [InvalidDefinition(s.path, "spec.jsDomain" if s.js_domain else None,
                                    f"JetStream domain {s.js_domain or 'none'}; the files name {domains}: one "
                                    "command talks to one domain (pass --js-domain, or -f one domain's files)")
                  for s in specs]
    else:
        return given or (named[0].js_domain if named else None)
    if errors:
        raise DefinitionErrors(errors)
    return given


def _overlap_candidates(groups):
    """For each group of subjects j, (j, the earlier groups i < j, in order, that may share a subject with it).

    Comparing every pair is quadratic (1000 files: 500,000 pairs, most of a second). Two subjects can only
    overlap when the literal tokens before the first wildcard of one begin those of the other, so index the
    earlier groups by these prefixes and name only the candidates found there."""
    exact, extends = {}, {}
    for j, subjects in enumerate(groups):
        prefixes = {_literal_prefix(subject) for subject in subjects}
        candidates = set()
        for prefix in prefixes:
            for m in range(len(prefix)):
                candidates.update(exact.get(prefix[:m], ()))
            candidates.update(extends.get(prefix, ()))
        yield j, sorted(candidates)
        for prefix in prefixes:
            exact.setdefault(prefix, []).append(j)
            for m in range(len(prefix) + 1):
                extends.setdefault(prefix[:m], []).append(j)


def _literal_prefix(subject):
    """The tokens of `subject` before its first wildcard, as a tuple."""
    tokens = []
    for token in subject.split("."):
        if token in ("*", ">"):
            break
        tokens.append(token)
    return tuple(tokens)


def _listed(subjects, most=5):
    """Subjects for a message: the first few, and how many more."""
    text = ", ".join(s if len(s) <= 80 else s[:77] + "..." for s in subjects[:most])
    return text + (f" and {len(subjects) - most:,} more" if len(subjects) > most else "")
