"""StreamSpec and load_specs: every file read and checked, then the rules between files; one stream document
(native, natscli JSON or NACK Stream) -> StreamSpec."""
import os
import sys
from dataclasses import dataclass, field

from .. import schema
from ..errors import DefinitionErrors, InvalidDefinition
from . import nack, rules
from .files import definition_files, read_documents
from .problems import Problems, type_name
from .values import check_object


@dataclass
class StreamSpec:
    name: str
    config: dict
    consumers: list = field(default_factory=list)
    path: str = ""
    js_domain: str = ""     # a NACK resource's jsDomain: the JetStream domain it belongs to
    # Keys whose server value stands when the file does not set them: defaults that differ between the
    # clients that create such streams (a key-value bucket's allow_direct: nats.go true, nats.py unset).
    tolerated: tuple = ()
    more_paths: list = field(default_factory=list)  # other files defining its consumers (NACK Consumer)


@dataclass
class ConsumerDocument:
    """A consumer in a document of its own (a NACK Consumer), attached to its stream once every file is read."""
    stream: str
    config: dict
    path: str            # the file
    where: str           # the file, and the document when the file holds several
    stream_key: str      # the key naming the stream, as the file spells it
    problems: object     # the document's Problems (key spellings)


def print_to_stderr(message):
    print(f"warning: {message}", file=sys.stderr)


def load_specs(paths, warn=print_to_stderr, resolve=None):
    """Every stream defined in `paths` (files or folders), validated together; raises DefinitionErrors.

    A file may hold several YAML documents. `resolve(doc, where, warn)` turns one document into
    ([StreamSpec], [ConsumerDocument], [problems]) -- the kind registry (resources.py) passes its own;
    by default every document is a stream."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one path, not a list of one-character paths
    resolve = resolve or stream_document
    errors, specs, consumers = [], [], []
    for path in definition_files(paths, errors):
        docs = read_documents(path, errors, warn)
        for i, doc in enumerate(docs):
            where = path if len(docs) == 1 else f"{path} (document {i + 1})"
            found, attached, problems = resolve(doc, where, warn)
            errors.extend(problems)
            for spec in found:
                spec.path = path
            for consumer in attached:
                consumer.path = path
            specs.extend(found)
            consumers.extend(attached)
    errors.extend(rules.conflicts_between_files(specs))
    errors.extend(rules.attach_consumers(specs, consumers))
    if errors:
        raise DefinitionErrors(errors)
    return specs


def stream_document(doc, where, warn):
    """One document that must be a stream -> ([StreamSpec], [], problems)."""
    spec, problems = _spec_and_problems(doc, where, warn)
    return [spec] if spec is not None else [], [], problems


def _spec_and_problems(doc, path, warn):
    """(StreamSpec of what is valid or None, problems): cross-file checks still see flawed files."""
    if not isinstance(doc, dict):
        message = f"the top level must be a mapping of stream settings, not {type_name(doc)}"
        return None, [InvalidDefinition(path, None, message)]
    domain = ""
    if "apiVersion" in doc or "kind" in doc:
        problems = Problems(path, prefix="spec.")
        domain = nack.js_domain_of(doc, problems)
        doc = nack.native_stream(doc, path, warn, problems)
        if not doc:
            return None, problems.all()
    elif isinstance(doc.get("config"), dict):
        problems = Problems(path, prefix="config.", names={"consumers": "consumers"})
        doc = _from_stream_info(doc)
    else:
        problems = Problems(path)
    spec = _stream_spec(doc, path, warn, problems)
    if spec is not None:
        spec.js_domain = domain
    return spec, problems.all()


def _from_stream_info(doc):
    """`nats stream info --json`: the config; state, cluster, created, ts... describe the server, not the file."""
    stream = dict(doc["config"])
    if "consumers" in doc:
        stream["consumers"] = doc["consumers"]
    return stream


def _stream_spec(doc, path, warn, problems):
    doc = dict(doc)
    raw_consumers = doc.pop("consumers", None)
    for key in sorted(schema.server_managed_stream_keys & set(doc)):
        warn(f"{path}: {problems.spelled(key)}: ignored (set by the server, not by definitions)")
        del doc[key]
    config = check_object(doc, schema.STREAM_FIELDS, "", problems, "stream")
    rules.check_stream(config, problems)
    consumers = rules.check_consumers(raw_consumers, config, path, warn, problems)
    if not isinstance(config.get("name"), str):
        return None
    return StreamSpec(name=config["name"], config=config, consumers=consumers, path=path)

