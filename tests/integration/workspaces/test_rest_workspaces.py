"""The workspace REST routes on a real hub (SQLite file) with the orchestrator and real git."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.client import AttemptsClient
from parent_harness.exceptions import PublishError, WorkspaceRefused
from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.web.app import HubServer
from parent_harness.web.keys import WORKSPACES
from tests.conftest import RunningHub, settings_for
from tests.integration.orchestrator.support import PASSING_TESTS, until
from tests.integration.workspaces.repos import make_repo, run_git
from tests.integration.workspaces.test_merging import fake_gh

AGENT = (
    "import os, pathlib; "
    "pathlib.Path('app.py').write_text('print(' + repr(os.environ['HARNESS_TASK_ID']) + ')\\n'); "
    "pathlib.Path(os.environ['HARNESS_TASK_ID'] + '.txt').write_text('done\\n')"
)


def config_for(tmp_path: Path, **extra: Any) -> Any:
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {"bot": {"command": [sys.executable, "-c", AGENT], "adapter": "plain"}},
            "retry": {"max_attempts": 1},
            "workspace": {"repo": "repo", "cleanup": "keep"},
            **extra,
        },
        tmp_path,
    )


async def run_task(hub: RunningHub, orchestrator: Orchestrator, title: str) -> dict[str, Any]:
    """Queue a task, wait for its attempt to finish; the task's attempts answer."""
    task_id = await orchestrator.submit(title)
    node = hub.server.node

    def finished() -> bool:
        attempts = node.committed_state.attempts(task_id)
        return bool(attempts) and attempts[-1]["status"] not in (None, "active")

    await until(node, finished)
    status, body = await hub.get(f"/api/tasks/{task_id}/attempts")
    assert status == 200, body
    return dict(body)


