"""Snoozes, de-duplication and rate limits decide which transitions get a message."""

from __future__ import annotations

from typing import Any

from parent_harness.notify.config import load_settings
from parent_harness.notify.engine import Transition
from parent_harness.notify.gate import ALL, Gate, Snooze, Snoozes
from parent_harness.notify.incidents import Incident, IncidentBook
from parent_harness.notify.rules import Rule, compile_rules


def rule(**fields: Any) -> Rule:
    spec = {"name": "task-failed", "on": "task:*", "when": {"task.status": "failed"}, **fields}
    (compiled,) = compile_rules(
        load_settings({"rules": [spec], "default_rules": False}).effective_rules()
    )
    return compiled


def opened(book: IncidentBook, r: Rule, subject: str, now: float) -> Transition:
    return Transition("opened", r, book.open(r.name, subject, now, 1, {}), 1)


def announce(gate: Gate, transition: Transition, now: float) -> str:
    verdict = gate.decide(transition, now)
    incident = transition.incident
    incident.held = verdict if verdict in ("snoozed", "rate", "dedup") else None
    if verdict == "announce" and transition.kind == "opened":
        incident.announced, incident.last_announced_at = True, now
    return verdict


def test_snoozes_cover_all_a_rule_or_a_subject_until_they_end() -> None:
    snoozes = Snoozes([Snooze(ALL, 100.0)])
    assert snoozes.covers("any", "thing", 99.0)
    assert not snoozes.covers("any", "thing", 100.0)
    snoozes.add(Snooze("task-failed", 200.0))
    snoozes.add(Snooze("a-7", 300.0))
    assert snoozes.covers("task-failed", "t-1", 150.0)
    assert not snoozes.covers("agent-unhealthy", "a-1", 150.0)
    assert snoozes.covers("agent-unhealthy", "a-7", 250.0)
    assert snoozes.expire(250.0) == [ALL, "task-failed"]
    assert snoozes.remove() == ["a-7"]


def test_a_resolution_is_told_only_when_its_opening_was() -> None:
    gate, book, r = Gate(Snoozes()), IncidentBook(), rule()
    told = opened(book, r, "t-1", 0.0)
    assert announce(gate, told, 0.0) == "announce"
    book.resolve(told.incident, 10.0, {})
    assert gate.decide(Transition("resolved", r, told.incident, 2), 10.0) == "announce"
    gate.snoozes.add(Snooze(ALL, 1000.0))
    held = opened(book, r, "t-2", 20.0)
    assert announce(gate, held, 20.0) == "snoozed"
    book.resolve(held.incident, 30.0, {})
    assert gate.decide(Transition("resolved", r, held.incident, 3), 30.0) == "silent"


def test_a_quick_reopening_of_the_same_subject_is_kept_silent() -> None:
    gate, book, r = Gate(Snoozes()), IncidentBook(), rule(dedup_s=300)
    first = opened(book, r, "t-1", 0.0)
    assert announce(gate, first, 0.0) == "announce"
    book.resolve(first.incident, 10.0, {})
    assert announce(gate, opened(book, r, "t-1", 60.0), 60.0) == "dedup"
    book.resolve(book.get(r.name, "t-1"), 70.0, {})  # type: ignore[arg-type]
    assert announce(gate, opened(book, r, "t-1", 400.0), 400.0) == "announce"


def test_past_the_rate_limit_incidents_are_held_then_told_in_one_digest() -> None:
    gate, book, r = Gate(Snoozes()), IncidentBook(), rule(rate_limit="2/60s")
    verdicts = [announce(gate, opened(book, r, f"t-{n}", float(n)), float(n)) for n in range(5)]
    assert verdicts == ["announce", "announce", "rate", "rate", "rate"]
    rules = {r.name: r}
    assert gate.releasable(book.open_incidents(), rules, 30.0) == {}
    ready = gate.releasable(book.open_incidents(), rules, 61.0)
    assert [i.subject for i in ready[r.name]] == ["t-2", "t-3", "t-4"]


def test_held_by_snooze_are_released_when_it_ends_if_still_open() -> None:
    gate, book, r = Gate(Snoozes([Snooze("task-failed", 100.0)])), IncidentBook(), rule()
    still = opened(book, r, "t-1", 0.0)
    gone = opened(book, r, "t-2", 0.0)
    assert announce(gate, still, 0.0) == announce(gate, gone, 0.0) == "snoozed"
    book.resolve(gone.incident, 50.0, {})
    assert gate.releasable(book.open_incidents(), {r.name: r}, 99.0) == {}
    released = gate.releasable(book.open_incidents(), {r.name: r}, 100.0)
    assert [i.subject for i in released[r.name]] == ["t-1"]


def test_dedup_held_incidents_are_never_released() -> None:
    gate, r = Gate(Snoozes()), rule()
    incident = Incident(r.name, "t-1", 0.0, held="dedup")
    assert gate.releasable([incident], {r.name: r}, 1000.0) == {}
