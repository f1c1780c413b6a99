"""Moves blocked tasks on when their parents end: queued when every edge holds, cancelled
(`error_details.kind = "dependency"`, naming the parent) when one never can, still blocked
(by fewer parents) otherwise. The rules are parent_harness/graph.py's.

The queue view tells which tasks wait on a parent that just ended; one worker checks them,
those noted together highest priority first (so they start in that order), and publishes
each change before it checks the next, so two parents ending at once cannot leave a child
blocked by a stale view. A cancelled child is
itself an ending: its own children are checked in turn, down the chain. At start every
blocked task is checked, so a parent that ended while the orchestrator was down is seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ..graph import FINAL, edges_of, readiness
from .publisher import FleetPublisher
from .queue import TaskQueue

log = logging.getLogger(__name__)


class DependencyScheduler:
    """Checks blocked tasks against their parents and publishes what changes."""

    def __init__(self, queue: TaskQueue, publisher: FleetPublisher) -> None:
        self._queue = queue
        self._publisher = publisher
        self._todo: dict[str, None] = {}
        self._wake = asyncio.Event()
        self.checked = 0
        """Tasks checked so far (for the benchmarks: the cost follows the children)."""

    def on_task(self, task: Mapping[str, Any]) -> None:
        """A task event was folded: note what it may move on."""
        status = task.get("status")
        if status in FINAL:
            self.note(self._queue.children_of(str(task["id"])))
        elif status == "blocked":
            self.note([str(task["id"])])

    def note(self, task_ids: Iterable[str]) -> None:
        """Tasks to check (each once, in the order noted)."""
        for task_id in task_ids:
            self._todo[task_id] = None
        if self._todo:
            self._wake.set()

    def note_all_blocked(self) -> None:
        self.note(self._queue.blocked())

    async def run(self) -> None:
        """The worker: checks noted tasks until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.drain()

    async def drain(self) -> None:
        """Checks every noted task, and those noted meanwhile, until none is left."""
        while self._todo:
            noted = sorted(self._todo, key=self._priority)  # released at once: by priority
            self._todo.clear()
            for task_id in noted:
                try:
                    await self.check(task_id)
                except Exception:  # one task's publish must not stop the others'
                    log.exception("could not move task %s on from its dependencies", task_id)

    async def check(self, task_id: str) -> None:
        """Publishes the task's new status if its parents changed it."""
        task = self._queue.get(task_id)
        self.checked += 1
        if task is None or task.get("status") != "blocked":
            return
        ready = readiness(edges_of(task), self._status)
        if ready.status == "blocked" and ready.blocked_by == (task.get("blocked_by") or []):
            return
        await self._publisher.task("updated", {"id": task_id, **ready.fields()})

    def _priority(self, task_id: str) -> int:
        """Higher first: tasks a parent releases together start in priority order."""
        task = self._queue.get(task_id) or {}
        priority = task.get("priority")
        return -int(priority) if isinstance(priority, int | float) else 0

    def _status(self, task_id: str) -> str | None:
        parent = self._queue.get(task_id)
        return None if parent is None else parent.get("status")
