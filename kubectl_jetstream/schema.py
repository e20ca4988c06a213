"""Every StreamConfig / ConsumerConfig key of nats-server 2.10 through 2.15, with its type. Pure.

Keys and enum spellings come from the server's json tags and MarshalJSON methods (server/stream.go,
server/consumer.go, server/store.go, server/filestore.go). The defaults were read back from real servers
(2.15.1, 2.14.6, 2.12.8, 2.11.11, 2.10.26) by creating minimal streams and consumers through $JS.API.
The one place for the server's defaults: export leaves out what equals `stream_defaults`/`consumer_defaults`,
planning compares the files' `stored_stream`/`stored_consumer` with what the server holds.
"""
import copy
from typing import NamedTuple, Optional

# Kinds of values. Durations are int nanoseconds in the API, sizes int bytes.
STRING = "string"
BOOL = "bool"
INT = "int"
DURATION = "duration"          # int ns; files may say "90s"
SIZE = "size"                  # int bytes; files may say "1GiB"
ENUM = "enum"                  # one of `values`, lower-case as the server writes it
STRINGS = "strings"            # list of strings
DURATIONS = "durations"        # list of durations (consumer backoff)
MAP = "map"                    # map of string -> string (metadata)
OBJECT = "object"              # nested object with its own `fields`
OBJECTS = "objects"            # list of nested objects (sources, subject_transforms)
TIME = "time"                  # RFC 3339 timestamp string

INT64_MAX = 2 ** 63 - 1
INT32_MAX = 2 ** 31 - 1
UINT64_MAX = 2 ** 64 - 1

MAX_NAME_LEN = 255             # JSMaxNameLen: streams and consumers
MAX_DESCRIPTION_LEN = 4 * 1024  # JSMaxDescriptionLen
MAX_METADATA_LEN = 128 * 1024  # JSMaxMetadataLen: sum of key and value lengths
MAX_REPLICAS = 5               # StreamMaxReplicas
NAME_FORBIDDEN = " \t\r\n\f.*>\\/"  # isValidAssetName
SERVER_METADATA_PREFIX = "_nats."  # _nats.ver, _nats.level, _nats.req.level: written by 2.11+ servers


class Field(NamedTuple):
    kind: str
    values: tuple = ()              # ENUM: allowed values
    fields: Optional[dict] = None   # OBJECT / OBJECTS: the nested keys
    minimum: Optional[int] = None   # INT / SIZE / DURATION bounds (inclusive)
    maximum: Optional[int] = None
    since: str = "2.10"             # first server minor version with the key
    until: Optional[str] = None     # last minor version with the key (None: still there)
    subject: bool = False           # STRING / STRINGS holding NATS subjects


def _int(minimum=None, maximum=INT64_MAX, **kw):
    return Field(INT, minimum=minimum, maximum=maximum, **kw)


def _uint(**kw):
    return Field(INT, minimum=0, maximum=UINT64_MAX, **kw)


def _duration(**kw):
    return Field(DURATION, minimum=0, maximum=INT64_MAX, **kw)


def _enum(*values, **kw):
    return Field(ENUM, values=tuple(values), **kw)


SUBJECT_TRANSFORM_FIELDS = {
    "src": Field(STRING, subject=True),
    "dest": Field(STRING),
}

EXTERNAL_STREAM_FIELDS = {
    "api": Field(STRING),
    "deliver": Field(STRING),
}

STREAM_SOURCE_FIELDS = {
    "name": Field(STRING),
    "opt_start_seq": _uint(),
    "opt_start_time": Field(TIME),
    "filter_subject": Field(STRING, subject=True),
    "subject_transforms": Field(OBJECTS, fields=SUBJECT_TRANSFORM_FIELDS),
    "external": Field(OBJECT, fields=EXTERNAL_STREAM_FIELDS),
    # Source through a named durable consumer on the origin.
    "consumer": Field(OBJECT, fields={"name": Field(STRING), "deliver_subject": Field(STRING, subject=True)},
                      since="2.14"),
}

PLACEMENT_FIELDS = {
    "cluster": Field(STRING),
    "tags": Field(STRINGS),
    "preferred": Field(STRING, since="2.11"),
}

REPUBLISH_FIELDS = {
    "src": Field(STRING, subject=True),
    "dest": Field(STRING),
    "headers_only": Field(BOOL),
}

CONSUMER_LIMITS_FIELDS = {
    "inactive_threshold": _duration(),
    "max_ack_pending": _int(minimum=0, maximum=INT64_MAX),
}

