"""`harness worker` as real processes against `harness serve` (issue 19): three workers,
one labelled, run every task exactly once, labels respected; a worker SIGKILLed mid-task
loses its lease and the task runs again elsewhere, once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import HubProcess

AGENT = Path(__file__).with_name("agent.py")
ADMIN = {"Authorization": "Bearer admin"}
WORKER_TOKEN = "worker-secret"


class WorkerProcess:
    """`harness worker` in a subprocess; its log goes to a file for a failing test."""

    def __init__(self, tmp: Path, hub: str, name: str, *labels: str) -> None:
        self.tmp, self.hub, self.name, self.labels = tmp, hub, name, labels
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = [f"--label={label}" for label in self.labels]
        with (self.tmp / f"{self.name}.log").open("ab") as log:
            self.proc = await self._spawn(args, log)

    async def _spawn(self, args: list[str], log: Any) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "parent_harness",
            "worker",
            "--hub",
            self.hub,
            "--token",
            WORKER_TOKEN,
            "--config",
            str(self.tmp / "worker.toml"),
            "--name",
            self.name,
            *args,
            cwd=self.tmp,
            stdout=log,
            stderr=log,
        )

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()


def write_config(tmp: Path) -> Path:
    runs = tmp / "runs.txt"
    command = f'["{sys.executable}", "{AGENT}", "{runs}"]'
    (tmp / "worker.toml").write_text(
        f"[agents.sim]\ncommand = {command}\nmax_instances = 2\n\n"
        "[orchestrator]\npublish_interval_s = 0.2\n",
        encoding="utf-8",
    )
    return runs


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    process = HubProcess(
        tmp_path / "hub.db",
        "--token",
        "admin",
        "--worker-token",
        WORKER_TOKEN,
        "--lease-s",
        "2",
    )
    url = await process.start()
    async with aiohttp.ClientSession(headers=ADMIN) as session:
        yield url, session
    await process.terminate()


async def add_task(session: aiohttp.ClientSession, url: str, task_id: str, **more: Any) -> None:
    body = {"id": task_id, "title": task_id, **more}
    async with session.post(f"{url}/api/tasks", json=body) as resp:
        assert resp.status == 201, await resp.text()


async def tasks_of(session: aiohttp.ClientSession, url: str) -> dict[str, dict[str, Any]]:
    async with session.get(f"{url}/api/tasks?limit=1000") as resp:
        body = await resp.json()
    return {task["id"]: task for task in body["items"]}


async def until(
    session: aiohttp.ClientSession,
    url: str,
    done: Callable[[dict[str, dict[str, Any]]], bool],
    timeout: float = 60.0,
) -> dict[str, dict[str, Any]]:
    """Polls the hub's tasks until `done` holds (the test's only way to watch them)."""
    async with asyncio.timeout(timeout):
        while not done(tasks := await tasks_of(session, url)):
            await asyncio.sleep(0.1)
    return tasks


def runs_in(path: Path) -> list[tuple[str, str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [tuple(line.split()) for line in lines]  # type: ignore[misc]


async def test_three_workers_run_every_task_once_with_labels_respected(
    tmp_path: Path, hub: tuple[str, aiohttp.ClientSession]
) -> None:
    url, session = hub
    runs = write_config(tmp_path)
    workers = [
        WorkerProcess(tmp_path, url, "w1"),
        WorkerProcess(tmp_path, url, "w2"),
        WorkerProcess(tmp_path, url, "gpu1", "gpu"),
    ]
    for worker in workers:
        await worker.start()
    try:
        for i in range(12):
            await add_task(session, url, f"t{i}", labels=["gpu"] if i % 6 == 0 else None)
        tasks = await until(
            session,
            url,
            lambda ts: len(ts) == 12 and all(t["status"] == "completed" for t in ts.values()),
        )
    finally:
        for worker in workers:
            await worker.stop()
    counted = Counter(task_id for task_id, _, _ in runs_in(runs))
    assert counted == Counter({f"t{i}": 1 for i in range(12)})
    for task_id, _, agent in runs_in(runs):
        assert tasks[task_id]["agent_id"] == agent
        if int(task_id[1:]) % 6 == 0:
            assert agent == "sim@gpu1" and tasks[task_id]["worker_id"] == "gpu1"
    async with session.get(f"{url}/api/workers") as resp:
        listed = {w["id"]: w for w in (await resp.json())["items"]}
    assert set(listed) == {"w1", "w2", "gpu1"}
    assert listed["gpu1"]["labels"] == ["gpu"]


async def test_a_killed_worker_loses_its_task_to_another_once(
    tmp_path: Path, hub: tuple[str, aiohttp.ClientSession]
) -> None:
    url, session = hub
    runs = write_config(tmp_path)
    first = WorkerProcess(tmp_path, url, "w1")
    await first.start()
    second = WorkerProcess(tmp_path, url, "w2")
    try:
        await add_task(session, url, "long", description="hang-first")
        await until(session, url, lambda ts: ts["long"]["status"] == "running")
        await first.kill()
        await second.start()
        tasks = await until(session, url, lambda ts: ts["long"]["status"] == "completed")
    finally:
        await first.stop()
        await second.stop()
    # the interrupted attempt is given back (retry.on_interrupted = requeue): attempt 1 again
    assert runs_in(runs) == [("long", "1", "sim@w1"), ("long", "1", "sim@w2")]
    assert tasks["long"]["worker_id"] == "w2"
    assert tasks["long"]["error_details"] is None
    async with session.get(f"{url}/api/events?type=task:completed&limit=100") as resp:
        completed = [e for e in (await resp.json())["items"]]
    assert len(completed) == 1
    async with session.get(f"{url}/api/workers") as resp:
        listed = {w["id"]: w for w in (await resp.json())["items"]}
    assert listed["w1"]["status"] == "offline"


async def test_a_cancel_stops_the_run_on_the_worker_holding_it(
    tmp_path: Path, hub: tuple[str, aiohttp.ClientSession]
) -> None:
    url, session = hub
    runs = write_config(tmp_path)
    worker = WorkerProcess(tmp_path, url, "w1")
    await worker.start()
    try:
        await add_task(session, url, "long", description="hang-first")
        async with asyncio.timeout(30):  # the agent is running
            while not runs_in(runs):
                await asyncio.sleep(0.05)
        async with session.post(f"{url}/api/tasks/long/cancel", json={}) as resp:
            assert resp.status == 200
        async with session.get(f"{url}/api/tasks/long") as resp:
            session_id = (await resp.json())["task"]["session_id"]

        async def ended() -> bool:
            async with session.get(f"{url}/api/sessions/{session_id}") as resp:
                return bool((await resp.json())["session"]["status"] == "killed")

        async with asyncio.timeout(30):
            while not await ended():
                await asyncio.sleep(0.1)
        tasks = await tasks_of(session, url)
    finally:
        await worker.stop()
    assert tasks["long"]["status"] == "cancelled"
    assert runs_in(runs) == [("long", "1", "sim@w1")]
