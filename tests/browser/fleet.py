"""Events that describe a small fleet, for the browser tests to publish."""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

FAILURE_MESSAGE = "pytest exited with 1 failed test: test_reconnect_backoff"
FAILURE_SUGGESTIONS = ["Check the jitter bounds", "Run pytest -x tests/test_ws.py"]
FAILURE: dict[str, Any] = {
    "message": FAILURE_MESSAGE,
    "kind": "test_failure",
    "exit_code": 1,
    "stack": "Traceback (most recent call last):\n  File tests/test_ws.py, line 42\nAssertionError",
    "output_tail": "FAILED tests/test_ws.py::test_reconnect_backoff\n1 failed, 41 passed in 3.2s",
    "suggestions": FAILURE_SUGGESTIONS,
}


def agent(ident: str, **fields: Any) -> Event:
    return {"type": "agent:status", "payload": {"agent": {"id": ident, **fields}}}


def task(ident: str, type_: str = "task:created", **fields: Any) -> Event:
    return {"type": type_, "payload": {"task": {"id": ident, **fields}}}


def session(ident: str, type_: str = "session:started", **fields: Any) -> Event:
    return {"type": type_, "payload": {"session": {"id": ident, **fields}}}


def iteration(session_id: str, n: int, summary: str) -> Event:
    usage = {"input": 1000 * n, "output": 200 * n, "cost_usd": 0.01 * n}
    return {
        "type": "session:iteration",
        "payload": {
            "session_id": session_id,
            "iteration": n,
            "summary": summary,
            "token_usage": usage,
        },
    }


def heartbeat(session_id: str, n: int, progress: float) -> Event:
    return {
        "type": "session:heartbeat",
        "payload": {"session_id": session_id, "iteration": n, "progress_percent": progress},
    }


def budget(spent: float, limit: float = 50.0, **fields: Any) -> Event:
    return {
        "type": "budget:updated",
        "payload": {
            "budget": {"period": "2026-11", "spent_usd": spent, "limit_usd": limit, **fields}
        },
    }


def note(message: str, level: str = "info", source: str = "tests") -> Event:
    return {
        "type": "event",
        "payload": {"event": {"message": message, "level": level, "source": source}},
    }


def telegram(ident: str, direction: str, text: str, chat_id: str = "42") -> Event:
    return {
        "type": "telegram:message",
        "payload": {
            "message": {"id": ident, "direction": direction, "chat_id": chat_id, "text": text}
        },
    }


def fleet() -> list[Event]:
    """Two agents (one stuck), a running, a completed and a failed task, sessions, a budget."""
    return [
        agent(
            "a1",
            name="claude-1",
            status="working",
            health_status="healthy",
            running_instances=1,
            max_instances=2,
            current_task_id="t-run",
            current_session_id="s-run",
            current_iteration=2,
        ),
        agent(
            "a2",
            name="claude-2",
            status="working",
            health_status="stuck",
            health_reason="no progress for 6 min",
            running_instances=1,
            max_instances=1,
        ),
        task(
            "t-run",
            title="Add pagination to the task list",
            status="running",
            agent_id="a1",
            session_id="s-run",
            progress_percent=40,
            max_attempts=3,
            attempts=1,
            token_usage={"input": 12000, "output": 3000, "cost_usd": 0.42},
        ),
        task("t-done", title="Upgrade the SQL layer", status="completed", progress_percent=100),
        task(
            "t-fail",
            type_="task:failed",
            title="Refactor budget projection",
            status="failed",
            agent_id="a2",
            session_id="s-fail",
            progress_percent=30,
            error_details=FAILURE,
        ),
        session(
            "s-run",
            agent_id="a1",
            task_id="t-run",
            status="running",
            iteration=2,
            max_iterations=10,
        ),
        session(
            "s-fail",
            agent_id="a2",
            task_id="t-fail",
            status="failed",
            iteration=4,
            max_iterations=10,
        ),
        iteration("s-run", 1, "Read the code, planned the change"),
        iteration("s-run", 2, "Edited rest.py, added cursor paging"),
        heartbeat("s-run", 2, 40),
        budget(12.5, burn_rate_usd_per_hour=1.5),
        telegram("m1", "out", "Task t-fail failed: pytest exited with 1 failed test"),
        telegram("m2", "in", "/retry t-fail"),
        note("health check: claude-2 is stuck", level="warning", source="health"),
    ]
