"""Diff, merge (merge, squash, rebase), pull request and discard of a finished attempt."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator import FleetPublisher
from parent_harness.orchestrator.merging import MAX_FILE_DIFF, Refused, WorkspaceActions
from parent_harness.orchestrator.workspace_config import WorkspaceConfig, resolve_workspace
from parent_harness.orchestrator.workspaces import Workspaces
from tests.integration.orchestrator.support import FakeHub
from tests.integration.workspaces.repos import commit_file, make_repo, run_git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "hello\n", "app.py": "print(1)\n"})


@pytest.fixture
def config(tmp_path: Path, repo: Path) -> WorkspaceConfig:
    table = WorkspaceConfig.model_validate({"repo": "repo", "cleanup": "keep"})
    return resolve_workspace(table, tmp_path)


@pytest.fixture
def workspaces(fake_hub: FakeHub) -> Workspaces:
    return Workspaces(FleetPublisher(fake_hub))


@pytest.fixture
def actions(workspaces: Workspaces, config: WorkspaceConfig) -> WorkspaceActions:
    assert config.repo is not None
    return WorkspaceActions(workspaces, {config.repo: config})


async def attempt(
    workspaces: Workspaces, config: WorkspaceConfig, files: dict[str, str | bytes], n: int = 1
) -> dict[str, Any]:
    """A finished attempt that wrote ``files``; its entity."""
    ws = await workspaces.create(config, {"id": f"t{n}", "title": "work"}, 1, f"s-{n}", "bot")
    for name, content in files.items():
        target = Path(ws.path) / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    await workspaces.finish(ws)
    return ws.entity()


def exists(path: str) -> bool:
    return Path(path).exists()


def repo_state(repo: Path) -> tuple[str, str, str, str]:
    """What a refused merge must leave exactly as it was."""
    return (
        run_git(repo, "rev-parse", "main"),
        run_git(repo, "status", "--porcelain"),
        run_git(repo, "worktree", "list", "--porcelain"),
        run_git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
    )


async def test_the_diff_lists_files_and_gives_one_files_unified_diff(
    workspaces: Workspaces, config: WorkspaceConfig, actions: WorkspaceActions
) -> None:
    entity = await attempt(
        workspaces,
        config,
        {"app.py": "print(2)\n", "new.txt": "a\nb\n", "logo.png": b"\x89PNG\0\1"},
    )
    listing = await actions.diff(entity)
    files = {f["path"]: f for f in listing["files"]}
    assert files["app.py"] | {} == {
        "path": "app.py", "status": "modified", "insertions": 1, "deletions": 1, "binary": False,
    }  # fmt: skip
    assert (files["new.txt"]["status"], files["new.txt"]["insertions"]) == ("added", 2)
    assert files["logo.png"]["binary"] is True
    one = await actions.diff(entity, "app.py")
    assert "-print(1)\n+print(2)" in one["diff"] and one["truncated"] is False
    binary = await actions.diff(entity, "logo.png")
    assert binary["diff"] is None and binary["file"]["binary"] is True  # named, not dumped
    with pytest.raises(Refused) as caught:
        await actions.diff(entity, "README.md")
    assert caught.value.status == 404


async def test_a_huge_file_diff_is_truncated_with_a_marker(
    workspaces: Workspaces, config: WorkspaceConfig, actions: WorkspaceActions
) -> None:
    big = "".join(f"line {n}\n" for n in range(80_000))
    entity = await attempt(workspaces, config, {"big.txt": big})
    one = await actions.diff(entity, "big.txt")
    assert one["truncated"] is True and len(one["diff"]) < MAX_FILE_DIFF + 200
    assert one["diff"].rstrip().endswith("...") and "diff truncated at" in one["diff"]


@pytest.mark.parametrize("strategy", ["merge", "squash", "rebase"])
async def test_merge_strategies_land_the_work_on_base(
    repo: Path,
    workspaces: Workspaces,
    config: WorkspaceConfig,
    actions: WorkspaceActions,
    fake_hub: FakeHub,
    strategy: str,
) -> None:
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    commit_file(repo, "other.txt", "user\n", "the base moved on")  # merged or rebased over
    before = run_git(repo, "rev-parse", "main")
    after = await actions.merge(entity, strategy, "Land it")  # type: ignore[arg-type]
    assert after["status"] == "merged" and after["strategy"] == strategy
    assert run_git(repo, "rev-parse", "main") == after["merged_sha"] != before
    assert (repo / "new.txt").read_text() == "agent\n"  # main is checked out: fast-forwarded
    assert run_git(repo, "status", "--porcelain") == ""
    parents = run_git(repo, "log", "-1", "--format=%P", "main").split()
    subject = run_git(repo, "log", "-1", "--format=%s", "main")
    if strategy == "merge":
        assert len(parents) == 2 and subject == "Land it"
    elif strategy == "squash":
        assert parents == [before] and subject == "Land it"
    else:
        assert parents == [before] and subject.startswith("harness: work left uncommitted")
    assert "harness-merge-" not in run_git(repo, "worktree", "list")
    (merged,) = fake_hub.of_type("workspace:merged")
    assert merged.payload["workspace"]["status"] == "merged"


async def test_merging_into_a_base_nobody_has_checked_out_moves_only_the_ref(
    repo: Path, workspaces: Workspaces, config: WorkspaceConfig, actions: WorkspaceActions
) -> None:
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    run_git(repo, "checkout", "--quiet", "-b", "elsewhere")
    after = await actions.merge(entity, "merge")
    assert run_git(repo, "rev-parse", "main") == after["merged_sha"]
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "elsewhere"
    assert run_git(repo, "status", "--porcelain") == "" and not (repo / "new.txt").exists()


@pytest.mark.parametrize("strategy", ["merge", "squash", "rebase"])
async def test_a_conflict_is_refused_naming_the_files_and_nothing_changes(
    repo: Path,
    workspaces: Workspaces,
    config: WorkspaceConfig,
    actions: WorkspaceActions,
    fake_hub: FakeHub,
    strategy: str,
) -> None:
    entity = await attempt(workspaces, config, {"app.py": "print('agent')\n"})
    commit_file(repo, "app.py", "print('user')\n", "the user changed the same line")
    before = repo_state(repo)
    worktree_before = run_git(Path(entity["path"]), "status", "--porcelain")
    with pytest.raises(Refused) as caught:
        await actions.merge(entity, strategy)  # type: ignore[arg-type]
    assert caught.value.status == 409 and caught.value.conflicts == ["app.py"]
    assert "app.py" in caught.value.detail and "nothing was changed" in caught.value.detail
    assert repo_state(repo) == before
    assert run_git(Path(entity["path"]), "status", "--porcelain") == worktree_before
    assert fake_hub.of_type("workspace:merged") == []


async def test_uncommitted_changes_in_the_users_copy_refuse_the_merge(
    repo: Path, workspaces: Workspaces, config: WorkspaceConfig, actions: WorkspaceActions
) -> None:
    entity = await attempt(workspaces, config, {"app.py": "print('agent')\n"})
    (repo / "app.py").write_text("print('my unsaved work')\n")
    before = repo_state(repo)
    with pytest.raises(Refused, match="checked out at"):
        await actions.merge(entity, "merge")
    assert repo_state(repo) == before
    assert (repo / "app.py").read_text() == "print('my unsaved work')\n"


async def test_a_running_or_finished_attempt_is_refused(
    workspaces: Workspaces, config: WorkspaceConfig, actions: WorkspaceActions
) -> None:
    live = await workspaces.create(config, {"id": "t9", "title": "x"}, 1, "s-9", "bot")
    with pytest.raises(Refused, match="still running"):
        await actions.merge(live.entity())
    with pytest.raises(Refused, match="already merged"):
        await actions.discard({**live.entity(), "status": "merged", "id": "other"})


async def test_discard_removes_the_worktree_and_the_branch(
    repo: Path,
    workspaces: Workspaces,
    config: WorkspaceConfig,
    actions: WorkspaceActions,
    fake_hub: FakeHub,
) -> None:
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    after = await actions.discard(entity)
    assert after["status"] == "discarded" and not exists(entity["path"])
    assert run_git(repo, "branch", "--list", entity["branch"]) == ""
    assert fake_hub.of_type("workspace:removed")[-1].payload["workspace"]["status"] == "discarded"


async def test_cleanup_on_merge_removes_the_worktree(
    tmp_path: Path, repo: Path, workspaces: Workspaces
) -> None:
    config = resolve_workspace(WorkspaceConfig.model_validate({"repo": "repo"}), tmp_path)
    assert config.repo is not None and config.cleanup == "on_merge"
    actions = WorkspaceActions(workspaces, {config.repo: config})
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    await actions.merge(entity, "squash")
    assert not exists(entity["path"])


def fake_gh(bin_dir: Path, log: Path, authenticated: bool = True) -> None:
    """A ``gh`` that records its arguments and prints a PR URL."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "gh"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"if sys.argv[1:3] == ['auth', 'status'] and not {authenticated}:\n"
        "    sys.exit(1)\n"
        "if sys.argv[1:3] == ['pr', 'create']:\n"
        "    print('https://github.com/acme/proj/pull/7')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


