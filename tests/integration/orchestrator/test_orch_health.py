"""The HealthMonitor on real processes: stuck, stale, crashed, and never stuck in tests."""

from __future__ import annotations

import os
import signal
import sys

from tests.integration.orchestrator.support import FakeHub, MakeConfig, fleet


def health_history(fake_hub: FakeHub) -> list[str]:
    """The agent's successive health statuses, repeats folded."""
    seen: list[str] = []
    for event in fake_hub.of_type("agent:status"):
        status = event.payload["agent"]["health_status"]
        if not seen or seen[-1] != status:
            seen.append(status)
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_hang_is_detected_as_stuck_and_left_running(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    config = make_config("hang", agents={"bot": {"health": {"stuck_after_s": 0.4}}})
    async with fleet(config, fake_hub) as orchestrator:
        await orchestrator.submit("Spins forever")
        agent = await fake_hub.wait_for(
            lambda: fake_hub.agents["bot"]["health_status"] == "stuck" and fake_hub.agents["bot"]
        )
        assert "no progress" in agent["health_reason"]
        (session,) = fake_hub.sessions.values()
        assert session["status"] == "running" and alive(session["pid"])
        warning = [n for n in fake_hub.notes("warning") if n["source"] == "health"]
        assert "Agent bot is stuck" in warning[0]["message"]
        assert orchestrator.summary()["agents_stuck"] == 1


async def test_kill_on_stuck_stops_and_fails_the_task(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    health = {"stuck_after_s": 0.4, "kill_on_stuck": True}
    async with fleet(make_config("hang", agents={"bot": {"health": health}}), fake_hub) as orch:
        task_id = await orch.submit("Spins forever")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    assert fake_hub.tasks[task_id]["error_details"]["kind"] == "stuck"
    assert next(iter(fake_hub.sessions.values()))["status"] == "killed"


async def test_a_killed_agent_is_detected_as_crashed(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    async with fleet(make_config("hang"), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Will be OOM-killed")
        session = await fake_hub.wait_for(
            lambda: next((s for s in fake_hub.sessions.values() if s.get("pid")), None)
        )
        os.kill(session["pid"], signal.SIGKILL)
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
        agent = await fake_hub.wait_for(
            lambda: fake_hub.agents["bot"]["health_status"] == "crashed" and fake_hub.agents["bot"]
        )
        assert "killed by SIGKILL" in agent["health_reason"]
        assert orchestrator.summary()["agents_crashed"] == 1
    details = fake_hub.tasks[task_id]["error_details"]
    assert (details["kind"], details["exit_code"]) == ("signal", -9)
    assert any("out-of-memory" in s for s in details["suggestions"])
    assert fake_hub.sessions[session["id"]]["status"] == "failed"


async def test_silence_is_stale_then_crashed(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    health = {"stale_after_s": 0.3, "crashed_after_s": 0.8, "stuck_after_s": 0}
    async with fleet(make_config("silent", agents={"bot": {"health": health}}), fake_hub) as orch:
        await orch.submit("Goes quiet")
        agent = await fake_hub.wait_for(
            lambda: fake_hub.agents["bot"]["health_status"] == "crashed" and fake_hub.agents["bot"]
        )
        assert "no heartbeat for" in agent["health_reason"]
        (session,) = fake_hub.sessions.values()
        assert session["status"] == "running" and alive(session["pid"])  # never killed
    # (a slow start may show one early stale/healthy pair first; the ending is what matters)
    assert health_history(fake_hub)[-3:] == ["stale", "crashed", "healthy"]


async def test_never_stuck_while_tests_run(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    slow_tests = f"{sys.executable} -c \"import time; time.sleep(1.2); print('1 passed in 1.2s')\""
    health = {"stale_after_s": 0.5, "crashed_after_s": 0.9, "stuck_after_s": 0.3}
    config = make_config(
        "success", agents={"bot": {"health": health}}, tests={"slow": {"command": slow_tests}}
    )
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Slow tests", test_suite="slow")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    types = [e.type for e in fake_hub.events]
    started, completed = types.index("test:started"), types.index("test:completed")
    during = fake_hub.events[started:completed]
    assert [e for e in during if e.type == "agent:status"] == [] or all(
        e.payload["agent"]["health_status"] == "healthy" for e in during if e.type == "agent:status"
    )
    assert fake_hub.agents["bot"]["health_status"] == "healthy"
    assert sum(e.type == "session:heartbeat" for e in during) >= 5  # tests count as alive
    assert next(iter(fake_hub.test_runs.values()))["passed"] == 1
