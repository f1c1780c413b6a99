"""The TaskQueue: which task runs next, seen from the hub's task state.

The queue is persistent because it *is* the hub's task state: tasks are created,
assigned, requeued and finished by events, and the hub folds them into its
task_queue table. This class keeps an in-memory view of it, rebuilt from the
hub's state at start and kept current by the hub's listener, and picks the
next task: highest ``priority`` first, then oldest, skipping tasks whose
``not_before`` is in the future, tasks meant for another agent and tasks
already claimed by a running session.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..events.clock import read_iso
from ..graph import edges_of

RUNNABLE = frozenset({"pending", "queued"})
ACTIVE = frozenset({"assigned", "running", "testing"})
FINISHED = frozenset({"completed", "failed", "cancelled"})


class TaskQueue:
    """An in-memory, priority-ordered view of the hub's tasks."""

    def __init__(self) -> None:
        self._tasks: dict[str, Mapping[str, Any]] = {}
        self._runnable: set[str] = set()
        self._claimed: set[str] = set()
        self._arrival: dict[str, int] = {}
        self._counter = itertools.count()
        self._parents: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, set[str]] = {}
        self._blocked: set[str] = set()

    def rebuild(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Load every task the hub knows (at start, before any is claimed)."""
        for task in tasks:
            self.apply(task)

    def apply(self, task: Mapping[str, Any]) -> None:
        """Take in a task's current (merged) state, as carried by a task event."""
        task_id = str(task["id"])
        self._tasks[task_id] = task
        self._arrival.setdefault(task_id, next(self._counter))
        if task.get("status") in RUNNABLE:
            self._runnable.add(task_id)
        else:
            self._runnable.discard(task_id)
        if task.get("status") == "blocked":
            self._blocked.add(task_id)
        else:
            self._blocked.discard(task_id)
        parents = tuple(edge.parent for edge in edges_of(task))
        if parents != self._parents.get(task_id, ()):
            for parent in self._parents.pop(task_id, ()):
                self._children.get(parent, set()).discard(task_id)
            if parents:
                self._parents[task_id] = parents
                for parent in parents:
                    self._children.setdefault(parent, set()).add(task_id)

    def children_of(self, task_id: str) -> list[str]:
        """The tasks that depend on ``task_id``."""
        return sorted(self._children.get(task_id, ()))

    def blocked(self) -> list[str]:
        """The tasks waiting on their parents."""
        return sorted(self._blocked)

    def get(self, task_id: str) -> Mapping[str, Any] | None:
        """The task's last known state."""
        return self._tasks.get(task_id)

    def claim(self, task_id: str) -> None:
        """Mark a task as taken by a session, so it is not picked twice."""
        self._claimed.add(task_id)

    def release(self, task_id: str) -> None:
        """The session of a task ended; the task may be picked again if requeued."""
        self._claimed.discard(task_id)

    def is_claimed(self, task_id: str) -> bool:
        """Whether a running session holds the task."""
        return task_id in self._claimed

    def next_for(self, agent: str, now: datetime) -> Mapping[str, Any] | None:
        """The task ``agent`` should run next, or None when nothing is ready for it. A task
        that requires ``labels`` is left to the workers that carry them (issue 19): the
        agents of this process carry none."""
        ready = [
            t
            for t in self._ready(now)
            if t.get("agent_name") in (None, agent) and not t.get("labels")
        ]
        return min(ready, key=self._rank, default=None)

    def waiting_on(self, agents: Iterable[str], now: datetime) -> list[Mapping[str, Any]]:
        """Ready tasks that name an agent not in ``agents``: they would wait forever (a task
        with labels waits for a worker instead, and the hub says so on it)."""
        known = set(agents)
        return [
            t
            for t in self._ready(now)
            if t.get("agent_name") not in (None, *known) and not t.get("labels")
        ]

    def seconds_until_due(self, now: datetime) -> float | None:
        """Seconds until the earliest ``not_before`` of a waiting task, None when none waits."""
        due = [
            moment
            for task_id in self._runnable - self._claimed
            if (moment := read_iso(self._tasks[task_id].get("not_before"))) and moment > now
        ]
        return (min(due) - now).total_seconds() if due else None

    def active_unclaimed(self) -> list[Mapping[str, Any]]:
        """Tasks the hub shows as running that no session here holds (left by a restart)."""
        return [
            t
            for i, t in self._tasks.items()
            if t.get("status") in ACTIVE and i not in self._claimed
        ]

    def counts(self) -> dict[str, int]:
        """How many tasks are in each status."""
        return dict(Counter(str(t.get("status")) for t in self._tasks.values()))

    def _ready(self, now: datetime) -> list[Mapping[str, Any]]:
        ready = []
        for task_id in self._runnable - self._claimed:
            task = self._tasks[task_id]
            not_before = read_iso(task.get("not_before"))
            if not_before is None or not_before <= now:
                ready.append(task)
        return ready

    def _rank(self, task: Mapping[str, Any]) -> tuple[int, str, int]:
        priority = task.get("priority")
        order = -int(priority) if isinstance(priority, int | float) else 0
        return order, str(task.get("created_at") or ""), self._arrival[str(task["id"])]
