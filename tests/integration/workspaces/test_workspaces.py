"""Workspaces on real git: a worktree per attempt, setup, ports, auto-commit, diff stats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parent_harness.orchestrator import FleetPublisher
from parent_harness.orchestrator.workspace_config import WorkspaceConfig, resolve_workspace
from parent_harness.orchestrator.workspaces import WorkspaceFailure, Workspaces, slug
from tests.integration.orchestrator.support import FakeHub
from tests.integration.workspaces.repos import commit_file, make_repo, run_git


def workspace_config(tmp_path: Path, **table: object) -> WorkspaceConfig:
    return resolve_workspace(WorkspaceConfig.model_validate({"repo": "repo", **table}), tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "hello\n", "app.py": "print(1)\n"})


@pytest.fixture
def hub(fake_hub: FakeHub) -> FakeHub:
    return fake_hub


@pytest.fixture
def workspaces(hub: FakeHub) -> Workspaces:
    return Workspaces(FleetPublisher(hub))


def task(task_id: str, title: str = "Fix the login page!") -> dict[str, str]:
    return {"id": task_id, "title": title}


def exists(path: str) -> bool:
    return Path(path).exists()


def test_slug() -> None:
    assert slug("Fix the login page!") == "fix-the-login-page"
    assert slug("???") == "task"


async def test_an_attempt_gets_its_own_worktree_and_branch(
    tmp_path: Path, repo: Path, workspaces: Workspaces, hub: FakeHub
) -> None:
    config = workspace_config(tmp_path)
    ws = await workspaces.create(config, task("t1"), 1, "s-1", "bot")
    path = Path(ws.path)
    assert not path.is_relative_to(repo)
    assert ws.branch == "harness/t1-fix-the-login-page/1"
    assert run_git(path, "rev-parse", "--abbrev-ref", "HEAD") == ws.branch
    assert ws.base == "main" and ws.base_sha == run_git(repo, "rev-parse", "main")
    assert (path / "app.py").read_text() == "print(1)\n"
    assert run_git(repo, "status", "--porcelain") == ""  # the user's copy is untouched
    (created,) = hub.of_type("workspace:created")
    assert created.payload["workspace"]["status"] == "active"
    assert created.payload["workspace"]["task_id"] == "t1"


async def test_auto_commit_keeps_what_the_agent_left(
    tmp_path: Path, repo: Path, workspaces: Workspaces, hub: FakeHub
) -> None:
    ws = await workspaces.create(workspace_config(tmp_path), task("t1"), 1, "s-1", "bot")
    path = Path(ws.path)
    commit_file(path, "one.txt", "a\nb\n", "the agent's own commit")
    (path / "two.txt").write_text("left\nover\nhere\n")  # never committed by the agent
    (path / "app.py").write_text("print(2)\n")
    await workspaces.finish(ws)
    assert run_git(path, "status", "--porcelain") == ""
    assert run_git(path, "log", "-1", "--format=%s").startswith("harness: work left uncommitted")
    assert (ws.commits, ws.files_changed, ws.insertions, ws.deletions) == (2, 3, 6, 1)
    assert ws.status == "ready" and ws.conflicts == []
    assert ws.head_sha == run_git(repo, "rev-parse", ws.branch)
    updated = hub.of_type("workspace:updated")[-1].payload["workspace"]
    assert (updated["status"], updated["commits"], updated["head_sha"]) == ("ready", 2, ws.head_sha)


async def test_auto_commit_off_leaves_the_work_as_it_is(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    config = workspace_config(tmp_path, auto_commit=False)
    ws = await workspaces.create(config, task("t1"), 1, "s-1", "bot")
    (Path(ws.path) / "two.txt").write_text("left\n")
    await workspaces.finish(ws)
    assert ws.commits == 0 and run_git(Path(ws.path), "status", "--porcelain") == "?? two.txt"


async def test_two_tasks_two_attempts_in_parallel_do_not_interfere(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    config = workspace_config(tmp_path, ports="5000-5039", ports_per_workspace=10)
    all_live = asyncio.Barrier(4)  # every attempt holds its ports while the others run

    async def attempt(task_id: str, number: int) -> tuple[str, str, int | None]:
        ws = await workspaces.create(config, task(task_id), number, f"s-{task_id}-{number}", "b")
        name = f"{task_id}-{number}.txt"
        await asyncio.to_thread((Path(ws.path) / name).write_text, f"{task_id} {number}\n")
        await asyncio.to_thread((Path(ws.path) / "app.py").write_text, f"print('{name}')\n")
        port = ws.port_base
        await all_live.wait()
        await workspaces.finish(ws)
        return ws.branch, name, port

    done = await asyncio.gather(*(attempt(t, n) for t in ("ta", "tb") for n in (1, 2)))
    assert len({branch for branch, _, _ in done}) == 4
    assert sorted(port for _, _, port in done if port is not None) == [5000, 5010, 5020, 5030]
    for branch, name, _ in done:
        files = run_git(repo, "diff", "--name-only", "main", branch).splitlines()
        assert sorted(files) == sorted(["app.py", name])  # its own work, nobody else's
        assert run_git(repo, "show", f"{branch}:app.py") == f"print('{name}')"
    assert run_git(repo, "status", "--porcelain") == ""
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


async def test_ports_are_never_shared_by_two_live_workspaces(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    config = workspace_config(tmp_path, ports="6000-6019", ports_per_workspace=10)
    first = await workspaces.create(config, task("t1"), 1, "s-1", "b")
    second = await workspaces.create(config, task("t2"), 1, "s-2", "b")
    assert (first.port_base, second.port_base) == (6000, 6010)
    assert second.env["PORT"] == second.env["HARNESS_PORT_BASE"] == "6010"
    with pytest.raises(WorkspaceFailure, match="no free block of 10 ports in 6000-6019"):
        await workspaces.create(config, task("t3"), 1, "s-3", "b")
    await workspaces.finish(first)  # its block is free again
    third = await workspaces.create(config, task("t4"), 1, "s-4", "b")
    assert third.port_base == 6000


async def test_setup_runs_in_the_worktree_with_copied_files_and_ports(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    (repo / ".gitignore").write_text(".env\n")
    (repo / ".env").write_text("SECRET=1\n")
    script = "import os; print(open('.env').read().strip(), os.environ['PORT'])"
    config = workspace_config(
        tmp_path,
        copy=[".env", "missing.txt"],
        ports="7000-7009",
        setup=[["python3", "-c", f"{script}; open('setup.done', 'w').close()"]],
    )
    ws = await workspaces.create(config, task("t1"), 1, "s-1", "b")
    assert (Path(ws.path) / ".env").read_text() == "SECRET=1\n"
    assert (Path(ws.path) / "setup.done").exists()


async def test_a_failing_setup_fails_with_its_output_tail(
    tmp_path: Path, repo: Path, workspaces: Workspaces, hub: FakeHub
) -> None:
    config = workspace_config(
        tmp_path,
        setup=[["python3", "-c", "print('installing'); print('E: no such package'); exit(3)"]],
    )
    with pytest.raises(WorkspaceFailure, match="exited with 3") as caught:
        await workspaces.create(config, task("t1"), 1, "s-1", "b")
    assert "E: no such package" in caught.value.output_tail
    last = hub.of_type("workspace:updated")[-1].payload["workspace"]
    assert last["status"] == "error" and "exited with 3" in last["error"]


async def test_a_branch_that_already_exists_is_refused(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    run_git(repo, "branch", "harness/t1-fix-the-login-page/1")
    with pytest.raises(WorkspaceFailure, match="already exists"):
        await workspaces.create(workspace_config(tmp_path), task("t1"), 1, "s-1", "b")


async def test_a_base_that_moved_is_reported_as_conflicting(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    ws = await workspaces.create(workspace_config(tmp_path), task("t1"), 1, "s-1", "b")
    (Path(ws.path) / "app.py").write_text("print('agent')\n")
    commit_file(repo, "app.py", "print('user')\n", "the user moved on")
    await workspaces.finish(ws)
    assert ws.status == "conflict" and ws.conflicts == ["app.py"]


async def test_cleanup_by_days_removes_only_old_merged_work(
    tmp_path: Path, repo: Path, workspaces: Workspaces, hub: FakeHub
) -> None:
    config = workspace_config(tmp_path, cleanup=3)
    entities = {}
    for task_id, merge in (("old-merged", True), ("old-unmerged", False), ("new-merged", True)):
        ws = await workspaces.create(config, task(task_id), 1, f"s-{task_id}", "bot")
        (Path(ws.path) / f"{task_id}.txt").write_text("work\n")
        await workspaces.finish(ws)
        if merge:
            run_git(repo, "merge", "--quiet", "--no-edit", ws.branch)
        entities[task_id] = ws.entity()
    now = datetime.now(UTC)
    old = (now - timedelta(days=4)).isoformat()
    entities["old-merged"]["created_at"] = entities["old-unmerged"]["created_at"] = old
    configs = {str(repo): config}
    removed = await workspaces.sweep(list(entities.values()), configs, now)
    assert removed == [entities["old-merged"]["id"]]
    assert not exists(entities["old-merged"]["path"])
    assert run_git(repo, "branch", "--list", entities["old-merged"]["branch"]) == ""
    for kept in ("old-unmerged", "new-merged"):  # unmerged work, or not old enough
        assert exists(entities[kept]["path"])
        assert run_git(repo, "rev-parse", "--verify", entities[kept]["branch"])
    (removal,) = hub.of_type("workspace:removed")
    assert removal.payload["workspace"]["id"] == entities["old-merged"]["id"]
    keep = workspace_config(tmp_path, cleanup="keep")
    assert await workspaces.sweep(list(entities.values()), {str(repo): keep}, now) == []


async def test_a_stacked_attempt_starts_from_a_parent_whose_branch_is_gone(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    """The parent's attempt was merged and cleaned up (on_merge): its branch is gone, its
    head is still a commit, and the child starts from it."""
    config = workspace_config(tmp_path, base="parent")
    parent = await workspaces.create(config, task("p"), 1, "s-p", "bot")
    commit_file(Path(parent.path), "schema.sql", "create table t;\n", "the schema")
    await workspaces.finish(parent)
    run_git(repo, "worktree", "remove", parent.path)
    run_git(repo, "branch", "-D", parent.branch)
    workspaces.parent_attempts = lambda task_id: [parent.entity()] if task_id == "c" else []
    child = await workspaces.create(config, task("c"), 1, "s-c", "bot")
    assert (Path(child.path) / "schema.sql").read_text() == "create table t;\n"
    assert (child.base, child.base_sha, child.merge_into) == (
        parent.branch,
        parent.head_sha,
        "main",
    )
    assert child.stacked_on == [parent.id]


async def test_stacking_on_two_parents_that_conflict_fails_and_leaves_nothing(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    config = workspace_config(tmp_path, base="parent")
    parents = []
    for name in ("left", "right"):
        ws = await workspaces.create(config, task(name), 1, f"s-{name}", "bot")
        commit_file(Path(ws.path), "app.py", f"print({name!r})\n", name)
        await workspaces.finish(ws)
        parents.append(ws.entity())
    workspaces.parent_attempts = lambda task_id: parents if task_id == "join" else []
    with pytest.raises(WorkspaceFailure, match=r"conflicts in app\.py"):
        await workspaces.create(config, task("join"), 1, "s-join", "bot")
    assert run_git(repo, "branch", "--list", "harness/join*") == ""
    assert "join" not in run_git(repo, "worktree", "list")
