"""The alert engine: one incident per (rule, subject), resolution, absence timers."""

from __future__ import annotations

from typing import Any

from parent_harness.events.clock import ManualClock
from parent_harness.events.sink import Event
from parent_harness.notify.config import load_settings
from parent_harness.notify.engine import AlertEngine, Transition
from parent_harness.notify.incidents import IncidentBook
from parent_harness.notify.liveness import Liveness
from parent_harness.notify.rules import compile_rules
from tests.unit.notify.fakes import FakeHub, agent, failed_task


class Rig:
    """A hub feeding the engine, with a clock the test moves."""

    def __init__(self, section: dict[str, Any] | None = None) -> None:
        self.hub = FakeHub()
        self.clock = ManualClock()
        rules = compile_rules(load_settings(section).effective_rules())
        self.engine = AlertEngine(rules, IncidentBook(), Liveness())

    def emit(self, type: str, payload: dict[str, Any]) -> list[tuple[str, str, str]]:
        self.hub.emit(type, payload)
        return summary(self.engine.observe(self.hub.events[-1], self.clock.now()))

    def tick(self, seconds: float = 0) -> list[tuple[str, str, str]]:
        self.clock.advance(seconds)
        return summary(self.engine.tick(self.clock.now()))


def summary(found: list[Transition]) -> list[tuple[str, str, str]]:
    return [(t.kind, t.rule.name, t.incident.subject) for t in found]


def test_repeated_failures_of_a_task_are_one_incident() -> None:
    rig = Rig()
    assert rig.emit("task:failed", failed_task("t-1")) == [("opened", "task-failed", "t-1")]
    assert rig.emit("task:updated", {"task": {"id": "t-1", "status": "queued"}}) == []
    assert rig.emit("task:failed", failed_task("t-1", attempt=2)) == []
    assert rig.emit("task:failed", failed_task("t-2")) == [("opened", "task-failed", "t-2")]
    assert rig.engine.book.get("task-failed", "t-1").repeats == 1  # type: ignore[union-attr]


def test_a_task_retried_and_completed_resolves_its_incident() -> None:
    rig = Rig()
    rig.emit("task:failed", failed_task("t-1"))
    rig.emit("task:updated", {"task": {"id": "t-1", "status": "running"}})
    assert rig.emit("task:completed", {"task": {"id": "t-1", "status": "completed"}}) == [
        ("resolved", "task-failed", "t-1")
    ]
    assert rig.emit("task:failed", failed_task("t-1")) == [("opened", "task-failed", "t-1")]


def test_an_agent_stuck_then_crashed_is_one_incident_until_healthy() -> None:
    rig = Rig()
    assert rig.emit("agent:status", agent(health_status="stuck")) == [
        ("opened", "agent-unhealthy", "a-1")
    ]
    assert rig.emit("agent:status", agent(health_status="crashed")) == []
    assert rig.emit("agent:status", agent(health_status="stale")) == []
    assert rig.emit("agent:status", agent(health_status="healthy")) == [
        ("resolved", "agent-unhealthy", "a-1")
    ]


def test_budget_crossings_open_once_per_level_and_period() -> None:
    rig = Rig()

    def spend(usd: float) -> list[tuple[str, str, str]]:
        return rig.emit(
            "budget:updated", {"budget": {"period": "day", "limit_usd": 100.0, "spent_usd": usd}}
        )

    assert spend(50) == []
    assert spend(81) == [("opened", "budget-80", "day")]
    assert spend(90) == []
    assert spend(101) == [("opened", "budget-exhausted", "day")]
    assert spend(3) == [("resolved", "budget-80", "day"), ("resolved", "budget-exhausted", "day")]


def test_a_working_agent_without_heartbeat_opens_an_incident_after_the_delay() -> None:
    rig = Rig()
    rig.emit("agent:status", agent(status="working"))
    assert rig.tick(299) == []
    assert rig.tick(1) == [("opened", "agent-silent", "a-1")]
    assert rig.tick(600) == []
    context = rig.engine.book.get("agent-silent", "a-1").context  # type: ignore[union-attr]
    assert context["silent_s"] == 300
    assert rig.emit("agent:heartbeat", {"agent_id": "a-1"}) == [("resolved", "agent-silent", "a-1")]
    assert rig.tick(299) == []


def test_session_heartbeats_count_for_their_agent() -> None:
    rig = Rig({"rules": [{"name": "agent-silent", "kind": "absence", "after_s": 60}]})
    rig.emit("agent:status", agent(status="working"))
    rig.emit("session:started", {"session": {"id": "s-1", "agent_id": "a-1", "status": "running"}})
    for _ in range(5):
        rig.clock.advance(50)
        rig.emit("session:heartbeat", {"session_id": "s-1", "iteration": 1})
        assert rig.tick() == []
    assert rig.tick(60) == [("opened", "agent-silent", "a-1")]


def test_an_idle_agent_is_not_watched_and_stopping_resolves() -> None:
    rig = Rig()
    rig.emit("agent:status", agent("idle-one", status="idle"))
    rig.emit("agent:status", agent("busy", status="working"))
    assert rig.tick(400) == [("opened", "agent-silent", "busy")]
    assert rig.emit("agent:status", agent("busy", status="idle")) == [
        ("resolved", "agent-silent", "busy")
    ]


def test_a_health_change_alone_is_not_a_sign_of_life() -> None:
    rig = Rig({"rules": [{"name": "agent-unhealthy", "enabled": False}]})
    rig.emit("agent:status", agent(status="working"))
    rig.clock.advance(200)
    rig.emit("agent:status", agent(status="working", health_status="stale"))
    assert rig.tick(100) == [("opened", "agent-silent", "a-1")]


def test_events_the_notifications_publish_are_ignored() -> None:
    section = {"rules": [{"name": "errors", "on": "event", "when": {"event.level": "error"}}]}
    rig = Rig(section)
    own = {"event": {"level": "error", "source": "notify.webhook", "message": "undelivered"}}
    assert rig.emit("event", own) == []
    other = {"event": {"level": "error", "source": "ci", "message": "red"}}
    assert rig.emit("event", other) == [("opened", "errors", "ci")]
    assert rig.emit("event", {"event": {"level": "info", "source": "ci", "message": "green"}}) == [
        ("resolved", "errors", "ci")
    ]


def test_events_without_a_subject_are_skipped() -> None:
    rig = Rig({"rules": [{"name": "errors", "on": "event", "when": {"event.level": "error"}}]})
    assert rig.emit("event", {"event": {"level": "error", "message": "no source"}}) == []
    unknown = Event(1, "custom:thing", {"x": 1}, "")
    assert rig.engine.observe(unknown, rig.clock.now()) == []
