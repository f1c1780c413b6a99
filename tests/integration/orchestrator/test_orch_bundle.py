"""Bundles and what-if over a real orchestrated run: real agent processes on a real hub,
one that completes and one that hangs and is killed as stuck. Its log exported and
imported into a fresh hub gives the same state after every event; replayed with a tighter
stuck threshold the kill is found again, and with a looser one it would not be killed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson

from parent_harness.hub.bundles import read_bundle
from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings
from parent_harness.whatif import candidate_of, replay
from tests.integration.orchestrator.support import agent_command, until

HANG_HEALTH = {"stuck_after_s": 1.0, "kill_on_stuck": True}
TIGHTER = {"stuck_after_s": 0.5, "kill_on_stuck": True}
"""Half the live threshold: the replay's clock is the log's timestamps, which a loaded
machine puts later than the moment the orchestrator saw the agent's progress."""


async def test_a_real_run_exported_imported_and_replayed(server: HubServer, tmp_path: Path) -> None:
    config = parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "good": {"command": agent_command("success")},
                "hang": {"command": agent_command("hang"), "health": HANG_HEALTH},
            },
            "retry": {"max_attempts": 1},
        },
        tmp_path,
    )
    node = server.node
    async with aiohttp.ClientSession(server.url) as http:
        async with Orchestrator(config, hub=node):
            ids = []
            for agent in ("good", "hang"):
                body = {"title": agent, "agent_name": agent}
                async with http.post("/api/tasks", json=body) as response:
                    ids.append((await response.json())["task"]["id"])
            ended = ("completed", "failed")
            await until(node, lambda: all(node.committed_state.tasks[i]["status"] in ended
                                          for i in ids))  # fmt: skip
        good, hung = (node.committed_state.tasks[i] for i in ids)
        assert (good["status"], hung["error_details"]["kind"]) == ("completed", "stuck")
        async with http.get("/api/export") as response:
            lines = [orjson.loads(raw) for raw in (await response.read()).splitlines()]
        head = node.seq
        assert lines[-1]["events"] == head

        (tmp_path / "fresh").mkdir()
        fresh = HubServer(Settings(port=0, store=f"sqlite:///{tmp_path / 'fresh' / 'h.db'}"))
        await fresh.start()
        try:
            async with aiohttp.ClientSession(fresh.url) as other:
                async with other.post("/api/import", json=lines) as response:
                    assert response.status == 200, await response.text()

                async def state(client: aiohttp.ClientSession, n: int) -> Any:
                    async with client.get(f"/api/state?at={n}") as response:
                        got = await response.json()
                    return {k: v for k, v in got.items() if k != "epoch"}

                for n in range(head + 1):
                    assert await state(other, n) == await state(http, n), f"differs at {n}"
        finally:
            await fresh.stop()

    bundle = read_bundle(lines)
    tight = {"agents": {"hang": {"health": TIGHTER}}}
    report = replay(bundle, candidate_of(tight))
    killed = [f for f in report.would if f.what == "killed"]
    assert [f.subject.split(" (")[1] for f in killed] == ["agent hang)"], report.would
    assert [(f.what, f.subject) for f in report.was if f.what == "killed"] == [
        ("killed", f"task {hung['id']}")
    ]
    loose = {"agents": {"hang": {"health": {"stuck_after_s": 3600, "kill_on_stuck": True}}}}
    report = replay(bundle, candidate_of(loose))
    assert not [f for f in report.would if f.source == "health"], report.would
