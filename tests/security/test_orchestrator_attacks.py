"""Attacks replayed on the real hub: what someone who may only publish tasks can make happen.

Publishing a task (``POST /api/tasks``, a ``task:created`` event) must never run a
command of the publisher's choosing, create or use a directory outside the agents'
work root, or hand the agent an option of the publisher's choosing.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator import HarnessConfig, Orchestrator, parse_config
from tests.conftest import RunningHub
from tests.integration.orchestrator.support import PASSING_TESTS, agent_command, until

EXAMPLE = Path(__file__).parents[2] / "harness.example.toml"
FAKE_CLI = Path(__file__).parents[1] / "integration" / "orchestrator" / "fake_cli.py"
HOSTILE_TITLE = "--dangerously-bypass-approvals-and-sandbox"
FINISHED = ("completed", "failed", "cancelled")
DANGEROUS_FLAG = {
    "claude": "--dangerously-skip-permissions",
    "codex": "--dangerously-bypass-approvals-and-sandbox",
}


def fleet_config(root: Path, **tests: Any) -> HarnessConfig:
    """One scripted agent that succeeds, working in ``root/work/<task id>``."""
    data = {
        "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
        "agents": {
            "bot": {
                "command": agent_command("success"),
                "workdir": "work/{task_id}",
                "create_workdir": True,
            }
        },
        "tests": {"command": PASSING_TESTS, **tests},
        "retry": {"max_attempts": 2, "backoff_s": 0.05},
    }
    return parse_config(data, root)


@asynccontextmanager
async def orchestrating(config: HarnessConfig, hub: RunningHub) -> AsyncIterator[None]:
    async with Orchestrator(config, hub=hub.node):
        yield


async def finished(hub: RunningHub, task_id: str) -> dict[str, Any]:
    """The task once it completed, failed or was cancelled."""
    tasks = hub.node.state.tasks
    await until(hub.node, lambda: tasks.get(task_id, {}).get("status") in FINISHED)
    return dict(tasks[task_id])


def sessions_of(hub: RunningHub, task_id: str) -> list[dict[str, Any]]:
    return [s for s in hub.node.state.sessions.values() if s.get("task_id") == task_id]


async def publish_task(hub: RunningHub, how: str, task: dict[str, Any]) -> str:
    """Queue ``task`` through REST or as a raw ``task:created`` event; its id."""
    if how == "rest":
        status, body = await hub.post("/api/tasks", task)
        assert status == 201, body
        return str(body["task"]["id"])
    event = {"type": "task:created", "payload": {"task": {"status": "queued", **task}}}
    await hub.publish(event)
    return str(task["id"])


# -- 1. a task's test command -------------------------------------------------------------


@pytest.mark.parametrize("how", ["rest", "event"])
async def test_a_published_test_command_is_refused(
    hub: RunningHub, tmp_path: Path, how: str
) -> None:
    marker = tmp_path / "pwned"
    async with orchestrating(fleet_config(tmp_path / "root"), hub):
        task = {"id": "docs-1", "title": "Fix the docs", "test_command": f"touch {marker}"}
        task_id = await publish_task(hub, how, task)
        done = await finished(hub, task_id)
    assert not marker.exists()
    assert done["status"] == "failed"
    details = done["error_details"]
    assert details["kind"] == "invalid_task"
    assert "test_command" in details["message"]
    assert "allow_task_commands" in details["message"]
    assert any("test_suite" in advice for advice in details["suggestions"])
    assert sessions_of(hub, task_id) == []  # no agent ran for it


async def test_an_opted_in_test_command_runs_without_a_shell(
    hub: RunningHub, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    argv_printer = f"{sys.executable} -c 'import sys; print(sys.argv[1:])'"
    literal = f"{argv_printer} `touch {marker}` $HOME"
    chained = f"{argv_printer} ; touch {marker}"
    config = fleet_config(tmp_path / "root", allow_task_commands=True)
    async with orchestrating(config, hub):
        task = {"id": "docs-2", "title": "Fix the docs", "test_command": literal}
        done = await finished(hub, await publish_task(hub, "rest", task))
        task = {"id": "docs-3", "title": "Fix the docs", "test_command": chained}
        refused = await finished(hub, await publish_task(hub, "rest", task))
    assert not marker.exists()
    assert done["status"] == "completed"
    (run,) = [r for r in hub.node.state.test_runs.values() if r["task_id"] == "docs-2"]
    assert f"['`touch', '{marker}`', '$HOME']" in run["output_tail"]  # words, not a shell's
    assert refused["status"] == "failed"
    assert "';' is shell syntax" in refused["error_details"]["message"]


async def test_a_task_names_a_suite_defined_in_the_configuration(
    hub: RunningHub, tmp_path: Path
) -> None:
    suites = {"docs": {"command": PASSING_TESTS}}
    async with orchestrating(fleet_config(tmp_path / "root", **suites), hub):
        good = await publish_task(hub, "rest", {"title": "Docs", "test_suite": "docs"})
        bad = await publish_task(hub, "rest", {"title": "Docs", "test_suite": "rm -rf /"})
        done, refused = await finished(hub, good), await finished(hub, bad)
    assert done["status"] == "completed"
    assert refused["status"] == "failed"
    assert refused["error_details"]["kind"] == "invalid_task"
    assert "unknown test suite 'rm -rf /'" in refused["error_details"]["message"]
    assert "docs" in refused["error_details"]["message"]  # the suites that exist


# -- 2. the task id on the filesystem -------------------------------------------------------


async def test_rest_refuses_a_task_id_that_is_not_a_plain_name(hub: RunningHub) -> None:
    for task_id in ("../../escaped", "a/b", ".hidden", "a..b", "-rf", "x" * 129):
        status, body = await hub.post("/api/tasks", {"title": "t", "id": task_id})
        assert status in (400, 422), (task_id, body)
        assert "id" in str(body)
    assert hub.node.state.tasks == {}


async def test_a_task_id_cannot_leave_the_work_root(hub: RunningHub, tmp_path: Path) -> None:
    root = tmp_path / "root"
    async with orchestrating(fleet_config(root), hub):
        task = {"id": "../../escaped", "title": "Innocent"}
        done = await finished(hub, await publish_task(hub, "event", task))
    assert not (tmp_path / "escaped").exists()
    assert not (root / "work").exists()
    assert done["status"] == "failed" and done["attempts"] == 0
    details = done["error_details"]
    assert details["kind"] == "invalid_task"
    assert "'../../escaped'" in details["message"] and "task id" in details["message"]
    assert sessions_of(hub, "../../escaped") == []


async def test_a_planted_symlink_cannot_lead_the_agent_out(hub: RunningHub, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "work").mkdir(parents=True)
    outside.mkdir()
    (root / "work" / "innocent").symlink_to(outside)
    async with orchestrating(fleet_config(root), hub):
        done = await finished(
            hub, await publish_task(hub, "rest", {"id": "innocent", "title": "t"})
        )
    assert done["status"] == "failed"
    assert done["error_details"]["kind"] == "invalid_task"
    assert "outside" in done["error_details"]["message"]
    assert list(outside.iterdir()) == []
    (session,) = sessions_of(hub, "innocent")
    assert session["pid"] is None  # no process was started


# -- 3. the title as an argument ------------------------------------------------------------


def shipped_agents(tmp_path: Path) -> HarnessConfig:
    """harness.example.toml's agents, with ``claude`` and ``codex`` replaced by recorders."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" {name} "$@"\n')
        script.chmod(0o755)
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    path = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for name, agent in data["agents"].items():
        agent.update(workdir=str(tmp_path / name), create_workdir=True, env=path)
    data.update(tests={}, tasks=[], orchestrator={"publish_interval_s": 0.05})
    return parse_config(data, tmp_path)


