"""The task graph: dependencies between tasks, checked and resolved without I/O.

A task names its parents in `depends_on`; each item is a parent's id (the task runs when
that parent completes) or `{"id": ..., "when": "on_success" | "on_failure" | "always"}`.
A parent is done when its status is final (`completed`, `failed`, `cancelled`); an edge
holds when its parent is done the way it asks (`on_success`: completed; `on_failure`:
failed; `always`: any of the three). A task whose edges all hold is ready (`queued`); one
with a parent not done yet is `blocked` by the parents it waits for; one with an edge
that can no longer hold is `cancelled`, naming that parent.

The hub checks a new or changed task's edges (`check`: no unknown parent, no
self-dependency, no cycle, not too many parents) and gives a new task its first status
(`readiness`); the orchestrator moves a blocked task on when a parent finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

When = Literal["on_success", "on_failure", "always"]
WHEN: tuple[When, ...] = ("on_success", "on_failure", "always")
FINAL = frozenset({"completed", "failed", "cancelled"})
MAX_PARENTS = 100
"""Parents a task may name, unless configured otherwise."""


@dataclass(frozen=True, slots=True)
class Edge:
    """The task depends on `parent`, and runs when `parent` ends as `when` asks."""

    parent: str
    when: When = "on_success"

    def holds(self, status: str | None) -> bool | None:
        """True when it holds, False when it never can, None while the parent is not done."""
        if status not in FINAL:
            return None
        if self.when == "always":
            return True
        return status == ("completed" if self.when == "on_success" else "failed")

    def as_item(self) -> str | dict[str, str]:
        """The item of `depends_on` that says this edge (a bare id for `on_success`)."""
        return self.parent if self.when == "on_success" else {"id": self.parent, "when": self.when}


def edges_of(task: Mapping[str, Any]) -> list[Edge]:
    """A task's edges, from its `depends_on` (valid, as the catalogue checked it)."""
    out = []
    for item in task.get("depends_on") or ():
        if isinstance(item, str):
            out.append(Edge(item))
        else:
            out.append(Edge(str(item["id"]), item.get("when") or "on_success"))
    return out


def items_of(edges: Iterable[Edge]) -> list[str | dict[str, str]]:
    """`depends_on` as it is published: one item per parent."""
    return [edge.as_item() for edge in edges]


@dataclass(frozen=True, slots=True)
class Readiness:
    """Where a task stands given its parents."""

    status: Literal["queued", "blocked", "cancelled"]
    blocked_by: list[str]
    """The parents it waits for (blocked)."""
    parent: str | None = None
    """The parent whose end makes it impossible (cancelled)."""
    parent_status: str | None = None

    def fields(self) -> dict[str, Any]:
        """The task fields that say it (the `task:updated` a change publishes)."""
        out: dict[str, Any] = {"status": self.status, "blocked_by": self.blocked_by}
        if self.status == "cancelled":
            out["error_details"] = {
                "kind": "dependency",
                "message": f"its parent {self.parent} ended {self.parent_status}, "
                "so the condition of its dependency can no longer hold",
                "suggestions": [
                    f"retry {self.parent} with its dependents "
                    f"(POST /api/tasks/{self.parent}/retry?with_dependents=true)"
                ],
            }
        return out


def readiness(edges: Iterable[Edge], status_of: Callable[[str], str | None]) -> Readiness:
    """Ready, blocked (by which parents) or cancelled (by which one), from the parents'
    statuses."""
    waiting = []
    for edge in edges:
        status = status_of(edge.parent)
        holds = edge.holds(status)
        if holds is False:
            return Readiness("cancelled", [], edge.parent, status)
        if holds is None:
            waiting.append(edge.parent)
    return Readiness("blocked" if waiting else "queued", waiting)


class GraphError(ValueError):
    """Edges the hub refuses: `code` says why, `tasks` names the tasks at fault."""

    def __init__(self, code: str, message: str, tasks: list[str]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tasks = tasks


def check(
    changed: Mapping[str, list[Edge]],
    parents_of: Callable[[str], list[Edge] | None],
    *,
    max_parents: int = MAX_PARENTS,
) -> None:
    """Refuses the new edges of the tasks in `changed` (task id: its edges, replacing any it
    had): a self-dependency, a parent named twice, more than `max_parents`, a parent that is
    neither in `changed` nor known (`parents_of` gives None for an unknown task), or a cycle
    (its tasks named in order). Raises GraphError."""
    for task_id, edges in changed.items():
        parents = [edge.parent for edge in edges]
        if task_id in parents:
            raise GraphError("self_dependency", f"task {task_id} depends on itself", [task_id])
        if len(parents) > max_parents:
            raise GraphError(
                "too_many_parents",
                f"task {task_id} names {len(parents)} parents; at most {max_parents}",
                [task_id],
            )
        twice = sorted({p for p in parents if parents.count(p) > 1})
        if twice:
            raise GraphError(
                "duplicate_parent", f"task {task_id} names {twice[0]} more than once", [task_id]
            )
        for parent in parents:
            if parent not in changed and parents_of(parent) is None:
                raise GraphError(
                    "unknown_parent", f"task {task_id} depends on {parent}: no such task", [parent]
                )
    cycle = _cycle(changed, parents_of)
    if cycle:
        path = " -> ".join([*cycle, cycle[0]])
        message = f"these tasks depend on each other in a cycle: {path} (each on the next)"
        raise GraphError("cycle", message, cycle)


def _cycle(
    changed: Mapping[str, list[Edge]], parents_of: Callable[[str], list[Edge] | None]
) -> list[str] | None:
    """A cycle through a changed task, each depending on the next, or None. Iterative depth-first
    search from the changed tasks along parent edges; tasks reached and cleared are not
    visited again, so the cost is that of the part of the graph above the changed tasks."""

    def parents(task_id: str) -> list[str]:
        edges = changed[task_id] if task_id in changed else parents_of(task_id)
        return [edge.parent for edge in edges or ()]

    done: set[str] = set()
    for root in changed:
        if root in done:
            continue
        on_path: dict[str, int] = {root: 0}
        path = [root]
        stack = [iter(parents(root))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                cleared = path.pop()
                del on_path[cleared]
                done.add(cleared)
                continue
            if nxt in on_path:
                return path[on_path[nxt] :]
            if nxt in done:
                continue
            on_path[nxt] = len(path)
            path.append(nxt)
            stack.append(iter(parents(nxt)))
    return None
