"""`harness demo` in a throwaway repository: attempts with real commits, a merge, a task that
fails for good, and every event kind (but those the demo says it cannot make) within its
first minute."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from typing import Any

import aiohttp

from parent_harness.orchestrator.demo import NOT_SHOWN
from tests.integration.orchestrator.test_orch_real_hub import Harness, harness, poll

__all__ = ["harness"]  # the fixture, used by name


async def kinds_seen(http: aiohttp.ClientSession, wanted: set[str]) -> set[str]:
    """Subscribe from the start (every room, the output's too) until each kind of `wanted`
    came, or the demo's first minute is over (at its time scale); the kinds still missing."""
    missing = set(wanted)
    async with http.ws_connect("/ws?since=0&monitor=*,output") as ws:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while missing:
                    frame = json.loads(await ws.receive_str())
                    for message in frame if isinstance(frame, list) else [frame]:
                        if "seq" in message:
                            missing.discard(message["type"])
    return missing


def failed_for_good(body: dict[str, Any]) -> dict[str, Any] | None:
    """The failed task whose agent exited non-zero (the demo's `sim:fail-always`)."""
    return next((t for t in body["items"] if t["error_details"]["kind"] == "nonzero_exit"), None)


def merged(body: dict[str, Any]) -> bool:
    return any(w["status"] == "merged" for w in body["workspaces"])


def some_ready(body: dict[str, Any]) -> bool:
    return any(w["status"] == "ready" for w in body["workspaces"])


async def test_the_demo_shows_attempts_diffs_a_merge_and_a_final_failure(
    harness: Callable[..., Harness],
) -> None:
    demo = harness("demo", "--port", "0", "--speed", "0.1", "--every", "0.5")
    async with aiohttp.ClientSession(await demo.start()) as http:
        async with http.get("/api/catalogue") as response:
            kinds = {k["type"] for k in (await response.json())["kinds"]}
        seen = asyncio.create_task(kinds_seen(http, kinds - set(NOT_SHOWN)))
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
        # The task that fails on every attempt (others may too: their tests failed twice).
        failed = await poll(http, "/api/tasks?status=failed", failed_for_good)
        task = failed_for_good(failed)
        assert task["error_details"]["suggestions"]
        assert task["attempts"] == 2  # both attempts failed: for good
        missing = await seen
        assert missing == set(), f"kinds the demo did not show within its first minute: {missing}"
    assert await demo.stop(signal.SIGTERM) == 0
