"""The load side as the controller sees it: a pool of driver processes on the load core.

The pool splits clients across its drivers, sends them commands, and reads their progress from
the shared counter file without asking (see :mod:`bench.driver`).
"""

from __future__ import annotations

import asyncio
import mmap
import os
from array import array
from pathlib import Path
from typing import Any

import orjson

from bench.procstat import CpuTime, cpu_time
from bench.slots import EVENTS, FEWEST, FRAMES, READY, SLOT_WIDTH

ROOT = Path(__file__).resolve().parent.parent
PEERS_PYTHON = ROOT / "bench" / ".peers" / "venv" / "bin" / "python"
LOAD_CORE = "1"
SERVER_CORE = "0"


def create_slots(path: Path, rows: int) -> memoryview:
    """A zeroed shared counter file of ``rows`` driver rows, mapped as int64s."""
    path.write_bytes(bytes(8 * SLOT_WIDTH * rows))
    with open(path, "r+b") as file:
        return memoryview(mmap.mmap(file.fileno(), 0)).cast("q")


def read_samples(path: Path, count: int) -> tuple[array[int], array[int]]:
    """The ``count`` int64 latencies a driver wrote to ``path``, and their publish times."""
    latencies: array[int] = array("q")
    published: array[int] = array("q")
    with open(path, "rb") as file:
        latencies.fromfile(file, count)
        published.fromfile(file, count)
    return latencies, published


class DriverError(RuntimeError):
    """A driver could not do what it was told (its answer says why)."""


class DriverProcess:
    """One driver process and its command pipe."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        """The driver's process id."""
        return self.process.pid

    async def ask(self, command: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        """Sends one command and returns the driver's answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        async with self.lock:
            self.process.stdin.write(orjson.dumps(command) + b"\n")
            await self.process.stdin.drain()
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise DriverError(f"driver {self.pid} ended while asked {command['cmd']}")
        answer: dict[str, Any] = orjson.loads(line)
        if "error" in answer:
            raise DriverError(f"driver {self.pid}: {answer['error']}")
        return answer


class DriverPool:
    """Several driver processes pinned to the load core, seen as one set of clients."""

    def __init__(self, workdir: Path, size: int) -> None:
        self.workdir = workdir
        self.size = size
        self.drivers: list[DriverProcess] = []
        self.slots_path = workdir / "driver-slots.bin"
        self.slots: memoryview | None = None

    async def start(self) -> None:
        """Starts the driver processes (``taskset -c 1``, the benchmark's own venv)."""
        self.slots = create_slots(self.slots_path, self.size)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for index in range(self.size):
            process = await asyncio.create_subprocess_exec(
                "taskset", "-c", LOAD_CORE, str(PEERS_PYTHON), "-m", "bench.driver",
                "--slots", str(self.slots_path), "--index", str(index),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
                cwd=ROOT,
            )  # fmt: skip
            self.drivers.append(DriverProcess(process))

    async def stop(self) -> None:
        """Ends every driver."""
        for driver in self.drivers:
            assert driver.process.stdin is not None
            if driver.process.returncode is None and not driver.process.stdin.is_closing():
                driver.process.stdin.write(b'{"cmd":"exit"}\n')
                driver.process.stdin.close()
        for driver in self.drivers:
            try:
                await asyncio.wait_for(driver.process.wait(), 10)
            except TimeoutError:
                driver.process.kill()
                await driver.process.wait()
        self.drivers = []

    async def everyone(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Sends the same command to every driver."""
        return await asyncio.gather(*(d.ask(command) for d in self.drivers))

    async def connect(self, url: str, clients: int, kind: str) -> float:
        """Opens ``clients`` clients spread over the drivers; returns the seconds it took."""
        share, extra = divmod(clients, self.size)
        counts = [share + (1 if i < extra else 0) for i in range(self.size)]
        answers = await asyncio.gather(
            *(
                d.ask({"cmd": "connect", "url": url, "n": n, "kind": kind})
                for d, n in zip(self.drivers, counts, strict=True)
                if n
            )
        )
        return max(float(a["seconds"]) for a in answers)

    async def close(self) -> None:
        """Closes every client."""
        await self.everyone({"cmd": "close"})

    def _column(self, column: int) -> list[int]:
        assert self.slots is not None
        return [self.slots[i * SLOT_WIDTH + column] for i in range(self.size)]

    def events(self) -> int:
        """Events received so far by all clients together."""
        return sum(self._column(EVENTS))

    def frames(self) -> int:
        """Frames received so far by all clients together."""
        return sum(self._column(FRAMES))

    def ready(self) -> int:
        """Clients the servers have greeted."""
        return sum(self._column(READY))

    def fewest(self) -> int:
        """The fewest events any reading client has received (stalled ones left out)."""
        active = [f for f, r in zip(self._column(FEWEST), self._column(READY), strict=True) if r]
        return min(active, default=0)

    async def sampling(self, on: bool) -> None:
        """Starts or stops latency sampling in every driver."""
        await self.everyone({"cmd": "sample", "on": on})

    async def latencies(self) -> tuple[array[int], array[int]]:
        """Collects and clears the latencies (ns) every driver sampled, and when each event
        was published (ns, the publisher's clock), in the same order."""
        merged: array[int] = array("q")
        stamps: array[int] = array("q")
        for index, driver in enumerate(self.drivers):
            path = self.workdir / f"latencies-{index}.bin"
            answer = await driver.ask({"cmd": "dump", "path": str(path)})
            latencies, published = read_samples(path, int(answer["count"]))
            merged.extend(latencies)
            stamps.extend(published)
        return merged, stamps

    async def stall(self, clients: int) -> None:
        """Makes ``clients`` clients of the first driver stop reading."""
        await self.drivers[0].ask({"cmd": "stall", "n": clients})

    async def report(self) -> dict[str, Any]:
        """Open clients and the close codes seen, over all drivers."""
        answers = await self.everyone({"cmd": "report"})
        codes: dict[str, int] = {}
        for answer in answers:
            for code, count in answer["close_codes"].items():
                codes[code] = codes.get(code, 0) + int(count)
        stalled = [int(n) for a in answers for n in a["stalled_events"]]
        return {
            "open": sum(int(a["open"]) for a in answers),
            "close_codes": codes,
            "stalled_events": stalled,
        }

    def cpu_time(self) -> CpuTime:
        """CPU time used by all drivers so far."""
        times = [cpu_time(d.pid) for d in self.drivers]
        return CpuTime(sum(t.user for t in times), sum(t.system for t in times))
