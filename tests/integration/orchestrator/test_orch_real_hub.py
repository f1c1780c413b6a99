"""The orchestrator against the real hub: REST, SQLite, `harness run` killed and restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import PASSING_TESTS, agent_command, until


async def test_a_small_fleet_on_the_real_hub(server: HubServer, tmp_path: Path) -> None:
    config = parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "good": {"command": agent_command("success"), "max_instances": 2},
                "bad": {"command": agent_command("fail")},
                "slow": {"command": agent_command("hang")},
            },
            "tests": {"command": PASSING_TESTS},
            "retry": {"backoff_s": 0.05},
        },
        tmp_path,
    )
    node = server.node
    async with aiohttp.ClientSession(server.url) as http, Orchestrator(config, hub=node):

        async def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            async with http.post(path, json=body or {}) as response:
                assert response.status in (200, 201), await response.text()
                return dict(await response.json())

        async def get(path: str) -> dict[str, Any]:
            async with http.get(path) as response:
                assert response.status == 200, await response.text()
                return dict(await response.json())

        good = [(await post("/api/tasks", {"title": f"good {n}", "agent_name": "good"}))["task"]
                for n in range(2)]  # fmt: skip
        bad = await post("/api/tasks", {"title": "bad", "agent_name": "bad", "max_attempts": 2})
        slow = (await post("/api/tasks", {"title": "slow", "agent_name": "slow"}))["task"]
        ids = [t["id"] for t in good] + [bad["task"]["id"]]
        ended = ("completed", "failed")  # committed state: what REST answers from
        await until(node, lambda: all(node.committed_state.tasks[i]["status"] in ended
                                      for i in ids))  # fmt: skip
        await until(node, lambda: node.committed_state.tasks[slow["id"]]["status"] == "running")
        await post(f"/api/tasks/{slow['id']}/cancel")
        await until(node, lambda: node.committed_state.agents["slow"]["status"] == "idle")

        done = await get(f"/api/tasks/{good[0]['id']}")
        assert done["task"]["status"] == "completed" and done["task"]["progress_percent"] == 100
        assert [(r["status"], r["passed"], r["skipped"]) for r in done["test_runs"]] == [
            ("passed", 3, 1)
        ]
        (session,) = done["sessions"]
        detail = await get(f"/api/sessions/{session['id']}")
        assert [i["token_usage"]["cost_usd"] for i in detail["iterations"]] == [0.01, 0.005]
        assert detail["session"]["status"] == "completed"

        failed = (await get(f"/api/tasks/{bad['task']['id']}"))["task"]
        assert (failed["status"], failed["attempts"]) == ("failed", 2)
        assert failed["error_details"]["kind"] == "nonzero_exit"
        assert failed["error_details"]["seq"] is not None
        errors = (await get("/api/errors/summary"))["items"]
        assert [(e["kind"], e["count"]) for e in errors] == [("nonzero_exit", 1)]

        assert (await get(f"/api/tasks/{slow['id']}"))["task"]["status"] == "cancelled"
        # The spend is published every publish_interval_s: the last attempt's may still come.
        # /api/budget serves committed state, which can be a write behind the folded one.
        await until(node, lambda: (node.committed_state.budget or {}).get("spent_usd", 0) >= 0.0319)
        budget = (await get("/api/budget"))["budget"]
        assert budget["spent_usd"] == pytest.approx(0.032)
        assert budget["by_agent"] == pytest.approx({"good": 0.03, "bad": 0.002})
        agents = {a["id"]: a for a in (await get("/api/agents"))["items"]}
        assert {a["status"] for a in agents.values()} == {"idle"}
    assert node.state.agents["good"]["status"] == "offline"


# -- `harness run` as the user runs it: killed, then started again on the same store ------


def write_config(path: Path, scenario: str) -> None:
    command = ", ".join(f'"{word}"' for word in agent_command(scenario))
    path.write_text(
        f"[orchestrator]\npublish_interval_s = 0.1\nhealth_interval_s = 0.1\n\n"
        f"[agents.bot]\ncommand = [{command}]\n\n[retry]\nmax_attempts = 2\n"
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie awaiting its reaper does not count)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


class Harness:
    """A `harness` command in a subprocess; its URL comes from its first line."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.args = args
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self) -> str:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "parent_harness", *self.args,
                stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        match = re.search(rb"serving (http://\S+)", line)
        assert match, f"no URL in {line!r}: {self.log.read_text()[-2000:]}"
        self.url = match.group(1).decode()
        return self.url

    async def stop(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        return await asyncio.wait_for(self.proc.wait(), 30)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Callable[..., Harness]]:
    """Starts `harness` subprocesses; whatever a failed test leaves running is killed."""
    started: list[Harness] = []

    def make(*args: str) -> Harness:
        started.append(Harness(tmp_path / "harness.log", *args))
        return started[-1]

    yield make
    for run in started:
        if run.proc is not None and run.proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await run.stop(signal.SIGTERM)
            if run.proc.returncode is None:
                run.proc.kill()
                await run.proc.wait()


