"""The orchestrator with [workspace]: each attempt's agent runs in its own worktree."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from parent_harness.events.clock import utc_now
from parent_harness.orchestrator import HarnessConfig, Orchestrator, parse_config
from tests.integration.orchestrator.support import FakeHub, fleet
from tests.integration.workspaces.repos import make_repo, run_git

WRITER = (  # no braces: the command is a template, where {x} is a placeholder
    "import os, pathlib; "
    "pathlib.Path(os.environ['HARNESS_TASK_ID'] + '.txt').write_text(os.getcwd() + '\\n'); "
    "print('wrote in', os.getcwd(), 'port', os.environ.get('PORT'))"
)


def fleet_config(tmp_path: Path, agent_code: str = WRITER, **workspace: object) -> HarnessConfig:
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "bot": {
                    "command": [sys.executable, "-c", agent_code],
                    "adapter": "plain",
                    "max_instances": 2,
                    "timeout_s": 30,
                }
            },
            "retry": {"max_attempts": 2, "backoff_s": 0.05, "max_backoff_s": 0.1},
            "workspace": {"repo": "repo", "ports": "8000-8099", **workspace},
        },
        tmp_path,
    )


async def test_agents_work_and_commit_in_their_own_worktrees(
    tmp_path: Path, fake_hub: FakeHub
) -> None:
    repo = make_repo(tmp_path / "repo")
    async with fleet(fleet_config(tmp_path), fake_hub) as orchestrator:
        ids = [await orchestrator.submit(f"Task {n}") for n in (1, 2)]
        await fake_hub.wait_for(
            lambda: all(fake_hub.tasks[i]["status"] == "completed" for i in ids)
        )
    updates = {e.payload["workspace"]["task_id"]: e.payload["workspace"]
               for e in fake_hub.of_type("workspace:updated")}  # fmt: skip
    for task_id in ids:
        ws = updates[task_id]
        assert (ws["status"], ws["commits"], ws["files_changed"]) == ("ready", 1, 1)
        written = run_git(repo, "show", f"{ws['branch']}:{task_id}.txt")
        assert written == ws["path"]  # the agent's cwd was its worktree
        assert fake_hub.tasks[task_id]["workspace_id"] == ws["id"]
        (session,) = [s for s in fake_hub.sessions.values() if s["task_id"] == task_id]
        assert session["workspace_id"] == ws["id"]
    assert run_git(repo, "status", "--porcelain") == ""


async def test_a_failing_setup_fails_the_task_with_kind_workspace(
    tmp_path: Path, fake_hub: FakeHub
) -> None:
    make_repo(tmp_path / "repo")
    setup = [[sys.executable, "-c", "print('resolving deps'); print('npm ERR! 404'); exit(1)"]]
    config = fleet_config(tmp_path, setup=setup)
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Needs deps")
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "failed")
    details = fake_hub.tasks[task_id]["error_details"]
    assert details["kind"] == "workspace"
    assert "setup" in details["message"] and "exited with 1" in details["message"]
    assert "npm ERR! 404" in details["output_tail"]
    attempts = [e.payload["workspace"]["attempt"] for e in fake_hub.of_type("workspace:created")]
    assert attempts == [1, 2]  # a retry is a new attempt, with a worktree of its own


WAITER = (
    "import os, pathlib, time; "
    "pathlib.Path('app.py').write_text('one\\ntwo\\n'); "
    "pathlib.Path('new.txt').write_text('x\\n'); "
    "go = pathlib.Path(os.environ['GO_FILE']); "
    "deadline = time.monotonic() + 20; "
    "exec('while not go.exists() and time.monotonic() < deadline: time.sleep(0.02)')"
)


async def test_stats_are_published_while_the_agent_works(
    tmp_path: Path, fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "repo", {"app.py": "zero\n"})
    go = tmp_path / "go"
    monkeypatch.setenv("GO_FILE", str(go))
    config = fleet_config(tmp_path, WAITER, stats_interval_s=0.05)
    async with fleet(config, fake_hub) as orchestrator:
        task_id = await orchestrator.submit("Slow work")

        def live_count() -> dict[str, object] | None:
            for event in fake_hub.of_type("workspace:updated"):
                ws = event.payload["workspace"]
                if ws["status"] == "active" and ws["files_changed"] == 2:
                    return dict(ws)
            return None

        live = await fake_hub.wait_for(live_count)
        assert (live["commits"], live["insertions"], live["deletions"]) == (0, 2, 1)
        go.touch()  # the agent may finish now
        await fake_hub.wait_for(lambda: fake_hub.tasks[task_id]["status"] == "completed")
    final = fake_hub.of_type("workspace:updated")[-1].payload["workspace"]
    assert (final["status"], final["commits"], final["files_changed"]) == ("ready", 1, 2)
    assert final["insertions"] == 3  # new.txt's line counted once it is committed


def there(workspace: dict[str, object]) -> bool:
    """Whether the workspace's worktree is on disk."""
    return Path(str(workspace["path"])).is_dir()


