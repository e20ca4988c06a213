"""The kind registry: every kind of document a streams.d file may hold, how it loads, and how the server's
resources export back to files. Commands load and export through here and never branch on kinds themselves.

  stream         a native / natscli / NACK `Stream` document (spec/)
  Consumer       a NACK `Consumer` (streamName, durableName, ...), joined to its stream from any file
  KeyValue       `kind: KeyValue` (native snake_case settings) or a NACK `KeyValue` -> the KV_<bucket> stream
  ObjectStore    `kind: ObjectStore` or a NACK `ObjectStore` -> the OBJ_<bucket> stream

A bucket becomes a StreamSpec holding the stream nats.go would create (buckets.py), so planning, applying,
diff, purge, delete and recreate treat it as the stream it is.
"""
from dataclasses import dataclass
from typing import Callable

from . import buckets, kinds
from .spec import export, load, nack
from .spec.load import ConsumerDocument, StreamSpec
from .spec.names import name_problem
from .spec.problems import Problems
from .spec.rules import consumer_config
from .spec.values import check_object


@dataclass(frozen=True)
class BucketKind:
    kind: kinds.Kind
    document: str          # `kind:` in files, native and NACK alike
    what: str              # in messages
    fields: dict           # native settings and their types
    nack_keys: dict        # NACK camelCase spec -> native settings
    stream: Callable       # settings -> (stream config, tolerated keys)
    settings: Callable     # stream config -> settings (export)


BUCKETS = {b.document: b for b in (
    BucketKind(kinds.KV, "KeyValue", "key-value bucket", buckets.KV_FIELDS, buckets.NACK_KV_KEYS,
               buckets.kv_stream, buckets.kv_settings),
    BucketKind(kinds.OBJECTS, "ObjectStore", "object store", buckets.OBJECT_STORE_FIELDS,
               buckets.NACK_OBJECT_STORE_KEYS, buckets.object_store_stream, buckets.object_store_settings),
)}
_BY_KIND = {b.kind: b for b in BUCKETS.values()}


def load_specs(paths, warn=load.print_to_stderr):
    """Every resource defined in `paths`, as StreamSpecs; raises DefinitionErrors (see spec.load.load_specs)."""
    return load.load_specs(paths, warn, resolve=resolve)


def resolve(doc, where, warn):
    """One document -> ([StreamSpec], [ConsumerDocument], problems)."""
    if isinstance(doc, dict):
        is_nack = "apiVersion" in doc
        kind = doc.get("kind")
        if isinstance(kind, str) and kind in BUCKETS:  # a mapping or list as kind: stream_document names it
            return _bucket(doc, where, warn, BUCKETS[kind], is_nack)
        if kind == "Consumer" and is_nack:
            return _consumer(doc, where, warn)
    return load.stream_document(doc, where, warn)


def _bucket(doc, where, warn, bucket_kind, is_nack):
    problems = Problems(where, prefix="spec." if is_nack else "")
    domain = nack.js_domain_of(doc, problems) if is_nack else ""
    if is_nack:
        body = nack.resource_spec(doc, where, warn, problems, bucket_kind.document)
        if body is None:
            return [], [], problems.all()
        body = {k: v for k, v in body.items() if v != ""}  # NACK writes "" for unset strings
        raw = nack.translate(body, bucket_kind.nack_keys, "", "spec.", problems, bucket_kind.document)
    else:
        raw = {k: v for k, v in doc.items() if k != "kind"}
    settings = check_object(raw, bucket_kind.fields, "", problems, bucket_kind.what)
    if "bucket" not in raw:
        problems("bucket", f"missing: every {bucket_kind.what} needs a bucket name")
    elif "bucket" in settings and buckets.bucket_problem(settings["bucket"]):
        problems("bucket", buckets.bucket_problem(settings["bucket"]))
    if settings.get("mirror") and settings.get("sources"):
        problems("sources", f"a {bucket_kind.what} mirrors one bucket or sources others, not both")
    if problems.errors or "bucket" not in settings:
        return [], [], problems.all()
    config, tolerated = bucket_kind.stream(settings)
    return [StreamSpec(config["name"], config, js_domain=domain, tolerated=tolerated)], [], problems.all()


def _consumer(doc, where, warn):
    problems = Problems(where, names={"spec.durable_name": "spec.durableName"})
    found = nack.consumer(doc, where, warn, problems)
    if found is None:
        return [], [], problems.all()
    stream, raw = found
    config = consumer_config(raw, "spec", where, warn, problems)
    if stream is None:
        problems.add("spec.streamName", "missing: the stream this consumer reads")
    elif name_problem(stream):
        problems.add("spec.streamName", name_problem(stream))
    errors = list(problems.all())
    if errors or not config.get("durable_name"):
        return [], [], errors
    return [], [ConsumerDocument(stream, config, where, where, "spec.streamName", problems)], errors


def document_for(config, consumers=()):
    """The canonical file document for a server stream: a bucket's settings when the stream is exactly what
    they create (so `init` on the export is a no-op), else the stream itself (spec.export.document_for)."""
    from .plan import plan  # plan is not needed to load files

    bucket_kind = _BY_KIND.get(kinds.bucket_kind(config.get("name")))
    durable = [c for c in consumers if c.get("durable_name")]
    if bucket_kind and not durable:
        settings = bucket_kind.settings(config)
        rebuilt, tolerated = bucket_kind.stream(settings)
        same = StreamSpec(config["name"], rebuilt, tolerated=tolerated)
        server = {config["name"]: {"config": config, "consumers": {}}}
        if all(a.action == "unchanged" for a in plan([same], server)):
            return {key: export.human(value, bucket_kind.fields.get(key)) for key, value in settings.items()}
    return export.document_for(config, consumers)
