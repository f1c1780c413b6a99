"""The servers under test, how each is started (pinned to the server core) and how each is fed.

Every server is fed by the controller on the load core with one small HTTP request per batch
of events, stamped with the controller's clock: the hub through its public ``POST /api/events``
(or, in-process, a bench route calling ``hub.publish``); the peers through ``POST /bench/publish``
on which they make and broadcast the events themselves.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from bench.load import PEERS_PYTHON, ROOT, SERVER_CORE

MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"
HARNESS = ROOT / ".venv" / "bin" / "harness"
URL = re.compile(r"http://127\.0\.0\.1:(\d+)")
START_TIMEOUT_S = 60


async def stop_process(process: asyncio.subprocess.Process | None) -> None:
    """Stops a server process: SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


@dataclass(frozen=True)
class Target:
    """One server under test."""

    name: str
    label: str
    command: tuple[str, ...]
    ws_path: str
    publish: Literal["ingest", "control"]
    kind: Literal["ws", "sio"] = "ws"
    env: dict[str, str] = field(default_factory=dict)
    store: bool = False
    ingest: bool = False

    def argv(self, workdir: Path) -> list[str]:
        """The command line, with the SQLite file put in ``workdir``."""
        database = workdir / f"{self.name}.db"
        return [part.replace("{db}", str(database)) for part in self.command]


HUB = Target(
    name="hub",
    label="hub (`harness serve`, SQLite, POST /api/events)",
    command=(str(HARNESS), "serve", "--port", "0", "--store", "sqlite:///{db}"),
    ws_path="/ws?monitor=events",
    publish="ingest",
    store=True,
    ingest=True,
)
HUB_IN_PROCESS = Target(
    name="hub-inproc",
    label="hub, in-process publisher (SQLite, `hub.publish`)",
    command=(str(MAIN_PYTHON), "-m", "bench.servers.hub_inproc", "--store", "sqlite:///{db}"),
    ws_path="/ws?monitor=events",
    publish="control",
    store=True,
    ingest=True,
)
FLOOR = Target(
    name="floor",
    label="floor: bare aiohttp broadcast loop",
    command=(str(MAIN_PYTHON), "-m", "bench.servers.floor"),
    ws_path="/ws",
    publish="control",
)
SOCKETIO = Target(
    name="socketio",
    label="python-socketio on uvicorn",
    command=(str(PEERS_PYTHON), "-m", "bench.servers.sio_server"),
    ws_path="/socket.io/?EIO=4&transport=websocket",
    publish="control",
    kind="sio",
)
NODE_WS = Target(
    name="node-ws",
    label="Node `ws`",
    command=("node", str(ROOT / "bench" / "servers" / "ws_server.js")),
    ws_path="/ws",
    publish="control",
    env={"NODE_PATH": str(ROOT / "bench" / ".peers" / "node_modules")},
)
TARGETS = (HUB, HUB_IN_PROCESS, FLOOR, SOCKETIO, NODE_WS)


class ServerProcess:
    """A running server under test, pinned to the server core (``taskset -c 0``)."""

    def __init__(self, target: Target, workdir: Path) -> None:
        self.target = target
        self.workdir = workdir
        self.log_path = workdir / f"{target.name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    @property
    def pid(self) -> int:
        """The server's process id (``taskset`` execs the server in place)."""
        assert self.process is not None
        return self.process.pid

    @property
    def ws_url(self) -> str:
        """Where clients connect."""
        return self.base_url.replace("http://", "ws://") + self.target.ws_path

    async def start(self) -> None:
        """Starts the server and waits for the URL it prints."""
        # PYTHONPATH=<other src> runs another copy of the product, to compare before and after
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
        env = {**os.environ, "PYTHONPATH": path, **self.target.env}
        env.pop("VIRTUAL_ENV", None)
        log = open_log(self.log_path)
        try:
            self.process = await asyncio.create_subprocess_exec(
                "taskset", "-c", SERVER_CORE, *self.target.argv(self.workdir),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=self.workdir,
            )  # fmt: skip
        finally:
            log.close()
        self.base_url = await self._printed_url()

    async def _printed_url(self) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while loop.time() < deadline:
            match = URL.search(self.log_tail(lines=0))
            if match:
                return match.group(0)
            assert self.process is not None
            if self.process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.target.name} did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's output (all of it with ``lines=0``), to explain a failure."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s)."""
        await stop_process(self.process)


def open_log(path: Path) -> BinaryIO:
    """The file a server's output goes to."""
    return open(path, "wb")
