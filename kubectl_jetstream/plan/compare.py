"""What differs between a definition and the server, and whether the server can change it in place. Pure.

The desired state of a stream is "the server's defaults, overlaid with the keys the file sets": a key the
file leaves out means the server default, so a limit set by hand on the server is planned back to the
default. Comparison is semantic, never textual, so that a server already in sync plans nothing:

* defaults are filled in exactly as nats-server fills them (schema.stored_stream / stored_consumer, including
  the ones that depend on other keys: subjects, duplicate_window, ack_wait, ...), on the desired side only;
* a missing key equals its JSON zero value ("", 0, false, [], {}, null), like Go's omitempty;
* lists of subjects, filters, tags and sources are compared as sets (the file's order is what is sent);
* metadata keys the server writes itself (`_nats.*`, schema.user_metadata) are ignored;
* keys the server returns that the tool does not know, and the file does not set, are ignored;
* timestamps are compared as instants, not strings.

Rules verified against a real nats-server v2.15.1 (tests/test_plan_server.py proves each one; the source of
the refusals is `configUpdateCheck` in server/stream.go and `checkNewConsumerConfig` in server/consumer.go):

Stream, in place ("update"): subjects, description, max_age, max_msgs, max_bytes, max_msgs_per_subject,
  max_msg_size, max_consumers, discard, discard_new_per_subject, duplicate_window, num_replicas (a single
  server refuses > 1, which is not a reason to replace), retention limits<->interest, allow_rollup_hdrs
  (both ways), allow_direct (both ways), compression (both ways), no_ack, consumer_limits, republish,
  subject_transform, placement, metadata, sources (add/remove), sealed/deny_delete/deny_purge/allow_msg_ttl/
  allow_msg_schedules false->true, allow_atomic/allow_batched (both ways), subject_delete_marker_ttl, and
  removing `mirror` (the server promotes the mirror to a normal stream, keeping its messages).
Stream, refused ("replace"): storage; retention to or from workqueue; sealed, deny_delete, deny_purge,
  allow_msg_ttl, allow_msg_schedules true->false; allow_msg_counter (either way); persist_mode (either way);
  adding or changing `mirror`; template_owner (compared only if a file sets it). first_seq is *accepted*
  by STREAM.UPDATE but has no effect on an existing stream (the sequence does not move, even on an empty
  stream), so a first_seq change is planned as a replace too.
Stream, create: the server refuses `sealed: true` on create, so a sealed stream is planned as a create
  without `sealed` followed by an update of the same stream that seals it.
Stream, derived by the server: sealed forces max_age 0, discard new, deny_delete/deny_purge true and
  allow_rollup_hdrs false; subject_delete_marker_ttl forces allow_msg_ttl and allow_rollup_hdrs (and
  deny_purge false); allow_msg_schedules forces allow_rollup_hdrs (and deny_purge false); a mirror's
  mirror_direct follows the origin's allow_direct (so it is not compared on mirrors); republish.src ""
  becomes ">"; an all-empty placement is dropped; streams with a mirror or sources get no default subjects
  and no default duplicate_window (servers up to 2.12 give sourced streams 2m: tolerated when the file
  leaves duplicate_window out).
Stream, order: STREAM.UPDATE refuses consumer_limits below a consumer's current max_ack_pending or
  inactive_threshold ("change to limits violates consumers"), so such consumer updates are planned before
  the stream update. The actions are meant to be carried out in list order.
Consumer, in place: description, ack_wait, max_deliver, backoff, filter_subject(s), sample_freq,
  max_ack_pending, headers_only, max_batch, max_expires, max_bytes, inactive_threshold, num_replicas,
  metadata, rate_limit_bps (push only), deliver_group, deliver_subject (push to another push subject),
  priority_groups/priority_policy/priority_timeout. pause_until is never compared: the server takes it only
  on create (on update it keeps the current value, api.go "don't allow updating the PauseUntil"), and it is
  operational state changed with `nats consumer pause/resume`.
Consumer, refused ("replace"): deliver_policy, opt_start_seq, opt_start_time, ack_policy, replay_policy,
  idle_heartbeat, flow_control, mem_storage, max_waiting, and deliver_subject pull<->push.
Defaults and what the server forces (sealed, delete markers, backoff, ...): schema.py, the one place.
"""
import copy
import functools
import json
from dataclasses import dataclass

from .. import schema, units

# Keys never compared: identity, and a consumer's pause_until: operational state (`nats consumer pause`)
# that the server takes only on create -- on update it silently keeps the current value (verified 2.15.1).
_IGNORED = {"stream": {"name"}, "consumer": {"name", "durable_name", "pause_until"}}
# Keys compared only when the file sets them: what the server sets on its own (template_owner, direct,
# sourcing).
_ONLY_IF_SET = {"stream": set(schema.server_managed_stream_keys),
                "consumer": set(schema.server_managed_consumer_keys)}
