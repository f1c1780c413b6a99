"""What the benchmark ran on: date, cores, CPU, kernel, and every component's version."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from bench.load import PEERS_PYTHON, ROOT

MAIN_PACKAGES = ("parent-harness", "aiohttp", "uvloop", "orjson", "SQLAlchemy", "aiosqlite")
PEER_PACKAGES = ("python-socketio", "python-engineio", "uvicorn", "websockets", "picows")


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _peer_versions() -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; "
        f"print(json.dumps({{n: m.version(n) for n in {list(PEER_PACKAGES)!r}}}))"
    )
    try:
        out = subprocess.run([str(PEERS_PYTHON), "-c", script], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {name: "absent" for name in PEER_PACKAGES}
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def _node_versions() -> dict[str, str]:
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
        package = ROOT / "bench" / ".peers" / "node_modules" / "ws" / "package.json"
        ws = json.loads(package.read_text())["version"]
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {"node": "absent", "ws": "absent"}
    return {"node": node.stdout.strip().lstrip("v"), "ws": ws}


def _commit() -> str:
    """The repository's commit, with ``+changes`` when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{'+changes' if status else ''}"


def describe() -> dict[str, Any]:
    """The date, the machine and the versions, for the results' header."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": _commit(),
        "versions": {
            **{name: _version(name) for name in MAIN_PACKAGES},
            **_peer_versions(),
            **_node_versions(),
        },
        "pinning": "servers: taskset -c 0; drivers and controller: taskset -c 1",
        "load_average": os.getloadavg(),
    }
