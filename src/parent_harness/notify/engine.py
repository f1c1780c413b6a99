"""The alert engine: events and clock ticks in, incident transitions out. No I/O.

`observe(event, now)` evaluates event rules and records signs of life; `tick(now)` opens
absence incidents whose deadline passed. Each returns the transitions (opened / resolved)
that may deserve a message; deciding whether they get one is the gate's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parent_harness.events.sink import Event
from parent_harness.notify.conditions import with_derived
from parent_harness.notify.incidents import Incident, IncidentBook
from parent_harness.notify.liveness import Liveness
from parent_harness.notify.rules import Rule

_OWN_EVENTS = ("telegram:message",)
_BULKY = frozenset({"description", "stack", "output_tail", "by_agent", "data"})


@dataclass(frozen=True, slots=True)
class Transition:
    """An incident that just opened or resolved, and the event that did it."""

    kind: Literal["opened", "resolved"]
    rule: Rule
    incident: Incident
    about_seq: int | None


def is_own(event: Event) -> bool:
    """Whether the notifications published this event (never alert on those: no loops)."""
    if event.type in _OWN_EVENTS:
        return True
    inner = event.payload.get("event") if event.type == "event" else None
    return isinstance(inner, Mapping) and str(inner.get("source") or "").startswith("notify")


def context_of(rule: Rule, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a message needs to describe the subject: its entity, without the bulky fields."""
    entity = payload.get(rule.subject[0])
    source = entity if isinstance(entity, Mapping) else payload
    return {key: _slim(value) for key, value in source.items() if key not in _BULKY}


def _slim(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: item for key, item in value.items() if key not in _BULKY}
    return value


class AlertEngine:
    """Turns events and time into incident transitions, by the rules."""

    def __init__(self, rules: Sequence[Rule], book: IncidentBook, liveness: Liveness) -> None:
        self.rules = {rule.name: rule for rule in rules}
        self.book = book
        self.liveness = liveness
        self._event_rules = [rule for rule in rules if rule.kind == "event"]
        self._absence_rules = [rule for rule in rules if rule.kind == "absence"]

    def observe(self, event: Event, now: float) -> list[Transition]:
        """Evaluates one committed event."""
        if is_own(event):
            return []
        payload = with_derived(event.payload)
        found: list[Transition] = []
        for rule in self._event_rules:
            if rule.listens_to(event.type):
                found.extend(self._evaluate(rule, payload, event.seq, now))
        sighting = self.liveness.observe(event, now)
        if sighting is not None:
            found.extend(self._recover(sighting.agent_id, sighting.alive, now))
        return found

    def tick(self, now: float) -> list[Transition]:
        """Opens absence incidents for watched agents silent for longer than their rule allows."""
        found: list[Transition] = []
        for rule in self._absence_rules:
            for agent_id, life in self.liveness.agents.items():
                silent_s = now - life.last_seen
                incident = self.book.get(rule.name, agent_id)
                if silent_s < rule.after_s or (incident is not None and incident.is_open):
                    continue
                if rule.when.matches({"agent": life.agent}):
                    context = {**context_of(rule, {"agent": life.agent}), "silent_s": silent_s}
                    opened = self.book.open(rule.name, agent_id, now, life.last_seq, context)
                    found.append(Transition("opened", rule, opened, life.last_seq))
        return found

    def _evaluate(
        self, rule: Rule, payload: Mapping[str, Any], seq: int, now: float
    ) -> list[Transition]:
        subject = rule.subject_of(payload)
        if subject is None:
            return []
        incident = self.book.get(rule.name, subject)
        if incident is not None and incident.is_open:
            if rule.when.matches(payload):
                self.book.repeat(incident, seq)
            elif rule.resolves(payload):
                self.book.resolve(incident, now, context_of(rule, payload))
                return [Transition("resolved", rule, incident, seq)]
            return []
        if not rule.when.matches(payload):
            return []
        opened = self.book.open(rule.name, subject, now, seq, context_of(rule, payload))
        return [Transition("opened", rule, opened, seq)]

    def _recover(self, agent_id: str, alive: bool, now: float) -> list[Transition]:
        """Resolves absence incidents of an agent that showed life or stopped being watched."""
        life = self.liveness.agents[agent_id]
        found: list[Transition] = []
        for rule in self._absence_rules:
            incident = self.book.get(rule.name, agent_id)
            if incident is None or not incident.is_open:
                continue
            if alive or not rule.when.matches({"agent": life.agent}):
                self.book.resolve(incident, now, context_of(rule, {"agent": life.agent}))
                found.append(Transition("resolved", rule, incident, life.last_seq))
        return found
