"""The task graph on the real hub with the real orchestrator and real agent processes:
chains, diamonds, on_failure and always edges, a failure cancelling what depends on it,
retry with dependents, priorities among ready tasks, and a restart mid-plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson

from parent_harness.hub.node import Node
from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.orchestrator.config import HarnessConfig
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import agent_command, until

FINAL = ("completed", "failed", "cancelled")


def config(tmp_path: Path, marker: Path | None = None, good_instances: int = 3) -> HarnessConfig:
    agents: dict[str, Any] = {
        "good": {"command": agent_command("success"), "max_instances": good_instances},
        "bad": {"command": agent_command("fail")},
    }
    if marker is not None:
        agents["fixable"] = {"command": agent_command(f"unless-file {marker}")}
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": agents,
            "retry": {"max_attempts": 1, "backoff_s": 0.05},
        },
        tmp_path,
    )


async def post(server: HubServer, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession(server.url) as http,
        http.post(path, json=body if body is not None else {}) as response,
    ):
        return response.status, dict(await response.json())


def task(ident: str, agent: str = "good", *parents: Any, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "title": ident, "agent_name": agent, "depends_on": list(parents), **fields}


def status(node: Node, ident: str) -> str:
    return str(node.committed_state.tasks[ident]["status"])


def ended(node: Node, *ids: str) -> bool:
    return all(status(node, i) in FINAL for i in ids)


def logged(node: Node, type_: str) -> list[tuple[int, str]]:
    """(seq, task id) of every `type_` event in the log's window, in order."""
    out = []
    for seq, kind, body, _ in node.ingest.window.since(0, 100_000, 100_000):
        if kind == type_:
            out.append((seq, orjson.loads(body)["payload"]["task"]["id"]))
    return out


async def order_of(node: Node, kind: str) -> list[str]:
    """Task ids in the order of their `task:<kind>` events in the log."""
    return [ident for _, ident in logged(node, f"task:{kind}")]


async def test_a_chain_and_a_diamond_run_each_task_after_its_parents(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    plan = {
        "id": "release",
        "tasks": [
            task("schema"),
            task("api", "good", "schema"),
            task("client", "good", "api"),
            task("docs", "good", "schema"),
            task("ship", "good", "client", "docs"),
        ],
    }
    code, body = await post(server, "/api/plans", plan)
    assert code == 200, body
    assert body["created"] == ["schema", "api", "docs", "client", "ship"]
    assert status(node, "schema") == "queued"
    assert node.committed_state.tasks["ship"]["blocked_by"] == ["client", "docs"]
    assert {status(node, t) for t in ("api", "client", "docs", "ship")} == {"blocked"}

    async with Orchestrator(config(tmp_path), hub=node):
        await until(node, lambda: ended(node, "schema", "api", "client", "docs", "ship"))
    assert {status(node, t) for t in ("schema", "api", "client", "docs", "ship")} == {"completed"}
    assigned, completed = await order_of(node, "assigned"), await order_of(node, "completed")
    for child, parents in {
        "api": ["schema"],
        "docs": ["schema"],
        "client": ["api"],
        "ship": ["client", "docs"],
    }.items():
        started = _position(node, "task:assigned", child)
        for parent in parents:
            assert _position(node, "task:completed", parent) < started, (child, parent)
    assert sorted(assigned) == sorted(completed)


def _position(node: Node, type_: str, ident: str) -> int:
    return next(seq for seq, found in logged(node, type_) if found == ident)


async def test_a_failure_cancels_what_needs_its_success_and_runs_what_waits_for_it(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    plan = {
        "id": "p",
        "tasks": [
            task("build", "bad"),
            task("deploy", "good", "build"),
            task("announce", "good", "deploy"),
            task("rollback", "good", {"id": "build", "when": "on_failure"}),
            task("report", "good", {"id": "build", "when": "always"}),
            task("celebrate", "good", {"id": "build", "when": "on_failure"}, "deploy"),
        ],
    }
    assert (await post(server, "/api/plans", plan))[0] == 200
    async with Orchestrator(config(tmp_path), hub=node):
        await until(node, lambda: ended(node, *[t["id"] for t in plan["tasks"]]))
    states = {t["id"]: status(node, t["id"]) for t in plan["tasks"]}
    assert states == {
        "build": "failed",
        "deploy": "cancelled",
        "announce": "cancelled",
        "rollback": "completed",
        "report": "completed",
        "celebrate": "cancelled",
    }
    deploy = node.committed_state.tasks["deploy"]["error_details"]
    assert deploy["kind"] == "dependency" and "build" in deploy["message"]
    announce = node.committed_state.tasks["announce"]["error_details"]
    assert "deploy" in announce["message"], "the chain names the parent that ended it"
    assert node.committed_state.tasks["deploy"]["attempts"] == 0, "a cancelled task ran"


async def test_retry_with_dependents_rearms_the_chain_a_failure_cancelled(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    marker = tmp_path / "fixed"
    plan = {"id": "p", "tasks": [task("fix", "fixable"), task("test", "good", "fix"),
                                 task("merge", "good", "test")]}  # fmt: skip
    assert (await post(server, "/api/plans", plan))[0] == 200
    async with Orchestrator(config(tmp_path, marker), hub=node):
        await until(node, lambda: ended(node, "fix", "test", "merge"))
        assert [status(node, t) for t in ("fix", "test", "merge")] == [
            "failed",
            "cancelled",
            "cancelled",
        ]
        marker.write_text("fixed")
        code, body = await post(server, "/api/tasks/fix/retry?with_dependents=true")
        assert code == 200, body
        assert body["rearmed"] == ["test", "merge"]
        await until(node, lambda: ended(node, "fix", "test", "merge"))
    assert [status(node, t) for t in ("fix", "test", "merge")] == ["completed"] * 3
    assert node.committed_state.tasks["merge"]["error_details"] is None


async def test_priorities_order_the_tasks_a_parent_releases(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    plan = {
        "id": "p",
        "tasks": [
            task("root"),
            *(task(f"low{n}", "good", "root", priority=1) for n in range(3)),
            task("urgent", "good", "root", priority=50),
        ],
    }
    assert (await post(server, "/api/plans", plan))[0] == 200
    async with Orchestrator(config(tmp_path, good_instances=1), hub=node):
        await until(node, lambda: ended(node, *[t["id"] for t in plan["tasks"]]))
    assigned = await order_of(node, "assigned")
    assert assigned[:2] == ["root", "urgent"], assigned


async def test_a_parent_that_ended_while_no_orchestrator_ran_releases_its_children(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    plan = {"id": "p", "tasks": [task("first"), task("second", "good", "first")]}
    assert (await post(server, "/api/plans", plan))[0] == 200
    async with Orchestrator(config(tmp_path), hub=node) as orchestrator:
        await until(node, lambda: status(node, "first") == "running")
        await orchestrator.stop()  # killed mid-plan: its task is interrupted and requeued
        assert status(node, "second") == "blocked"
        await node.publish("task:completed", {"task": {"id": "first", "status": "completed"}})
        await orchestrator.start()  # the restart sees the parent ended
        await until(node, lambda: ended(node, "second"))
    assert status(node, "second") == "completed"
    assert node.committed_state.tasks["second"]["attempts"] == 1, "it ran twice"
