"""Stacked workspaces (``base = "parent"``): a chain of tasks on the real hub, each step's
agent a real process in a real git worktree that starts from its parent's attempt."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import aiohttp

from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.orchestrator.config import HarnessConfig
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import until
from tests.integration.workspaces.repos import make_repo, run_git

# Writes <task>.txt naming the step files it found in its working directory.
STEP = (
    "import os, pathlib; "
    "seen = sorted(p.name for p in pathlib.Path('.').glob('step-*.txt')); "
    "pathlib.Path('step-' + os.environ['HARNESS_TASK_ID'] + '.txt')"
    ".write_text(' '.join(seen) + '\\n')"
)


def config(tmp_path: Path) -> HarnessConfig:
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "bot": {"command": [sys.executable, "-c", STEP], "adapter": "plain"},
            },
            "retry": {"max_attempts": 1, "backoff_s": 0.05},
            "workspace": {"repo": "repo", "base": "parent", "cleanup": "keep"},
        },
        tmp_path,
    )


async def post(server: HubServer, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession(server.url) as http, http.post(path, json=body) as response:
        return response.status, dict(await response.json())


def latest(server: HubServer, task_id: str) -> dict[str, Any]:
    mine = [w for w in server.node.committed_state.workspaces.values() if w["task_id"] == task_id]
    return dict(max(mine, key=lambda w: w["attempt"]))


def done(server: HubServer, *ids: str) -> bool:
    tasks = server.node.committed_state.tasks
    return all(tasks[i]["status"] in ("completed", "failed", "cancelled") for i in ids)


async def test_a_chain_of_three_builds_on_each_steps_result(
    server: HubServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    plan = {
        "id": "stack",
        "tasks": [
            {"id": "a", "title": "a"},
            {"id": "b", "title": "b", "depends_on": ["a"]},
            {"id": "c", "title": "c", "depends_on": ["b"]},
        ],
    }
    code, body = await post(server, "/api/plans", plan)
    assert code == 200, body
    async with Orchestrator(config(tmp_path), hub=server.node) as orchestrator:
        await until(server.node, lambda: done(server, "a", "b", "c"))
        a, b, c = (latest(server, t) for t in "abc")
        assert [server.node.committed_state.tasks[t]["status"] for t in "abc"] == ["completed"] * 3
        # Each step saw what the steps before it wrote.
        assert run_git(repo, "show", f"{a['branch']}:step-a.txt") == ""
        assert run_git(repo, "show", f"{b['branch']}:step-b.txt") == "step-a.txt"
        assert run_git(repo, "show", f"{c['branch']}:step-c.txt") == "step-a.txt step-b.txt"
        # The entity names where it started; its own diff is its own work only.
        assert (a["base"], a["stacked_on"], a["merge_into"]) == ("main", [], None)
        assert (b["base"], b["base_sha"], b["stacked_on"]) == (
            a["branch"],
            a["head_sha"],
            [a["id"]],
        )
        assert (c["base"], c["base_sha"], c["merge_into"]) == (b["branch"], b["head_sha"], "main")
        assert (c["commits"], c["files_changed"], c["status"]) == (1, 1, "ready")
        # Merging the last step into main brings the whole chain.
        actions = orchestrator.workspace_actions()
        assert actions is not None
        merged = await actions.merge(c, "merge")
        assert merged["status"] == "merged"
    tree = run_git(repo, "ls-tree", "--name-only", "main").split()
    assert {"step-a.txt", "step-b.txt", "step-c.txt"} <= set(tree)
    assert run_git(repo, "status", "--porcelain") == ""


async def test_two_parents_are_merged_into_the_stacked_start(
    server: HubServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    plan = {
        "id": "diamond",
        "tasks": [
            {"id": "left", "title": "left"},
            {"id": "right", "title": "right"},
            {"id": "join", "title": "join", "depends_on": ["left", "right"]},
        ],
    }
    code, body = await post(server, "/api/plans", plan)
    assert code == 200, body
    async with Orchestrator(config(tmp_path), hub=server.node):
        await until(server.node, lambda: done(server, "left", "right", "join"))
    join, left, right = (latest(server, t) for t in ("join", "left", "right"))
    assert server.node.committed_state.tasks["join"]["status"] == "completed"
    assert run_git(repo, "show", f"{join['branch']}:step-join.txt") == (
        "step-left.txt step-right.txt"
    )
    assert join["stacked_on"] == [left["id"], right["id"]]
    assert (join["base"], join["files_changed"]) == (left["branch"], 1)
