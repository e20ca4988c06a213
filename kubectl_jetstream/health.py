"""What healthy means: consumer states (`consumers`, `ls`, `info`, `check`) and the account checks of `check`.

Pure: API JSON in, verdicts out. Thresholds are the flags of `check` and `consumers`; the checks follow
`nats server check jetstream` (natscli): storage use against the limits, every replicated stream with a leader
and current replicas, plus the meta leader and the consumers that look stuck.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from .units import age_seconds, human_age, human_bytes, human_count, parse_ts

# Consumer states, best first; the rank sorts the worst first.
OK, BEHIND, STALLED, NO_INTEREST = "ok", "behind", "stalled", "no interest"
RANK = {OK: 0, BEHIND: 1, STALLED: 2, NO_INTEREST: 3}


@dataclass
class Thresholds:
    max_pending: int = 1000  # unprocessed messages before a consumer is `behind`
    max_ack_pending: int = 1000  # delivered, unacknowledged messages before it is `behind`
    max_redelivered: int = 10  # messages being redelivered before it is `stalled`
    idle_s: float = 300.0  # work waiting and nothing delivered or acknowledged for this long: `stalled`
    max_usage: int = 90  # percent of a memory/storage limit before `check` fails (natscli's critical)


def consumer_ages(info):
    """(seconds since the last delivery, since the last ack), measured on the server's clock (`ts`) when the
    info carries it, so a laptop's clock skew does not matter."""
    now = parse_ts(info.get("ts")) or datetime.now(timezone.utc)
    return (age_seconds((info.get("delivered") or {}).get("last_active"), now),
            age_seconds((info.get("ack_floor") or {}).get("last_active"), now))


def is_push(info):
    return bool((info.get("config") or {}).get("deliver_subject"))


def consumer_state(info, limits=None):
    """(state, reason) of one consumer info. The one definition of consumer health:

    - no interest: messages wait and nobody reads them: a push consumer with no bound subscriber, or a pull
      consumer with no pull request waiting and no delivery for longer than `idle`;
    - stalled: work is waiting or unacknowledged and nothing was delivered or acknowledged for longer than
      `idle`; or the consumer's own max_ack_pending is reached (the server stops delivering); or more
      messages are being redelivered than `max_redelivered`;
    - behind: more than `max_pending` unprocessed or `max_ack_pending` awaiting an ack;
    - ok: otherwise (a consumer with nothing to do is ok, read or not).
    """
    limits = limits or Thresholds()
    config = info.get("config") or {}
    pending = int(info.get("num_pending") or 0)
    ack_pending = int(info.get("num_ack_pending") or 0)
    redelivered = int(info.get("num_redelivered") or 0)
    if pending == 0 and ack_pending == 0:
        return OK, ""
    delivered_age, ack_age = consumer_ages(info)  # after the common idle case: three timestamps to parse
    idle = limits.idle_s
    quiet_for = min((a for a in (delivered_age, ack_age) if a is not None), default=None)
    never_or_idle = quiet_for is None or quiet_for > idle
    if pending:
        if is_push(info) and not info.get("push_bound"):
            return NO_INTEREST, f"{human_count(pending)} unprocessed, no subscriber on the deliver subject"
        if not is_push(info) and not info.get("num_waiting") and never_or_idle:
            since = "never delivered" if delivered_age is None else f"last delivery {human_age(delivered_age)} ago"
            return NO_INTEREST, f"{human_count(pending)} unprocessed, no pull request waiting, {since}"
    if never_or_idle:
        quiet = "never" if quiet_for is None else f"{human_age(quiet_for)} ago"
        return STALLED, (f"{human_count(pending)} unprocessed, {human_count(ack_pending)} ack pending, "
                         f"last delivery or ack {quiet}")
    max_ack = config.get("max_ack_pending")
    if max_ack and max_ack > 0 and ack_pending >= max_ack:
        return STALLED, f"ack pending {human_count(ack_pending)} reached max_ack_pending: delivery paused"
    if redelivered > limits.max_redelivered:
        return STALLED, f"{human_count(redelivered)} redelivered (over {human_count(limits.max_redelivered)})"
    if pending > limits.max_pending:
        return BEHIND, f"{human_count(pending)} unprocessed (over {human_count(limits.max_pending)})"
    if ack_pending > limits.max_ack_pending:
        return BEHIND, f"{human_count(ack_pending)} ack pending (over {human_count(limits.max_ack_pending)})"
    return OK, ""


def worst_first(entries):
    """Sort (stream, info, state, reason) tuples: worst state, most unprocessed, then by name."""
    return sorted(entries, key=lambda e: (-RANK[e[2]], -int(e[1].get("num_pending") or 0), e[0], e[1]["name"]))


def summary(states):
    """["behind", "ok", "behind"] -> "2 behind" (the ok ones are not counted); "ok"; "-" when empty."""
    if not states:
        return "-"
    bad = [s for s in sorted(set(states), key=lambda s: -RANK[s]) if s != OK]
    if not bad:
        return OK
    return ", ".join(f"{states.count(s)} {s}" for s in bad)


