"""An agent with several sessions points at the one behind its bad health."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from parent_harness.orchestrator.config import AgentConfig
from parent_harness.orchestrator.fleet import AgentSlot
from parent_harness.orchestrator.health import HealthStatus, Verdict


def run(ident: str, task: str) -> Any:
    return SimpleNamespace(
        id=ident,
        task_id=task,
        iteration=1,
        last_heartbeat_at=None,
        last_progress_at=None,
        command="sim",
        pid=1,
        waiting=set(),
    )


def test_the_agent_shows_the_session_behind_its_bad_health() -> None:
    slot = AgentSlot(AgentConfig(name="claude", command="sim", max_instances=2))
    slot.add(run("s-stuck", "t-stuck"))
    slot.add(run("s-new", "t-new"))
    assert slot.entity(paused=False)["current_task_id"] == "t-new"
    slot.verdicts["s-stuck"] = Verdict(HealthStatus.STUCK, "no progress for 15 s")
    entity = slot.entity(paused=False)
    assert (entity["health_status"], entity["current_task_id"]) == ("stuck", "t-stuck")
    assert entity["current_session_id"] == "s-stuck"


def test_an_agent_with_a_session_waiting_for_an_answer_waits_and_points_at_it() -> None:
    slot = AgentSlot(AgentConfig(name="claude", command="sim", max_instances=2))
    slot.add(run("s-asks", "t-asks"))
    slot.add(run("s-works", "t-works"))
    assert slot.entity(paused=False)["status"] == "working"
    slot.runs["s-asks"].waiting.add("ap-1")
    entity = slot.entity(paused=False)
    assert (entity["status"], entity["current_session_id"]) == ("waiting_input", "s-asks")
