"""The kinds of JetStream resources -- streams, key-value buckets, object stores -- in one table. Pure.

A key-value bucket is the stream `KV_<bucket>` and an object store the stream `OBJ_<bucket>` (ADR-8, ADR-20);
a stream mirroring one of them holds the same kind of data. Every command asks this module what kind a
stream is (the KIND column of `ls`, what `init --prune` may delete) and how a resource is addressed on the
command line, kubectl's TYPE/NAME: `stream/ORDERS` (or just `ORDERS`), `kv/config`, `obj/files`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str          # as `ls` shows it in KIND: stream | kv | objects
    resource: str      # the TYPE of TYPE/NAME addresses: stream | kv | obj
    prefix: str        # the stream name is prefix + bucket
    aliases: tuple     # other TYPEs accepted on the command line (kubectl accepts plurals too)

    def bucket(self, name):
        """The bucket (or stream) name without the prefix: KV_config -> config; config stays config."""
        return name[len(self.prefix):] if name.startswith(self.prefix) else name


STREAM = Kind("stream", "stream", "", ("streams",))
KV = Kind("kv", "kv", "KV_", ("keyvalue", "keyvalues"))
OBJECTS = Kind("objects", "obj", "OBJ_", ("objects", "objectstore", "objectstores"))
KINDS = (STREAM, KV, OBJECTS)
BUCKET_KINDS = (KV, OBJECTS)
_BY_TYPE = {t: k for k in KINDS for t in (k.resource,) + k.aliases}


def bucket_kind(name):
    """KV or OBJECTS for a stream named KV_<bucket> or OBJ_<bucket>, else None."""
    for kind in BUCKET_KINDS:
        if isinstance(name, str) and name.startswith(kind.prefix) and len(name) > len(kind.prefix):
            return kind
    return None


def kind_of(config):
    """The kind of a stream from its config: by its name, or by the name of the stream it mirrors."""
    config = config or {}
    return (bucket_kind(config.get("name")) or bucket_kind((config.get("mirror") or {}).get("name"))
            or STREAM)


def address(stream_name):
    """TYPE/NAME for a stream name, as `ls -o name` prints it: kv/config for KV_config, stream/ORDERS."""
    kind = bucket_kind(stream_name) or STREAM
    return f"{kind.resource}/{kind.bucket(stream_name)}"


def stream_name(text):
    """The stream behind a command-line name: `kv/config` -> KV_config, `stream/X` and `X` -> X. A TYPE that
    is no kind is left alone (the name is then not found, or invalid, where it is used)."""
    kind_type, slash, name = text.partition("/")
    kind = _BY_TYPE.get(kind_type.lower()) if slash else None
    if kind is None:
        return text
    return kind.prefix + name


# A stream that `recreate --keep-messages` made to hold a stream's messages says so in its metadata.
BACKUP_OF = "kubectl-jetstream.io/backup-of"
STEP = "kubectl-jetstream.io/step"


def backup_label(config):
    """"backup of ORDERS (step verified)" for a stream that is one, else ""."""
    meta = (config or {}).get("metadata") or {}
    if BACKUP_OF not in meta:
        return ""
    return f"backup of {meta[BACKUP_OF]} (step {meta.get(STEP, '?')})"
