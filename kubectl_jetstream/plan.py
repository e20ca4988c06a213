"""Desired (streams.d) vs actual (server) -> actions, with the server's defaults filled in. Pure.

The desired state of a stream is "the server's defaults, overlaid with the keys the file sets": a key the
file leaves out means the server default, so a limit set by hand on the server is planned back to the
default. Comparison is semantic, never textual, so that a server already in sync plans nothing:

* defaults are filled in exactly as nats-server fills them (including the ones that depend on other keys:
  subjects, duplicate_window, ack_wait, max_waiting, max_ack_pending, ...), on the desired side only;
* a missing key equals its JSON zero value ("", 0, false, [], {}, null), like Go's omitempty;
* lists of subjects, filters, tags and sources are compared as sets (the file's order is what is sent);
* metadata keys starting with `_nats.` (added by the server) are ignored;
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
Consumer defaults (raw API, not natscli's): ack_policy none; ack_wait 30s only when ack_policy is explicit
  or all (backoff[0] when backoff is set); max_ack_pending = the stream's consumer_limits.max_ack_pending,
  else 1000 when acks are on; max_waiting 512 for pull consumers only; inactive_threshold = the stream's
  consumer_limits.inactive_threshold (so changing the stream's consumer_limits can update its consumers);
  priority_timeout 2m for pinned_client; name = durable_name. (Server or account JetStream limits can
  lower max_ack_pending and max_batch; such deployments are not modelled.)
"""
import copy
import json
from dataclasses import dataclass, field
from typing import Optional

from . import kinds, schema, units

# Keys never compared: identity, and a consumer's pause_until: operational state (`nats consumer pause`)
# that the server takes only on create -- on update it silently keeps the current value (verified 2.15.1).
_IGNORED = {"stream": {"name"}, "consumer": {"name", "durable_name", "pause_until"}}
# Keys compared only when the file sets them: what the server sets on its own (template_owner, direct,
# sourcing).
_ONLY_IF_SET = {"stream": set(schema.server_managed_stream_keys),
                "consumer": set(schema.server_managed_consumer_keys)}
