"""Plans and dependencies on the hub's side: the events that create, change or re-arm
tasks with edges, computed from the hub's task state without I/O.

A plan is a set of tasks with their edges, applied in one step (`POST /api/plans`,
`harness plan apply`). Applying it is idempotent by task id: a task the hub does not know
is created (`task:created`, its first status from its parents: queued, blocked or
cancelled); a known one is updated with the fields the plan changes (`task:updated`),
and left alone when it changes none; then `plan:applied` says what the plan is. Applying
the same plan again publishes nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from parent_harness.graph import FINAL, Edge, Readiness, check, edges_of, items_of, readiness
from parent_harness.hub.ingest import Draft

Entity = Mapping[str, Any]
StatusOf = Callable[[str], str | None]

SETTLED = FINAL | {"assigned", "running", "testing"}
"""Statuses a change of edges does not move a task out of (it ran, or runs)."""


def new_task(task_id: str, fields: Mapping[str, Any], status_of: StatusOf) -> Draft:
    """`task:created` for a task with these fields (`depends_on` among them, valid and
    checked): queued, or blocked by its parents, or cancelled by one."""
    edges = edges_of(fields)
    ready = readiness(edges, status_of)
    entity = {
        "id": task_id,
        **fields,
        "depends_on": items_of(edges),
        "attempts": 0,
        **ready.fields(),
    }
    return Draft("task:created", {"task": entity})


def apply_plan(
    plan_id: str,
    plan_tasks: Sequence[Mapping[str, Any]],
    tasks: Mapping[str, Entity],
    *,
    max_parents: int,
) -> list[Draft]:
    """The events that make the hub's tasks what the plan says, `plan:applied` last; none
    when it says nothing new. Each task of `plan_tasks` holds the fields it sets (`id`,
    `title`...; `depends_on` absent meaning none). Raises GraphError, or ValueError for a
    task id given twice."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for task in plan_tasks:
        if task["id"] in by_id:
            raise ValueError(f"task {task['id']} is in the plan twice")
        by_id[task["id"]] = task
    changed = {task_id: edges_of(task) for task_id, task in by_id.items()}
    check(changed, lambda t: edges_of(tasks[t]) if t in tasks else None, max_parents=max_parents)

    statuses: dict[str, str | None] = {}
    status_of = _overlay(tasks, statuses)
    drafts: list[Draft] = []
    created: list[str] = []
    updated: list[str] = []
    for task_id in _parents_first(changed):
        task = by_id[task_id]
        fields = {k: v for k, v in task.items() if k != "id"}
        fields["depends_on"] = items_of(changed[task_id])
        fields["plan_id"] = plan_id
        current = tasks.get(task_id)
        if current is None:
            draft = new_task(task_id, fields, status_of)
            drafts.append(draft)
            created.append(task_id)
            statuses[task_id] = draft.payload["task"]["status"]
            continue
        diff = {k: v for k, v in fields.items() if _differs(current.get(k), v)}
        if "depends_on" in diff and current.get("status") not in SETTLED:
            ready = readiness(changed[task_id], status_of)
            diff.update(ready.fields())
        if diff:
            drafts.append(Draft("task:updated", {"task": {"id": task_id, **diff}}))
            updated.append(task_id)
        statuses[task_id] = diff.get("status", current.get("status"))
    if not drafts:
        return []
    edges = [
        {"parent": edge.parent, "child": child, "when": edge.when}
        for child, task_edges in changed.items()
        for edge in task_edges
    ]
    plan = {
        "id": plan_id,
        "task_ids": list(by_id),
        "edges": edges,
        "created": created,
        "updated": updated,
    }
    drafts.append(Draft("plan:applied", {"plan": plan}))
    return drafts


def rearm_dependents(task_id: str, tasks: Mapping[str, Entity]) -> list[Draft]:
    """`task:updated` for every task cancelled, directly or down a chain, because `task_id`
    failed: blocked again (its error cleared), to run when its parents allow. For a retry
    of `task_id` with its dependents."""
    children = children_index(tasks.values())
    statuses: dict[str, str | None] = {task_id: "queued"}
    status_of = _overlay(tasks, statuses)
    drafts = []
    todo = deque([task_id])
    while todo:
        parent = todo.popleft()
        for child in sorted(children.get(parent, ())):
            task = tasks[child]
            details = task.get("error_details") or {}
            if task.get("status") != "cancelled" or details.get("kind") != "dependency":
                continue
            if child in statuses:
                continue
            ready: Readiness = readiness(edges_of(task), status_of)
            fields = ready.fields()
            fields["error_details"] = None
            drafts.append(Draft("task:updated", {"task": {"id": child, **fields}}))
            statuses[child] = ready.status
            todo.append(child)
    return drafts


def children_index(tasks: Iterable[Entity]) -> dict[str, set[str]]:
    """Each parent's children, from the tasks' `depends_on`."""
    out: dict[str, set[str]] = {}
    for task in tasks:
        for edge in edges_of(task):
            out.setdefault(edge.parent, set()).add(str(task["id"]))
    return out


def _overlay(tasks: Mapping[str, Entity], statuses: Mapping[str, str | None]) -> StatusOf:
    """A task's status: as `statuses` says (what is being published), else as the hub's."""

    def status_of(task_id: str) -> str | None:
        if task_id in statuses:
            return statuses[task_id]
        task = tasks.get(task_id)
        return None if task is None else task.get("status")

    return status_of


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list) and not wanted:
        return bool(current)  # no edges: absent and [] say the same
    return bool(current != wanted)


def _parents_first(changed: Mapping[str, list[Edge]]) -> list[str]:
    """The plan's tasks, each after its parents in the plan (Kahn's order; the graph was
    checked for cycles); ties keep the plan's order."""
    pending = {t: sum(1 for e in edges if e.parent in changed) for t, edges in changed.items()}
    children: dict[str, list[str]] = {}
    for child, edges in changed.items():
        for edge in edges:
            if edge.parent in changed:
                children.setdefault(edge.parent, []).append(child)
    ready = deque(t for t, n in pending.items() if n == 0)
    order = []
    while ready:
        task_id = ready.popleft()
        order.append(task_id)
        for child in children.get(task_id, ()):
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    return order
