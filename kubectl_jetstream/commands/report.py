"""How plans and their outcomes are shown: a table, or one record per action in json/yaml."""
from ..errors import ExitStatus
from ..output import dump, table


def action_record(action):
    record = {
        "stream": action.stream,
        "consumer": action.consumer,
        "action": action.action,
        "changes": [{"field": c.field, "from": c.old, "to": c.new} for c in action.changes],
    }
    if action.result:
        record["result"] = action.result
    if action.error:
        record["error"] = action.error
    if action.reason:
        record["reason"] = action.reason
    return record


def action_cell(action):
    if action.result == "failed":
        return f"{action.action} (failed)"
    return action.action


def print_plan(ctx, actions, dry_run=False):
    fmt = ctx.args.output
    if fmt:
        dump(ctx, [action_record(a) for a in actions], fmt)
    else:
        rows = [[a.stream, a.consumer or "", action_cell(a), changes_cell(a)] for a in actions]
        table(ctx, ["stream", "consumer", "action", "changes"], rows)
        ctx.echo(summary(actions, dry_run))
    for a in actions:
        if a.action == "replace":
            ctx.stderr.write(f"{a.target}: {a.reason or 'cannot be changed in place'}; "
                             f"run `kubectl jetstream recreate {a.stream} --keep-messages` (keeps its messages; "
                             f"`recreate {a.stream}` deletes them)\n")
        if a.error:
            ctx.stderr.write(f"error: {a.target}: {a.action} failed: {a.error}\n")


def changes_cell(action):
    """The fields that change; a create lists nothing (every field is new; -o yaml shows them)."""
    if action.action == "create":
        return ""
    return "; ".join(str(c) for c in action.changes)


def summary(actions, dry_run):
    counts = {}
    for a in actions:
        counts[a.action] = counts.get(a.action, 0) + 1
    streams = sum(1 for a in actions if a.consumer is None)
    parts = [f"{n} {kind}" for kind, n in counts.items()]
    prefix = "dry run, nothing changed: " if dry_run else ""
    return f"{prefix}{streams} stream(s) planned" + (": " + ", ".join(parts) if parts else "")


def plan_exit_status(actions):
    if any(a.action == "replace" or a.result == "failed" for a in actions):
        return ExitStatus.PARTIAL
    return ExitStatus.OK
