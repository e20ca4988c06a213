"""Key-value buckets and object stores: their settings, the stream nats.go and nats.py create for them, and
back again for export. Pure.

A bucket is a stream with a fixed shape (ADR-8 for key-value, ADR-20 for object stores). The stream config
built here is, key for key, what nats.go's prepareKeyValueConfig / prepareObjectStoreConfig send for the same
settings (nats.py sends the same but for two defaults: it leaves allow_direct unset and always sets
allow_msg_ttl on key-value streams). Those two keys are compared only when the file sets `direct` or
`limit_marker_ttl`, so a bucket made by either client with the same settings plans as unchanged.
"""
import re

from . import kinds, schema
from .schema import BOOL, STRING, Field
from .spec.nack import NACK_STREAM_KEYS

DUPLICATE_WINDOW = schema.DEFAULT_DUPLICATE_WINDOW  # 2m, or the ttl when shorter (nats.go, nats.py)
MAX_HISTORY = 64  # KeyValueMaxHistory
BUCKET_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")  # validBucketRe of nats.go and nats.py

_S = schema.STREAM_FIELDS
_COMMON = {
    "kind": Field(STRING),
    "bucket": Field(STRING),
    "description": _S["description"],
    "ttl": _S["max_age"],
    "max_bytes": _S["max_bytes"],
    "storage": _S["storage"],
    "replicas": _S["num_replicas"],
    "compression": Field(BOOL),
    "placement": _S["placement"],
    "metadata": _S["metadata"],
}
KV_FIELDS = dict(_COMMON, **{
    "history": Field(schema.INT, minimum=1, maximum=MAX_HISTORY),
    "max_value_size": _S["max_msg_size"],
    "republish": _S["republish"],
    "mirror": _S["mirror"],
    "sources": _S["sources"],
    "limit_marker_ttl": _S["subject_delete_marker_ttl"],
    "direct": Field(BOOL),
})
OBJECT_STORE_FIELDS = dict(_COMMON)


def kv_subjects(bucket):
    return f"$KV.{bucket}.>"


def object_subjects(bucket):
    return [f"$O.{bucket}.C.>", f"$O.{bucket}.M.>"]


def _limit(value):
    return value if value else -1


def _common(settings, kind):
    """The keys both kinds set the same way, in nats.go's order."""
    bucket = settings["bucket"]
    config = {"name": kind.prefix + bucket}
    if settings.get("description"):
        config["description"] = settings["description"]
    return config


def kv_stream(settings):
    """(stream config, tolerated keys) for a key-value bucket's settings (ADR-8, nats.go kv.go)."""
    bucket, ttl = settings["bucket"], settings.get("ttl") or 0
    config = _common(settings, kinds.KV)
    config.update({
        "max_msgs_per_subject": settings.get("history") or 1,
        "max_bytes": _limit(settings.get("max_bytes")),
        "max_age": ttl,
        "max_msg_size": _limit(settings.get("max_value_size")),
        "storage": settings.get("storage", "file"),
        "num_replicas": settings.get("replicas") or 1,
    })
    if settings.get("placement"):
        config["placement"] = settings["placement"]
    config.update({
        "allow_rollup_hdrs": True,
        "deny_delete": True,
        "duplicate_window": ttl if 0 < ttl < DUPLICATE_WINDOW else DUPLICATE_WINDOW,
        "max_msgs": -1,
        "max_consumers": -1,
        "allow_direct": settings.get("direct", True),
    })
    if settings.get("republish"):
        config["republish"] = settings["republish"]
    if settings.get("compression"):
        config["compression"] = "s2"
    config["discard"] = "new"
    if settings.get("limit_marker_ttl"):
        config["allow_msg_ttl"] = True
        config["subject_delete_marker_ttl"] = settings["limit_marker_ttl"]
    if settings.get("metadata"):
        config["metadata"] = settings["metadata"]
    if settings.get("mirror"):
        config["mirror"] = _kv_origin(settings["mirror"])
        config["mirror_direct"] = True
    else:
        if settings.get("sources"):
            config["sources"] = [_kv_source(source, bucket) for source in settings["sources"]]
        config["subjects"] = [kv_subjects(bucket)]
    tolerated = tuple(key for key, setting in (("allow_direct", "direct"), ("allow_msg_ttl", "limit_marker_ttl"))
                      if setting not in settings)
    return config, tolerated


def _kv_origin(source):
    """A mirror or source names a bucket (or its KV_ stream)."""
    source = dict(source)
    if source.get("name"):
        source["name"] = kinds.KV.prefix + kinds.KV.bucket(source["name"])
    return source


