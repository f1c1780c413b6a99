"""An equal CPU cap per process: one control group each, with a CFS bandwidth quota.

Hubs that share one core each get the same fixed share of it, as if each had a smaller core
of its own: three hubs capped at a quarter of a core against one hub capped at a quarter is
the "a core per hub" comparison, scaled down to what a 2-core machine holds. Linux only, as
root: cgroup v2 (``cpu.max``) where its cpu controller is enabled, else cgroup v1
(``cpu.cfs_quota_us``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType

PERIOD_US = 10_000
"""A short period (10 ms) keeps a throttled hub's pauses short."""

V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")


def _root() -> Path | None:
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT
    return None


def unavailable() -> str | None:
    """Why processes cannot be capped here, or None when they can."""
    root = _root()
    if root is None:
        return "no cgroup cpu controller (cgroup v2 cpu.max or v1 cpu.cfs_quota_us) found"
    if not os.access(root, os.W_OK):
        return f"cannot create a control group under {root} (run as root)"
    return None


class CpuCap:
    """Caps each added process at ``share`` of one core until the cap is closed.

    Every process gets a group of its own (a quota is per group), named after it."""

    def __init__(self, name: str, share: float) -> None:
        root = _root()
        if root is None or not 0 < share <= 1:
            raise RuntimeError(unavailable() or f"a CPU share is in (0, 1], not {share}")
        self.root = root
        self.name = name
        self.share = share
        self.groups: list[Path] = []

    def add(self, label: str, pid: int) -> None:
        """Moves process ``pid`` (all its threads) into a capped group of its own."""
        group = self.root / f"{self.name}-{label}-{pid}"
        group.mkdir()
        self.groups.append(group)
        quota = round(self.share * PERIOD_US)
        if self.root == V2_ROOT:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))

    def close(self) -> None:
        """Moves every process back to the root group and removes the groups."""
        for group in self.groups:
            procs = group / "cgroup.procs"
            for pid in procs.read_text().split() if procs.exists() else []:
                with contextlib.suppress(ProcessLookupError):  # it has exited meanwhile
                    (self.root / "cgroup.procs").write_text(pid)
            group.rmdir()
        self.groups = []

    def __enter__(self) -> CpuCap:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
