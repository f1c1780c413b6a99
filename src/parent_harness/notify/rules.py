"""Alert rules, compiled from settings into what the engine evaluates.

An event rule looks at events whose type matches one of its globs (`on`), takes the subject
(the task, agent or budget period it is about) from the payload, and opens an incident when
`when` holds; the incident resolves when `resolve_when` holds (or, without it, when `when`
stops holding) on a later event about the same subject. An absence rule opens an incident for
an agent that matches `when` (by default: working) and has sent no sign of life for `after_s`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

from parent_harness.notify.conditions import (
    Condition,
    Path,
    compile_condition,
    lookup,
    split_path,
)

if TYPE_CHECKING:
    from parent_harness.notify.config import RateLimit, RuleSettings

Entity = Literal["task", "agent", "session", "budget", "test_run", "event", "approval"]
_ENTITIES: dict[str, Entity] = {
    "task": "task",
    "task_id": "task",
    "agent": "agent",
    "agent_id": "agent",
    "session": "session",
    "session_id": "session",
    "budget": "budget",
    "test_run": "test_run",
    "event": "event",
    "approval": "approval",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule; see the module docstring for what each field means."""

    name: str
    kind: Literal["event", "absence"]
    title: str
    severity: Literal["info", "warning", "error"]
    on: tuple[str, ...]
    subject: Path
    when: Condition
    resolve_when: Condition | None
    after_s: float
    notify_resolved: bool
    dedup_s: float
    rate_limit: RateLimit | None
    channels: frozenset[str]

    @property
    def entity(self) -> Entity | None:
        """What the subject is (a task, an agent...): chooses the link and the wording."""
        return "agent" if self.kind == "absence" else _ENTITIES.get(self.subject[0])

    def listens_to(self, event_type: str) -> bool:
        """Whether events of this type are evaluated by the rule."""
        return any(fnmatchcase(event_type, pattern) for pattern in self.on)

    def subject_of(self, payload: Mapping[str, Any]) -> str | None:
        """The id of what the payload is about, as text; None when it names nothing."""
        value = lookup(payload, self.subject)
        return None if value is None or value == "" else str(value)

    def resolves(self, payload: Mapping[str, Any]) -> bool:
        """Whether the payload shows the problem gone."""
        if self.resolve_when is not None:
            return self.resolve_when.matches(payload)
        return not self.when.matches(payload)


def compile_rule(settings: RuleSettings) -> Rule:
    """A rule the engine can run, from its validated settings."""
    resolve_when = settings.resolve_when
    return Rule(
        name=settings.name,
        kind=settings.kind,
        title=settings.title or settings.name.replace("-", " ").capitalize(),
        severity=settings.severity,
        on=tuple(settings.on),
        subject=split_path(settings.subject or "agent.id"),
        when=compile_condition(settings.when),
        resolve_when=compile_condition(resolve_when) if resolve_when is not None else None,
        after_s=settings.after_s or 0.0,
        notify_resolved=settings.notify_resolved,
        dedup_s=settings.dedup_s,
        rate_limit=settings.rate_limit,
        channels=frozenset(settings.channels),
    )


def compile_rules(settings: Iterable[RuleSettings]) -> list[Rule]:
    """Compiles every rule, in order."""
    return [compile_rule(rule) for rule in settings]