def _kv_source(source, bucket):
    """nats.go: a source without subject transforms maps the origin bucket's keys into this bucket's."""
    if source.get("subject_transforms"):
        return dict(source)  # full control, the name used as given
    origin_bucket = kinds.KV.bucket(source.get("name", ""))
    source = _kv_origin(source)
    if not source.get("external") or origin_bucket != bucket:
        source["subject_transforms"] = [{"src": kv_subjects(origin_bucket), "dest": kv_subjects(bucket)}]
    return source


def object_store_stream(settings):
    """(stream config, tolerated keys) for an object store's settings (ADR-20, nats.go object.go)."""
    bucket = settings["bucket"]
    config = _common(settings, kinds.OBJECTS)
    config.update({
        "subjects": object_subjects(bucket),
        "max_age": settings.get("ttl") or 0,
        "max_bytes": _limit(settings.get("max_bytes")),
        "storage": settings.get("storage", "file"),
        "num_replicas": settings.get("replicas") or 1,
    })
    if settings.get("placement"):
        config["placement"] = settings["placement"]
    config.update({"discard": "new", "allow_rollup_hdrs": True, "allow_direct": True})
    if settings.get("metadata"):
        config["metadata"] = settings["metadata"]
    if settings.get("compression"):
        config["compression"] = "s2"
    return config, ()


def bucket_problem(bucket):
    if not isinstance(bucket, str) or not BUCKET_NAME.match(bucket):
        return f"invalid bucket name {bucket!r}: letters, digits, '-' and '_' only (as nats.go and nats.py require)"
    if len(kinds.OBJECTS.prefix + bucket) > schema.MAX_NAME_LEN:
        return f"bucket name is {len(bucket)} characters long; its stream name must fit in {schema.MAX_NAME_LEN}"
    return None


# -- export: the settings a server stream was made from ---------------------------------------------------
def kv_settings(config):
    """The settings that give `config` back through kv_stream (the caller checks that they do)."""
    settings = {"kind": "KeyValue", "bucket": kinds.KV.bucket(config["name"])}
    _put(settings, "description", config.get("description"))
    _put(settings, "history", config.get("max_msgs_per_subject"), default=1)
    _put(settings, "ttl", config.get("max_age"))
    _put(settings, "max_value_size", config.get("max_msg_size"), default=-1)
    _put_storage(settings, config)
    _put(settings, "republish", config.get("republish"))
    mirror = config.get("mirror")
    if mirror and isinstance(mirror.get("name"), str):
        mirror = dict(mirror, name=kinds.KV.bucket(mirror["name"]))  # the bucket, as people name it
    _put(settings, "mirror", mirror)
    _put(settings, "sources", config.get("sources"))
    _put(settings, "limit_marker_ttl", config.get("subject_delete_marker_ttl"))
    _put(settings, "metadata", schema.user_metadata(config.get("metadata")))
    if config.get("allow_direct") is False and not config.get("mirror"):
        settings["direct"] = False
    return settings


def object_store_settings(config):
    settings = {"kind": "ObjectStore", "bucket": kinds.OBJECTS.bucket(config["name"])}
    _put(settings, "description", config.get("description"))
    _put(settings, "ttl", config.get("max_age"))
    _put_storage(settings, config)
    _put(settings, "metadata", schema.user_metadata(config.get("metadata")))
    return settings


def _put_storage(settings, config):
    """The settings both kinds read from the same stream keys, in nats.go's order."""
    _put(settings, "max_bytes", config.get("max_bytes"), default=-1)
    _put(settings, "storage", config.get("storage"), default="file")
    _put(settings, "replicas", config.get("num_replicas"), default=1)
    _put(settings, "compression", config.get("compression") == "s2")
    _put(settings, "placement", config.get("placement"))


def _put(settings, key, value, default=None):
    if value in (None, "", 0, False, [], {}) or value == default:
        return
    settings[key] = value


# -- NACK KeyValue and ObjectStore resources (camelCase spec -> the settings above; nested objects as in a
# NACK Stream) ------------------------------------------------------------------------------------------
_NACK_COMMON = {
    "bucket": ("bucket", None), "description": ("description", None), "ttl": ("ttl", None),
    "maxBytes": ("max_bytes", None), "storage": ("storage", None), "replicas": ("replicas", None),
    "compression": ("compression", None), "metadata": ("metadata", None),
    "placement": NACK_STREAM_KEYS["placement"],
}
NACK_KV_KEYS = dict(_NACK_COMMON, **{
    "history": ("history", None), "maxValueSize": ("max_value_size", None),
    "limitMarkerTtl": ("limit_marker_ttl", None),
    "republish": NACK_STREAM_KEYS["republish"], "mirror": NACK_STREAM_KEYS["mirror"],
    "sources": NACK_STREAM_KEYS["sources"],
})
NACK_OBJECT_STORE_KEYS = dict(_NACK_COMMON)
