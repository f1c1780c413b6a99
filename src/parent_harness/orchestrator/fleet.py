"""An AgentSlot: one configured agent, its running sessions and what it shows.

The slot renders the catalogue's ``agent`` entity: ``working`` while sessions
run (``waiting_input`` while one of them waits for an approval), ``error`` after
its command could not start, ``paused`` while spawning is paused, else ``idle``;
its health is its worst session's, and a crash stays shown until the agent
starts a new session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import AgentConfig
from .health import HealthStatus, Verdict
from .session import SessionRun

HEALTHY = Verdict(HealthStatus.HEALTHY, "no session running")
BEAT_FIELDS = frozenset({"last_heartbeat_at", "last_progress_at", "current_iteration"})
"""Fields that change all the time and reach the hub through heartbeats (it folds
``agent:heartbeat`` into them), so they alone never cause an ``agent:status``."""


@dataclass
class AgentSlot:
    """A configured agent and its live sessions."""

    config: AgentConfig
    runs: dict[str, SessionRun] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    crash: Verdict | None = None
    error: str | None = None
    offline: bool = False
    published: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The agent's id and name."""
        return self.config.name

    @property
    def has_room(self) -> bool:
        """Whether another session may start."""
        return len(self.runs) < self.config.max_instances

    def add(self, run: SessionRun) -> None:
        """A session started: it becomes the agent's current one; a past crash is cleared."""
        self.runs[run.id] = run
        self.verdicts[run.id] = Verdict(HealthStatus.HEALTHY, "session started")
        self.crash = None

    def remove(self, run: SessionRun) -> None:
        """A session ended."""
        self.runs.pop(run.id, None)
        self.verdicts.pop(run.id, None)

    def health(self) -> Verdict:
        """The worst verdict of the running sessions (or the last crash)."""
        verdicts = list(self.verdicts.values()) or [self.crash or HEALTHY]
        return max(verdicts, key=lambda v: v.status.severity)

    def status(self, paused: bool) -> str:
        """The catalogue's agent status."""
        if self.offline:
            return "offline"
        if any(run.waiting for run in self.runs.values()):
            return "waiting_input"
        if self.runs:
            return "working"
        if self.error:
            return "error"
        return "paused" if paused else "idle"

    def entity(self, paused: bool) -> dict[str, Any]:
        """The agent entity as ``agent:status`` carries it."""
        health = self.health()
        waiting = next((r for r in self.runs.values() if r.waiting), None)
        current = self._troubled() or waiting or next(reversed(self.runs.values()), None)
        beats = [r.last_heartbeat_at for r in self.runs.values() if r.last_heartbeat_at]
        progress = [r.last_progress_at for r in self.runs.values() if r.last_progress_at]
        return {
            "id": self.name,
            "name": self.name,
            "status": self.status(paused),
            "health_status": str(health.status),
            "health_reason": self.error or health.reason,
            "running_instances": len(self.runs),
            "max_instances": self.config.max_instances,
            "current_task_id": current.task_id if current else None,
            "current_session_id": current.id if current else None,
            "current_iteration": current.iteration if current else None,
            "last_heartbeat_at": max(beats, default=None),
            "last_progress_at": max(progress, default=None),
            "command": current.command if current and current.command else self._template(),
            "pid": current.pid if current else None,
        }

    def _troubled(self) -> SessionRun | None:
        """The session behind a bad verdict: with several running, the one to look at."""
        bad = [rid for rid, v in self.verdicts.items() if v.status is not HealthStatus.HEALTHY]
        worst = max(bad, key=lambda rid: self.verdicts[rid].status.severity, default=None)
        return self.runs.get(worst) if worst is not None else None

    def changed(self, entity: dict[str, Any]) -> bool:
        """Whether ``entity`` differs from the last one published in what heartbeats omit."""
        if self.published is None:
            return True
        return any(entity[k] != self.published.get(k) for k in entity if k not in BEAT_FIELDS)

    def _template(self) -> str:
        command = self.config.command
        return command if isinstance(command, str) else " ".join(command)
