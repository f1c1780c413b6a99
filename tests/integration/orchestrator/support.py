"""Test support: a strict in-memory hub, the scripted agent's commands, a running fleet.

FakeHub is an in-memory stand-in for the hub, strict about the event catalogue.

It validates every event with the hub's own catalogue models, merges partial
entities like the hub's ingest, numbers events and calls listeners synchronously
in order: fast and deterministic, for the orchestrator's behaviour tests (one
test also runs a fleet against the real hub).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from parent_harness.events.catalogue import PAYLOADS, first_error
from parent_harness.events.sink import Event, EventListener, PublishResult
from parent_harness.hub.node import Node
from parent_harness.orchestrator import HarnessConfig, Orchestrator

ENTITY_KEYS = {
    "agent": "id",
    "task": "id",
    "session": "id",
    "test_run": "id",
    "budget": "period",
    "workspace": "id",
    "approval": "id",
}


class CatalogueError(ValueError):
    """The event breaks the catalogue."""


def check(type: str, payload: Mapping[str, Any]) -> None:
    """Raise :class:`CatalogueError` unless the hub's own catalogue accepts the event."""
    model = PAYLOADS.get(type)
    if model is None:
        raise CatalogueError(f"unknown event type {type!r}")
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise CatalogueError(f"{type}: {field}: {message}") from None


class FakeHub:
    """EventSink + EventFeed + FleetState in memory; see the module docstring."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.agents: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.test_runs: dict[str, dict[str, Any]] = {}
        self.budgets: dict[str, dict[str, Any]] = {}
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.approvals: dict[str, dict[str, Any]] = {}
        self.budget: dict[str, Any] | None = None
        self.refused: list[str] = []
        self._listeners: list[EventListener] = []
        self._ids: dict[str, int] = {}
        self._changed = asyncio.Event()

    @property
    def state(self) -> FakeHub:
        """The folded state (this object: agents, tasks, sessions, budget)."""
        return self

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        try:
            check(type, payload)
        except CatalogueError as exc:
            self.refused.append(str(exc))
            raise
        if id is not None and id in self._ids:
            return PublishResult(id, self._ids[id], duplicate=True)
        merged = self._merge(type, payload)
        seq = len(self.events) + 1
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event = Event(seq, type, merged, stamp)
        self.events.append(event)
        self._ids[id or f"auto-{seq}"] = seq
        for listener in list(self._listeners):
            listener(event)
        self._changed.set()
        return PublishResult(id or f"auto-{seq}", seq)

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        self._listeners.remove(listener)

    def _merge(self, type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        key = next((k for k in ENTITY_KEYS if k in payload), None)
        if key is None:
            return dict(payload)
        id_field = ENTITY_KEYS[key]
        table = {
            "agent": self.agents,
            "task": self.tasks,
            "session": self.sessions,
            "test_run": self.test_runs,
            "budget": self.budgets,
            "workspace": self.workspaces,
            "approval": self.approvals,
        }[key]
        entity = payload[key]
        merged = {**table.get(str(entity[id_field]), {}), **entity}
        table[str(entity[id_field])] = merged
        if key == "budget":
            self.budget = merged
        return {key: merged}

    # -- what tests ask --------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after each event); its value."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting; last events: {self.tail()}")
            self._changed.clear()
            # Re-check at least every 0.2 s: some predicates depend on time or on processes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
        return value

    def of_type(self, *types: str) -> list[Event]:
        """Events whose type is one of ``types``, in order."""
        return [e for e in self.events if e.type in types]

    def about_task(self, task_id: str) -> list[Event]:
        """Events that name ``task_id``."""
        found = []
        for e in self.events:
            p = e.payload
            entity = p.get("task") or p.get("session") or p.get("test_run") or {}
            if (
                entity.get("task_id") == task_id
                or (e.type.startswith("task:") and entity.get("id") == task_id)
                or p.get("session_id") in self._sessions_of(task_id)
            ):
                found.append(e)
        return found

    def notes(self, level: str | None = None) -> list[dict[str, Any]]:
        """Generic ``event`` payloads, optionally of one level."""
        items = [e.payload["event"] for e in self.of_type("event")]
        return [n for n in items if level is None or n["level"] == level]

    def tail(self, n: int = 8) -> list[str]:
        """The last events, short, for failure messages."""
        return [f"{e.seq} {e.type}" for e in self.events[-n:]]

    def _sessions_of(self, task_id: str) -> set[str]:
        return {s for s, v in self.sessions.items() if v.get("task_id") == task_id}


SCRIPTED_AGENT = Path(__file__).with_name("scripted_agent.py")
PASSING_TESTS = f"{sys.executable} -c \"print('==== 3 passed, 1 skipped in 0.01s ====')\""
FAILING_TESTS = (
    f"{sys.executable} -c \"print('FAILED t.py::x');"
    " print('==== 1 failed, 2 passed in 0.01s ===='); raise SystemExit(1)\""
)


def agent_command(scenario: str) -> list[str]:
    """The argv that runs the scripted agent with ``scenario``."""
    return [sys.executable, str(SCRIPTED_AGENT), *scenario.split()]


MakeConfig = Callable[..., HarnessConfig]


@asynccontextmanager
async def fleet(config: HarnessConfig, hub: FakeHub) -> AsyncIterator[Orchestrator]:
    """An orchestrator started on ``hub``, stopped (and checked) at the end."""
    orchestrator = Orchestrator(config, hub=hub)
    await orchestrator.start()
    try:
        yield orchestrator
    finally:
        await orchestrator.stop()
        assert hub.refused == [], hub.refused
        assert orchestrator.publisher.failures == 0, "publishes failed: see the log"


async def until(node: Node, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    """Wait until ``predicate()`` holds on the real hub, re-checked after each committed event."""
    changed = asyncio.Event()

    def listener(event: Event) -> None:
        changed.set()

    node.add_listener(listener)
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.2)
    finally:
        node.remove_listener(listener)
