"""The words of alerts: readable text for people, a JSON document for webhooks.

`describe` gives plain text (what the events say, in words); `alert_text` and `digest_text`
lay it out for one channel, passing every plain piece through the channel's `Escape`
(notify/markup.py), so what an event says is never read as markup. The dashboard links are
built by `Links` (ids percent-encoded), not taken from events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from parent_harness.events.clock import to_iso
from parent_harness.notify.durations import format_duration
from parent_harness.notify.engine import Transition
from parent_harness.notify.incidents import Incident
from parent_harness.notify.links import Links
from parent_harness.notify.markup import Escape, plain
from parent_harness.notify.rules import Rule

_ICONS = {"error": "🔴", "warning": "🟠", "info": "🔵"}
_RESOLVED = "✅"
_ERROR_CHARS = 300


def _money(value: Any) -> str:
    return f"${value:,.2f}" if isinstance(value, int | float) else "?"


def _first_line(text: Any, limit: int = _ERROR_CHARS) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _joined(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)


def _task(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    attempts, most = context.get("attempts"), context.get("max_attempts")
    lines = [
        _joined(
            f"task {subject}",
            context.get("status"),
            f"attempt {attempts} of {most}" if attempts else None,
            f"agent {context['agent_id']}" if context.get("agent_id") else None,
        )
    ]
    error = context.get("error_details") or {}
    if isinstance(error, Mapping) and error.get("message"):
        kind = f" ({error['kind']})" if error.get("kind") else ""
        lines.append(f"Error{kind}: {_first_line(error['message'])}")
    return str(context.get("title") or subject), lines


def _agent(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    lines = [
        _joined(
            f"agent {subject}",
            f"status {context['status']}" if context.get("status") else None,
            f"health {context['health_status']}" if context.get("health_status") else None,
        )
    ]
    if context.get("silent_s") is not None:
        lines.append(f"No heartbeat for {format_duration(float(context['silent_s']))}")
    if context.get("health_reason"):
        lines.append(_first_line(context["health_reason"]))
    if context.get("current_task_id"):
        lines.append(f"Working on task {context['current_task_id']}")
    return str(context.get("name") or subject), lines


def _budget(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    spent, limit = context.get("spent_usd"), context.get("limit_usd")
    share = f" ({spent / limit:.0%})" if isinstance(spent, int | float) and limit else ""
    lines = [f"Spent {_money(spent)} of {_money(limit)}{share}"]
    if context.get("burn_rate_usd_per_hour") is not None:
        lines.append(f"Burn rate {_money(context['burn_rate_usd_per_hour'])}/h")
    if context.get("projected_exhaustion_at"):
        lines.append(f"Projected to run out at {context['projected_exhaustion_at']}")
    return f"budget {subject}", lines


def _session(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    line = _joined(
        f"session {subject}",
        context.get("status"),
        f"agent {context['agent_id']}" if context.get("agent_id") else None,
        f"task {context['task_id']}" if context.get("task_id") else None,
        f"exit code {context['exit_code']}" if context.get("exit_code") is not None else None,
    )
    return f"session {subject}", [line]


_DETAIL_LINES = 12


def _approval(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    """What the agent asks: the summary as headline; who asks; the detail's first lines."""
    who = _joined(
        str(context.get("kind") or "permission"),
        str(context["tool"]) if context.get("tool") else None,
        f"agent {context['agent_id']}" if context.get("agent_id") else None,
        f"task {context['task_id']}" if context.get("task_id") else None,
    )
    detail = str(context.get("detail") or "").strip().splitlines()
    shown = [line[:_ERROR_CHARS] for line in detail[:_DETAIL_LINES]]
    if len(detail) > _DETAIL_LINES:
        shown.append(f"… {len(detail) - _DETAIL_LINES} more lines")
    headline = str(context.get("summary") or context.get("tool") or f"approval {subject}")
    return headline, [who, *shown]


def _generic(context: Mapping[str, Any], subject: str) -> tuple[str, list[str]]:
    detail = _first_line(context.get("message") or context.get("status") or "")
    return subject, [detail] if detail else []


_DESCRIBE: dict[str | None, Callable[[Mapping[str, Any], str], tuple[str, list[str]]]] = {
    "task": _task,
    "agent": _agent,
    "budget": _budget,
    "session": _session,
    "approval": _approval,
}


def describe(rule: Rule, incident: Incident) -> tuple[str, list[str]]:
    """A headline naming the subject, and detail lines, from the incident's context."""
    return _DESCRIBE.get(rule.entity, _generic)(incident.context, incident.subject)


def alert_text(transition: Transition, links: Links, escape: Escape = plain) -> str:
    """The message for an incident that opened or resolved, in a channel's markup."""
    rule, incident = transition.rule, transition.incident
    headline, lines = describe(rule, incident)
    if transition.kind == "resolved":
        lasted = format_duration((incident.resolved_at or incident.opened_at) - incident.opened_at)
        top = f"{_RESOLVED} Resolved: {escape(rule.title)}: {escape(headline)}"
        lines = [*lines[:1], f"Open for {lasted}"]
    else:
        top = f"{_ICONS[rule.severity]} {escape(rule.title)}: {escape(headline)}"
    link = escape(links.for_incident(rule, incident))
    return "\n".join([top, *map(escape, lines), link])


def digest_text(
    rule: Rule, incidents: Sequence[Incident], links: Links, escape: Escape = plain
) -> str:
    """One message for incidents that opened while alerts were held and are still open."""
    why = "snoozed" if all(item.held == "snoozed" for item in incidents) else "held back"
    count = len(incidents)
    noun = "incident" if count == 1 else "incidents"
    title = escape(rule.title)
    lines = [f"{_ICONS[rule.severity]} {title}: {count} {noun} opened while {why}, still open"]
    for incident in incidents[:20]:
        headline, _ = describe(rule, incident)
        link = escape(links.for_incident(rule, incident))
        lines.append(f"• {escape(headline)}: {link}")
    if count > 20:
        lines.append(f"… and {count - 20} more")
    return "\n".join(lines)


def webhook_document(
    text: str, kind: str, rule: Rule | None, incidents: Sequence[Incident], links: Links
) -> dict[str, Any]:
    """The JSON a webhook receives: Slack's `text`, and the facts for machines."""
    return {
        "text": text,
        "kind": kind,
        "rule": rule.name if rule else None,
        "title": rule.title if rule else None,
        "severity": rule.severity if rule else "info",
        "incidents": [_incident_document(rule, item, links) for item in incidents if rule],
    }


def _incident_document(rule: Rule, incident: Incident, links: Links) -> dict[str, Any]:
    resolved = incident.resolved_at
    return {
        "subject": incident.subject,
        "link": links.for_incident(rule, incident),
        "opened_at": to_iso(incident.opened_at),
        "resolved_at": to_iso(resolved) if resolved is not None else None,
        "opened_seq": incident.opened_seq,
        "events": incident.repeats + 1,
        "context": incident.context,
    }
