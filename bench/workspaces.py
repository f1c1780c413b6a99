"""Workspaces (issue 14): worktree creation plus setup on a large repository, and the diff
endpoint on a large diff.

    .venv/bin/python -m bench.workspaces [--files 10000] [--lines 5000] [--runs 5] [--tiny]
        [--out DIR]

1. A repository of `--files` files (one commit) is made in a temporary directory; each run
   makes a fresh attempt's worktree with `Workspaces.create` (git worktree add on its own
   branch, then one setup command, `python -c pass`), timed from call to return.
2. One attempt changes `--lines` lines of one file (and adds a few small files); a real hub
   (SQLite, port 0) serves `GET /api/workspaces/{id}/diff` (the file list) and
   `?file=` (that file's unified diff) with the orchestrator's workspace actions; each is
   timed from request to the last byte, over HTTP on loopback. Target: under 200 ms.

Prints a markdown table; with `--out`, writes `workspaces.json` and `workspaces.md` there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.dashboard_hub import machine, median
from parent_harness.orchestrator import FleetPublisher
from parent_harness.orchestrator.merging import WorkspaceActions
from parent_harness.orchestrator.workspace_config import WorkspaceConfig, resolve_workspace
from parent_harness.orchestrator.workspaces import Workspaces
from parent_harness.web.app import HubServer
from parent_harness.web.keys import WORKSPACES
from parent_harness.web.settings import Settings

TARGET_MS = 200.0
IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *IDENTITY, *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, files: int, lines: int) -> Path:
    """A repository of `files` small files in 100 directories and one of `lines` lines."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch", "main")
    for n in range(files):
        folder = repo / f"pkg{n % 100:02d}"
        folder.mkdir(exist_ok=True)
        (folder / f"module_{n}.py").write_text(f"VALUE_{n} = {n}\n")
    (repo / "big.py").write_text("".join(f"line_{n} = {n}\n" for n in range(lines)))
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "initial")
    return repo


async def time_creation(
    workspaces: Workspaces, configs: dict[str, WorkspaceConfig], runs: int
) -> dict[str, list[float]]:
    """Each run makes one worktree per config, alternating, so neither gets a warmer cache."""
    took: dict[str, list[float]] = {label: [] for label in configs}
    for n in range(runs):
        for label, config in configs.items():
            task = {"id": f"{label}-{n}", "title": "bench"}
            start = time.perf_counter()
            ws = await workspaces.create(config, task, 1, f"s{n}", "b")
            took[label].append((time.perf_counter() - start) * 1000)
            await workspaces.finish(ws)
    return took


async def time_diff(
    workspaces: Workspaces, config: WorkspaceConfig, lines: int, runs: int, root: Path
) -> dict[str, Any]:
    ws = await workspaces.create(config, {"id": "bench-diff", "title": "big diff"}, 1, "sd", "b")
    big = Path(ws.path) / "big.py"
    big.write_text("".join(f"line_{n} = {n * 2 + 1}\n" for n in range(lines)))
    for n in range(20):
        (Path(ws.path) / f"new_{n}.txt").write_text("new\n")
    await workspaces.finish(ws)
    server = HubServer(Settings(port=0, store=f"sqlite:///{root / 'harness.db'}"))
    await server.start()
    try:
        assert config.repo is not None
        server.app[WORKSPACES].ops = WorkspaceActions(workspaces, {config.repo: config})
        await server.node.publish("workspace:created", {"workspace": ws.entity()})
        async with aiohttp.ClientSession(server.url) as http:
            listing = await _timed(http, f"/api/workspaces/{ws.id}/diff", {}, runs)
            one = await _timed(http, f"/api/workspaces/{ws.id}/diff", {"file": "big.py"}, runs)
    finally:
        await server.stop()
    return {"files": ws.files_changed, "changed_lines": ws.insertions + ws.deletions,
            "list_ms": listing, "file_ms": one}  # fmt: skip


async def _timed(
    http: aiohttp.ClientSession, path: str, params: dict[str, str], runs: int
) -> dict[str, Any]:
    took, size = [], 0
    for _ in range(runs + 1):  # the first one warms up (imports, connections)
        start = time.perf_counter()
        async with http.get(path, params=params) as response:
            body = await response.read()
            assert response.status == 200, body[:500]
        took.append((time.perf_counter() - start) * 1000)
        size = len(body)
    return {"median": median(took[1:]), "max": max(took[1:]), "bytes": size}


async def run(files: int, lines: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-workspaces-") as scratch:
        root = Path(scratch)
        start = time.perf_counter()
        repo = make_repo(root, files, lines)
        made_s = time.perf_counter() - start
        table = {"repo": str(repo), "root": str(root / "worktrees")}
        bare = resolve_workspace(WorkspaceConfig.model_validate(table), root)
        with_setup = bare.model_copy(update={"setup": ((sys.executable, "-c", "pass"),)})
        publisher = FleetPublisher(_NullSink())
        configs = {"plain": bare, "setup": with_setup}
        took = await time_creation(Workspaces(publisher), configs, runs)
        plain, setup = took["plain"], took["setup"]
        diff = await time_diff(Workspaces(publisher), bare, lines, runs, root)
    return {
        "machine": machine(),
        "files": files,
        "lines": lines,
        "runs": runs,
        "repo_made_s": made_s,
        "create_ms": {"median": median(plain), "max": max(plain)},
        "create_with_setup_ms": {"median": median(setup), "max": max(setup)},
        "diff": diff,
        "target_ms": TARGET_MS,
    }


class _NullSink:
    async def publish(self, type: str, payload: dict[str, Any], *, id: str | None = None) -> Any:
        return None


def markdown(result: dict[str, Any]) -> str:
    d = result["diff"]
    rows = [
        f"Repository of {result['files']:,} files; {result['runs']} runs, medians (max); "
        f"{result['machine']}.",
        "",
        "| what | time |",
        "|---|---|",
        f"| new worktree on its own branch (`Workspaces.create`) | "
        f"{result['create_ms']['median']:.0f} ms ({result['create_ms']['max']:.0f}) |",
        f"| the same plus one setup command (`python -c pass`) | "
        f"{result['create_with_setup_ms']['median']:.0f} ms "
        f"({result['create_with_setup_ms']['max']:.0f}) |",
        f"| `GET /api/workspaces/{{id}}/diff`: {d['files']} files, {d['changed_lines']:,} lines "
        f"changed ({d['list_ms']['bytes']:,} bytes) | {d['list_ms']['median']:.0f} ms "
        f"({d['list_ms']['max']:.0f}) |",
        f"| `GET /api/workspaces/{{id}}/diff?file=big.py`: one file, {result['lines']:,} lines "
        f"changed ({d['file_ms']['bytes']:,} bytes) | {d['file_ms']['median']:.0f} ms "
        f"({d['file_ms']['max']:.0f}) |",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="200 files, 500 lines")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    files, lines = (200, 500) if args.tiny else (args.files, args.lines)
    result = asyncio.run(run(files, lines, args.runs))
    text = markdown(result)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "workspaces.json").write_text(json.dumps(result, indent=2))
        (args.out / "workspaces.md").write_text(text)


if __name__ == "__main__":
    main()