async def poll(http: aiohttp.ClientSession, path: str, ok: Callable[[Any], Any]) -> Any:
    """GET ``path`` until ``ok(body)``, for at most 20 s."""
    deadline = time.monotonic() + 20
    while True:
        async with http.get(path) as response:
            body = await response.json()
        if ok(body):
            return body
        assert time.monotonic() < deadline, f"timed out on {path}: {body}"
        await asyncio.sleep(0.1)


async def test_harness_run_killed_and_restarted_loses_no_task(
    tmp_path: Path, harness: Callable[..., Harness]
) -> None:
    config, store = tmp_path / "harness.toml", tmp_path / "harness.db"
    write_config(config, "hang")
    first = harness("run", "--config", str(config), "--port", "0", "--store", f"sqlite:///{store}")
    url = await first.start()
    async with aiohttp.ClientSession(url) as http:
        async with http.post("/api/tasks", json={"title": "survive a crash"}) as response:
            task_id = (await response.json())["task"]["id"]
        sessions = await poll(http, f"/api/sessions?task_id={task_id}",
                              lambda b: b["items"] and b["items"][0]["pid"])  # fmt: skip
    agent_pid = sessions["items"][0]["pid"]
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert alive(agent_pid)  # the orphan a killed orchestrator leaves behind
    try:
        await restart_and_finish(harness(*first.args), config, task_id, agent_pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(agent_pid, signal.SIGKILL)


async def restart_and_finish(second: Harness, config: Path, task_id: str, agent_pid: int) -> None:
    """Start again on the same store with an agent that succeeds; the task completes."""
    write_config(config, "success")
    url = await second.start()
    async with aiohttp.ClientSession(url) as http:
        body = await poll(http, f"/api/tasks/{task_id}",
                          lambda b: b["task"]["status"] == "completed")  # fmt: skip
        assert body["task"]["attempts"] == 1  # the interrupted attempt was given back
        assert [s["status"] for s in body["sessions"]] == ["completed", "failed"]
        async with http.get(
            "/api/events", params={"type": "task:updated", "q": "interrupted"}
        ) as r:
            updates = [m["payload"]["task"] for m in (await r.json())["items"]]
        requeued = [t for t in updates if t["status"] == "queued"]
        assert requeued and requeued[0]["error_details"]["kind"] == "interrupted"
    assert not alive(agent_pid)  # the restart killed it
    assert await second.stop(signal.SIGTERM) == 0


BUSY = ("working", "waiting_input")
"""An agent on a task: working, or waiting for an answer (the demo's agents ask now and then)."""


async def test_the_demo_shows_a_live_fleet(harness: Callable[..., Harness]) -> None:
    started = time.monotonic()
    demo = harness("demo", "--port", "0", "--speed", "0.2", "--every", "0.5")
    url = await demo.start()
    async with aiohttp.ClientSession(url) as http:
        snapshot = await poll(
            http, "/api/snapshot", lambda b: sum(a["status"] in BUSY for a in b["agents"]) >= 3
        )
        live_s = time.monotonic() - started
        assert {a["id"] for a in snapshot["agents"]} == {"claude-sim", "codex-sim", "aider-sim"}
        await poll(http, "/api/tasks?status=completed", lambda b: b["items"])
        done_s = time.monotonic() - started
        budget = await poll(http, "/api/budget", lambda b: (b["budget"] or {}).get("spent_usd"))
        assert budget["budget"]["burn_rate_usd_per_hour"] > 0
    assert await demo.stop(signal.SIGTERM) == 0
    print(f"demo: agents working after {live_s:.1f} s, first task done after {done_s:.1f} s")


async def test_harness_task_add(server: HubServer) -> None:
    add = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parent_harness", "task", "add", "Write the changelog",
        "--priority", "3", "--agent", "docs", "--max-attempts", "2", "--suite", "unit",
        "--url", server.url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await add.communicate()
    assert add.returncode == 0, out
    task_id = re.search(rb"queued (\S+): Write the changelog", out).group(1).decode()  # type: ignore[union-attr]
    task = server.node.state.tasks[task_id]
    assert (task["status"], task["priority"], task["agent_name"]) == ("queued", 3, "docs")
    assert (task["max_attempts"], task["test_suite"]) == (2, "unit")

    nowhere = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parent_harness", "task", "add", "x", "--url", "http://127.0.0.1:9",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await nowhere.communicate()
    assert nowhere.returncode == 1 and b"no hub at" in err


async def test_harness_run_killed_while_an_agent_waits_cancels_and_the_task_asks_again(
    tmp_path: Path, harness: Callable[..., Harness]
) -> None:
    """The agent's process does not survive its orchestrator: the request it left pending is
    cancelled at the restart, and the task's next attempt asks again (docs/approvals.md)."""
    config, store = tmp_path / "harness.toml", tmp_path / "harness.db"
    write_config(config, "ask Bash deploy")
    first = harness("run", "--config", str(config), "--port", "0", "--store", f"sqlite:///{store}")
    url = await first.start()
    pending = "/api/approvals?status=pending"
    async with aiohttp.ClientSession(url) as http:
        async with http.post("/api/tasks", json={"title": "deploy"}) as response:
            task_id = (await response.json())["task"]["id"]
        (old,) = (await poll(http, pending, lambda b: b["items"]))["items"]
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = harness(*first.args)
    url = await second.start()
    async with aiohttp.ClientSession(url) as http:
        body = await poll(http, f"/api/approvals/{old['id']}",
                          lambda b: b["approval"]["status"] != "pending")  # fmt: skip
        assert body["approval"]["status"] == "cancelled"
        assert "orchestrator restarted" in body["approval"]["answer"]
        (new,) = (await poll(http, pending, lambda b: b["items"]))["items"]
        assert new["task_id"] == task_id and new["session_id"] != old["session_id"]
        async with http.post(f"/api/approvals/{new['id']}/answer",
                             json={"decision": "allow"}) as response:  # fmt: skip
            assert response.status == 200, await response.text()
        await poll(http, f"/api/tasks/{task_id}", lambda b: b["task"]["status"] == "completed")
    assert await second.stop(signal.SIGTERM) == 0


async def test_the_demo_fills_the_inbox(harness: Callable[..., Harness]) -> None:
    """The sixth demo task asks the operator, the seventh is answered by the demo's rule."""
    demo = harness("demo", "--port", "0", "--speed", "0.1", "--every", "0.3")
    async with aiohttp.ClientSession(await demo.start()) as http:
        pending = await poll(http, "/api/approvals?status=pending", lambda b: b["items"])
        asked = pending["items"][0]
        assert (asked["tool"], asked["detail"]) == ("Bash", "rm -rf build/.cache")
        answer = {"decision": "allow", "via": "dashboard"}
        async with http.post(f"/api/approvals/{asked['id']}/answer", json=answer) as response:
            assert response.status == 200, await response.text()
        by_rule = await poll(http, "/api/approvals?status=answered",
                             lambda b: [a for a in b["items"] if a["via"] == "rule"])  # fmt: skip
        ruled = next(a for a in by_rule["items"] if a["via"] == "rule")
        assert (ruled["tool"], ruled["by"], ruled["decision"]) == ("Read", "rule:reads", "allow")
        heard = await poll(http, "/api/events?type=event&q=doing%20it", lambda b: b["items"])
        (told,) = [m["payload"]["event"] for m in heard["items"]
                   if m["payload"]["event"]["data"].get("task_id") == asked["task_id"]]  # fmt: skip
        assert told["message"] == "Delete the build cache: allow by dashboard; doing it"
    assert await demo.stop(signal.SIGTERM) == 0
