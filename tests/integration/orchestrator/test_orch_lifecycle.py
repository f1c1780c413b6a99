"""One task's life on a real subprocess: success, failure, retries, cancel, timeout."""

from __future__ import annotations

import shlex

from tests.integration.orchestrator.support import (
    FAILING_TESTS,
    PASSING_TESTS,
    FakeHub,
    MakeConfig,
    fleet,
)

FAILING_SUITE = {"command": FAILING_TESTS}

LIFECYCLE = {
    "task:created", "task:assigned", "task:updated", "task:completed", "task:failed",
    "session:started", "session:ended", "test:started", "test:completed",
}  # fmt: skip


def lifecycle(fake_hub: FakeHub, task_id: str) -> list[str]:
    """The task's lifecycle events, with the task status where the event carries one."""
    steps = []
    for event in fake_hub.about_task(task_id):
        if event.type not in LIFECYCLE:
            continue
        task = event.payload.get("task")
        status_change = event.type != "task:updated" or "status" in _sent(fake_hub, event.seq)
        if task is not None and status_change:
            steps.append(f"{event.type}:{task['status']}")
        elif task is None:
            steps.append(event.type)
    return steps


def _sent(fake_hub: FakeHub, seq: int) -> dict[str, object]:
    before = {**_task_before(fake_hub, seq)}
    after = fake_hub.events[seq - 1].payload["task"]
    return {k: v for k, v in after.items() if before.get(k) != v and k != "updated_at"}


def _task_before(fake_hub: FakeHub, seq: int) -> dict[str, object]:
    task_id = fake_hub.events[seq - 1].payload["task"]["id"]
    for event in reversed(fake_hub.events[: seq - 1]):
        task = event.payload.get("task")
        if task is not None and task["id"] == task_id:
            return dict(task)
    return {}


async def test_success_with_passing_tests(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("success", tests={"command": PASSING_TESTS})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Fix the login bug")
        task = await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "idle")
    task = fake_hub.tasks[task_id]
    assert task["progress_percent"] == 100
    assert task["attempts"] == 1
    assert task["token_usage"] == {"input": 1500, "output": 300, "cost_usd": 0.015}
    (run,) = fake_hub.test_runs.values()
    assert (run["status"], run["passed"], run["failed"], run["skipped"]) == ("passed", 3, 0, 1)
    (session,) = fake_hub.sessions.values()
    assert (session["status"], session["exit_code"], session["iteration"]) == ("completed", 0, 2)
    assert "reading the task: Fix the login bug" in session["output_tail"]
    iterations = fake_hub.of_type("session:iteration")
    assert [i.payload["summary"] for i in iterations] == ["planned", "edited"]
    assert iterations[0].payload["token_usage"] == {"input": 1000, "output": 200, "cost_usd": 0.01}
    assert fake_hub.budget is not None and fake_hub.budget["spent_usd"] == 0.015
    assert fake_hub.budget["by_agent"] == {"bot": 0.015}
    assert any(
        n["message"] == "edited 2 files" and n["source"] == "agent:bot" for n in fake_hub.notes()
    )


async def test_exact_sequence_of_a_task_life(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("success", tests={"command": PASSING_TESTS})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Add a health endpoint")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert lifecycle(fake_hub, task_id) == [
        "task:created:queued",
        "task:assigned:assigned",
        "session:started",
        "task:updated:running",
        "task:updated:testing",
        "test:started",
        "test:completed",
        "session:ended",
        "task:completed:completed",
    ]
    types = [e.type for e in fake_hub.about_task(task_id)]
    started, ended = types.index("session:started"), types.index("session:ended")
    between = set(types[started:ended])
    assert {"session:heartbeat", "session:iteration", "session:updated"} <= between
    agent_states = [e.payload["agent"]["status"] for e in fake_hub.of_type("agent:status")]
    assert agent_states[0] == "idle" and "working" in agent_states
    assert agent_states[-1] == "offline"  # after stop()


