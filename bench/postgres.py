"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp folder, 127.0.0.1,
trust auth.

The server refuses to run as root, so under root every binary runs as the `postgres`
user (through `runuser`), in a folder that user owns. The cluster trades durability
for speed (fsync off): it only lives for one test session (the cluster benchmark restarts
it durable, bench/cluster_infra.py). It lives under bench/ because the tests may import
the benchmarks, never the other way round.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    " -c full_page_writes=off -c shared_buffers=32MB -c max_connections=60"
)


class ClusterUnavailable(Exception):
    """PostgreSQL cannot run here (binaries or the `postgres` user missing)."""


def find_bin() -> Path:
    """The newest `.../bin` under /usr/lib/postgresql holding initdb and pg_ctl."""
    found = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ClusterUnavailable(
            f"no PostgreSQL binaries under {PG_ROOT}/*/bin: install the Debian package postgresql"
        )
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One PostgreSQL server of our own; `start()`, then `create_database()`, then `stop()`."""

    def __init__(self) -> None:
        self.bin = find_bin()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            try:
                self.owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise ClusterUnavailable(
                    "running as root and there is no `postgres` user"
                ) from None
        # Under root the server runs as `postgres`, which must reach the folder: /tmp, not
        # a TMPDIR that may sit in root's home.
        parent = "/tmp" if self.as_postgres else None
        self.root = Path(tempfile.mkdtemp(prefix="harness-pg-", dir=parent))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def _run(self, *args: str | Path) -> None:
        command: Sequence[str | Path] = args
        if self.as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *args]
        done = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}\n{log[-2000:]}"
            )

    def start(self) -> None:
        if self.as_postgres:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        )
        options = f"{_SERVER_OPTIONS} -c port={self.port} -c unix_socket_directories={self.root}"
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new, empty database with a unique name; returns its store URL."""
        import asyncpg  # type: ignore[import-untyped]

        name = f"harness_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)
