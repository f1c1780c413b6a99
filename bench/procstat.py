"""What a process has used, read from ``/proc`` (Linux): CPU time and resident memory."""

from __future__ import annotations

import os
from dataclasses import dataclass

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class CpuTime:
    """User and system CPU seconds a process has used so far."""

    user: float
    system: float

    @property
    def total(self) -> float:
        """User plus system seconds."""
        return self.user + self.system

    def __sub__(self, other: CpuTime) -> CpuTime:
        return CpuTime(self.user - other.user, self.system - other.system)


def cpu_time(pid: int) -> CpuTime:
    """The CPU time process ``pid`` has used (``utime`` and ``stime`` of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return CpuTime(int(fields[11]) * TICK_S, int(fields[12]) * TICK_S)


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` in bytes (/proc/PID/statm)."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def own_cpu_time() -> CpuTime:
    """The CPU time this process has used."""
    times = os.times()
    return CpuTime(times.user, times.system)


def cores_busy_seconds() -> list[float]:
    """Seconds each core has spent busy (any process, user or kernel), from /proc/stat."""
    busy = []
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            ticks = [int(v) for v in values]
            idle = ticks[3] + ticks[4]
            busy.append((sum(ticks[:8]) - idle) * TICK_S)
    return busy
