"""Approvals, the agent side: a real agent process asks on its stdout and hears the answer
on its stdin; the answer comes through the real hub's REST API, a rule, or expiry; an agent
that dies while waiting cancels its request; a waiting agent is never stale."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from parent_harness.events.sink import Event
from parent_harness.orchestrator import HarnessConfig, Orchestrator, parse_config
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import agent_command, until


def config_for(tmp_path: Path, scenario: str, **extra: Any) -> HarnessConfig:
    health = extra.pop("health", {"stale_after_s": 5, "crashed_after_s": 10, "stuck_after_s": 5})
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "bot": {
                    "command": agent_command(scenario),
                    "workdir": str(tmp_path),
                    "timeout_s": 60,
                    "stop_grace_s": 1,
                    "health": health,
                }
            },
            "retry": {"max_attempts": 1},
            **extra,
        },
        tmp_path,
    )


@asynccontextmanager
async def running(
    server: HubServer, config: HarnessConfig
) -> AsyncIterator[tuple[list[Event], aiohttp.ClientSession]]:
    """The orchestrator on the real hub, every committed event recorded, a REST client."""
    events: list[Event] = []
    server.node.add_listener(events.append)
    try:
        async with (
            aiohttp.ClientSession(server.url) as http,
            Orchestrator(config, hub=server.node) as orchestrator,
        ):
            yield events, http
    finally:
        server.node.remove_listener(events.append)
    assert orchestrator.publisher.failures == 0


async def add_task(http: aiohttp.ClientSession) -> str:
    async with http.post("/api/tasks", json={"title": "needs a yes"}) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["task"]["id"])


def approvals_of(server: HubServer, task_id: str) -> list[dict[str, Any]]:
    state = server.node.committed_state
    return [a for a in state.approvals.values() if a.get("task_id") == task_id]


async def pending_one(server: HubServer, task_id: str) -> dict[str, Any]:
    node = server.node
    await until(node, lambda: [a for a in approvals_of(server, task_id)
                               if a["status"] == "pending"])  # fmt: skip
    (approval,) = approvals_of(server, task_id)
    return approval


def task_status(server: HubServer, task_id: str) -> Callable[[], str]:
    return lambda: str(server.node.committed_state.tasks[task_id]["status"])


def of_type(events: list[Event], type: str) -> list[dict[str, Any]]:
    return [dict(e.payload) for e in events if e.type == type]


def agent_answer(events: list[Event], task_id: str) -> dict[str, Any]:
    """What the agent says it heard on its stdin (its log event's data)."""
    notes = [
        p["event"]["data"]
        for p in of_type(events, "event")
        if p["event"]["data"].get("type") == "approval_response"
        and p["event"]["data"].get("task_id") == task_id
    ]
    assert len(notes) == 1, notes
    return dict(notes[0])


async def test_an_agent_asks_and_is_answered_through_rest(
    server: HubServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, "ask Bash build/cache")
    node = server.node
    async with running(server, config) as (events, http):
        task_id = await add_task(http)
        approval = await pending_one(server, task_id)
        assert (approval["kind"], approval["tool"], approval["detail"]) == (
            "permission", "Bash", "build/cache"
        )  # fmt: skip
        assert approval["options"] == ["allow", "deny"] and approval["expires_at"]
        session_id = approval["session_id"]
        await until(node, lambda: node.committed_state.agents["bot"]["status"] == "waiting_input")
        assert node.committed_state.sessions[session_id]["status"] == "waiting_input"

        body = {"decision": "allow", "answer": "go ahead", "by": "ops"}
        async with http.post(f"/api/approvals/{approval['id']}/answer", json=body) as response:
            assert response.status == 200, await response.text()
        await until(node, lambda: task_status(server, task_id)() == "completed")
        heard = agent_answer(events, task_id)
        assert heard["id"] == "q1" and heard["approval_id"] == approval["id"]
        assert (heard["decision"], heard["answer"], heard["by"], heard["via"]) == (
            "allow", "go ahead", "ops", "api"
        )  # fmt: skip
        session = node.committed_state.sessions[session_id]
        assert session["status"] == "completed"
        statuses = [
            p["session"]["status"]
            for p in of_type(events, "session:updated")
            if p["session"]["id"] == session_id
        ]
        assert "waiting_input" in statuses
        await until(node, lambda: node.committed_state.agents["bot"]["status"] == "idle")


async def test_an_agent_given_its_task_on_stdin_hears_answers_after_it(
    server: HubServer, tmp_path: Path
) -> None:
    """With `stdin = "json"` the task is the first line; stdin stays open for answers."""
    config = config_for(tmp_path, "json-ask Bash make")
    config = config.model_copy(
        update={"agents": {"bot": config.agents["bot"].model_copy(update={"stdin": "json"})}}
    )
    async with running(server, config) as (events, http):
        task_id = await add_task(http)
        approval = await pending_one(server, task_id)
        body = {"decision": "deny", "answer": "not now"}
        async with http.post(f"/api/approvals/{approval['id']}/answer", json=body) as response:
            assert response.status == 200, await response.text()
        await until(server.node, lambda: task_status(server, task_id)() == "failed")
        heard = agent_answer(events, task_id)
        assert (heard["decision"], heard["answer"]) == ("deny", "not now")


async def test_a_rule_answers_before_anyone_is_asked(server: HubServer, tmp_path: Path) -> None:
    rules = [
        {"name": "no-deletes", "tool": "Bash", "detail": r"^rm\b", "decision": "deny"},
        {"name": "edits-here", "tool": "Edit", "inside_workspace": True, "decision": "allow",
         "answer": "inside the workspace"},
    ]  # fmt: skip
    config = config_for(tmp_path, "ask Edit src/app.py", approvals={"rules": rules})
    async with running(server, config) as (events, http):
        task_id = await add_task(http)
        await until(server.node, lambda: task_status(server, task_id)() == "completed")
        (approval,) = approvals_of(server, task_id)
        assert (approval["status"], approval["decision"], approval["by"], approval["via"]) == (
            "answered", "allow", "rule:edits-here", "rule"
        )  # fmt: skip
        types = [e.type for e in events if e.type.startswith("approval:")]
        assert types == ["approval:requested", "approval:answered"]
        heard = agent_answer(events, task_id)
        assert (heard["decision"], heard["answer"], heard["by"]) == (
            "allow", "inside the workspace", "rule:edits-here"
        )  # fmt: skip


async def test_an_unanswered_request_expires_with_the_default(
    server: HubServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, "ask Bash make", approvals={"timeout_s": 0.3})
    async with running(server, config) as (events, http):
        task_id = await add_task(http)
        await until(server.node, lambda: task_status(server, task_id)() == "failed")
        (approval,) = approvals_of(server, task_id)
        assert (approval["status"], approval["decision"], approval["by"], approval["via"]) == (
            "expired", "deny", "timeout", "hub"
        )  # fmt: skip
        assert "deny by default" in approval["answer"]
        heard = agent_answer(events, task_id)
        assert (heard["status"], heard["decision"], heard["by"]) == ("expired", "deny", "timeout")
        failure = server.node.committed_state.tasks[task_id]["error_details"]
        assert failure["exit_code"] == 5  # the scripted agent's "not allowed"

        # Too late: the expiry won, and the hub says so with the decision that stands.
        body = {"decision": "allow"}
        async with http.post(f"/api/approvals/{approval['id']}/answer", json=body) as response:
            assert response.status == 409
            assert (await response.json())["approval"]["status"] == "expired"


async def test_an_agent_killed_while_waiting_cancels_its_request(
    server: HubServer, tmp_path: Path
) -> None:
    config = config_for(tmp_path, "ask Bash deploy")
    async with running(server, config) as (_, http):
        task_id = await add_task(http)
        approval = await pending_one(server, task_id)
        session = server.node.committed_state.sessions[approval["session_id"]]
        os.killpg(session["pid"], signal.SIGKILL)
        await until(server.node, lambda: task_status(server, task_id)() == "failed")
        (cancelled,) = approvals_of(server, task_id)
        assert (cancelled["status"], cancelled["by"], cancelled["via"]) == (
            "cancelled", "orchestrator", "hub"
        )  # fmt: skip
        assert cancelled["answer"] == "the agent was killed by SIGKILL while waiting"
        await until(server.node, lambda: server.node.committed_state.agents["bot"]["status"]
                    == "idle")  # fmt: skip

        # A task cancelled while its agent waits: the agent is stopped, its request cancelled.
        second = await add_task(http)
        approval = await pending_one(server, second)
        async with http.post(f"/api/tasks/{second}/cancel", json={}) as response:
            assert response.status == 200, await response.text()
        await until(server.node, lambda: approvals_of(server, second)[0]["status"] == "cancelled")
        assert approvals_of(server, second)[0]["answer"] == (
            "the agent was stopped while waiting: the task was cancelled"
        )


async def test_an_agent_that_asks_and_leaves_at_once_has_its_request_cancelled(
    server: HubServer, tmp_path: Path
) -> None:
    """The agent exits before its request comes back from the hub: still cancelled."""
    config = config_for(tmp_path, "ask-exit")
    async with running(server, config) as (_, http):
        task_id = await add_task(http)
        await until(server.node, lambda: task_status(server, task_id)() == "completed")
        await until(server.node, lambda: approvals_of(server, task_id)
                    and approvals_of(server, task_id)[0]["status"] != "pending")  # fmt: skip
        (approval,) = approvals_of(server, task_id)
        assert (approval["kind"], approval["status"], approval["answer"]) == (
            "question", "cancelled", "the agent exited with 0 while waiting"
        )  # fmt: skip
        session = server.node.committed_state.sessions[approval["session_id"]]
        assert session["status"] == "completed"


async def test_a_waiting_agent_is_never_stale_and_the_wait_is_reminded_once(
    server: HubServer, tmp_path: Path
) -> None:
    health = {"stale_after_s": 0.2, "crashed_after_s": 0.4, "stuck_after_s": 0.2}
    config = config_for(tmp_path, "ask Bash migrate", health=health,
                        approvals={"remind_after_s": 0.8})  # fmt: skip
    node = server.node

    def reminders(events: list[Event]) -> list[dict[str, Any]]:
        return [p["event"] for p in of_type(events, "event")
                if p["event"]["data"].get("reminder")]  # fmt: skip

    async with running(server, config) as (events, http):
        task_id = await add_task(http)
        approval = await pending_one(server, task_id)
        # The reminder comes after twice the time that makes a silent agent crashed.
        await until(node, lambda: reminders(events))
        (reminder,) = reminders(events)
        assert reminder["level"] == "warning" and reminder["data"]["approval_id"] == approval["id"]
        assert approval["id"] in reminder["message"]
        agent = node.committed_state.agents["bot"]
        assert (agent["status"], agent["health_status"]) == ("waiting_input", "healthy")
        # (A loaded machine may start the agent slower than stale_after_s: only what comes
        # after the request counts.)
        asked = next(i for i, e in enumerate(events) if e.type == "approval:requested")
        unhealthy = [e.payload["event"] for e in events[asked:] if e.type == "event"
                     and e.payload["event"]["source"] == "health"
                     and e.payload["event"]["data"]["health_status"] != "healthy"]  # fmt: skip
        assert unhealthy == []

        async with http.post(f"/api/approvals/{approval['id']}/answer",
                             json={"decision": "allow"}) as response:  # fmt: skip
            assert response.status == 200
        await until(node, lambda: task_status(server, task_id)() == "completed")
        assert len(reminders(events)) == 1


FAKE_CLAUDE = Path(__file__).with_name("fake_claude_hooks.py")


async def test_claude_code_asks_through_the_real_hook_command(
    server: HubServer, tmp_path: Path
) -> None:
    """A fake `claude` runs `harness approvals hook` as Claude Code runs a PreToolUse hook:
    a rule allows the read, a person denies the command through REST."""
    claude = tmp_path / "bin" / "claude"  # the hook's --settings come right after the program
    claude.parent.mkdir()
    claude.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_CLAUDE} "$@"\n')
    claude.chmod(0o755)
    config = parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "claude": {
                    "command": [str(claude), "Read=notes.md", "Bash=rm -rf build"],
                    "adapter": "claude-stream-json",
                    "stdin": "prompt",
                    "workdir": str(tmp_path),
                    "approval_hook": "PreToolUse",
                    "approval_tools": "Bash|Read",
                }
            },
            "approvals": {"rules": [{"name": "reads-here", "tool": "Read",
                                     "inside_workspace": True, "decision": "allow"}]},
            "retry": {"max_attempts": 1},
        },
        tmp_path,
    )  # fmt: skip
    node = server.node
    async with (
        aiohttp.ClientSession(server.url) as http,
        Orchestrator(config, hub=node, hub_url=server.url),
    ):
        task_id = await add_task(http)
        await until(node, lambda: [a for a in approvals_of(server, task_id)
                                   if a["status"] == "pending" and a["tool"] == "Bash"],
                    timeout=30)  # fmt: skip
        by_tool = {a["tool"]: a for a in approvals_of(server, task_id)}
        read, bash = by_tool["Read"], by_tool["Bash"]
        assert (read["status"], read["by"]) == ("answered", "rule:reads-here")
        assert (bash["status"], bash["detail"], bash["agent_id"]) == (
            "pending", "rm -rf build", "claude"
        )  # fmt: skip
        assert node.committed_state.sessions[bash["session_id"]]["task_id"] == task_id
        await until(node, lambda: node.committed_state.agents["claude"]["status"]
                    == "waiting_input")  # fmt: skip
        body = {"decision": "deny", "answer": "not on this branch", "via": "dashboard"}
        async with http.post(f"/api/approvals/{bash['id']}/answer", json=body) as response:
            assert response.status == 200, await response.text()
        await until(node, lambda: task_status(server, task_id)() == "completed", timeout=30)
    calls = [json.loads(line) for line in (tmp_path / "hooks.jsonl").read_text().splitlines()]
    outputs = [c["output"]["hookSpecificOutput"] for c in calls]
    assert [(c["tool"], c["exit"]) for c in calls] == [("Read", 0), ("Bash", 0)]
    assert [o["permissionDecision"] for o in outputs] == ["allow", "deny"]
    assert outputs[0]["permissionDecisionReason"] == "allow by rule:reads-here via parent-harness"
    assert outputs[1]["permissionDecisionReason"] == (
        "deny by dashboard via parent-harness: not on this branch"
    )
