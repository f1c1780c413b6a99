"""Incidents: one per (rule, subject), open from the first matching event until it resolves.

The book keeps every open incident, and resolved ones for as long as their rule's `dedup_s`
still matters; it remembers what changed so the notifier can persist exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Key = tuple[str, str]
Held = Literal["snoozed", "rate", "dedup"]


@dataclass(slots=True)
class Incident:
    """A problem with one subject, as one rule sees it."""

    rule: str
    subject: str
    opened_at: float
    opened_seq: int | None = None
    last_seq: int | None = None
    repeats: int = 0
    resolved_at: float | None = None
    announced: bool = False
    held: Held | None = None
    last_announced_at: float | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        """(rule, subject): what makes two events the same incident."""
        return (self.rule, self.subject)

    @property
    def is_open(self) -> bool:
        """Whether the problem is still there."""
        return self.resolved_at is None


class IncidentBook:
    """Every incident that still matters, keyed by (rule, subject)."""

    def __init__(self, incidents: Iterable[Incident] = ()) -> None:
        self._incidents: dict[Key, Incident] = {item.key: item for item in incidents}
        self._changed: set[Key] = set()
        self._removed: set[Key] = set()

    def get(self, rule: str, subject: str) -> Incident | None:
        """The incident of a rule about a subject, open or recently resolved."""
        return self._incidents.get((rule, subject))

    def open(
        self, rule: str, subject: str, now: float, seq: int | None, context: dict[str, Any]
    ) -> Incident:
        """Opens an incident (reopening a resolved one keeps when it was last announced)."""
        previous = self._incidents.get((rule, subject))
        incident = Incident(rule, subject, now, seq, seq, context=context)
        if previous is not None:
            incident.last_announced_at = previous.last_announced_at
        self._incidents[incident.key] = incident
        self.mark(incident)
        return incident

    def repeat(self, incident: Incident, seq: int | None) -> None:
        """Counts one more event of an open incident (not persisted on its own)."""
        incident.repeats += 1
        incident.last_seq = seq

    def resolve(self, incident: Incident, now: float, context: Mapping[str, Any]) -> None:
        """Marks the problem gone, keeping the latest view of the subject."""
        incident.resolved_at = now
        incident.context = {**incident.context, **context}
        self.mark(incident)

    def mark(self, incident: Incident) -> None:
        """Records that an incident changed and must be persisted."""
        self._changed.add(incident.key)
        self._removed.discard(incident.key)

    def open_incidents(self) -> list[Incident]:
        """Every open incident, oldest first."""
        return sorted(
            (item for item in self._incidents.values() if item.is_open),
            key=lambda item: item.opened_at,
        )

    def prune(self, now: float, dedup_s: Mapping[str, float], ttl_s: float) -> None:
        """Forgets resolved incidents past their dedup window, and any idle past `ttl_s`."""
        for key, item in list(self._incidents.items()):
            last = item.resolved_at or item.opened_at
            window = dedup_s.get(item.rule, 0.0) if not item.is_open else ttl_s
            announced = item.last_announced_at or 0.0
            if now - last >= window and now - announced >= dedup_s.get(item.rule, 0.0):
                del self._incidents[key]
                self._changed.discard(key)
                self._removed.add(key)

    def take_changes(self) -> tuple[list[Incident], list[Key]]:
        """What changed since the last call: incidents to write, keys to delete."""
        changed = [self._incidents[key] for key in self._changed if key in self._incidents]
        removed = list(self._removed)
        self._changed.clear()
        self._removed.clear()
        return changed, removed