# In the order of the server's StreamConfig struct.
STREAM_FIELDS = {
    "name": Field(STRING),
    "description": Field(STRING),
    "subjects": Field(STRINGS, subject=True),
    "retention": _enum("limits", "interest", "workqueue"),
    "max_consumers": _int(minimum=-1),
    "max_msgs": _int(minimum=-1),
    "max_bytes": Field(SIZE, minimum=-1, maximum=INT64_MAX),
    "max_age": _duration(),
    "max_msgs_per_subject": _int(minimum=-1),
    "max_msg_size": Field(SIZE, minimum=-1, maximum=INT32_MAX),
    "discard": _enum("old", "new"),
    "storage": _enum("file", "memory"),
    "num_replicas": _int(minimum=1, maximum=MAX_REPLICAS),
    "no_ack": Field(BOOL),
    "template_owner": Field(STRING, until="2.12"),  # stream templates were removed in 2.14
    "duplicate_window": _duration(),
    "placement": Field(OBJECT, fields=PLACEMENT_FIELDS),
    "mirror": Field(OBJECT, fields=STREAM_SOURCE_FIELDS),
    "sources": Field(OBJECTS, fields=STREAM_SOURCE_FIELDS),
    "compression": _enum("none", "s2"),
    "first_seq": _uint(),
    "subject_transform": Field(OBJECT, fields=SUBJECT_TRANSFORM_FIELDS),
    "republish": Field(OBJECT, fields=REPUBLISH_FIELDS),
    "allow_direct": Field(BOOL),
    "mirror_direct": Field(BOOL),
    "discard_new_per_subject": Field(BOOL),
    "sealed": Field(BOOL),
    "deny_delete": Field(BOOL),
    "deny_purge": Field(BOOL),
    "allow_rollup_hdrs": Field(BOOL),
    "consumer_limits": Field(OBJECT, fields=CONSUMER_LIMITS_FIELDS),
    "allow_msg_ttl": Field(BOOL, since="2.11"),
    "subject_delete_marker_ttl": _duration(since="2.11"),
    "allow_msg_counter": Field(BOOL, since="2.12"),
    "allow_atomic": Field(BOOL, since="2.12"),
    "allow_msg_schedules": Field(BOOL, since="2.12"),
    "persist_mode": _enum("default", "async", since="2.12"),
    "allow_batched": Field(BOOL, since="2.14"),
    "metadata": Field(MAP),
}

# In the order of the server's ConsumerConfig struct.
CONSUMER_FIELDS = {
    "durable_name": Field(STRING),
    "name": Field(STRING),
    "description": Field(STRING),
    "deliver_policy": _enum("all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"),
    "opt_start_seq": _uint(),
    "opt_start_time": Field(TIME),
    # "flow_control" since 2.14 (push consumers used for sourcing).
    "ack_policy": _enum("none", "all", "explicit", "flow_control"),
    "ack_wait": _duration(),
    "max_deliver": _int(minimum=-1),
    "backoff": Field(DURATIONS, minimum=0, maximum=INT64_MAX),
    "filter_subject": Field(STRING, subject=True),
    "filter_subjects": Field(STRINGS, subject=True),
    "replay_policy": _enum("instant", "original"),
    "rate_limit_bps": _uint(),
    "sample_freq": Field(STRING),
    "max_waiting": _int(minimum=0),
    "max_ack_pending": _int(minimum=-1),
    "flow_control": Field(BOOL),
    "headers_only": Field(BOOL),
    "max_batch": _int(minimum=0),
    "max_expires": _duration(),
    "max_bytes": Field(SIZE, minimum=0, maximum=INT64_MAX),
    "deliver_subject": Field(STRING, subject=True),
    "deliver_group": Field(STRING),
    "idle_heartbeat": _duration(),
    "inactive_threshold": _duration(),
    "num_replicas": _int(minimum=0, maximum=MAX_REPLICAS),  # 0: as many as the stream
    "mem_storage": Field(BOOL),
    "direct": Field(BOOL),
    "sourcing": Field(BOOL, since="2.14"),
    "metadata": Field(MAP),
    "pause_until": Field(TIME, since="2.11"),
    "priority_groups": Field(STRINGS, since="2.11"),
    # "prioritized" since 2.12.
    "priority_policy": _enum("none", "overflow", "pinned_client", "prioritized", since="2.11"),
    "priority_timeout": _duration(since="2.11"),
}

# Set by the server, never by a definition file (spec.py ignores them with a warning); compare them only
# when a file sets them. Not listed: mirror_direct, which the server overrides on a mirror with the
# origin's allow_direct but which matters when a mirror is promoted to a normal stream.
server_managed_stream_keys = frozenset({"template_owner"})
server_managed_consumer_keys = frozenset({"direct", "sourcing"})  # internal: ephemeral sourcing consumers

