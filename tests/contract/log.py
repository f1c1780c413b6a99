"""Records built by the ingest's own `fold_record`, from events validated by the catalogue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from parent_harness.brokers import Sequenced
from parent_harness.events.clock import iso, now_iso, parse_iso
from parent_harness.events.envelope import validate_payload
from parent_harness.hub.ingest import fold_record
from parent_harness.hub.state import State
from parent_harness.store.records import Record


class EventLog:
    """Folds events into `state` and returns the Records a store must write for them."""

    def __init__(self) -> None:
        self.state = State()

    def record(
        self, type_: str, payload: dict[str, Any], *, id: str | None = None, ts: str | None = None
    ) -> Record:
        ts = ts or now_iso()
        ts_ms = int(parse_iso(ts).timestamp() * 1000)
        event = Sequenced(
            self.state.seq + 1,
            id or uuid.uuid4().hex,
            type_,
            validate_payload(type_, payload),
            ts,
            ts_ms,
        )
        return fold_record(self.state, event)

    def at_ms(self, type_: str, payload: dict[str, Any], ms: int) -> Record:
        """A record stamped at `ms` milliseconds since the Unix epoch."""
        return self.record(type_, payload, ts=iso(datetime.fromtimestamp(ms / 1000, UTC)))

    def entities(self) -> dict[str, list[dict[str, Any]]]:
        """Current state per kind, as the store's load() must give it back."""
        state = self.state
        return {
            "agent": list(state.agents.values()),
            "task": list(state.tasks.values()),
            "session": list(state.sessions.values()),
            "test_run": list(state.test_runs.values()),
            "budget": list(state.budgets.values()),
        }


def task(id: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return "task:updated", {"task": {"id": id, **fields}}


def generic(message: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return "event", {"event": {"message": message, **fields}}


FLEET: list[tuple[str, dict[str, Any]]] = [
    ("agent:status", {"agent": {"id": "a1", "name": "coder", "status": "idle"}}),
    ("budget:updated", {"budget": {"period": "day", "limit_usd": 10.0, "spent_usd": 0.0}}),
    (
        "task:created",
        {"task": {"id": "t1", "title": "Fix the parser", "priority": 3, "max_attempts": 2}},
    ),
    ("task:created", {"task": {"id": "t2", "title": "Write docs", "priority": 1}}),
    ("task:assigned", {"task": {"id": "t1", "status": "assigned", "agent_id": "a1"}}),
    ("session:started", {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1"}}),
    (
        "agent:status",
        {
            "agent": {
                "id": "a1",
                "status": "working",
                "current_task_id": "t1",
                "current_session_id": "s1",
            }
        },
    ),
    ("task:updated", {"task": {"id": "t1", "status": "running", "session_id": "s1"}}),
    (
        "session:iteration",
        {
            "session_id": "s1",
            "iteration": 1,
            "summary": "read the code",
            "token_usage": {"input": 1200, "output": 300, "cost_usd": 0.02, "model": "m-1"},
        },
    ),
    ("session:heartbeat", {"session_id": "s1", "iteration": 1, "progress_percent": 40}),
    ("agent:heartbeat", {"agent_id": "a1", "session_id": "s1", "iteration": 1}),
    ("test:started", {"test_run": {"id": "r1", "task_id": "t1", "session_id": "s1"}}),
    (
        "test:completed",
        {"test_run": {"id": "r1", "status": "failed", "passed": 3, "failed": 1, "duration_s": 2.5}},
    ),
    (
        "task:failed",
        {
            "task": {
                "id": "t1",
                "status": "failed",
                "attempts": 1,
                "error_details": {"message": "AssertionError in test 42", "kind": "test"},
            }
        },
    ),
    ("session:ended", {"session": {"id": "s1", "status": "failed", "exit_code": 1}}),
    ("budget:updated", {"budget": {"period": "day", "spent_usd": 0.02, "tokens_in": 1200}}),
    (
        "telegram:message",
        {"message": {"id": "m1", "direction": "out", "chat_id": "42", "text": "t1 failed"}},
    ),
    generic("disk almost full", level="warning", source="health", data={"free_gb": 2}),
    ("task:completed", {"task": {"id": "t2", "status": "completed", "progress_percent": 100}}),
]
"""One of every kind of event, in an order a real fleet produces them."""