async def test_failure_carries_error_details(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    async with fleet(make_config("fail"), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Break things")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "nonzero_exit"
    assert details["exit_code"] == 3
    assert "boom: something broke in the agent" in details["stack"]
    assert details["suggestions"] and "reproduce" in details["suggestions"][0]
    (session,) = fake_hub.sessions.values()
    assert (session["status"], session["exit_code"]) == ("failed", 3)
    assert (
        fake_hub.of_type("task:failed")[-1].payload["task"]["error_details"]["kind"]
        == "nonzero_exit"
    )


async def test_failing_tests_fail_the_task(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("success", tests={"command": PASSING_TESTS, "unit": FAILING_SUITE})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Needs tests", test_suite="unit")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    (run,) = fake_hub.test_runs.values()
    assert (run["status"], run["passed"], run["failed"]) == ("failed", 2, 1)
    assert run["command"] == shlex.join(shlex.split(FAILING_TESTS))
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "tests_failed"
    assert details["message"] == "1 of 3 tests failed"
    assert "FAILED t.py::x" in details["output_tail"]
    assert any(run["command"] in advice for advice in details["suggestions"])


async def test_an_opted_in_task_command_runs(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("success", tests={"allow_task_commands": True})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Own tests", test_command=FAILING_TESTS)
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    assert fake_hub.tasks[task_id]["error_details"]["kind"] == "tests_failed"


async def test_a_suite_that_cannot_start_fails_the_attempt(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    config = make_config("success", tests={"command": ["no-such-test-runner-xyz", "-q"]})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Needs tests")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    (run,) = fake_hub.test_runs.values()
    assert run["status"] == "error"
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "tests_failed"
    assert details["message"].startswith("the test command could not start: no-such-test-runner")


async def test_command_not_found_fails_at_once(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    command = ["no-such-agent-binary-xyz", "--", "{prompt}"]
    config = make_config(retry={"max_attempts": 3}, agents={"bot": {"command": command}})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Anything")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "error")
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "command_not_found"
    assert fake_hub.tasks[task_id]["attempts"] == 1
    assert any("no-such-agent-binary-xyz" in s and "PATH" not in s for s in details["suggestions"])
    assert "not found" in fake_hub.agents["bot"]["health_reason"]


async def test_retries_back_off_then_stop_at_the_limit(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    async with fleet(make_config("fail", retry={"max_attempts": 3}), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Always fails")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed", timeout=20)
    requeues = [
        e.payload["task"] for e in fake_hub.of_type("task:updated")
        if e.payload["task"]["id"] == task_id and e.payload["task"]["status"] == "queued"
    ]  # fmt: skip
    assert [t["attempts"] for t in requeues] == [1, 2]
    assert all(t["not_before"] and t["error_details"]["kind"] == "nonzero_exit" for t in requeues)
    assert len(fake_hub.of_type("session:started")) == 3
    assert fake_hub.tasks[task_id]["attempts"] == 3
    assert len(fake_hub.of_type("task:failed")) == 1


async def test_a_retry_can_succeed(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    async with fleet(make_config("flaky", retry={"max_attempts": 2}), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Flaky")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert fake_hub.tasks[task_id]["attempts"] == 2
    statuses = sorted(s["status"] for s in fake_hub.sessions.values())
    assert statuses == ["completed", "failed"]


async def test_cancel_stops_the_session(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    async with fleet(make_config("hang"), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Long job")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "running")
        await fake_hub.publish("task:updated", {"task": {"id": task_id, "status": "cancelled"}})
        await fake_hub.wait_for(
            lambda: any(s["status"] == "killed" for s in fake_hub.sessions.values())
        )
        await fake_hub.wait_for(lambda: fake_hub.agents["bot"]["status"] == "idle")
    assert fake_hub.tasks[task_id]["status"] == "cancelled"
    assert fake_hub.of_type("task:failed") == []


async def test_timeout_kills_and_explains(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("hang", agents={"bot": {"timeout_s": 0.5}})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Too slow")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "timeout"
    assert any("timeout_s" in s for s in details["suggestions"])
    assert next(iter(fake_hub.sessions.values()))["status"] == "killed"


async def test_claude_code_adapter_end_to_end(fake_hub: FakeHub, make_config: MakeConfig) -> None:
    config = make_config("claude", agents={"bot": {"adapter": "claude-stream-json"}})
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Via Claude Code")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    assert fake_hub.tasks[task_id]["token_usage"] == {
        "input": 1010, "output": 50, "cost_usd": 0.0421, "model": "claude-sonnet-4-5",
        "cache_read": 1000,
    }  # fmt: skip
    (session,) = fake_hub.sessions.values()
    assert session["iteration"] == 1
    assert fake_hub.budget is not None and fake_hub.budget["spent_usd"] == 0.0421


async def test_agent_reported_tests_become_test_events(
    fake_hub: FakeHub, make_config: MakeConfig
) -> None:
    async with fleet(make_config("agent-tests"), fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Runs its own tests")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    started, completed = fake_hub.of_type("test:started", "test:completed")
    assert started.payload["test_run"]["command"] == "pytest -q"
    run = completed.payload["test_run"]
    assert (run["status"], run["passed"], run["failed"]) == ("failed", 5, 1)
    assert run["id"] == started.payload["test_run"]["id"]
    assert run["command"] == "pytest -q"
