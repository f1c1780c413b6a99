"""`harness run` killed (SIGKILL) mid-attempt, then started again: the attempt's work is kept."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.orchestrator.test_orch_real_hub import Harness, harness, poll
from tests.integration.workspaces.repos import make_repo, run_git

__all__ = ["harness"]  # the fixture, used by name

AGENT = (
    "import os, pathlib, time; "
    "pathlib.Path('work.txt').write_text('written by attempt ' + os.environ['HARNESS_ATTEMPT']); "
    "print('wrote', flush=True); "
    "go = pathlib.Path(os.environ['GO_FILE']); "
    "exec('while not go.exists(): time.sleep(0.05)')"
)


def write_config(path: Path) -> None:
    path.write_text(
        "[orchestrator]\npublish_interval_s = 0.1\nhealth_interval_s = 0.1\n\n"
        f"[agents.bot]\ncommand = {json.dumps([sys.executable, '-c', AGENT])}\n"
        'adapter = "plain"\n\n'
        '[workspace]\nrepo = "repo"\nstats_interval_s = 0.1\n\n[retry]\nmax_attempts = 2\n'
    )


def attempts_path(task_id: str) -> str:
    return f"/api/tasks/{task_id}/attempts"


def first_attempt_wrote(body: dict[str, Any]) -> bool:
    return bool(body["attempts"]) and body["attempts"][0]["files_changed"] == 1


def second_attempt_ready(body: dict[str, Any]) -> bool:
    return len(body["attempts"]) == 2 and body["attempts"][1]["status"] == "ready"


def is_dir(path: str) -> bool:
    return Path(path).is_dir()


async def test_a_killed_run_keeps_the_attempts_work_and_starts_a_new_attempt(
    tmp_path: Path, harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    go = tmp_path / "go"
    monkeypatch.setenv("GO_FILE", str(go))
    config, store = tmp_path / "harness.toml", tmp_path / "harness.db"
    write_config(config)
    args = ("run", "--config", str(config), "--port", "0", "--store", f"sqlite:///{store}")
    first = harness(*args)
    async with aiohttp.ClientSession(await first.start()) as http:
        async with http.post("/api/tasks", json={"title": "Survive a crash"}) as response:
            task_id = (await response.json())["task"]["id"]
        live = await poll(http, attempts_path(task_id), first_attempt_wrote)
        sessions = await poll(http, f"/api/sessions?task_id={task_id}",
                              lambda b: b["items"] and b["items"][0]["pid"])  # fmt: skip
    interrupted = live["attempts"][0]
    assert interrupted["status"] == "active" and interrupted["commits"] == 0
    agent_pid = sessions["items"][0]["pid"]
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    try:
        second = harness(*args)
        async with aiohttp.ClientSession(await second.start()) as http:
            body = await poll(http, attempts_path(task_id),
                              lambda b: b["attempts"][0]["status"] != "active")  # fmt: skip
            kept = body["attempts"][0]
            assert kept["status"] == "ready" and kept["commits"] == 1, kept
            assert "interrupted" in kept["error"]
            assert is_dir(kept["path"])  # nothing was deleted
            committed = run_git(repo, "show", f"{kept['branch']}:work.txt")
            assert committed == "written by attempt 1"
            go.touch()  # the new attempt may finish
            done = await poll(http, f"/api/tasks/{task_id}",
                              lambda b: b["task"]["status"] == "completed")  # fmt: skip
            assert done["task"]["status"] == "completed"
            body = await poll(http, attempts_path(task_id), second_attempt_ready)
        numbers = [a["attempt"] for a in body["attempts"]]
        branches = {a["branch"] for a in body["attempts"]}
        assert numbers == [1, 2] and len(branches) == 2  # a new attempt, a new branch
        assert run_git(repo, "rev-parse", "--verify", kept["branch"]) == kept["head_sha"]
        assert await second.stop(signal.SIGTERM) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(agent_pid, signal.SIGKILL)


async def test_a_worktree_deleted_by_hand_is_reported_and_its_branch_kept(
    tmp_path: Path, harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    monkeypatch.setenv("GO_FILE", str(tmp_path / "go"))
    config, store = tmp_path / "harness.toml", tmp_path / "harness.db"
    write_config(config)
    args = ("run", "--config", str(config), "--port", "0", "--store", f"sqlite:///{store}")
    first = harness(*args)
    async with aiohttp.ClientSession(await first.start()) as http:
        async with http.post("/api/tasks", json={"title": "Lose the worktree"}) as response:
            task_id = (await response.json())["task"]["id"]
        live = await poll(http, attempts_path(task_id), first_attempt_wrote)
        sessions = await poll(http, f"/api/sessions?task_id={task_id}",
                              lambda b: b["items"] and b["items"][0]["pid"])  # fmt: skip
    agent_pid = sessions["items"][0]["pid"]
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    try:
        os.killpg(agent_pid, signal.SIGKILL)
        lost = live["attempts"][0]
        run_git(repo, "worktree", "remove", "--force", lost["path"])  # by hand, as a user might
        (tmp_path / "go").touch()
        second = harness(*args)
        async with aiohttp.ClientSession(await second.start()) as http:
            body = await poll(http, attempts_path(task_id),
                              lambda b: b["attempts"][0]["status"] != "active")  # fmt: skip
        reported = body["attempts"][0]
        assert reported["status"] == "error" and "is gone" in reported["error"], reported
        assert (
            run_git(repo, "branch", "--list", "--format=%(refname:short)", lost["branch"])
            == lost["branch"]
        )
        assert await second.stop(signal.SIGTERM) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(agent_pid, signal.SIGKILL)
