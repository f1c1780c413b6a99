"""The task graph's rules without I/O: when an edge holds, what a task's parents make of
it, and which edges are refused (with the tasks at fault named)."""

from __future__ import annotations

import pytest

from parent_harness.graph import Edge, GraphError, check, edges_of, readiness
from parent_harness.hub.plans import apply_plan, rearm_dependents


@pytest.mark.parametrize(
    ("when", "status", "holds"),
    [
        ("on_success", "completed", True),
        ("on_success", "failed", False),
        ("on_success", "cancelled", False),
        ("on_success", "running", None),
        ("on_failure", "failed", True),
        ("on_failure", "completed", False),
        ("on_failure", "cancelled", False),
        ("always", "completed", True),
        ("always", "failed", True),
        ("always", "cancelled", True),
        ("always", "blocked", None),
        ("always", None, None),
    ],
)
def test_an_edge_holds_when_its_parent_ends_as_it_asks(
    when: str, status: str | None, holds: bool | None
) -> None:
    assert Edge("p", when).holds(status) is holds  # type: ignore[arg-type]


def test_readiness_is_queued_blocked_or_cancelled_naming_the_parents() -> None:
    statuses = {"a": "completed", "b": "running", "c": "failed", "d": "queued"}
    edges = [Edge("a"), Edge("b"), Edge("d")]
    blocked = readiness(edges, statuses.get)
    assert (blocked.status, blocked.blocked_by) == ("blocked", ["b", "d"])
    cancelled = readiness([Edge("a"), Edge("c"), Edge("b")], statuses.get)
    assert (cancelled.status, cancelled.parent) == ("cancelled", "c")
    fields = cancelled.fields()
    assert fields["error_details"]["kind"] == "dependency"
    assert "c ended failed" in fields["error_details"]["message"]
    assert readiness([Edge("a"), Edge("c", "on_failure")], statuses.get).status == "queued"
    assert readiness([], statuses.get).status == "queued"


def test_depends_on_items_are_ids_or_edges_with_a_condition() -> None:
    task = {"depends_on": ["a", {"id": "b", "when": "always"}, {"id": "c"}]}
    assert edges_of(task) == [Edge("a"), Edge("b", "always"), Edge("c")]
    assert edges_of({}) == [] == edges_of({"depends_on": None})


def known(*ids: str, **edges: list[str]) -> dict[str, list[Edge]]:
    graph = {i: [] for i in ids}
    graph.update({child: [Edge(p) for p in parents] for child, parents in edges.items()})
    return graph


@pytest.mark.parametrize(
    ("changed", "code", "tasks"),
    [
        ({"x": [Edge("x")]}, "self_dependency", ["x"]),
        ({"x": [Edge("nope")]}, "unknown_parent", ["nope"]),
        ({"x": [Edge("a"), Edge("a", "always")]}, "duplicate_parent", ["x"]),
        ({"x": [Edge(f"t{n}") for n in range(4)]}, "too_many_parents", ["x"]),
        ({"a": [Edge("c")]}, "cycle", ["a", "c", "b"]),
        ({"p": [Edge("q")], "q": [Edge("r")], "r": [Edge("p")]}, "cycle", ["p", "q", "r"]),
    ],
)
def test_edges_that_cannot_run_are_refused_naming_the_tasks(
    changed: dict[str, list[Edge]], code: str, tasks: list[str]
) -> None:
    graph = known("a", "t0", "t1", "t2", "t3", b=["a"], c=["b"])
    with pytest.raises(GraphError) as refused:
        check(changed, graph.get, max_parents=3)
    assert (refused.value.code, refused.value.tasks) == (code, tasks)
    for name in tasks:
        assert name in refused.value.message


def test_a_long_chain_and_a_wide_fan_in_are_accepted() -> None:
    chain = {f"t{n}": [Edge(f"t{n - 1}")] if n else [] for n in range(5000)}
    check(chain, lambda t: None)
    fan_in = {"join": [Edge(f"leaf{n}") for n in range(100)]}
    check(fan_in, {f"leaf{n}": [] for n in range(100)}.get)


def plan_task(ident: str, *parents: str, **fields: object) -> dict[str, object]:
    return {"id": ident, "title": ident, "depends_on": list(parents), **fields}


def folded(drafts: list) -> dict[str, dict]:  # type: ignore[type-arg]
    """The tasks as the hub would hold them after the drafts (a shallow merge)."""
    tasks: dict[str, dict] = {}  # type: ignore[type-arg]
    for draft in drafts:
        if draft.type.startswith("task:"):
            task = draft.payload["task"]
            tasks[task["id"]] = {**tasks.get(task["id"], {}), **task}
    return tasks


def test_a_plan_applied_twice_changes_nothing_the_second_time() -> None:
    tasks = [plan_task("a"), plan_task("b", "a"), plan_task("c", "a", "b")]
    first = apply_plan("p", tasks, {}, max_parents=10)
    assert [d.type for d in first] == ["task:created"] * 3 + ["plan:applied"]
    state = folded(first)
    assert [state[t]["status"] for t in "abc"] == ["queued", "blocked", "blocked"]
    assert state["c"]["blocked_by"] == ["a", "b"]
    plan = first[-1].payload["plan"]
    assert plan["edges"] == [
        {"parent": "a", "child": "b", "when": "on_success"},
        {"parent": "a", "child": "c", "when": "on_success"},
        {"parent": "b", "child": "c", "when": "on_success"},
    ]
    assert apply_plan("p", tasks, state, max_parents=10) == []

    changed = [plan_task("a"), plan_task("b", "a", description="now with docs"), tasks[2]]
    again = apply_plan("p", changed, state, max_parents=10)
    assert [(d.type, d.payload.get("task")) for d in again[:-1]] == [
        ("task:updated", {"id": "b", "description": "now with docs"})
    ]
    assert again[-1].payload["plan"]["updated"] == ["b"]


def test_a_plan_refuses_a_task_twice_and_a_cycle_through_known_tasks() -> None:
    with pytest.raises(ValueError, match="twice"):
        apply_plan("p", [plan_task("a"), plan_task("a")], {}, max_parents=10)
    state = folded(apply_plan("p", [plan_task("a"), plan_task("b", "a")], {}, max_parents=10))
    with pytest.raises(GraphError, match="cycle"):
        apply_plan("p", [plan_task("a", "b")], state, max_parents=10)


def test_retry_with_dependents_rearms_only_what_the_failure_cancelled() -> None:
    cancelled = {"status": "cancelled", "error_details": {"kind": "dependency"}}
    tasks = {
        "x": {"id": "x", "status": "failed"},
        "y": {"id": "y", "depends_on": ["x"], **cancelled},
        "z": {"id": "z", "depends_on": ["y"], **cancelled},
        "by-hand": {"id": "by-hand", "depends_on": ["x"], "status": "cancelled"},
        "other": {"id": "other", "depends_on": ["x"], "status": "completed"},
    }
    drafts = rearm_dependents("x", tasks)
    rearmed = {d.payload["task"]["id"]: d.payload["task"] for d in drafts}
    assert list(rearmed) == ["y", "z"]
    assert rearmed["y"]["status"] == "blocked" and rearmed["y"]["blocked_by"] == ["x"]
    assert rearmed["z"]["blocked_by"] == ["y"] and rearmed["z"]["error_details"] is None