# -- check ---------------------------------------------------------------------------------------------
@dataclass
class Check:
    check: str
    status: str  # "OK" | "FAIL"
    detail: str
    data: dict = None

    @property
    def ok(self):
        return self.status == "OK"

    def as_dict(self):
        return {"check": self.check, "status": self.status, "detail": self.detail, **(self.data or {})}


def ok_or_fail(passed):
    return "OK" if passed else "FAIL"


def usage_checks(account, limits):
    """Memory and storage in use against the account's limits (natscli's `check jetstream`)."""
    checks = []
    caps = account.get("limits") or {}
    for name, used_key, cap_key in (("memory", "memory", "max_memory"), ("storage", "storage", "max_storage")):
        used, cap = int(account.get(used_key) or 0), caps.get(cap_key, -1)
        data = {"used": used, "limit": cap}
        if cap is None or cap <= 0:
            checks.append(Check(name, "OK", f"{human_bytes(used)} used, no account limit "
                                            f"(the server's own limit is not visible to an account)", data))
            continue
        pct = used * 100 // cap
        data["percent"] = pct
        checks.append(Check(name, ok_or_fail(pct < limits.max_usage),
                            f"{human_bytes(used)} of {human_bytes(cap)} ({pct}%, fails at {limits.max_usage}%)", data))
    return checks


def _replica_problem(replica):
    """Why one listed replica is not a healthy copy ("" when it is)."""
    if replica.get("offline"):
        return f"replica {replica.get('name')} offline"
    if not replica.get("current"):
        return f"replica {replica.get('name')} not current ({replica.get('lag', 0)} behind)"
    return ""


def replica_health(info):
    """(leader, healthy copies, expected copies) of a stream: the one replica rule, shown by `ls -o wide` as
    REPLICAS OK and checked by `check`. Expected is the stream's num_replicas, as nats-server places it (a
    peer missing from cluster.replicas is a copy short, not one fewer expected; peers still listed for a
    while after a scale-down are not more expected); healthy counts the leader and each listed replica that
    is current and online, up to expected."""
    config, cluster = info.get("config") or {}, info.get("cluster") or {}
    leader = cluster.get("leader") or ""
    listed = cluster.get("replicas") or []
    expected = max(int(config.get("num_replicas") or 1), 1)
    healthy = (1 if leader else 0) + sum(1 for r in listed if not _replica_problem(r))
    return leader, min(healthy, expected), expected


def replica_problems(info):
    """Why a replicated stream is unhealthy ([] when healthy; R1 streams always are)."""
    leader, _, expected = replica_health(info)
    if expected <= 1:
        return []
    if not leader:
        return ["no leader"]
    listed = (info.get("cluster") or {}).get("replicas") or []
    problems = [f"{len(listed) + 1} of {expected} replicas known"] if len(listed) + 1 < expected else []
    return problems + [p for p in map(_replica_problem, listed) if p]


def stream_checks(infos):
    bad = [(i["config"]["name"], replica_problems(i)) for i in infos]
    bad = [(name, problems) for name, problems in bad if problems]
    replicated = sum(1 for i in infos if int((i.get("config") or {}).get("num_replicas") or 1) > 1)
    if not bad:
        detail = f"{len(infos)} streams ({replicated} replicated): each with a leader and current replicas"
        return [Check("streams", "OK", detail, {"streams": len(infos)})]
    checks = [Check("streams", "FAIL", f"{len(bad)} of {len(infos)} streams unhealthy", {"streams": len(infos)})]
    checks += [Check(f"stream {name}", "FAIL", "; ".join(problems), {"stream": name}) for name, problems in bad]
    return checks


def consumer_checks(entries):
    """entries: (stream, consumer info, state, reason) of every consumer."""
    bad = [e for e in worst_first(entries) if e[2] != OK]
    if not bad:
        return [Check("consumers", "OK", f"{len(entries)} consumers: none behind, stalled or without interest",
                      {"consumers": len(entries)})]
    checks = [Check("consumers", "FAIL", f"{summary([e[2] for e in entries])} of {len(entries)} consumers",
                    {"consumers": len(entries)})]
    for stream, info, state, reason in bad:
        checks.append(Check(f"consumer {stream}/{info['name']}", "FAIL", f"{state}: {reason}",
                            {"stream": stream, "consumer": info["name"], "state": state,
                             "num_pending": info.get("num_pending", 0),
                             "num_ack_pending": info.get("num_ack_pending", 0),
                             "num_redelivered": info.get("num_redelivered", 0)}))
    return checks


def assess(stream, infos, limits=None, ephemeral=True):
    """[(stream, info, state, reason)] for a stream's consumer infos (durables only unless `ephemeral`)."""
    return [(stream, info, *consumer_state(info, limits)) for info in infos
            if ephemeral or (info.get("config") or {}).get("durable_name")]
