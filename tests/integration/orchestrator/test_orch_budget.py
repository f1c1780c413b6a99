"""Budget enforcement on real spending agents: warning, pause, stop, per-task limit."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.orchestrator.support import FakeHub, MakeConfig, fleet


async def test_the_daily_limit_stops_the_fleet(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    budget = {"limit_usd_per_day": 1.0, "warn_at": 0.5, "on_limit": "stop"}
    async with fleet(make_config("spend 0.2", budget=budget), fake_hub) as orchestrator:
        first = await orchestrator.submit("Spends", priority=5)
        second = await orchestrator.submit("Waits")
        await fake_hub.wait_for(lambda: orchestrator.paused)
        await fake_hub.wait_for(lambda: fake_hub.tasks[first]["status"] == "queued")
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "paused")
        assert "today's budget" in (orchestrator.pause_reason or "")
        assert fake_hub.tasks[second]["status"] == "queued"
        assert len(fake_hub.sessions) == 1
        assert next(iter(fake_hub.sessions.values()))["status"] == "killed"
        details = fake_hub.tasks[first]["error_details"]
        assert details["kind"] == "budget_exceeded"
        assert fake_hub.tasks[first]["attempts"] == 0  # an interruption gives the attempt back
        messages = [n["message"] for n in fake_hub.notes() if n["source"] == "budget"]
        assert any(m.startswith("Spending is at 60% of today's budget") for m in messages)
        assert any("Spawning paused" in m and "running sessions stopped" in m for m in messages)
        assert fake_hub.budget is not None and fake_hub.budget["spent_usd"] >= 1.0
        assert fake_hub.budget["projected_exhaustion_at"] is not None
        assert orchestrator.summary()["budget_percent"] >= 100

        orchestrator.resume_spawning()  # the operator overrides the budget for today
        await fake_hub.wait_for(lambda: len(fake_hub.sessions) == 2)


async def test_pause_lets_running_sessions_finish(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    budget = {"limit_usd_per_day": 0.5, "on_limit": "pause"}
    async with fleet(make_config("spend 0.2", budget=budget), fake_hub) as orchestrator:
        await orchestrator.submit("Spends")
        await fake_hub.wait_for(lambda: orchestrator.paused)
        (session,) = fake_hub.sessions.values()
        assert session["status"] == "running"
        assert fake_hub.agents["bot"]["status"] == "working"


async def test_the_task_limit_fails_the_task(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    budget = {"limit_usd_per_task": 0.5, "on_limit": "stop"}
    config = make_config("spend 0.2", budget=budget, retry={"max_attempts": 3})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Too expensive")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
        assert not orchestrator.paused
    assert fake_hub.tasks[task_id]["error_details"]["kind"] == "budget_exceeded"
    assert fake_hub.tasks[task_id]["attempts"] == 1
    assert fake_hub.tasks[task_id]["token_usage"]["cost_usd"] >= 0.5


async def test_the_task_limit_is_a_hard_cap_by_default(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    # Measured before: with limit_usd_per_task = 0.10 and the default on_limit, a task booked
    # $0.60 and completed. The per-task cap now stops its session by default.
    budget = {"limit_usd_per_task": 0.10}
    config = make_config("spend 0.05 12", budget=budget, retry={"max_attempts": 3})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Too expensive")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
        (session,) = fake_hub.sessions.values()
        assert session["status"] == "killed"
        details = fake_hub.tasks[task_id]["error_details"]
        assert details["kind"] == "budget_exceeded"
        assert any("/api/tasks/ID/limit" in s for s in details["suggestions"])
        assert fake_hub.tasks[task_id]["token_usage"]["cost_usd"] < 0.3

        # The operator raises this task's cap (what POST /api/tasks/{id}/limit publishes)
        # and retries it: it runs again and finishes.
        await fake_hub.publish("task:updated", {"task": {"id": task_id, "limit_usd": 5.0}})
        retry = {"id": task_id, "status": "queued", "attempts": 0, "error_details": None}
        await fake_hub.publish("task:updated", {"task": retry})
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
        assert fake_hub.tasks[task_id]["token_usage"]["cost_usd"] >= 0.6


async def test_on_task_limit_pause_lets_the_session_run_on(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    budget = {"limit_usd_per_task": 0.10, "on_task_limit": "pause"}
    async with fleet(make_config("spend 0.05 6", budget=budget), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Runs past its cap")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert fake_hub.tasks[task_id]["token_usage"]["cost_usd"] >= 0.3


async def test_a_restart_keeps_todays_spending(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    await fake_hub.publish("budget:updated", {"budget": {"period": today, "spent_usd": 2.5}})
    budget = {"limit_usd_per_day": 2.0}
    async with fleet(make_config("success", budget=budget), fake_hub) as orchestrator:
        assert orchestrator.paused and "today's budget is spent" in (
            orchestrator.pause_reason or ""
        )
        task_id = await orchestrator.submit("Must wait for tomorrow")
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "paused")
        assert fake_hub.tasks[task_id]["status"] == "queued"
        assert orchestrator.summary()["budget_spent_usd"] == 2.5
