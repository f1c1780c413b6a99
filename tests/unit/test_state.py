from __future__ import annotations

from parent_harness.events import validate_payload
from parent_harness.hub.state import State

TS = "2026-11-25T10:00:00.000Z"


def fold(state: State, type_: str, payload: dict[str, object], seq: int) -> dict[str, object]:
    return state.fold(type_, validate_payload(type_, payload), seq, TS).payload


def test_partial_updates_merge_and_go_out_whole() -> None:
    state = State()
    fold(state, "task:created", {"task": {"id": "t1", "title": "Fix the parser"}}, 1)
    out = fold(
        state,
        "task:updated",
        {"task": {"id": "t1", "progress_percent": 50, "token_usage": {"input": 10}}},
        2,
    )
    task = out["task"]
    assert isinstance(task, dict)
    assert task["title"] == "Fix the parser"
    assert task["status"] == "pending"
    assert task["progress_percent"] == 50
    out = fold(state, "task:updated", {"task": {"id": "t1", "token_usage": {"output": 5}}}, 3)
    assert out["task"]["token_usage"] == {"input": 10, "output": 5}  # type: ignore[index]
    assert state.seq == 3


def test_failure_details_carry_the_seq_of_their_event() -> None:
    state = State()
    out = fold(
        state,
        "task:failed",
        {"task": {"id": "t", "status": "failed", "error_details": {"message": "boom"}}},
        7,
    )
    details = out["task"]["error_details"]  # type: ignore[index]
    assert details["seq"] == 7
    assert details["at"] == TS


def test_iteration_names_the_session_owner_and_records_usage() -> None:
    state = State()
    fold(state, "session:started", {"session": {"id": "s", "agent_id": "a", "task_id": "t"}}, 1)
    folded = state.fold(
        "session:iteration",
        validate_payload(
            "session:iteration",
            {"session_id": "s", "iteration": 3, "token_usage": {"input": 5, "cost_usd": 0.01}},
        ),
        2,
        TS,
    )
    assert folded.payload["agent_id"] == "a"
    assert state.sessions["s"]["iteration"] == 3
    (call,) = [c.row for c in folded.changes if c.table == "api_call"]
    assert (call["seq"], call["agent_id"], call["task_id"]) == (2, "a", "t")
    assert (call["input"], call["cost_usd"]) == (5, 0.01)


def test_budget_period_updated_last_is_current() -> None:
    state = State()
    fold(state, "budget:updated", {"budget": {"period": "2026-11-24", "spent_usd": 3}}, 1)
    fold(state, "budget:updated", {"budget": {"period": "2026-11-25", "limit_usd": 10}}, 2)
    assert state.budget is not None
    assert state.budget["period"] == "2026-11-25"


def test_workspaces_fold_and_list_a_tasks_attempts_in_order() -> None:
    state = State()
    for seq, (wid, attempt) in enumerate([("w2", 2), ("w1", 1), ("x", 1)], start=1):
        task = "t1" if wid != "x" else "t2"
        payload = {
            "workspace": {"id": wid, "task_id": task, "attempt": attempt, "status": "active"}
        }
        fold(state, "workspace:created", payload, seq)
    out = fold(state, "workspace:updated", {"workspace": {"id": "w1", "commits": 3}}, 4)
    assert out["workspace"] == {**state.workspaces["w1"], "commits": 3}  # goes out whole
    assert state.workspaces["w1"]["status"] == "active"  # merged, not replaced
    assert [w["id"] for w in state.attempts("t1")] == ["w1", "w2"]
    assert state.attempts("none") == []