async def test_attempts_diff_merge_and_discard_over_rest(hub: RunningHub, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    orchestrator = Orchestrator(config_for(tmp_path), hub=hub.server.node)
    hub.server.app[WORKSPACES].ops = orchestrator.workspace_actions()
    async with orchestrator:
        first = await run_task(hub, orchestrator, "First change")
        second = await run_task(hub, orchestrator, "Second change")
    (attempt,) = first["attempts"]
    assert attempt["attempt"] == 1 and attempt["session_status"] == "completed"
    assert (attempt["commits"], attempt["files_changed"], attempt["status"]) == (1, 2, "ready")
    wid = attempt["id"]

    status, listing = await hub.get(f"/api/workspaces/{wid}/diff")
    assert status == 200, listing
    assert sorted(f["path"] for f in listing["files"]) == sorted(
        ["app.py", f"{first['task_id']}.txt"]
    )
    status, one = await hub.get(f"/api/workspaces/{wid}/diff", params={"file": "app.py"})
    assert status == 200 and "-print(0)" in one["diff"], one
    status, gone = await hub.get(f"/api/workspaces/{wid}/diff", params={"file": "nope.py"})
    assert status == 404 and gone["code"] == "not_found"

    status, merged = await hub.post(f"/api/workspaces/{wid}/merge", {"strategy": "squash"})
    assert status == 200, merged
    assert merged["workspace"]["status"] == "merged"
    assert (repo / "app.py").read_text() == f"print({first['task_id']!r})\n"

    # The second attempt changed the same line from the old base: a conflict, nothing moves.
    other = second["attempts"][0]["id"]
    main_before = run_git(repo, "rev-parse", "main")
    status, refused = await hub.post(f"/api/workspaces/{other}/merge", {"strategy": "merge"})
    assert status == 409, refused
    assert refused["conflicts"] == ["app.py"] and "app.py" in refused["detail"]
    assert run_git(repo, "rev-parse", "main") == main_before
    assert run_git(repo, "status", "--porcelain") == ""

    status, again = await hub.post(f"/api/workspaces/{wid}/merge", {"strategy": "merge"})
    assert status == 409 and "already merged" in again["detail"]
    status, bad = await hub.post(f"/api/workspaces/{other}/merge", {"strategy": "octopus"})
    assert status == 400, bad

    status, discarded = await hub.post(f"/api/workspaces/{other}/discard", {})
    assert status == 200 and discarded["workspace"]["status"] == "discarded"
    assert run_git(repo, "branch", "--list", second["attempts"][0]["branch"]) == ""

    status, missing = await hub.get("/api/workspaces/w-nope/diff")
    assert status == 404, missing
    status, no_task = await hub.get("/api/tasks/nope/attempts")
    assert status == 404, no_task


async def test_the_attempts_survive_a_restart_and_git_needs_the_orchestrator(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    server = HubServer(settings_for(tmp_path))
    await server.start()
    async with aiohttp.ClientSession() as session:
        hub = RunningHub(server, session)
        orchestrator = Orchestrator(config_for(tmp_path), hub=server.node)
        async with orchestrator:
            done = await run_task(hub, orchestrator, "Something")
    await server.stop()

    again = HubServer(settings_for(tmp_path))  # the same SQLite file, no orchestrator
    await again.start()
    try:
        async with aiohttp.ClientSession() as session:
            hub = RunningHub(again, session)
            status, body = await hub.get(f"/api/tasks/{done['task_id']}/attempts")
            assert status == 200 and body["attempts"] == done["attempts"]
            status, snap = await hub.get("/api/snapshot")
            assert [w["id"] for w in snap["workspaces"]] == [done["attempts"][0]["id"]]
            wid = done["attempts"][0]["id"]
            status, refused = await hub.get(f"/api/workspaces/{wid}/diff")
            assert status == 503 and "harness run" in refused["detail"], refused
            status, refused = await hub.post(f"/api/workspaces/{wid}/merge", {})
            assert status == 503 and refused["code"] == "no_workspaces"
            status, defaults = await hub.get(f"/api/workspaces/{wid}/defaults")  # from state
            assert status == 200 and defaults["pr_title"].endswith("attempt 1"), defaults
            status, missing = await hub.get("/api/workspaces/w-nope/defaults")
            assert status == 404 and missing["title"], missing
    finally:
        await again.stop()


async def test_a_pull_request_without_gh_names_what_is_missing(
    hub: RunningHub, tmp_path: Path, monkeypatch: Any
) -> None:
    make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    orchestrator = Orchestrator(config_for(tmp_path), hub=hub.server.node)
    hub.server.app[WORKSPACES].ops = orchestrator.workspace_actions()
    async with orchestrator:
        done = await run_task(hub, orchestrator, "Something")
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-dir"))
    status, body = await hub.post(f"/api/workspaces/{done['attempts'][0]['id']}/pr", {})
    assert status == 409 and "gh (the GitHub CLI) is not installed" in body["detail"], body


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `harness` command, in a subprocess."""
    argv = [sys.executable, "-m", "parent_harness", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


async def test_the_task_commands_diff_merge_and_discard(hub: RunningHub, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    orchestrator = Orchestrator(config_for(tmp_path), hub=hub.server.node)
    hub.server.app[WORKSPACES].ops = orchestrator.workspace_actions()
    async with orchestrator:
        first = await run_task(hub, orchestrator, "First")
        second = await run_task(hub, orchestrator, "Second")
    url = ["--url", hub.url]
    one, two = first["task_id"], second["task_id"]

    shown = await asyncio.to_thread(harness, "task", "diff", one, *url)
    assert shown.returncode == 0, shown.stderr
    assert "1 commit(s), +2 -1" in shown.stdout and "added" in shown.stdout
    file_diff = await asyncio.to_thread(harness, "task", "diff", one, "--file", "app.py", *url)
    assert "-print(0)" in file_diff.stdout
    missing = await asyncio.to_thread(harness, "task", "diff", one, "--attempt", "7", *url)
    assert missing.returncode == 1 and "has no attempt 7 (attempts: 1)" in missing.stderr

    merged = await asyncio.to_thread(harness, "task", "merge", one, "--strategy", "squash", *url)
    assert merged.returncode == 0 and "into main by squash" in merged.stdout, merged.stderr
    refused = await asyncio.to_thread(harness, "task", "merge", two, "--attempt", "1", *url)
    assert refused.returncode == 1 and "conflict: app.py" in refused.stderr
    gone = await asyncio.to_thread(harness, "task", "discard", two, "--yes", *url)
    assert gone.returncode == 0 and "discarded attempt 1" in gone.stdout
    kept = run_git(repo, "branch", "--list", "--format=%(refname:short)", "harness/*")
    assert kept == first["attempts"][0]["branch"]  # cleanup = "keep"; the discarded one is gone


async def test_the_routes_are_in_the_openapi_document(hub: RunningHub) -> None:
    status, spec = await hub.get("/docs/spec")
    assert status == 200
    paths = spec["paths"]
    assert "get" in paths["/api/tasks/{task_id}/attempts"]
    assert {"200", "404", "409", "503"} <= set(
        paths["/api/workspaces/{workspace_id}/diff"]["get"]["responses"]
    )
    for action in ("merge", "pr", "discard"):
        responses = paths[f"/api/workspaces/{{workspace_id}}/{action}"]["post"]["responses"]
        assert {"200", "404", "409", "503"} <= set(responses), action
    assert "502" in paths["/api/workspaces/{workspace_id}/pr"]["post"]["responses"]


async def test_a_pull_request_carries_the_task_its_attempts_tests_and_cost(
    hub: RunningHub, tmp_path: Path, monkeypatch: Any
) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "--quiet", "--bare", str(remote))
    run_git(repo, "remote", "add", "origin", str(remote))
    log = tmp_path / "gh.log"
    fake_gh(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    config = config_for(tmp_path, tests={"command": PASSING_TESTS})
    orchestrator = Orchestrator(config, hub=hub.server.node)
    hub.server.app[WORKSPACES].ops = orchestrator.workspace_actions()
    async with orchestrator:
        done = await run_task(hub, orchestrator, "Make the parser faster")
        await until(
            hub.server.node,
            lambda: hub.server.node.committed_state.tasks[done["task_id"]]["status"] == "completed",
        )
    wid = done["attempts"][0]["id"]
    status, defaults = await hub.get(f"/api/workspaces/{wid}/defaults")
    assert status == 200 and defaults["pr_title"] == f"Task {done['task_id']}, attempt 1"
    assert defaults["merge_message"].startswith(f"Merge {done['attempts'][0]['branch']}: ")
    status, body = await hub.post(f"/api/workspaces/{wid}/pr", {"title": "Faster parser"})
    assert status == 200, body
    assert body["pr_url"] == "https://github.com/acme/proj/pull/7"
    assert body["workspace"]["pr_url"] == body["pr_url"]
    create = [json.loads(line) for line in log.read_text().splitlines()][-1]
    text = create[create.index("--body") + 1]
    assert "**Make the parser faster**" in text
    assert "| 1 (this one) |" in text and "passed (3 passed, 0 failed)" in text
    assert "Total cost of the task:" in text
    assert text == defaults["pr_body"]  # the dashboard pre-fills exactly what the hub uses
    status, again = await hub.get(f"/api/tasks/{done['task_id']}/attempts")
    assert again["attempts"][0]["pr_url"] == body["pr_url"]


async def test_the_sdk_lists_diffs_merges_and_discards(hub: RunningHub, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    orchestrator = Orchestrator(config_for(tmp_path), hub=hub.server.node)
    hub.server.app[WORKSPACES].ops = orchestrator.workspace_actions()
    async with orchestrator:
        one = (await run_task(hub, orchestrator, "One"))["task_id"]
        two = (await run_task(hub, orchestrator, "Two"))["task_id"]
    async with AttemptsClient(hub.url) as client:
        first = await client.attempt(one)
        assert first == (await client.attempts(one))[-1] and first["attempt"] == 1
        listing = await client.diff(first["id"])
        assert {f["path"] for f in listing["files"]} == {"app.py", f"{one}.txt"}
        assert "+print(" in (await client.diff(first["id"], "app.py"))["diff"]
        merged = await client.merge(first["id"], "rebase")
        assert (
            merged["status"] == "merged"
            and run_git(repo, "rev-parse", "main") == merged["merged_sha"]
        )
        second = await client.attempt(two, 1)
        with pytest.raises(WorkspaceRefused) as caught:
            await client.merge(second["id"])
        assert caught.value.status == 409 and caught.value.conflicts == ["app.py"]
        with pytest.raises(WorkspaceRefused, match="has no attempt 3"):
            await client.attempt(two, 3)
        assert (await client.discard(second["id"]))["status"] == "discarded"
    async with AttemptsClient("http://127.0.0.1:9") as nowhere:
        with pytest.raises(PublishError, match="no hub at"):
            await nowhere.attempts(one)
