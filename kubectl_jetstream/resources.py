"""The kind registry: every kind of document a streams.d file may hold, how it loads, and how the server's
resources export back to files. Commands load and export through here and never branch on kinds themselves.

  stream         a native / natscli / NACK `Stream` document (spec.py)
  Consumer       a NACK `Consumer` (streamName, durableName, ...), joined to its stream from any file
  KeyValue       `kind: KeyValue` (native snake_case settings) or a NACK `KeyValue` -> the KV_<bucket> stream
  ObjectStore    `kind: ObjectStore` or a NACK `ObjectStore` -> the OBJ_<bucket> stream

A bucket becomes a StreamSpec holding the stream nats.go would create (buckets.py), so planning, applying,
diff, purge, delete and recreate treat it as the stream it is.
"""
from dataclasses import dataclass
from typing import Callable

from . import buckets, kinds, spec
from .errors import InvalidDefinition


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


def load_specs(paths, warn=spec.print_to_stderr):
    """Every resource defined in `paths`, as StreamSpecs; raises DefinitionErrors (see spec.load_specs)."""
    return spec.load_specs(paths, warn, resolve=resolve)


def resolve(doc, where, warn):
    """One document -> ([StreamSpec], [ConsumerDocument], problems)."""
    if isinstance(doc, dict):
        nack = "apiVersion" in doc
        if doc.get("kind") in BUCKETS:
            return _bucket(doc, where, warn, BUCKETS[doc["kind"]], nack)
        if doc.get("kind") == "Consumer" and nack:
            return _consumer(doc, where, warn)
    return spec.stream_document(doc, where, warn)


def _bucket(doc, where, warn, bucket_kind, nack):
    problems = spec._Problems(where, prefix="spec." if nack else "")
    domain = spec._nack_js_domain(doc, problems) if nack else ""
    if nack:
        body = spec.nack_spec(doc, where, warn, problems, bucket_kind.document)
        if body is None:
            return [], [], problems.all()
        body = {k: v for k, v in body.items() if v != ""}  # NACK writes "" for unset strings
        raw = spec._translate(body, bucket_kind.nack_keys, "", "spec.", problems, bucket_kind.document)
    else:
        raw = {k: v for k, v in doc.items() if k != "kind"}
    settings = spec._check_object(raw, bucket_kind.fields, "", problems, bucket_kind.what)
    if "bucket" not in raw:
        problems("bucket", f"missing: every {bucket_kind.what} needs a bucket name")
    elif "bucket" in settings and buckets.bucket_problem(settings["bucket"]):
        problems("bucket", buckets.bucket_problem(settings["bucket"]))
    if settings.get("mirror") and settings.get("sources"):
        problems("sources", f"a {bucket_kind.what} mirrors one bucket or sources others, not both")
    if problems.errors or "bucket" not in settings:
        return [], [], problems.all()
    config, tolerated = bucket_kind.stream(settings)
    return [spec.StreamSpec(config["name"], config, js_domain=domain, tolerated=tolerated)], [], problems.all()


# NACK Consumer spec -> ConsumerConfig (streamName names the stream it belongs to).
NACK_CONSUMER_KEYS = {
    "durableName": ("durable_name", None), "description": ("description", None),
    "deliverPolicy": ("deliver_policy", None), "optStartSeq": ("opt_start_seq", None),
    "optStartTime": ("opt_start_time", None), "ackPolicy": ("ack_policy", None), "ackWait": ("ack_wait", None),
    "maxDeliver": ("max_deliver", None), "backoff": ("backoff", None), "filterSubject": ("filter_subject", None),
    "filterSubjects": ("filter_subjects", None), "replayPolicy": ("replay_policy", None),
    "sampleFreq": ("sample_freq", None), "rateLimitBps": ("rate_limit_bps", None),
    "maxAckPending": ("max_ack_pending", None), "deliverSubject": ("deliver_subject", None),
    "deliverGroup": ("deliver_group", None), "heartbeatInterval": ("idle_heartbeat", None),
    "flowControl": ("flow_control", None), "headersOnly": ("headers_only", None),
    "maxWaiting": ("max_waiting", None), "maxRequestBatch": ("max_batch", None),
    "maxRequestExpires": ("max_expires", None), "maxRequestMaxBytes": ("max_bytes", None),
    "inactiveThreshold": ("inactive_threshold", None), "replicas": ("num_replicas", None),
    "memStorage": ("mem_storage", None), "metadata": ("metadata", None), "pauseUntil": ("pause_until", None),
    "pinnedTtl": ("priority_timeout", None), "priorityGroups": ("priority_groups", None),
    "priorityPolicy": ("priority_policy", None),
}
# NACK spells these enums in camelCase (byStartSequence, lastPerSubject, pinnedClient).
_CAMEL_ENUMS = ("deliver_policy", "ack_policy", "replay_policy", "priority_policy")


def _consumer(doc, where, warn):
    problems = spec._Problems(where, names={"spec.durable_name": "spec.durableName"})
    body = spec.nack_spec(doc, where, warn, problems, "Consumer")
    if body is None:
        return [], [], problems.all()
    body = {k: v for k, v in body.items() if v != ""}
    stream = body.pop("streamName", None)
    raw = spec._translate(body, NACK_CONSUMER_KEYS, "spec", "spec.", problems, "Consumer")
    for key in _CAMEL_ENUMS:
        if isinstance(raw.get(key), str):
            raw[key] = spec._snake_case(raw[key])
    config = spec._consumer(raw, "spec", where, warn, problems)
    if stream is None:
        problems.errors.append(InvalidDefinition(where, "spec.streamName", "missing: the stream this consumer reads"))
    elif spec.name_problem(stream):
        problems.errors.append(InvalidDefinition(where, "spec.streamName", spec.name_problem(stream)))
    errors = list(problems.all())
    if errors or not config.get("durable_name"):
        return [], [], errors
    return [], [spec.ConsumerDocument(stream, config, where, where, "spec.streamName", problems)], errors


def document_for(config, consumers=()):
    """The canonical file document for a server stream: a bucket's settings when the stream is exactly what
    they create (so `init` on the export is a no-op), else the stream itself (spec.document_for)."""
    from .plan import plan  # plan is not needed to load files

    bucket_kind = _BY_KIND.get(kinds.bucket_kind(config.get("name")))
    durable = [c for c in consumers if c.get("durable_name")]
    if bucket_kind and not durable:
        settings = bucket_kind.settings(config)
        rebuilt, tolerated = bucket_kind.stream(settings)
        same = spec.StreamSpec(config["name"], rebuilt, tolerated=tolerated)
        server = {config["name"]: {"config": config, "consumers": {}}}
        if all(a.action == "unchanged" for a in plan([same], server)):
            return {key: spec._human(value, bucket_kind.fields.get(key)) for key, value in settings.items()}
    return spec.document_for(config, consumers)