# Enum values that are the Go zero value: a server that does not know the key leaves it out.
_ZERO_ENUMS = {"compression": "none", "priority_policy": "none", "persist_mode": "default"}
# Objects whose keys are independent settings: shown key by key even when added or removed as a whole.
_FLATTENED = {"metadata", "consumer_limits"}
# Lists whose order carries meaning; every other list (subjects, filters, tags, sources) is a set.
_ORDERED_LISTS = {"backoff"}
_FIELDS = {"stream": schema.STREAM_FIELDS, "consumer": schema.CONSUMER_FIELDS}


def known_keys(kind):
    """Every key of the kind (schema's table, in the server's order)."""
    return list(_FIELDS[kind])


@functools.lru_cache(maxsize=1024)  # asked for every value compared: a tenth of planning 1000 streams otherwise
def _kind_of(key):
    """The schema kind of a (dotted) key in either table: DURATION, SIZE, TIME, ... or None."""
    for fields in (schema.STREAM_FIELDS, schema.CONSUMER_FIELDS):
        found = schema.field_at(fields, key)
        if found is not None:
            return found.kind
    # Inside lists of objects (sources[i]...) the dotted path has no index; try the last part alone.
    last = key.rsplit(".", 1)[-1]
    if last != key:
        return _kind_of(last)
    return None


@dataclass
class Change:
    field: str
    old: object
    new: object

    def __str__(self):
        old, new = self.display_values()
        return f"{self.field}: {old} → {new}"

    def display_values(self):
        """(old, new) as people read them: 7d, 1GiB, [a.>, b.>], (unset)."""
        return format_value(self.field, self.old), format_value(self.field, self.new)


