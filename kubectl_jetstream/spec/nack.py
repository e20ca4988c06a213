"""NACK (https://github.com/nats-io/nack) resources: a Stream's camelCase spec -> StreamConfig API keys, a
Consumer's -> ConsumerConfig keys, and the checks every NACK resource shares (apiVersion, kind, connection
settings, jsDomain). Each API key remembers its NACK spelling, so problems name the key as the file wrote it."""
import difflib
import re

from ..errors import shown
from .names import domain_problem
from .problems import join_key, type_name

NACK_GROUP = "jetstream.nats.io"
_NACK_TRANSFORM = {"source": ("src", None), "dest": ("dest", None)}
_NACK_SOURCE = {
    "name": ("name", None), "optStartSeq": ("opt_start_seq", None), "optStartTime": ("opt_start_time", None),
    "filterSubject": ("filter_subject", None),
    "externalApiPrefix": ("external.api", None), "externalDeliverPrefix": ("external.deliver", None),
    "subjectTransforms": ("subject_transforms", _NACK_TRANSFORM),
}
NACK_STREAM_KEYS = {
    "name": ("name", None), "description": ("description", None), "subjects": ("subjects", None),
    "retention": ("retention", None), "maxConsumers": ("max_consumers", None),
    "maxMsgsPerSubject": ("max_msgs_per_subject", None), "maxMsgs": ("max_msgs", None),
    "maxBytes": ("max_bytes", None), "maxAge": ("max_age", None), "maxMsgSize": ("max_msg_size", None),
    "storage": ("storage", None), "discard": ("discard", None),
    "replicas": ("num_replicas", None), "numReplicas": ("num_replicas", None), "noAck": ("no_ack", None),
    "duplicateWindow": ("duplicate_window", None),
    "placement": ("placement", {"cluster": ("cluster", None), "tags": ("tags", None),
                                "preferred": ("preferred", None)}),
    "mirror": ("mirror", _NACK_SOURCE), "sources": ("sources", _NACK_SOURCE),
    "compression": ("compression", None),
    "subjectTransform": ("subject_transform", _NACK_TRANSFORM),
    "republish": ("republish", {"source": ("src", None), "destination": ("dest", None),
                                "headers_only": ("headers_only", None), "headersOnly": ("headers_only", None)}),
    "sealed": ("sealed", None), "denyDelete": ("deny_delete", None), "denyPurge": ("deny_purge", None),
    "allowDirect": ("allow_direct", None), "allowRollup": ("allow_rollup_hdrs", None),
    "mirrorDirect": ("mirror_direct", None), "discardPerSubject": ("discard_new_per_subject", None),
    "firstSequence": ("first_seq", None), "metadata": ("metadata", None),
    "consumerLimits": ("consumer_limits", {"inactiveThreshold": ("inactive_threshold", None),
                                           "maxAckPending": ("max_ack_pending", None)}),
    "allowMsgTtl": ("allow_msg_ttl", None), "subjectDeleteMarkerTtl": ("subject_delete_marker_ttl", None),
    "allowMsgCounter": ("allow_msg_counter", None), "allowAtomicPublish": ("allow_atomic", None),
    "allowMsgSchedules": ("allow_msg_schedules", None), "persistMode": ("persist_mode", None),
}
# How NACK's controller reaches NATS: this tool brings its own connection, so these do not apply.
NACK_CONNECTION_KEYS = {"account", "creds", "nkey", "servers", "tls", "tlsFirst", "preventDelete",
                        "preventUpdate"}
_NACK_TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec", "status"}
# NACK leaves these out of the config when they are "" (e.g. the CRD's `compression: ''` default).
_NACK_EMPTY_IS_UNSET = {"max_age", "duplicate_window", "compression", "persist_mode", "subject_delete_marker_ttl",
                        "opt_start_time", "inactive_threshold", "retention", "storage", "discard"}


def js_domain_of(doc, problems):
    """spec.jsDomain of a NACK resource ("" when it names none)."""
    spec = doc.get("spec")
    domain = spec.get("jsDomain") if isinstance(spec, dict) else None
    if domain in (None, ""):
        return ""
    problem = domain_problem(domain)
    if problem:
        problems("jsDomain", problem)
        return ""
    return domain


# NACK's CRDs serve v1beta2 (stored). The Stream CRD also serves v1beta1: the same keys with the same meaning,
# but fewer of them; Kubernetes prunes the others from a v1beta1 resource, so they are refused here.
NACK_API_VERSION = f"{NACK_GROUP}/v1beta2"
NACK_STREAM_V1BETA1 = f"{NACK_GROUP}/v1beta1"
_NACK_V1BETA1_KEYS = {"allowMsgTtl", "description", "discard", "duplicateWindow", "maxAge", "maxBytes",
                      "maxConsumers", "maxMsgSize", "maxMsgs", "maxMsgsPerSubject", "mirror", "name", "noAck",
                      "placement", "replicas", "retention", "sources", "storage", "subjectDeleteMarkerTtl",
                      "subjects"}
_NACK_V1BETA1_SOURCE_KEYS = {"externalApiPrefix", "externalDeliverPrefix", "filterSubject", "name",
                             "optStartSeq", "optStartTime"}


