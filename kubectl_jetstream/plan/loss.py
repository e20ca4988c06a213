"""Which planned changes remove messages the server holds now, and how many. Pure."""
from .. import units
from ..subjects import consumer_filters, subjects_overlap
from .compare import format_value


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
        return consumer_filters(info.get("config") or {}) or [">"]

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