def format_value(key, value):
    """A value for people: durations and sizes in units, lists in brackets, unset as (unset)."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = _kind_of(key)
    if isinstance(value, int) and kind in (schema.DURATION, schema.DURATIONS):
        return units.format_duration(value)
    if isinstance(value, int) and kind == schema.SIZE:
        return str(units.format_size(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(key, v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(f'{key}.{k}', v)}" for k, v in value.items()) + "}"
    if value == "":
        return '""'
    return str(value)


# -- canonical form for comparison ------------------------------------------------------------------
def _instant(text):
    """An RFC 3339 time with a zone -> ("instant", UTC seconds, nanoseconds); anything else unchanged."""
    parsed = units.parse_time(text)
    if parsed is None or parsed[0].tzinfo is None:
        return text
    moment, ns = parsed
    return ("instant", int(moment.timestamp()), ns)


def _canon(key, value):
    """A hashable, comparable form: JSON zero values and empty containers become None."""
    if value is None or value is False or value == "" or (isinstance(value, (int, float)) and value == 0
                                                           and not isinstance(value, bool)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if key in _ZERO_ENUMS and value == _ZERO_ENUMS[key]:
        return None
    if isinstance(value, str) and _kind_of(key) == schema.TIME:
        return _instant(value)
    if key == "first_seq" and isinstance(value, int) and value <= 1:
        return None  # a stream starts at 1 anyway
    if isinstance(value, dict):
        items = []
        for k, v in (schema.user_metadata(value) if key == "metadata" else value).items():
            c = _canon(k, v)
            if c is not None:
                items.append((k, c))
        return tuple(sorted(items)) or None
    if isinstance(value, (list, tuple)):
        items = [_canon(key, v) for v in value]
        if not items:
            return None
        if key in _ORDERED_LISTS:
            return ("list",) + tuple(items)
        return ("set",) + tuple(sorted(items, key=lambda c: json.dumps(c, default=str, sort_keys=True)))
    return value


# -- comparison -------------------------------------------------------------------------------------
def _compared_keys(kind, file_config, desired):
    keys = known_keys(kind)
    keys += [k for k in desired if k not in keys]
    skip = set(_IGNORED[kind]) | {k for k in _ONLY_IF_SET[kind] if k not in file_config}
    if kind == "stream" and desired.get("mirror"):
        skip.add("mirror_direct")  # follows the origin's allow_direct, whatever was asked
    return [k for k in keys if k not in skip]


def _changes_for(key, old, new):
    """One Change, or one per differing sub-key for objects (consumer_limits.max_ack_pending: ...)."""
    if key == "metadata":
        old, new = schema.user_metadata(old) or None, schema.user_metadata(new) or None
    if key in _FLATTENED and (isinstance(old, dict) or isinstance(new, dict)):
        old, new = old or {}, new or {}
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for sub in list(new) + [k for k in old if k not in new]:
            if _canon(sub, old.get(sub)) != _canon(sub, new.get(sub)):
                out.extend(_changes_for(f"{key}.{sub}", old.get(sub), new.get(sub)))
        return out or [Change(key, old, new)]
    return [Change(key, old, new)]


def _tolerated(kind, key, file_config, desired, actual):
    """Defaults that differ between server versions, accepted when the file does not set the key."""
    if kind == "stream" and key == "duplicate_window" and key not in file_config:
        # 2.10 gives streams with sources a 2m duplicate_window, 2.11+ none.
        return bool(desired.get("sources")) and actual.get(key) == schema.DEFAULT_DUPLICATE_WINDOW
    return False


def diff(kind, file_config, desired, actual):
    changes = []
    for key in _compared_keys(kind, file_config, desired):
        if _canon(key, desired.get(key)) != _canon(key, actual.get(key)) \
                and not _tolerated(kind, key, file_config, desired, actual):
            changes.extend(_changes_for(key, actual.get(key), _shown(key, file_config, desired)))
    return changes


def _shown(key, file_config, desired):
    """The desired value as people see it: an empty default string, list or object is just unset."""
    value = desired.get(key)
    if key not in file_config and isinstance(value, (str, list, dict)) and _canon(key, value) is None:
        return None
    return value


def _truthy(value):
    return _canon("", value) is not None


def stream_refusals(desired, actual):
    """Why the server would refuse to update `actual` into `desired` (empty: it can be done in place)."""
    reasons = []
    c = _canon
    if c("storage", desired.get("storage")) != c("storage", actual.get("storage")):
        reasons.append("storage cannot be changed in place")
    old_ret, new_ret = actual.get("retention", "limits"), desired.get("retention", "limits")
    if old_ret != new_ret and "workqueue" in (old_ret, new_ret):
        reasons.append("retention cannot be changed to or from workqueue in place")
    for key, what in (("sealed", "a sealed stream cannot be unsealed"),
                      ("deny_delete", "deny_delete cannot be turned off in place"),
                      ("deny_purge", "deny_purge cannot be turned off in place"),
                      ("allow_msg_ttl", "allow_msg_ttl cannot be disabled in place"),
                      ("allow_msg_schedules", "allow_msg_schedules cannot be disabled in place")):
        if _truthy(actual.get(key)) and not _truthy(desired.get(key)):
            reasons.append(what)
    if _truthy(desired.get("allow_msg_counter")) != _truthy(actual.get("allow_msg_counter")):
        reasons.append("allow_msg_counter cannot be changed in place")
    if c("persist_mode", desired.get("persist_mode")) != c("persist_mode", actual.get("persist_mode")):
        reasons.append("persist_mode cannot be changed in place")
    if desired.get("mirror") and c("mirror", desired["mirror"]) != c("mirror", actual.get("mirror")):
        reasons.append("mirror cannot be changed in place" if actual.get("mirror")
                       else "a stream cannot become a mirror in place")
    if c("first_seq", desired.get("first_seq")) != c("first_seq", actual.get("first_seq")):
        reasons.append("first_seq only takes effect when a stream is created")
    if "template_owner" in desired and desired.get("template_owner") != actual.get("template_owner"):
        reasons.append("template_owner cannot be changed in place")
    return reasons


# Consumer keys the server refuses to change in place (checkNewConsumerConfig).
_CONSUMER_FIXED = ("deliver_policy", "opt_start_seq", "opt_start_time", "ack_policy", "replay_policy",
                   "idle_heartbeat", "flow_control", "mem_storage")


def consumer_refusals(desired, actual):
    reasons = []
    for key in _CONSUMER_FIXED:
        if _canon(key, desired.get(key)) != _canon(key, actual.get(key)):
            reasons.append(f"{key} cannot be changed in place")
    was_push, is_push = bool(actual.get("deliver_subject")), bool(desired.get("deliver_subject"))
    if was_push != is_push:
        reasons.append("deliver_subject: a push consumer cannot become pull in place" if was_push
                       else "deliver_subject: a pull consumer cannot become push in place")
    elif _canon("max_waiting", desired.get("max_waiting")) != _canon("max_waiting", actual.get("max_waiting")):
        reasons.append("max_waiting cannot be changed in place")
    return reasons


# -- configs to send --------------------------------------------------------------------------------
def create_config(file_config):
    """What to send to create: the file's keys; the server fills in its defaults (as `nats stream add`)."""
    cfg = copy.deepcopy(file_config)
    if "metadata" in cfg:
        meta = schema.user_metadata(cfg["metadata"])
        if meta:
            cfg["metadata"] = meta
        else:
            del cfg["metadata"]
    return cfg


def update_config(kind, file_config, desired, actual):
    """The server's config overlaid with the desired one: unknown server keys survive, metadata is the
    file's (the server re-adds its _nats.* keys)."""
    cfg = copy.deepcopy(actual)
    for key in _compared_keys(kind, file_config, desired):
        if key == "metadata":
            continue
        value = desired.get(key)
        if _canon(key, value) is None and key not in desired:
            cfg.pop(key, None)
        elif _canon(key, value) is None and _canon(key, actual.get(key)) is None:
            continue  # both empty: keep the server's spelling
        else:
            cfg[key] = copy.deepcopy(value)
    meta = schema.user_metadata(file_config.get("metadata"))
    if meta:
        cfg["metadata"] = meta
    else:
        cfg.pop("metadata", None)
    return cfg


def creation_changes(config, ignored):
    changes = []
    for key, value in config.items():
        if key in ignored:
            continue
        if isinstance(value, dict):
            changes.extend(_changes_for(key, {}, value) if value else [])
        else:
            changes.append(Change(key, None, value))
    return changes
