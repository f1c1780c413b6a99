"""Test doubles for the notifications: a hub folding events like the real one, a fleet control."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from parent_harness.events.clock import now_iso
from parent_harness.events.envelope import validate_payload
from parent_harness.events.sink import Event, EventListener, PublishResult
from parent_harness.hub.state import State


class FakeHub:
    """Validates against the catalogue, folds with the real reducer, numbers events, calls
    listeners synchronously in seq order: the hub's in-process contract, without a store."""

    def __init__(self) -> None:
        self.state = State()
        self.events: list[Event] = []
        self.listeners: list[EventListener] = []
        self._ids: dict[str, int] = {}
        self._changed = asyncio.Condition()

    def add_listener(self, listener: EventListener) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        self.listeners.remove(listener)

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        result = self.emit(type, dict(payload), id=id)
        async with self._changed:
            self._changed.notify_all()
        return result

    def emit(self, type: str, payload: dict[str, Any], *, id: str | None = None) -> PublishResult:
        """Publishes synchronously (what a test uses to play the orchestrator)."""
        if id is not None and id in self._ids:
            return PublishResult(id, self._ids[id], duplicate=True)
        checked = validate_payload(type, payload)
        seq = self.state.seq + 1
        timestamp = now_iso()
        folded = self.state.fold(type, checked, seq, timestamp)
        event = Event(seq, type, folded.payload, timestamp)
        self.events.append(event)
        event_id = id or uuid.uuid4().hex
        self._ids[event_id] = seq
        for listener in list(self.listeners):
            listener(event)
        return PublishResult(event_id, seq)

    def of_type(self, type: str) -> list[dict[str, Any]]:
        """Payloads of the events of one type, in order."""
        return [dict(event.payload) for event in self.events if event.type == type]

    async def wait_for(
        self,
        type: str,
        check: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 5,
    ) -> dict[str, Any]:
        """The first payload of `type` passing `check`, waiting for it if needed."""

        def found() -> dict[str, Any] | None:
            return next((p for p in self.of_type(type) if check(p)), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        result = found()
        assert result is not None
        return result


class FakeControl:
    """A fleet control: async pause, plain resume (both forms the protocol allows)."""

    def __init__(self) -> None:
        self.paused = False
        self.reason: str | None = None

    async def pause_spawning(self, reason: str) -> None:
        self.paused, self.reason = True, reason

    def resume_spawning(self) -> None:
        self.paused, self.reason = False, None

    def summary(self) -> dict[str, Any]:
        return {"paused": self.paused, "paused_reason": self.reason, "queue_depth": 3}


def failed_task(task_id: str = "t-1", attempt: int = 1) -> dict[str, Any]:
    """A task:failed payload."""
    return {
        "task": {
            "id": task_id,
            "title": f"Fix {task_id}",
            "status": "failed",
            "attempts": attempt,
            "max_attempts": 3,
            "agent_id": "a-1",
            "error_details": {"message": "AssertionError: expected 200, got 500", "kind": "test"},
        }
    }


def agent(agent_id: str = "a-1", **fields: Any) -> dict[str, Any]:
    """An agent:status payload."""
    return {"agent": {"id": agent_id, "name": f"worker {agent_id}", **fields}}