# What nats-server 2.15.1 returns for a stream created with only a name and subjects (JSON values).
# Context-dependent values are in stream_defaults(). Checked against real 2.10.26, 2.11.11, 2.12.8,
# 2.14.6 and 2.15.1 servers; the differences:
#   - streams with `sources` get a 2m duplicate_window up to 2.12; 2.14+ give them none (like mirrors);
#   - 2.10 leaves out allow_msg_ttl (unknown there) and writes no _nats.* metadata;
#   - 2.10 and 2.11 silently ignore keys they do not know; 2.12+ refuse them ("unknown field");
#   - 2.11.0 refuses subject_delete_marker_ttl without allow_msg_ttl; later versions turn it on.
STREAM_DEFAULTS = {
    "description": "",
    "retention": "limits",
    "max_consumers": -1,
    "max_msgs": -1,
    "max_bytes": -1,
    "max_age": 0,
    "max_msgs_per_subject": -1,
    "max_msg_size": -1,
    "discard": "old",
    "storage": "file",
    "num_replicas": 1,
    "no_ack": False,
    "duplicate_window": 120_000_000_000,  # 2m, but never more than max_age; none for mirrors / sources
    "compression": "none",
    "first_seq": 0,
    "allow_direct": False,
    "mirror_direct": False,
    "discard_new_per_subject": False,
    "sealed": False,
    "deny_delete": False,
    "deny_purge": False,
    "allow_rollup_hdrs": False,
    "consumer_limits": {},
    "allow_msg_ttl": False,
    "subject_delete_marker_ttl": 0,
    "allow_msg_counter": False,
    "allow_atomic": False,
    "allow_msg_schedules": False,
    "persist_mode": "default",
    "allow_batched": False,
    "metadata": {},
}

# What nats-server 2.15.1 returns for a consumer created with only a durable_name (same in 2.10/2.11).
# Note the raw API default ack_policy is "none" (natscli and client libraries send "explicit").
# Context-dependent values (max_waiting, ack_wait, max_ack_pending, priority_timeout...) are in
# consumer_defaults().
CONSUMER_DEFAULTS = {
    "description": "",
    "deliver_policy": "all",
    "opt_start_seq": 0,
    "ack_policy": "none",
    "ack_wait": 0,                  # 30s when ack_policy is explicit or all
    "max_deliver": -1,
    "backoff": [],
    "filter_subject": "",
    "filter_subjects": [],
    "replay_policy": "instant",
    "rate_limit_bps": 0,
    "sample_freq": "",
    "max_waiting": 0,               # 512 for pull consumers (no deliver_subject)
    "max_ack_pending": 0,           # 1000 unless ack_policy is none
    "flow_control": False,
    "headers_only": False,
    "max_batch": 0,
    "max_expires": 0,
    "max_bytes": 0,
    "deliver_subject": "",
    "deliver_group": "",
    "idle_heartbeat": 0,
    "inactive_threshold": 0,        # durables never expire unless set
    "num_replicas": 0,              # 0: the stream's replica count
    "mem_storage": False,
    "direct": False,
    "sourcing": False,
    "metadata": {},
    "priority_groups": [],
    "priority_policy": "none",
    "priority_timeout": 0,          # 2m with priority_policy pinned_client
}

