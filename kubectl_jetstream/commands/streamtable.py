"""The table of `ls` and `ls --watch`: natscli's columns, the KIND, and which streams are unmanaged or missing."""
from ..health import consumer_state, replica_health, summary
from ..kinds import backup_label, kind_of
from ..output import join_subjects
from ..units import age_seconds, human_age, human_bytes, human_count, format_duration, format_size


def missing_names(infos, defined):
    on_server = {i["config"]["name"] for i in infos}
    return [name for name in defined if name not in on_server]


def table_rows(infos, specs, wide=False, extra_headers=(), extra=None, server_name=None):
    """(headers, rows) of the table, in name order; `extra(info)` gives the cells of `extra_headers` (ls
    --watch: rates); `server_name` is the server answering (the leader of a standalone server's streams)."""
    from ..plan import name_order  # heavy: `ls --help` imports this module

    defined = {s.name: s for s in specs or []}
    backups = {i["config"]["name"]: backup_label(i["config"]) for i in infos}
    rows = []
    for info in infos:
        name = info["config"]["name"]
        # a backup left by recreate --keep-messages stopped half-way says so
        status = backups[name] or ("" if specs is None else "managed" if name in defined else "unmanaged")
        cells = row(info, status, wide=wide, health=consumer_summary(info), server_name=server_name)
        cells[-1:-1] = extra(info) if extra else []
        rows.append(cells)
    for name in missing_names(infos, defined):
        cells = missing_row(defined[name], wide=wide)
        cells[-1:-1] = ["-"] * len(extra_headers)
        rows.append(cells)
    rows.sort(key=lambda r: name_order(r[0]))
    headers = ["name", "kind", "subjects", "storage", "replicas", "messages", "bytes", "consumers",
               "consumer state", "last message"]
    if wide:
        headers += ["retention", "max age", "max msgs", "max bytes", "leader", "replicas ok"]
    headers += list(extra_headers)
    if specs is not None or any(backups.values()):
        headers.append("status")
    else:
        rows = [r[:-1] for r in rows]
    return headers, rows


def row(info, status, wide=False, health="-", server_name=None):
    config, state = info["config"], info.get("state") or {}
    cells = [config["name"], kind_of(config).name, join_subjects(config.get("subjects")), config.get("storage", ""),
             str(config.get("num_replicas", 1)), human_count(state.get("messages")),
             human_bytes(state.get("bytes")), str(state.get("consumer_count", 0)), health, last_message_age(state)]
    if wide:
        cells += [config.get("retention", ""), format_duration(config.get("max_age", 0)) if config.get("max_age") else "unlimited",
                  limit(config.get("max_msgs")), limit(format_size(config.get("max_bytes", -1))),
                  *cluster_cells(info, server_name)]
    return cells + [status]


def missing_row(spec, wide=False):
    config = spec.config
    cells = [spec.name, kind_of(dict(config, name=spec.name)).name, join_subjects(config.get("subjects") or [spec.name]), config.get("storage", "file"),
             str(config.get("num_replicas", 1)), "-", "-", "-", "-", "-"]
    if wide:
        cells += ["-"] * 6
    return cells + ["missing (defined, not on server)"]


def consumer_summary(info):
    """`2 behind`, `ok` or `-` (no consumers): health.py's states of the stream's consumers."""
    return summary([consumer_state(c)[0] for c in info.get("consumer_infos") or []])


def limit(value):
    return "unlimited" if value in (None, -1, 0) else str(value)


def cluster_cells(info, server_name=None):
    """LEADER and REPLICAS OK (health.replica_health: current copies of the configured count). A standalone
    server lists its streams without cluster information: the stream lives on the server answering, which is
    its leader, and its one replica is that server."""
    if "cluster" not in info and server_name:
        return [server_name, "1/1"]
    leader, current, expected = replica_health(info)
    return [leader or "-", f"{current}/{expected}"]


def last_message_age(state):
    return human_age(age_seconds(state.get("last_ts"))) if state.get("messages") else "never"
