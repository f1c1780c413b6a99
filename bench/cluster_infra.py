"""The services the hubs of the cluster benchmark share: one PostgreSQL and one Redis.

Both run on the server core (``taskset -c 0``) with the hubs, so that everything the cluster
does runs on that core and the load core holds only the load. Both keep the durability the
deployment guide asks for: PostgreSQL with ``fsync`` and ``synchronous_commit`` on (the test
cluster of ``bench/postgres.py`` turns them off; it is restarted here with them on), Redis with its
append-only file (``appendfsync everysec``, Redis's default for it).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from bench.load import SERVER_CORE
from bench.postgres import SUPERUSER, ClusterUnavailable, PostgresCluster, find_bin, free_port
from bench.procstat import TICK_S, CpuTime, cpu_time
from bench.targets import stop_process

DURABLE_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on"
    " -c full_page_writes=on -c shared_buffers=128MB -c max_connections=100"
)
START_TIMEOUT_S = 10.0


class ServiceUnavailable(RuntimeError):
    """A binary the cluster benchmark needs is not installed."""


def taskset() -> str:
    """The absolute path of ``taskset`` (``runuser`` may not keep root's PATH)."""
    found = shutil.which("taskset")
    if found is None:
        raise ServiceUnavailable("taskset is not installed (util-linux)")
    return found


def process_cpu(pids: list[int]) -> CpuTime:
    """The CPU time of several processes together; ones that ended in between are left out."""
    user = system = 0.0
    for pid in pids:
        try:
            used = cpu_time(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        user, system = user + used.user, system + used.system
    return CpuTime(user, system)


def reaped_cpu_time(pid: int) -> CpuTime:
    """CPU used by the children ``pid`` has waited for (``cutime``, ``cstime``): the share of
    processes that ended, which :func:`process_cpu` no longer sees."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return CpuTime(int(fields[13]) * TICK_S, int(fields[14]) * TICK_S)


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (``/proc/PID/task/PID/children``)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


class Postgres(PostgresCluster):
    """A throwaway PostgreSQL (``bench/postgres.py``), durable and pinned to the server core."""

    def __init__(self) -> None:
        try:
            super().__init__()
        except ClusterUnavailable as error:
            raise ServiceUnavailable(str(error)) from None

    def start(self) -> None:
        """Creates the cluster, then restarts it with durable settings on the server core."""
        super().start()
        options = f"{DURABLE_OPTIONS} -c port={self.port} -c unix_socket_directories={self.root}"
        self._run(
            taskset(), "-c", SERVER_CORE, self.bin / "pg_ctl", "restart", "-D", self.data,
            "-l", self.log, "-o", options, "-m", "fast", "-w",
        )  # fmt: skip

    def postmaster(self) -> int:
        """The server's main process id (the first line of ``postmaster.pid``)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def cpu_time(self) -> CpuTime:
        """CPU used so far by the server and every process it runs (backends, WAL writer...)."""
        main = self.postmaster()
        live = process_cpu([main, *children_of(main)])
        ended = reaped_cpu_time(main)
        return CpuTime(live.user + ended.user, live.system + ended.system)


class Redis:
    """A throwaway redis-server on a free port, append-only, pinned to the server core."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        """Where the hubs find it."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The server's process id (``taskset`` execs it in place)."""
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Starts the server and waits until it answers PING."""
        self.process = await asyncio.create_subprocess_exec(
            taskset(), "-c", SERVER_CORE, self.binary, "--port", str(self.port),
            "--bind", "127.0.0.1", "--dir", str(self.folder), "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "", "--protected-mode", "no",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        async with asyncio.timeout(START_TIMEOUT_S):
            # Nothing announces that the server listens: ask it until it answers.
            while not await self._answers():  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    async def _answers(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            return (await reader.readline()).startswith(b"+PONG")
        finally:
            writer.close()

    def cpu_time(self) -> CpuTime:
        """CPU used so far by the server."""
        return cpu_time(self.pid)

    async def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s)."""
        await stop_process(self.process)


class Services:
    """PostgreSQL and Redis together: started, measured and stopped as one."""

    def __init__(self, folder: Path) -> None:
        self.postgres = Postgres()
        self.redis = Redis(folder)
        self.store_url = ""

    async def start(self) -> None:
        """Starts both and creates the hubs' database."""
        await asyncio.to_thread(self.postgres.start)
        await self.redis.start()
        self.store_url = await self.postgres.create_database()

    async def stop(self) -> None:
        """Stops both."""
        try:
            await self.redis.stop()
        finally:
            await asyncio.to_thread(self.postgres.stop)

    def cpu_times(self) -> dict[str, CpuTime]:
        """CPU used so far by each service."""
        return {"redis": self.redis.cpu_time(), "postgres": self.postgres.cpu_time()}


def versions() -> dict[str, str]:
    """The versions of redis-server and PostgreSQL, ``absent`` for one not installed."""
    found = {"redis-server": "absent", "postgresql": "absent"}
    redis = shutil.which("redis-server")
    if redis is not None:
        done = subprocess.run([redis, "--version"], capture_output=True, text=True, check=False)
        words = [w[2:] for w in done.stdout.split() if w.startswith("v=")]
        found["redis-server"] = words[0] if words else "unknown"
    try:
        postgres = find_bin() / "postgres"
    except ClusterUnavailable:
        return found
    done = subprocess.run([postgres, "--version"], capture_output=True, text=True, check=False)
    words = done.stdout.split()  # postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)
    found["postgresql"] = words[2] if len(words) > 2 else "unknown"
    return found


def missing() -> str | None:
    """What this machine lacks to run the cluster benchmark, or None when nothing."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    if shutil.which("taskset") is None:
        return "taskset is not installed (util-linux)"
    try:
        find_bin()
    except ClusterUnavailable as error:
        return str(error)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return f"running as root and there is no `{SUPERUSER}` user to run PostgreSQL"
    return None
