"""Signs of life of each agent, for absence rules ("no heartbeat for N seconds").

A sign of life is an `agent:heartbeat`, a `session:heartbeat` or `session:iteration` of one of
the agent's sessions, a session starting, or an `agent:status` whose status or
`last_heartbeat_at` changed. Times come from the injected clock, not from payloads, so a
skewed orchestrator clock cannot raise false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from parent_harness.events.sink import Event


@dataclass(slots=True)
class AgentLife:
    """The latest view of one agent and when it last showed life."""

    agent: dict[str, Any]
    last_seen: float
    last_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one event said about one agent: whether it was a sign of life."""

    agent_id: str
    alive: bool


@dataclass(slots=True)
class Liveness:
    """Tracks agents and their sessions from the event stream."""

    agents: dict[str, AgentLife] = field(default_factory=dict)
    session_agent: dict[str, str] = field(default_factory=dict)

    def seed(
        self,
        agents: Mapping[str, Mapping[str, Any]],
        sessions: Mapping[str, Mapping[str, Any]],
        now: float,
    ) -> None:
        """Starts from current state; every agent gets a full window from now."""
        for agent_id, agent in agents.items():
            self.agents[agent_id] = AgentLife(dict(agent), now)
        for session_id, session in sessions.items():
            if session.get("agent_id"):
                self.session_agent[session_id] = str(session["agent_id"])

    def observe(self, event: Event, now: float) -> Sighting | None:
        """Updates from one event; says which agent it concerned, if any."""
        payload = event.payload
        if event.type == "agent:status" and isinstance(payload.get("agent"), Mapping):
            return self._status(dict(payload["agent"]), event.seq, now)
        agent_id = self._agent_of(event.type, payload)
        if agent_id is None:
            return None
        self._alive(agent_id, event.seq, now)
        return Sighting(agent_id, alive=True)

    def _agent_of(self, event_type: str, payload: Mapping[str, Any]) -> str | None:
        if event_type == "agent:heartbeat":
            return str(payload["agent_id"]) if payload.get("agent_id") else None
        session = payload.get("session")
        if isinstance(session, Mapping) and session.get("id") and session.get("agent_id"):
            self.session_agent[str(session["id"])] = str(session["agent_id"])
            return str(session["agent_id"]) if event_type == "session:started" else None
        if event_type in ("session:heartbeat", "session:iteration"):
            return self.session_agent.get(str(payload.get("session_id")))
        return None

    def _status(self, agent: dict[str, Any], seq: int, now: float) -> Sighting:
        agent_id = str(agent["id"])
        life = self.agents.get(agent_id)
        changed = life is None or any(
            life.agent.get(name) != agent.get(name) for name in ("status", "last_heartbeat_at")
        )
        if life is None:
            life = self.agents[agent_id] = AgentLife(agent, now, seq)
        life.agent = agent
        if changed:
            life.last_seen, life.last_seq = now, seq
        return Sighting(agent_id, alive=changed)

    def _alive(self, agent_id: str, seq: int, now: float) -> None:
        life = self.agents.setdefault(agent_id, AgentLife({"id": agent_id}, now))
        life.last_seen, life.last_seq = now, seq
