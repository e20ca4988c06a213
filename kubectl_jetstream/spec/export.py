"""Export: server configs -> the canonical streams.d document (natscli's key names, human units, server
defaults and _nats.* metadata left out), which loads back to the same config."""
import json

from .. import schema, units
from ..schema import DURATION, DURATIONS, OBJECT, OBJECTS, SIZE

# The keys people look for first; everything else follows in the server's order.
STREAM_KEY_ORDER = ["name", "description", "subjects", "retention", "storage", "num_replicas", "discard",
                    "max_age", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size", "max_consumers",
                    "duplicate_window"]
CONSUMER_KEY_ORDER = ["durable_name", "description", "deliver_policy", "opt_start_seq", "opt_start_time",
                      "ack_policy", "ack_wait", "max_deliver", "backoff", "filter_subject", "filter_subjects",
                      "max_ack_pending", "max_waiting", "deliver_subject", "deliver_group"]


def document_for(config, consumers=()):
    """Server configs -> the canonical streams.d document: human units, readable order, and without
    server defaults or _nats.* metadata (loading it back and filling in defaults gives the same config)."""
    doc = _export(config, schema.STREAM_FIELDS, schema.stream_defaults(config), STREAM_KEY_ORDER)
    doc["name"] = config["name"]
    doc = {"name": doc.pop("name"), **doc}
    exported = [_export(c, schema.CONSUMER_FIELDS, schema.consumer_defaults(c, config), CONSUMER_KEY_ORDER)
                for c in consumers]
    if exported:
        doc["consumers"] = exported
    return doc


def _export(config, fields, defaults, order):
    config = schema.without_server_metadata(config)
    keys = [k for k in order if k in config] + [k for k in fields if k in config and k not in order]
    keys += sorted(k for k in config if k not in fields)  # from a newer server: keep, the loader will say
    out = {}
    for key in keys:
        value = config[key]
        if key in defaults and _same(value, defaults[key]):
            continue
        out[key] = human(value, fields.get(key))
    return out


def _same(value, default):
    if isinstance(default, (dict, list)) and not default:
        return not value
    return value == default


def human(value, spec):
    """API value -> the form people write: durations as 30d, sizes as 1GiB, nested objects likewise."""
    if spec is None or value is None:
        return value
    if spec.kind == DURATION and isinstance(value, int):
        return units.format_duration(value)
    if spec.kind == DURATIONS and isinstance(value, list):
        return [units.format_duration(v) if isinstance(v, int) else v for v in value]
    if spec.kind == SIZE and isinstance(value, int):
        return units.format_size(value)
    if spec.kind == OBJECT and isinstance(value, dict):
        return {k: human(v, spec.fields.get(k)) for k, v in value.items()}
    if spec.kind == OBJECTS and isinstance(value, list):
        return [human(v, spec._replace(kind=OBJECT)) for v in value]
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value))  # a copy: callers may edit the document
    return value
