"""Definitions (StreamSpecs) and a server snapshot -> the actions that make the server match, in the order
they are carried out. Pure: what differs and what the server refuses in place is compare.py's."""
from dataclasses import dataclass, field
from typing import Optional

from .. import kinds, schema
from .compare import (Change, consumer_refusals, create_config, creation_changes, diff, stream_refusals,
                      update_config)


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


def _plan_stream(spec, current):
    file_cfg = _stream_file_config(spec)
    if current is None:  # its consumers are all created: nothing is compared with the desired state
        return _create_stream_actions(spec.name, file_cfg), None
    desired = schema.stored_stream(file_cfg)
    actual = current.get("config") or {}
    for key in getattr(spec, "tolerated", ()):  # client-dependent defaults the file leaves open
        if key in actual:
            desired[key] = actual[key]
        else:
            desired.pop(key, None)
    changes = diff("stream", file_cfg, desired, actual)
    if not changes:
        return [Action(spec.name, None, "unchanged", [], None)], desired
    reasons = stream_refusals(desired, actual)
    if reasons:
        config = create_config(file_cfg)
        config.pop("sealed", None)  # refused on create: seal the replacement with a later run's update
        return [Action(spec.name, None, "replace", changes, config, "; ".join(reasons))], desired
    config = update_config("stream", file_cfg, desired, actual)
    return [Action(spec.name, None, "update", changes, config)], desired


def _create_stream_actions(name, file_cfg):
    config = create_config(file_cfg)
    changes = creation_changes(config, {"name"})
    if not config.get("sealed"):
        return [Action(name, None, "create", changes, config)]
    # The server refuses to create a sealed stream: create it open, then seal it.
    del config["sealed"]
    seal = Action(name, None, "update", [Change("sealed", False, True)], create_config(file_cfg))
    return [Action(name, None, "create", [c for c in changes if c.field != "sealed"], config), seal]


def _plan_consumer(stream, consumer, actual, stream_desired):
    file_cfg = dict(consumer)
    name = file_cfg.get("durable_name") or file_cfg.get("name")
    if actual is None:
        config = create_config(file_cfg)
        return Action(stream, name, "create", creation_changes(config, {"durable_name", "name"}), config)
    desired = schema.stored_consumer(file_cfg, stream_desired)
    changes = diff("consumer", file_cfg, desired, actual)
    if not changes:
        return Action(stream, name, "unchanged", [], None)
    reasons = consumer_refusals(desired, actual)
    if reasons:
        return Action(stream, name, "replace", changes, create_config(file_cfg), "; ".join(reasons))
    return Action(stream, name, "update", changes, update_config("consumer", file_cfg, desired, actual))


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
