"""The orchestrator's one way out: catalogue events, published through the hub's ingest.

Each method builds one event type's payload (entities may be partial: the hub
merges them). A failed publish is logged and counted, never raised, so a hub
hiccup cannot kill a running fleet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..events.clock import now_iso, short_id
from ..events.sink import PublishResult
from .ports import Sink

log = logging.getLogger(__name__)


class FleetPublisher:
    """Publishes the orchestrator's events, one catalogue type per method."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self.failures = 0

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult | None:
        """Publish one event; None (and a log line) when the sink refused it."""
        try:
            return await self._sink.publish(type, dict(payload), id=id)
        except Exception:
            self.failures += 1
            log.exception("could not publish %s", type)
            return None

    async def agent(self, agent: Mapping[str, Any]) -> None:
        """``agent:status`` with the (partial) agent entity."""
        await self.publish("agent:status", {"agent": dict(agent)})

    async def agent_heartbeat(self, agent_id: str, session_id: str, iteration: int) -> None:
        """``agent:heartbeat``."""
        payload = {"agent_id": agent_id, "session_id": session_id, "iteration": iteration}
        await self.publish("agent:heartbeat", {**payload, "at": now_iso()})

    async def task(self, type: str, task: Mapping[str, Any], *, id: str | None = None) -> None:
        """``task:<type>`` (created, assigned, updated, completed, failed)."""
        await self.publish(f"task:{type}", {"task": {**task, "updated_at": now_iso()}}, id=id)

    async def session(self, type: str, session: Mapping[str, Any]) -> None:
        """``session:<type>`` (started, updated, ended)."""
        await self.publish(f"session:{type}", {"session": dict(session)})

    async def session_iteration(
        self, session_id: str, iteration: int, summary: str, token_usage: Mapping[str, Any] | None
    ) -> None:
        """``session:iteration``: one turn of the agent and what it cost (None: nothing)."""
        payload = {"session_id": session_id, "iteration": iteration, "summary": summary}
        usage = dict(token_usage) if token_usage is not None else None
        await self.publish("session:iteration", {**payload, "token_usage": usage})

    async def session_heartbeat(
        self, session_id: str, iteration: int, progress_percent: float | None
    ) -> None:
        """``session:heartbeat``."""
        payload = {"session_id": session_id, "iteration": iteration}
        await self.publish(
            "session:heartbeat", {**payload, "progress_percent": progress_percent, "at": now_iso()}
        )

    async def session_tool(
        self,
        session_id: str,
        agent_id: str,
        tool: str,
        target: str | None,
        status: str,
        line: int | None = None,
    ) -> None:
        """``session:tool``: a tool call of the agent started, completed or failed, after
        output line ``line``."""
        payload = {"session_id": session_id, "agent_id": agent_id, "tool": tool}
        await self.publish(
            "session:tool",
            {**payload, "target": target, "status": status, "at": now_iso(), "line": line},
        )

    async def session_output(
        self,
        session_id: str,
        agent_id: str,
        task_id: str,
        from_line: int,
        lines: list[dict[str, Any]],
        dropped: int,
    ) -> None:
        """``session:output``: numbered lines of the agent's output (issue 16)."""
        payload: dict[str, Any] = {
            "session_id": session_id,
            "agent_id": agent_id,
            "task_id": task_id,
            "from_line": from_line,
            "lines": lines,
        }
        await self.publish(
            "session:output", {**payload, "dropped": dropped} if dropped else payload
        )

    async def test_run(self, type: str, test_run: Mapping[str, Any]) -> None:
        """``test:<type>`` (started, completed)."""
        await self.publish(f"test:{type}", {"test_run": dict(test_run)})

    async def budget(self, budget: Mapping[str, Any]) -> None:
        """``budget:updated``."""
        await self.publish("budget:updated", {"budget": dict(budget)})

    async def note(
        self,
        level: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        source: str = "orchestrator",
    ) -> None:
        """A generic ``event`` for what has no type of its own."""
        event = {"id": short_id("ev"), "level": level, "source": source, "message": message}
        await self.publish("event", {"event": {**event, "data": dict(data or {})}})
