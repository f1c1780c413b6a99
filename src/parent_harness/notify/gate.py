"""Whether a transition gets a message: snoozes, de-duplication and rate limits. No I/O.

- Snoozed (all alerts, one rule, or one subject such as an agent id): held, and told in one
  digest per rule when the snooze ends if the incident is still open.
- Rate limited (a rule announced `count` incidents in its window): held likewise, and told in
  a digest once the window allows.
- De-duplicated (the same rule and subject was announced less than `dedup_s` ago, e.g. a
  flapping agent): kept silent for good.
A resolution is told only when its opening was, and not while snoozed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from parent_harness.notify.engine import Transition
from parent_harness.notify.incidents import Held, Incident
from parent_harness.notify.rules import Rule

ALL = "all"
Verdict = Literal["announce", "silent"] | Held


@dataclass(frozen=True, slots=True)
class Snooze:
    """Alerts held for a scope (`all`, a rule's name, or a subject id) until a time."""

    scope: str
    until: float
    by: str = ""


class Snoozes:
    """The snoozes in force."""

    def __init__(self, snoozes: Iterable[Snooze] = ()) -> None:
        self._by_scope = {item.scope: item for item in snoozes}

    def add(self, snooze: Snooze) -> None:
        """Snoozes a scope (replacing an earlier snooze of it)."""
        self._by_scope[snooze.scope] = snooze

    def remove(self, scope: str | None = None) -> list[str]:
        """Ends the snooze of a scope, or every snooze; returns the scopes ended."""
        scopes = [scope] if scope is not None else list(self._by_scope)
        return [name for name in scopes if self._by_scope.pop(name, None) is not None]

    def covers(self, rule: str, subject: str, now: float) -> bool:
        """Whether an incident of this rule and subject is snoozed now."""
        return any(
            self._by_scope.get(scope, Snooze(scope, 0.0)).until > now
            for scope in (ALL, rule, subject)
        )

    def expire(self, now: float) -> list[str]:
        """Drops snoozes that ended; returns their scopes."""
        ended = [item.scope for item in self._by_scope.values() if item.until <= now]
        for scope in ended:
            del self._by_scope[scope]
        return ended

    def active(self) -> list[Snooze]:
        """Every snooze in force, ending soonest first."""
        return sorted(self._by_scope.values(), key=lambda item: item.until)


class RateLimiter:
    """Counts announcements per rule within each rule's window."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}

    def allows(self, rule: Rule, now: float) -> bool:
        """Whether the rule may announce one more incident now."""
        if rule.rate_limit is None:
            return True
        sent = self._sent.setdefault(rule.name, deque())
        while sent and now - sent[0] >= rule.rate_limit.per_s:
            sent.popleft()
        return len(sent) < rule.rate_limit.count

    def spend(self, rule: Rule, now: float) -> None:
        """Counts one announcement."""
        self._sent.setdefault(rule.name, deque()).append(now)


class Gate:
    """Decides, for each transition, whether it is told now, held, or kept silent."""

    def __init__(self, snoozes: Snoozes, limiter: RateLimiter | None = None) -> None:
        self.snoozes = snoozes
        self.limiter = limiter or RateLimiter()

    def decide(self, transition: Transition, now: float) -> Verdict:
        """The verdict for one transition; records the announcement when there is one."""
        rule, incident = transition.rule, transition.incident
        if transition.kind == "resolved":
            told = incident.announced and rule.notify_resolved
            return "announce" if told and not self._snoozed(incident, now) else "silent"
        if self._snoozed(incident, now):
            return "snoozed"
        last = incident.last_announced_at
        if last is not None and now - last < rule.dedup_s:
            return "dedup"
        if not self.limiter.allows(rule, now):
            return "rate"
        self.limiter.spend(rule, now)
        return "announce"

    def releasable(
        self, incidents: Iterable[Incident], rules: Mapping[str, Rule], now: float
    ) -> dict[str, list[Incident]]:
        """Held incidents, still open, that may be told now in one digest per rule."""
        ready: dict[str, list[Incident]] = {}
        for incident in incidents:
            rule = rules.get(incident.rule)
            if rule is None or incident.held not in ("snoozed", "rate") or incident.announced:
                continue
            if not self._snoozed(incident, now) and (
                incident.rule in ready or self.limiter.allows(rule, now)
            ):
                if incident.rule not in ready:
                    self.limiter.spend(rule, now)
                ready.setdefault(incident.rule, []).append(incident)
        return ready

    def _snoozed(self, incident: Incident, now: float) -> bool:
        return self.snoozes.covers(incident.rule, incident.subject, now)
