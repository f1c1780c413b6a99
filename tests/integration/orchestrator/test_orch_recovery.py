"""Restarts lose no task; pause and resume; the summary."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from parent_harness.orchestrator.approvals import ApprovalDesk
from parent_harness.orchestrator.config import ApprovalsConfig
from parent_harness.orchestrator.publisher import FleetPublisher
from tests.integration.orchestrator.support import FakeHub, MakeConfig, fleet


async def test_a_graceful_stop_requeues_running_tasks(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    async with fleet(make_config("hang"), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Interrupted")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "running")
    task = fake_hub.tasks[task_id]
    assert (task["status"], task["attempts"]) == ("queued", 0)
    assert task["error_details"]["kind"] == "interrupted"
    assert next(iter(fake_hub.sessions.values()))["status"] == "killed"

    async with fleet(make_config("success"), fake_hub):
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert fake_hub.tasks[task_id]["attempts"] == 1


async def left_behind_by_a_crash(fake_hub: FakeHub) -> str:
    """Publish what an orchestrator that died mid-task leaves in the fake_hub."""
    task = {"id": "t-old", "title": "Was running", "status": "queued", "attempts": 0}
    await fake_hub.publish("task:created", {"task": task})
    await fake_hub.publish(
        "task:assigned",
        {"task": {"id": "t-old", "status": "assigned", "attempts": 1, "session_id": "s-old"}},
    )
    session = {"id": "s-old", "task_id": "t-old", "agent_id": "bot", "status": "running"}
    await fake_hub.publish("session:started", {"session": session})
    await fake_hub.publish("task:updated", {"task": {"id": "t-old", "status": "running"}})
    await fake_hub.publish("agent:status", {"agent": {"id": "gone", "status": "working"}})
    return "t-old"


async def test_a_restart_after_a_crash_recovers_the_queue(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    task_id = await left_behind_by_a_crash(fake_hub)
    async with fleet(make_config("success"), fake_hub):
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert fake_hub.sessions["s-old"]["status"] == "failed"
    assert fake_hub.agents["gone"]["status"] == "offline"
    interrupted = [
        e.payload["task"] for e in fake_hub.of_type("task:updated")
        if e.payload["task"].get("error_details")
    ]  # fmt: skip
    assert interrupted[0]["error_details"]["kind"] == "interrupted"
    assert interrupted[0]["status"] == "queued"
    assert fake_hub.tasks[task_id]["attempts"] == 1


async def test_on_interrupted_fail_fails_the_task(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    task_id = await left_behind_by_a_crash(fake_hub)
    async with fleet(make_config("success", retry={"on_interrupted": "fail"}), fake_hub):
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    assert fake_hub.tasks[task_id]["error_details"]["kind"] == "interrupted"


async def test_config_tasks_are_added_once(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    tasks = [{"title": "Seeded task", "priority": 2}]
    async with fleet(make_config("success", tasks=tasks), fake_hub):
        await fake_hub.wait_for(
            lambda: fake_hub.tasks.get("cfg-seeded-task", {}).get("status") == "completed"
        )
    async with fleet(make_config("success", tasks=tasks), fake_hub):
        pass
    assert len(fake_hub.of_type("task:created")) == 1


async def test_pause_and_resume_spawning(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    async with fleet(make_config("success"), fake_hub) as orchestrator:
        orchestrator.pause_spawning("maintenance window")
        task_id = await orchestrator.submit("Waits for resume")
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "paused")
        summary = orchestrator.summary()
        assert summary["paused"] and summary["pause_reason"] == "maintenance window"
        assert summary["tasks_queued"] == 1
        assert all(v is None or isinstance(v, str | int | float) for v in summary.values())
        assert fake_hub.tasks[task_id]["status"] == "queued"
        orchestrator.resume_spawning()
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
        assert not orchestrator.paused
        assert orchestrator.summary()["tasks_completed"] == 1
    assert any(n["message"] == "Spawning paused: maintenance window" for n in fake_hub.notes())


async def test_a_restart_cancels_the_requests_whose_agents_are_gone(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    """Left pending by a run that died: a request of this fleet's agent, one of a session the
    hub shows running (ended at the restart), two from another producer (left pending; the
    one with a deadline expires at it)."""
    await fake_hub.publish("session:started", {"session": {
        "id": "s-gone", "agent_id": "retired", "task_id": "t-9", "status": "running"}})  # fmt: skip
    for approval_id, agent, session in (("ap-bot", "bot", "s-1"), ("ap-gone", None, "s-gone"),
                                        ("ap-sdk", "outside", None)):  # fmt: skip
        approval = {
            "id": approval_id,
            "agent_id": agent,
            "session_id": session,
            "kind": "permission",
            "status": "pending",
            "options": ["allow", "deny"],
        }
        await fake_hub.publish("approval:requested", {"approval": approval})  # fmt: skip
    dated = {
        "id": "ap-dated",
        "agent_id": "outside",
        "status": "pending",
        "requested_at": "2026-01-01T00:00:00.000Z",
        "expires_at": "2026-01-01T00:15:00.000Z",
    }
    await fake_hub.publish("approval:requested", {"approval": dated})  # fmt: skip
    async with fleet(make_config("success"), fake_hub):
        # Another producer's request that gave a deadline expires at it (long past here).
        await fake_hub.wait_for(lambda: fake_hub.approvals["ap-dated"]["status"] != "pending")
    status = {a: fake_hub.approvals[a]["status"]
              for a in ("ap-bot", "ap-gone", "ap-sdk", "ap-dated")}  # fmt: skip
    assert status == {"ap-bot": "cancelled", "ap-gone": "cancelled", "ap-sdk": "pending",
                      "ap-dated": "expired"}  # fmt: skip
    assert fake_hub.approvals["ap-dated"]["decision"] == "deny"
    cancelled = fake_hub.approvals["ap-bot"]
    assert (cancelled["by"], cancelled["via"]) == ("orchestrator", "hub")
    assert cancelled["answer"] == "the agent's process is gone (the orchestrator restarted)"


async def test_a_request_that_comes_back_after_its_agent_left_is_cancelled(
    fake_hub: FakeHub,
) -> None:
    """The desk learns of requests from the hub's events: one of a session whose agent is
    already gone (it asked, then exited at once) is cancelled when it arrives."""
    desk = ApprovalDesk(ApprovalsConfig(), FleetPublisher(fake_hub), find_run=lambda _: None,
                        waiting_changed=lambda _: asyncio.sleep(0))  # fmt: skip
    fake_hub.add_listener(desk.on_event)
    desk.start()
    gone = SimpleNamespace(id="s-1", waiting=set())
    await desk.session_ended(gone, "the agent exited with 0 while waiting")
    approval = {"id": "ap-1", "session_id": "s-1", "agent_id": "bot", "status": "pending"}
    await fake_hub.publish("approval:requested", {"approval": approval})
    await desk.stop()  # handles what is queued first
    assert fake_hub.approvals["ap-1"]["status"] == "cancelled"
    assert fake_hub.approvals["ap-1"]["answer"] == "the agent exited with 0 while waiting"