async def test_a_pull_request_pushes_and_calls_gh(
    tmp_path: Path,
    repo: Path,
    workspaces: Workspaces,
    config: WorkspaceConfig,
    actions: WorkspaceActions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "--quiet", "--bare", str(remote))
    run_git(repo, "remote", "add", "origin", str(remote))
    log = tmp_path / "gh.log"
    fake_gh(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    after = await actions.pull_request(entity, title="Add new.txt")
    assert after["pr_url"] == "https://github.com/acme/proj/pull/7"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == ["auth", "status"]
    create = calls[1]
    assert create[:2] == ["pr", "create"]
    assert create[create.index("--head") + 1] == entity["branch"]
    assert create[create.index("--base") + 1] == "main"
    assert create[create.index("--title") + 1] == "Add new.txt"
    assert "Task `t1`" in create[create.index("--body") + 1]
    assert run_git(remote, "rev-parse", entity["branch"]) == entity["head_sha"]  # pushed


async def test_a_pull_request_names_what_is_missing(
    tmp_path: Path,
    workspaces: Workspaces,
    config: WorkspaceConfig,
    actions: WorkspaceActions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entity = await attempt(workspaces, config, {"new.txt": "agent\n"})
    git_dir = tmp_path / "git-only"  # a PATH with git and nothing else
    git_dir.mkdir()
    (git_dir / "git").symlink_to(str(shutil.which("git")))
    monkeypatch.setenv("PATH", str(git_dir))
    with pytest.raises(Refused, match="gh \\(the GitHub CLI\\) is not installed"):
        await actions.pull_request(entity)
    fake_gh(tmp_path / "bin", tmp_path / "gh.log", authenticated=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{git_dir}")
    with pytest.raises(Refused, match="not authenticated: run `gh auth login`"):
        await actions.pull_request(entity)
    fake_gh(tmp_path / "bin", tmp_path / "gh.log")
    with pytest.raises(Refused, match="no remote 'origin'"):
        await actions.pull_request(entity)


async def test_a_merge_rechecks_the_other_attempts_on_the_moved_base(
    repo: Path, workspaces: Workspaces, config: WorkspaceConfig, fake_hub: FakeHub
) -> None:
    assert config.repo is not None
    actions = WorkspaceActions(workspaces, {config.repo: config}, fake_hub.workspaces.values)
    first = await attempt(workspaces, config, {"app.py": "print('first')\n"}, n=1)
    second = await attempt(workspaces, config, {"app.py": "print('second')\n"}, n=2)
    third = await attempt(workspaces, config, {"other.txt": "fine\n"}, n=3)
    assert [w["status"] for w in (first, second, third)] == ["ready"] * 3
    await actions.merge(first, "merge")
    assert fake_hub.workspaces[second["id"]]["status"] == "conflict"
    assert fake_hub.workspaces[second["id"]]["conflicts"] == ["app.py"]
    assert fake_hub.workspaces[third["id"]]["status"] == "ready"  # unchanged, not republished
    updates = [e.payload["workspace"]["id"] for e in fake_hub.of_type("workspace:updated")]
    assert updates.count(third["id"]) == 1  # only its own finish