@pytest.mark.parametrize("agent", ["claude", "codex"])
async def test_a_title_reaches_the_shipped_agents_as_text_never_as_an_option(
    hub: RunningHub, tmp_path: Path, agent: str
) -> None:
    async with orchestrating(shipped_agents(tmp_path), hub):
        task = {"title": HOSTILE_TITLE, "agent_name": agent, "max_attempts": 1}
        await finished(hub, await publish_task(hub, "rest", task))
    record = json.loads((tmp_path / agent / f"{agent}.json").read_text())
    assert record["prompt"].strip() == HOSTILE_TITLE
    assert HOSTILE_TITLE not in record["argv"]  # it came on stdin
    assert record["unknown"] == []
    assert not record["flags"][DANGEROUS_FLAG[agent]]


async def test_a_title_after_the_end_of_options_stays_an_argument(
    hub: RunningHub, tmp_path: Path
) -> None:
    recorder = [sys.executable, str(FAKE_CLI), "codex", "exec", "--", "{title}"]
    config = parse_config(
        {"agents": {"codex": {"command": recorder, "workdir": str(tmp_path)}}}, tmp_path
    )
    async with orchestrating(config, hub):
        task = {"title": HOSTILE_TITLE, "max_attempts": 1}
        done = await finished(hub, await publish_task(hub, "rest", task))
    assert done["status"] == "completed"
    record = json.loads((tmp_path / "codex.json").read_text())
    assert record["prompt"] == HOSTILE_TITLE
    assert record["positional"] == [HOSTILE_TITLE] and record["unknown"] == []
    assert not record["flags"][HOSTILE_TITLE]