def native_stream(doc, path, warn, problems):
    """A NACK Stream -> the native stream document its spec means ({} after reporting one that is not)."""
    spec = resource_spec(doc, path, warn, problems, "Stream")
    if spec is None:
        return {}
    if doc.get("apiVersion") == NACK_STREAM_V1BETA1:
        _check_v1beta1(spec, problems)
    stream = translate(spec, NACK_STREAM_KEYS, "", "spec.", problems)
    if "storage" not in stream:
        # The CRD defaults storage to memory, so that is what NACK would create from this resource.
        stream["storage"] = "memory"
        warn(f"{path}: spec.storage: not set; NACK's CRD default is memory, so this stream uses memory storage")
    return stream


NACK_KINDS = ("Stream", "Consumer", "KeyValue", "ObjectStore")


def resource_spec(doc, path, warn, problems, kind):
    """The `spec` of a NACK resource of `kind`, without NACK's connection settings (warned about); None after
    reporting a resource that is not one. Keys outside `spec` are reported as written."""
    api_version = doc.get("apiVersion")
    if not (isinstance(api_version, str) and api_version.startswith(NACK_GROUP + "/")):
        problems.add("apiVersion", f"{shown(api_version)} is not a NACK resource; expected {NACK_API_VERSION} "
                                   f"(kind {kind})")
        return None
    versions = [NACK_API_VERSION] + ([NACK_STREAM_V1BETA1] if kind == "Stream" else [])
    if api_version not in versions:
        problems.add("apiVersion", f"{shown(api_version)} is not a version of NACK's {kind}; "
                                   f"expected {' or '.join(versions)}")
        return None
    if doc.get("kind") != kind:
        problems.add("kind", f"NACK kind {shown(doc.get('kind'))} is not supported; streams.d holds the kinds "
                             f"{', '.join(NACK_KINDS)}")
        return None
    for key in doc:
        if key not in _NACK_TOP_LEVEL:
            problems.add(str(key), lambda key=key: f"unknown top-level key {shown(key)} in a NACK {kind} "
                                                   "(expected apiVersion, kind, metadata, spec)")
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        problems.add("spec", f"expected the {kind}'s settings (a mapping), got {type_name(spec)}")
        return None
    for key in sorted(NACK_CONNECTION_KEYS & set(spec)):
        warn(f"{path}: spec.{key}: ignored (NACK connection setting; kubectl-jetstream connects on its own)")
    return {k: v for k, v in spec.items() if k not in NACK_CONNECTION_KEYS and k != "jsDomain"}


def _check_v1beta1(spec, problems):
    newer = f"not in NACK's v1beta1 Stream (Kubernetes would drop it); use apiVersion: {NACK_API_VERSION}"
    for key, value in spec.items():
        if key not in _NACK_V1BETA1_KEYS and key in NACK_STREAM_KEYS:
            problems.add(f"spec.{key}", newer)
        sources = [(f"spec.{key}", value)] if key == "mirror" else []
        if key == "sources" and isinstance(value, list):
            sources = [(f"spec.{key}[{i}]", v) for i, v in enumerate(value)]
        for where, source in sources:
            for nested in source if isinstance(source, dict) else ():
                if nested not in _NACK_V1BETA1_SOURCE_KEYS and nested in _NACK_SOURCE:
                    problems.add(f"{where}.{nested}", newer)


def translate(spec, table, api_prefix, spelled_prefix, problems, what="Stream"):
    """camelCase NACK keys -> API keys, recording each key's spelling for error messages."""
    out = {}
    for key, value in spec.items():
        spelled = f"{spelled_prefix}{key}"
        if key not in table:
            problems.add(spelled, lambda key=key: _unknown_nack_key_message(key, table, what))
            continue
        api_key, nested = table[key]
        if value == "" and api_key.split(".")[-1] in _NACK_EMPTY_IS_UNSET:
            continue
        api_path = join_key(api_prefix, api_key)
        problems.names[api_path] = spelled
        if nested and isinstance(value, dict):
            value = translate(value, nested, api_path, spelled + ".", problems, what)
        elif nested and isinstance(value, list):
            value = [translate(v, nested, f"{api_path}[{i}]", f"{spelled}[{i}].", problems, what)
                     if isinstance(v, dict) else v for i, v in enumerate(value)]
        _set_dotted(out, api_key, value)
    return out


def _unknown_nack_key_message(key, table, what):
    close = difflib.get_close_matches(str(key), list(table), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown NACK {what} setting {shown(key)}{hint}"


def _set_dotted(target, dotted, value):
    head, _, rest = dotted.partition(".")
    if rest:
        _set_dotted(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value



def snake_case(key):
    """maxAge -> max_age; byStartSequence -> by_start_sequence."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


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


def consumer(doc, path, warn, problems):
    """A NACK Consumer -> (the stream it names or None, its settings as API keys under "spec"), or None after
    reporting a resource that is not one."""
    body = resource_spec(doc, path, warn, problems, "Consumer")
    if body is None:
        return None
    body = {k: v for k, v in body.items() if v != ""}
    stream = body.pop("streamName", None)
    raw = translate(body, NACK_CONSUMER_KEYS, "spec", "spec.", problems, "Consumer")
    for key in _CAMEL_ENUMS:
        if isinstance(raw.get(key), str):
            raw[key] = snake_case(raw[key])
    return stream, raw