# "-1 means unlimited" keys: the server turns 0 (and anything below -1) into -1.
_UNLIMITED = {"stream": ("max_consumers", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size"),
              "consumer": ("max_deliver",)}
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


# -- data --------------------------------------------------------------------------------------------
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


@dataclass
class Action:
    stream: str
    consumer: Optional[str]  # None for the stream itself
    action: str  # "create" | "update" | "replace" | "unchanged" | "delete"
    changes: list = field(default_factory=list)  # list[Change]
    config: Optional[dict] = None  # the API config to send for create/update (replace: the one to create)
    reason: str = ""  # for replace: why the change cannot be made in place
    result: str = ""  # set when applied: created | updated | deleted | unchanged | replace | failed
    error: str = ""  # the server's refusal, when result is failed

    @property
    def target(self):
        return f"{self.stream}/{self.consumer}" if self.consumer else self.stream


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
        for k, v in value.items():
            if key == "metadata" and str(k).startswith("_nats."):
                continue
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


def _user_metadata(metadata):
    return {k: v for k, v in (metadata or {}).items() if not str(k).startswith("_nats.")}


# -- desired state ----------------------------------------------------------------------------------
def desired_stream(config):
    """Defaults ⊕ file keys, then what nats-server forces on top (checkStreamCfg, configUpdateCheck)."""
    out = schema.with_stream_defaults(copy.deepcopy(config))
    for key in _UNLIMITED["stream"]:
        value = out.get(key)
        if value is None or value == 0 or (isinstance(value, int) and value < -1):
            out[key] = -1
    if not out.get("num_replicas"):
        out["num_replicas"] = 1
    sourced = bool(out.get("mirror")) or bool(out.get("sources"))
    if not out.get("duplicate_window") and not sourced:  # an explicit 0 means the default too
        window = schema.DEFAULT_DUPLICATE_WINDOW
        if out.get("max_age") and out["max_age"] < window:
            window = out["max_age"]
        out["duplicate_window"] = window
    if not out.get("subjects") and not sourced:
        out["subjects"] = [out.get("name")]
    # Forced, whatever the file says (decided on what the file asked, not on schema's defaults):
    rollup = bool(config.get("allow_rollup_hdrs"))
    if (out.get("subject_delete_marker_ttl") or 0) > 0:
        out["allow_msg_ttl"] = True
        if not rollup:
            out["allow_rollup_hdrs"], out["deny_purge"], rollup = True, False, True
    if out.get("allow_msg_schedules") and not rollup:
        out["allow_rollup_hdrs"], out["deny_purge"] = True, False
    if isinstance(out.get("republish"), dict) and not out["republish"].get("src"):
        out["republish"] = dict(out["republish"], src=">")
    if out.get("sealed"):
        out.update(max_age=0, discard="new", deny_delete=True, deny_purge=True, allow_rollup_hdrs=False)
    return out


def desired_consumer(config, stream_config=None):
    """Defaults ⊕ file keys for a consumer of a stream whose (desired) config is `stream_config`, then
    what nats-server forces on top (setConsumerConfigDefaults)."""
    limits = (stream_config or {}).get("consumer_limits") or {}
    out = schema.with_consumer_defaults(copy.deepcopy(config), stream_config)
    if out.get("durable_name") and not out.get("name"):
        out["name"] = out["durable_name"]
    value = out.get("max_deliver")
    if value is None or value == 0 or (isinstance(value, int) and value < -1):
        out["max_deliver"] = -1
    # An explicit 0 means the default too.
    if not out.get("deliver_subject") and not out.get("max_waiting"):
        out["max_waiting"] = schema.DEFAULT_MAX_WAITING
    if not out.get("ack_wait") and out.get("ack_policy") in ("explicit", "all"):
        out["ack_wait"] = schema.DEFAULT_ACK_WAIT
    if out.get("backoff"):
        out["ack_wait"] = out["backoff"][0]  # forced
    if not out.get("max_ack_pending"):
        out["max_ack_pending"] = limits.get("max_ack_pending") or 0
    if not out.get("max_ack_pending") and out.get("ack_policy", "none") != "none":
        out["max_ack_pending"] = schema.DEFAULT_MAX_ACK_PENDING
    if not out.get("inactive_threshold"):
        out["inactive_threshold"] = limits.get("inactive_threshold") or 0
    if out.get("priority_policy") == "pinned_client" and not out.get("priority_timeout"):
        out["priority_timeout"] = schema.DEFAULT_PINNED_TTL
    if out.get("ack_policy") == "flow_control":  # forced
        out["flow_control"], out["idle_heartbeat"] = True, schema.FLOW_CONTROL_HEARTBEAT
    return out


# -- comparison -------------------------------------------------------------------------------------
def _compared_keys(kind, file_config, desired, actual):
    keys = known_keys(kind)
    keys += [k for k in desired if k not in keys]
    skip = set(_IGNORED[kind]) | {k for k in _ONLY_IF_SET[kind] if k not in file_config}
    if kind == "stream" and desired.get("mirror"):
        skip.add("mirror_direct")  # follows the origin's allow_direct, whatever was asked
    return [k for k in keys if k not in skip]


def _changes_for(key, old, new):
    """One Change, or one per differing sub-key for objects (consumer_limits.max_ack_pending: ...)."""
    if key == "metadata":
        old, new = _user_metadata(old) or None, _user_metadata(new) or None
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


def _diff_full(kind, file_config, desired, actual):
    changes = []
    for key in _compared_keys(kind, file_config, desired, actual):
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


def diff_config(desired, actual, kind="stream", stream_config=None):
    """Changes that turn `actual` (server config) into `desired` (the file's keys only).

    For consumers, `stream_config` is the stream's file config: its consumer_limits set consumer defaults.
    """
    return _diff_full(kind, desired, _full_desired(desired, kind, stream_config), actual or {})


def update_config(desired, actual, kind="stream", stream_config=None):
    """The config to send to update `actual` (server config) in place to `desired` (the file's keys):
    the server's config overlaid with the desired one. Whether the server accepts it is another matter:
    see `refusals`."""
    full = _full_desired(desired, kind, stream_config)
    return _update_config(kind, desired, full, actual or {})


def refusals(desired, actual, kind="stream", stream_config=None):
    """Why the server would refuse to update `actual` to `desired` in place; empty when it would not."""
    full = _full_desired(desired, kind, stream_config)
    return (_stream_refusals if kind == "stream" else _consumer_refusals)(full, actual or {})


def _full_desired(desired, kind, stream_config):
    if kind == "stream":
        return desired_stream(desired)
    return desired_consumer(desired, desired_stream(stream_config) if stream_config else None)


def _truthy(value):
    return _canon("", value) is not None


def _stream_refusals(desired, actual):
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


def _consumer_refusals(desired, actual):
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
def _create_config(file_config):
    """What to send to create: the file's keys; the server fills in its defaults (as `nats stream add`)."""
    cfg = copy.deepcopy(file_config)
    if "metadata" in cfg:
        meta = _user_metadata(cfg["metadata"])
        if meta:
            cfg["metadata"] = meta
        else:
            del cfg["metadata"]
    return cfg


def _update_config(kind, file_config, desired, actual):
    """The server's config overlaid with the desired one: unknown server keys survive, metadata is the
    file's (the server re-adds its _nats.* keys)."""
    cfg = copy.deepcopy(actual)
    for key in _compared_keys(kind, file_config, desired, actual):
        if key == "metadata":
            continue
        value = desired.get(key)
        if _canon(key, value) is None and key not in desired:
            cfg.pop(key, None)
        elif _canon(key, value) is None and _canon(key, actual.get(key)) is None:
            continue  # both empty: keep the server's spelling
        else:
            cfg[key] = copy.deepcopy(value)
    meta = _user_metadata(file_config.get("metadata"))
    if meta:
        cfg["metadata"] = meta
    else:
        cfg.pop("metadata", None)
    return cfg


def _creation_changes(config, ignored):
    changes = []
    for key, value in config.items():
        if key in ignored:
            continue
        if isinstance(value, dict):
            changes.extend(_changes_for(key, {}, value) if value else [])
        else:
            changes.append(Change(key, None, value))
    return changes


# -- plan -------------------------------------------------------------------------------------------
def name_order(name):
    """The one order streams are listed in by `ls`, `init`, `diff` and `export`: by name, code point by
    code point (upper case before lower case), as Go and kubectl sort names."""
    return name


def unmanaged(specs, server):
    """Stream names on the server that no spec defines, sorted."""
    names = {spec.name for spec in specs}
    return sorted((name for name in server if name not in names), key=name_order)


def unmanaged_consumers(spec, current):
    """Durable consumers of the spec's stream on the server (`current`, or None) that its file does not
    list, sorted: what --prune deletes and `diff` lists."""
    listed = {c.get("durable_name") or c.get("name") for c in spec.consumers or []}
    on_server = (current or {}).get("consumers") or {}
    return sorted(name for name, cfg in on_server.items() if name not in listed and (cfg or {}).get("durable_name"))


def prunable(specs, server):
    """The unmanaged streams `init --prune` deletes: only of the kinds the files declare, so a folder of
    streams never deletes key-value buckets or object stores made by applications; never a backup."""
    declared = {kinds.kind_of(_stream_file_config(spec)) for spec in specs}
    # a backup of `recreate --keep-messages` holds the only copy of its stream's messages
    return [name for name in unmanaged(specs, server)
            if kinds.kind_of((server[name] or {}).get("config") or {"name": name}) in declared
            and not kinds.backup_label((server[name] or {}).get("config"))]


def _stream_file_config(spec):
    cfg = dict(spec.config or {})
    cfg["name"] = spec.name
    return cfg


def _consumer_file_config(consumer):
    return dict(consumer)


def _plan_stream(spec, current):
    file_cfg = _stream_file_config(spec)
    desired = desired_stream(file_cfg)
    if current is None:
        return _create_stream_actions(spec.name, file_cfg), desired
    actual = current.get("config") or {}
    for key in getattr(spec, "tolerated", ()):  # client-dependent defaults the file leaves open
        if key in actual:
            desired[key] = actual[key]
        else:
            desired.pop(key, None)
    changes = _diff_full("stream", file_cfg, desired, actual)
    if not changes:
        return [Action(spec.name, None, "unchanged", [], None)], desired
    reasons = _stream_refusals(desired, actual)
    if reasons:
        config = _create_config(file_cfg)
        config.pop("sealed", None)  # refused on create: seal the replacement with a later run's update
        return [Action(spec.name, None, "replace", changes, config, "; ".join(reasons))], desired
    config = _update_config("stream", file_cfg, desired, actual)
    return [Action(spec.name, None, "update", changes, config)], desired


def _create_stream_actions(name, file_cfg):
    config = _create_config(file_cfg)
    changes = _creation_changes(config, {"name"})
    if not config.get("sealed"):
        return [Action(name, None, "create", changes, config)]
    # The server refuses to create a sealed stream: create it open, then seal it.
    del config["sealed"]
    seal = Action(name, None, "update", [Change("sealed", False, True)], _create_config(file_cfg))
    return [Action(name, None, "create", [c for c in changes if c.field != "sealed"], config), seal]


def _plan_consumer(stream, consumer, actual, stream_desired):
    file_cfg = _consumer_file_config(consumer)
    name = file_cfg.get("durable_name") or file_cfg.get("name")
    if actual is None:
        config = _create_config(file_cfg)
        return Action(stream, name, "create", _creation_changes(config, {"durable_name", "name"}), config)
    desired = desired_consumer(file_cfg, stream_desired)
    changes = _diff_full("consumer", file_cfg, desired, actual)
    if not changes:
        return Action(stream, name, "unchanged", [], None)
    reasons = _consumer_refusals(desired, actual)
    if reasons:
        return Action(stream, name, "replace", changes, _create_config(file_cfg), "; ".join(reasons))
    return Action(stream, name, "update", changes, _update_config("consumer", file_cfg, desired, actual))


def _above_limits(consumer, stream_desired):
    limits = stream_desired.get("consumer_limits") or {}
    return any(limits.get(key) and (consumer.get(key) or 0) > limits[key]
               for key in ("max_ack_pending", "inactive_threshold"))


def plan(specs, server, prune=False):
    """Actions that make the server match `specs`, to be carried out in list order: each stream, then its
    consumers (except consumer updates that must precede a stream update lowering consumer_limits below
    their current values); with `prune`, deletions of unlisted durable consumers of managed streams and
    then of unmanaged streams of the kinds the specs declare (see `prunable`).

    A stream planned for replace keeps its consumers planned against the current server; replacing it
    (delete + create) removes them, so whoever carries out the replace must create them all again.
    """
    actions = []
    for spec in sorted(specs, key=lambda s: name_order(s.name)):
        current = server.get(spec.name)
        stream_actions, stream_desired = _plan_stream(spec, current)
        on_server = (current or {}).get("consumers") or {}
        consumer_actions = []
        for consumer in spec.consumers or []:
            name = consumer.get("durable_name") or consumer.get("name")
            consumer_actions.append(_plan_consumer(spec.name, consumer, on_server.get(name), stream_desired))
        # Lower consumer_limits are refused while a consumer is above them ("change to limits violates
        # consumers"): such consumers are updated first, then the stream.
        first = [a for a in consumer_actions
                 if stream_actions[0].action == "update" and a.action == "update"
                 and _above_limits(on_server.get(a.consumer) or {}, stream_desired)]
        rest = [a for a in consumer_actions if all(a is not f for f in first)]
        actions.extend(first + stream_actions + rest)
        if prune:
            actions.extend(Action(spec.name, name, "delete", [], None)
                           for name in unmanaged_consumers(spec, current))
    if prune:
        for name in prunable(specs, server):
            actions.append(Action(name, None, "delete", [], None))
    return actions


# -- updates that lose messages ---------------------------------------------------------------------------
def message_loss(action, state):
    """Why carrying out this stream update would remove messages the stream holds now (or sooner than its
    current limits would), or "" when it would not. The server applies tightened limits at once, so `init`
    asks before such an update as it does before --prune. `state` is the stream's current state."""
    if action.consumer is not None or action.action != "update":
        return ""
    messages, size = (state or {}).get("messages", 0), (state or {}).get("bytes", 0)
    if not messages:
        return ""
    reasons = []
    for change in action.changes:
        old, new = change.old, change.new
        limited = isinstance(new, int) and new > 0 and not isinstance(new, bool)
        if change.field == "max_msgs" and limited and new < messages:
            reasons.append(f"max_msgs {new} removes {messages - new} of {messages} messages")
        elif change.field == "max_bytes" and limited and new < size:
            reasons.append(f"max_bytes {format_value('max_bytes', new)} removes the oldest messages beyond it "
                           f"({units.human_bytes(size)} held)")
        elif change.field == "max_msgs_per_subject" and limited and (not old or old < 0 or new < old):
            reasons.append(f"max_msgs_per_subject {new} removes older messages of subjects holding more")
        elif change.field == "max_age" and limited and (not old or new < old):
            reasons.append(f"max_age {format_value('max_age', new)} expires older messages sooner")
        elif change.field == "retention" and new == "interest" and old != "interest":
            reasons.append("interest retention removes messages no consumer is interested in")
    return "; ".join(reasons)


def drops_with_consumers(config):
    """Whether deleting a consumer can make the server drop messages of this stream: only with interest
    retention (verified on nats-server 2.15.1: a workqueue stream keeps them for the next consumer)."""
    return (config or {}).get("retention") == "interest"


def consumer_deletion_loss(current, deleted, subject_counts=None):
    """How many messages the server drops when the consumers named in `deleted` are removed from the stream
    whose server state is `current` ({"config", "state", "consumer_infos"}): (at least, at most).

    Every message an interest stream holds is held by some consumer, so what goes is what no remaining
    consumer holds: everything when none remains. With the stream's per-subject counts (`subject_counts`),
    the messages on subjects no remaining consumer's filter matches surely go; that is all that goes when
    each remaining consumer whose filter overlaps a deleted one holds every message its filter matches
    (num_pending + num_ack_pending equal to those messages). Otherwise the deleted consumers' own
    unacknowledged and undelivered messages are the upper bound."""
    from .spec import subjects_overlap

    state = current.get("state") or {}
    messages = state.get("messages", 0)
    if not drops_with_consumers(current.get("config")) or not messages:
        return 0, 0
    infos = current.get("consumer_infos") or []
    gone = [c for c in infos if c.get("name") in deleted]
    kept = [c for c in infos if c.get("name") not in deleted]
    if not kept:
        return messages, messages

    def filters(info):
        cfg = info.get("config") or {}
        return cfg.get("filter_subjects") or ([cfg["filter_subject"]] if cfg.get("filter_subject") else [">"])

    def matching(info):
        return sum(n for subject, n in subject_counts.items()
                   if any(subjects_overlap(subject, f) for f in filters(info)))

    def held(info):
        return info.get("num_pending", 0) + info.get("num_ack_pending", 0)

    at_most = min(messages, sum(held(c) for c in gone))
    if subject_counts is None:
        return 0, at_most
    at_least = sum(n for subject, n in subject_counts.items()
                   if not any(subjects_overlap(subject, f) for k in kept for f in filters(k)))
    sharing = [k for k in kept if any(subjects_overlap(x, y) for c in gone for x in filters(c) for y in filters(k))]
    if all(held(k) == matching(k) for k in sharing):
        return at_least, at_least
    return at_least, max(at_least, at_most)


def deletion_loss(actions, server):
    """[(first delete action of a stream, why)] for the consumer deletions of `actions` that remove messages
    (see consumer_deletion_loss); `server` is the snapshot the actions were planned against, with each
    affected stream's "subject_counts" when they were fetched."""
    by_stream = {}
    for action in actions:
        if action.action == "delete" and action.consumer is not None:
            by_stream.setdefault(action.stream, []).append(action)
    out = []
    for stream, deletes in by_stream.items():
        names = [a.consumer for a in deletes]
        current = server.get(stream) or {}
        low, high = consumer_deletion_loss(current, set(names), current.get("subject_counts"))
        if not high:
            continue
        count = f"{low} messages" if low == high else f"up to {high} messages" if not low else \
            f"{low} to {high} messages"
        whose = "only it holds" if len(names) == 1 else "only they hold"
        out.append((deletes[0], f"deleting consumer {', '.join(names)} of this interest stream removes "
                                f"{count} {whose}"))
    return out
