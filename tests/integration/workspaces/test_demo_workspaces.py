"""`harness demo` in a throwaway repository: attempts with real commits, a merge, a task that
fails for good."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.integration.orchestrator.test_orch_real_hub import Harness, harness, poll

__all__ = ["harness"]  # the fixture, used by name


def merged(body: dict[str, Any]) -> bool:
    return any(w["status"] == "merged" for w in body["workspaces"])


def some_ready(body: dict[str, Any]) -> bool:
    return any(w["status"] == "ready" for w in body["workspaces"])


async def test_the_demo_shows_attempts_diffs_a_merge_and_a_final_failure(
    harness: Callable[..., Harness],
) -> None:
    demo = harness("demo", "--port", "0", "--speed", "0.1", "--every", "0.5")
    async with aiohttp.ClientSession(await demo.start()) as http:
        snapshot = await poll(http, "/api/snapshot", merged)
        done = next(w for w in snapshot["workspaces"] if w["status"] == "merged")
        assert done["commits"] >= 1 and done["files_changed"] >= 2
        async with http.get(f"/api/sessions/{done['session_id']}") as response:
            session = (await response.json())["session"]
        assert session["status"] == "completed", "the demo merged a failed attempt"
        async with http.get(f"/api/tasks/{done['task_id']}/attempts") as response:
            attempts = (await response.json())["attempts"]
        assert done["id"] in {a["id"] for a in attempts}
        ready = await poll(http, "/api/snapshot", some_ready)
        other = next(w for w in ready["workspaces"] if w["status"] == "ready")
        async with http.get(f"/api/workspaces/{other['id']}/diff") as response:
            files = {f["path"] for f in (await response.json())["files"]}
        assert "CHANGELOG.md" in files and any(p.startswith("src/") for p in files)
        failed = await poll(http, "/api/tasks?status=failed", lambda b: b["items"])
        details = failed["items"][0]["error_details"]
        assert details["kind"] == "nonzero_exit" and details["suggestions"]
        assert failed["items"][0]["attempts"] == 2  # both attempts failed: for good
    assert await demo.stop(signal.SIGTERM) == 0