# "-1 means unlimited": the server stores 0 (and anything below -1) in these as -1.
UNLIMITED_STREAM_KEYS = frozenset({"max_consumers", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size"})
UNLIMITED_CONSUMER_KEYS = frozenset({"max_deliver"})

DEFAULT_DUPLICATE_WINDOW = 120_000_000_000    # StreamDefaultDuplicatesWindow
DEFAULT_ACK_WAIT = 30_000_000_000             # JsAckWaitDefault
DEFAULT_MAX_ACK_PENDING = 1000                # JsDefaultMaxAckPending
DEFAULT_MAX_WAITING = 512                     # JSWaitQueueDefaultMax
DEFAULT_PINNED_TTL = 120_000_000_000          # JsDefaultPinnedTTL
FLOW_CONTROL_HEARTBEAT = 1_000_000_000        # sourceHealthHB, forced by ack_policy flow_control


# Keys whose zero value (the unlimited ones: anything below -1 too) the server replaces with its default.
_ZERO_MEANS_DEFAULT = {
    "stream": UNLIMITED_STREAM_KEYS | {"num_replicas", "duplicate_window", "subjects"},
    "consumer": UNLIMITED_CONSUMER_KEYS | {"name", "max_waiting", "ack_wait", "max_ack_pending", "inactive_threshold",
                                          "priority_timeout"},
}


def stream_defaults(config):
    """The values the server fills in for the keys `config` leaves out (server 2.15)."""
    defaults = dict(STREAM_DEFAULTS)
    sourced = bool(config.get("mirror") or config.get("sources"))
    max_age = config.get("max_age") or 0
    if sourced:
        defaults["duplicate_window"] = 0  # 2m up to 2.12 for `sources` (not mirrors)
    elif 0 < max_age < DEFAULT_DUPLICATE_WINDOW:
        defaults["duplicate_window"] = max_age
    if not sourced and config.get("name"):
        defaults["subjects"] = [config["name"]]
    defaults.update(_turned_on_with(config))
    return defaults


def _turned_on_with(config):
    """What the server turns on, whatever was asked, with other keys: delete markers and schedules need
    roll-ups (and purges with them, unless roll-ups were asked for)."""
    forced = {}
    if (config.get("subject_delete_marker_ttl") or 0) > 0:
        forced["allow_msg_ttl"] = True
    if forced or config.get("allow_msg_schedules"):
        forced["allow_rollup_hdrs"] = True
        if not config.get("allow_rollup_hdrs"):
            forced["deny_purge"] = False
    return forced


def consumer_defaults(config, stream_config=None):
    """The values the server fills in for the keys a consumer `config` leaves out (server 2.15)."""
    defaults = dict(CONSUMER_DEFAULTS)
    limits = (stream_config or {}).get("consumer_limits") or {}
    ack_policy = config.get("ack_policy", defaults["ack_policy"])
    if not config.get("deliver_subject"):
        defaults["max_waiting"] = DEFAULT_MAX_WAITING
    if ack_policy in ("explicit", "all"):
        defaults["ack_wait"] = DEFAULT_ACK_WAIT
    if limits.get("max_ack_pending"):
        defaults["max_ack_pending"] = limits["max_ack_pending"]
    elif ack_policy != "none":
        defaults["max_ack_pending"] = DEFAULT_MAX_ACK_PENDING
    if limits.get("inactive_threshold"):
        defaults["inactive_threshold"] = limits["inactive_threshold"]
    if config.get("priority_policy") == "pinned_client":
        defaults["priority_timeout"] = DEFAULT_PINNED_TTL
    if config.get("durable_name"):
        defaults["name"] = config["durable_name"]
    defaults.update(_consumer_forced(config))
    return defaults


def _consumer_forced(config):
    """What the server sets on a consumer whatever was asked: ack_wait is the first backoff; ack_policy
    flow_control brings flow control and its heartbeat."""
    forced = {}
    if config.get("backoff"):
        forced["ack_wait"] = config["backoff"][0]
    if config.get("ack_policy") == "flow_control":
        forced.update(flow_control=True, idle_heartbeat=FLOW_CONTROL_HEARTBEAT)
    return forced


def _filled(kind, config, defaults):
    """`config` (copied) with the defaults for the keys it leaves out or sets to a zero meaning the default.
    The server leaves out zero values (omitempty) and the defaults give exactly those zeros (no
    duplicate_window for a mirror): this works on both sides of a comparison."""
    out = {**defaults, **copy.deepcopy(config)}
    for key in _ZERO_MEANS_DEFAULT[kind]:
        value = out.get(key)
        if key in defaults and (not value or (isinstance(value, int) and value < -1)):
            out[key] = defaults[key]
    return out


def stored_stream(config):
    """The stream config the server holds after creating (or updating to) `config`: its defaults for what
    `config` leaves out or sets to a zero meaning the default, then what it forces (checkStreamCfg)."""
    out = _filled("stream", config, stream_defaults(config))
    out.update(_turned_on_with(config))
    if isinstance(out.get("republish"), dict) and not out["republish"].get("src"):
        out["republish"] = dict(out["republish"], src=">")
    if out.get("sealed"):
        out.update(max_age=0, discard="new", deny_delete=True, deny_purge=True, allow_rollup_hdrs=False)
    return out


def stored_consumer(config, stream_config=None):
    """The consumer config the server holds after creating `config` on a stream whose config is
    `stream_config` (setConsumerConfigDefaults), like stored_stream."""
    out = _filled("consumer", config, consumer_defaults(config, stream_config))
    out.update(_consumer_forced(config))
    return out


def is_server_metadata(key):
    """Whether a metadata key is one the server writes itself (_nats.ver, _nats.level, ...)."""
    return str(key).startswith(SERVER_METADATA_PREFIX)


def user_metadata(metadata):
    """Metadata without the keys the server writes itself."""
    return {k: v for k, v in (metadata or {}).items() if not is_server_metadata(k)}


def without_server_metadata(config):
    """A copy of `config` without the _nats.* metadata the server adds (and without metadata left empty)."""
    config = dict(config)
    metadata = user_metadata(config.pop("metadata", None))
    if metadata:
        config["metadata"] = metadata
    return config


def field_at(fields, dotted):
    """The Field for a dotted path such as `consumer_limits.max_ack_pending` or `sources.name`."""
    head, _, rest = dotted.partition(".")
    field = fields.get(head)
    if field is None or not rest:
        return field
    return field_at(field.fields or {}, rest)