async def _two_finished_attempts(
    tmp_path: Path, fake_hub: FakeHub, orchestrator: Orchestrator
) -> list[dict[str, object]]:
    ids = [await orchestrator.submit(f"Task {n}") for n in (1, 2)]
    await fake_hub.wait_for(lambda: all(fake_hub.tasks[i]["status"] == "completed" for i in ids))
    by_task = {w["task_id"]: w for w in fake_hub.workspaces.values()}
    return [by_task[i] for i in ids]


async def test_cleanup_by_days_runs_periodically_and_keeps_unmerged_work(
    tmp_path: Path, fake_hub: FakeHub
) -> None:
    repo = make_repo(tmp_path / "repo")
    config = fleet_config(tmp_path, cleanup=2, cleanup_every_s=0.05)
    now = [utc_now()]
    async with Orchestrator(config, hub=fake_hub, wall=lambda: now[0]) as orchestrator:
        merged, unmerged = await _two_finished_attempts(tmp_path, fake_hub, orchestrator)
        actions = orchestrator.workspace_actions()
        assert actions is not None
        await actions.merge(merged, "merge")
        start = orchestrator.workspaces.sweeps
        await fake_hub.wait_for(lambda: orchestrator.workspaces.sweeps >= start + 2)
        assert there(merged)  # merged, but younger than two days
        now[0] += timedelta(days=3)
        start = orchestrator.workspaces.sweeps  # one more may be under way with the old time:
        await fake_hub.wait_for(lambda: orchestrator.workspaces.sweeps >= start + 2)
    removed = [e.payload["workspace"]["id"] for e in fake_hub.of_type("workspace:removed")]
    assert removed == [merged["id"]]  # once, though swept again and again
    assert not there(merged)
    assert run_git(repo, "branch", "--list", str(merged["branch"])) == ""
    # Three days old too, but its work is not in main: kept, whatever its age.
    assert there(unmerged)
    kept = run_git(repo, "branch", "--list", "--format=%(refname:short)", str(unmerged["branch"]))
    assert kept == unmerged["branch"]


async def test_cleanup_by_days_runs_after_each_merge(tmp_path: Path, fake_hub: FakeHub) -> None:
    make_repo(tmp_path / "repo")
    config = fleet_config(tmp_path, cleanup=2)  # the periodic sweep: hourly, not in this test
    now = [utc_now()]
    async with Orchestrator(config, hub=fake_hub, wall=lambda: now[0]) as orchestrator:
        first, second = await _two_finished_attempts(tmp_path, fake_hub, orchestrator)
        now[0] += timedelta(days=3)
        actions = orchestrator.workspace_actions()
        assert actions is not None
        await actions.merge(first, "squash")
        assert not there(first)  # old and merged: gone with the merge
        assert there(second)  # old, unmerged: kept
    removed = [e.payload["workspace"]["id"] for e in fake_hub.of_type("workspace:removed")]
    assert removed == [first["id"]]
