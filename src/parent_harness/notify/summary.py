"""The texts of /status and /tasks: the fleet at one glance, from current state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from parent_harness.events.clock import to_iso
from parent_harness.notify.gate import Snooze
from parent_harness.notify.incidents import Incident
from parent_harness.notify.links import Links

ACTIVE = ("running", "testing", "assigned", "queued", "pending")
_TASK_LINES = 15
Entity = Mapping[str, Any]


def _counts(values: Iterable[Any], order: Sequence[str] = ()) -> str:
    counted = Counter(str(value) for value in values if value)
    names = [name for name in order if name in counted] + sorted(set(counted) - set(order))
    return ", ".join(f"{counted[name]} {name}" for name in names)


def agents_line(agents: Mapping[str, Entity]) -> str:
    """`Agents: 3 — 2 working, 1 idle; health: 1 stuck`."""
    statuses = _counts((a.get("status") for a in agents.values()), ("working", "idle"))
    unwell = _counts(a.get("health_status") for a in agents.values() if _unwell(a))
    line = f"Agents: {len(agents)}" + (f" — {statuses}" if statuses else "")
    return line + (f"; health: {unwell}" if unwell else "")


def _unwell(agent: Entity) -> bool:
    return agent.get("health_status") not in (None, "healthy")


def tasks_line(tasks: Mapping[str, Entity]) -> str:
    """`Tasks: 60 — 4 running, 10 queued, 2 failed, 44 completed`."""
    order = (*ACTIVE, "failed", "completed", "cancelled")
    counts = _counts((t.get("status") for t in tasks.values()), order)
    return f"Tasks: {len(tasks)}" + (f" — {counts}" if counts else "")


def budget_line(budget: Entity | None) -> str | None:
    """`Budget day: $12.30 of $50.00 (25%), burning $3.10/h`, or None without a budget."""
    if not budget:
        return None
    spent, limit, burn = (
        budget.get("spent_usd"),
        budget.get("limit_usd"),
        budget.get("burn_rate_usd_per_hour"),
    )
    text = f"Budget {budget.get('period')}: ${spent or 0:,.2f}"
    if limit:
        text += f" of ${limit:,.2f} ({(spent or 0) / limit:.0%})"
    return text + (f", burning ${burn:,.2f}/h" if burn else "")


def incidents_line(incidents: Sequence[Incident], titles: Mapping[str, str]) -> str:
    """`Open incidents: 2 — Task failed: t-42; Agent unhealthy: a-3`."""
    if not incidents:
        return "Open incidents: none"
    shown = "; ".join(f"{titles.get(i.rule, i.rule)}: {i.subject}" for i in incidents[:8])
    more = f"; … {len(incidents) - 8} more" if len(incidents) > 8 else ""
    return f"Open incidents: {len(incidents)} — {shown}{more}"


def snoozes_line(snoozes: Sequence[Snooze]) -> str | None:
    """`Snoozed: all until 15:30:00Z`, or None."""
    if not snoozes:
        return None
    return "Snoozed: " + ", ".join(f"{s.scope} until {to_iso(s.until)[11:19]}Z" for s in snoozes)


def control_lines(paused: bool | None, summary: Mapping[str, Any]) -> list[str]:
    """Spawning state, then the orchestrator's own one-glance facts (scalars only)."""
    lines = []
    if paused is not None:
        reason = summary.get("paused_reason") or summary.get("pause_reason")
        lines.append("Spawning: PAUSED" + (f" ({reason})" if reason else "") if paused else
                     "Spawning: running")  # fmt: skip
    for key, value in summary.items():
        if key in ("paused", "paused_reason", "pause_reason") or value is None:
            continue
        if isinstance(value, str | int | float | bool):
            lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    return lines


def task_line(task: Entity, links: Links) -> str:
    """One task in a listing, with its link."""
    status = str(task.get("status") or "?")
    progress = task.get("progress_percent")
    if status in ("running", "testing") and progress:
        status += f" {progress:.0f}%"
    agent = f" — {task['agent_id']}" if task.get("agent_id") else ""
    title = str(task.get("title") or task.get("id"))
    return f"• [{status}] {title}{agent}\n  {links.task(str(task.get('id')))}"


def tasks_text(tasks: Mapping[str, Entity], wanted: str | None, links: Links) -> str:
    """The /tasks listing: active and failed tasks by default, `all`, or one status."""
    if wanted == "all":
        chosen = list(tasks.values())
    elif wanted:
        chosen = [t for t in tasks.values() if t.get("status") == wanted]
    else:
        chosen = [t for t in tasks.values() if t.get("status") in (*ACTIVE, "failed")]
    chosen.sort(key=lambda t: str(t.get("updated_at") or t.get("created_at") or ""), reverse=True)
    if not chosen:
        return f"No {wanted or 'active or failed'} tasks."
    lines = [task_line(task, links) for task in chosen[:_TASK_LINES]]
    heading = f"Tasks ({wanted or 'active and failed'}): {len(chosen)}"
    more = [f"… {len(chosen) - _TASK_LINES} more: {links.home()}"] if len(chosen) > 15 else []
    return "\n".join([heading, *lines, *more])
