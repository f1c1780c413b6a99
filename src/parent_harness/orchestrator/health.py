"""The HealthMonitor: is a running session healthy, stale, stuck or crashed?

- healthy: heartbeats arrive and the agent makes progress;
- stale: no heartbeat for ``stale_after_s``;
- stuck: heartbeats are fresh but no progress, iteration or test activity for
  ``stuck_after_s`` (never while tests run);
- crashed: the process is gone without being asked to stop, or no heartbeat for
  ``crashed_after_s``.

A session waiting for an approval (``waiting_input``) is never stale or stuck: its
silence is expected (a request left too long raises a reminder instead, from the
approvals desk); only its process ending makes it crashed.

Each verdict carries a reason a person can read. The monitor only judges: it
never kills (the orchestrator does, and only with ``kill_on_stuck``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .config import HealthThresholds


class HealthStatus(StrEnum):
    """The catalogue's ``health_status`` values, worst last."""

    HEALTHY = "healthy"
    STALE = "stale"
    STUCK = "stuck"
    CRASHED = "crashed"

    @property
    def severity(self) -> int:
        """Orders statuses so an agent shows its worst session."""
        return list(HealthStatus).index(self)


@dataclass(slots=True)
class Vitals:
    """What the monitor knows of one session, on the monotonic clock (seconds)."""

    last_heartbeat: float
    last_progress: float
    testing: bool = False
    waiting: bool = False  # for an approval: silence is expected
    gone: str | None = None  # why the process ended on its own, when it was not asked to

    def beat(self, now: float) -> None:
        """The agent showed a sign of life."""
        self.last_heartbeat = max(self.last_heartbeat, now)

    def wait(self, waiting: bool, now: float) -> None:
        """The agent began or stopped waiting for an answer; the clocks restart when it
        stops (the wait was neither silence nor lack of progress)."""
        self.waiting = waiting
        if not waiting:
            self.advance(now)

    def advance(self, now: float) -> None:
        """The agent made progress (which is also a sign of life)."""
        self.beat(now)
        self.last_progress = max(self.last_progress, now)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A health status and why."""

    status: HealthStatus
    reason: str


def seconds(value: float) -> str:
    """A duration for people: ``0.4 s``, ``12 s``, ``300 s``."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def assess(vitals: Vitals, limits: HealthThresholds, now: float) -> Verdict:
    """The health of one session at ``now``."""
    if vitals.gone is not None:
        return Verdict(HealthStatus.CRASHED, f"the process is gone: {vitals.gone}")
    if vitals.waiting:
        return Verdict(HealthStatus.HEALTHY, "waiting for an answer to an approval")
    silence = now - vitals.last_heartbeat
    if silence >= limits.crashed_after_s:
        return Verdict(HealthStatus.CRASHED, _silent(silence, "crashed", limits.crashed_after_s))
    if silence >= limits.stale_after_s:
        return Verdict(HealthStatus.STALE, _silent(silence, "stale", limits.stale_after_s))
    idle = now - vitals.last_progress
    if limits.stuck_after_s and not vitals.testing and idle >= limits.stuck_after_s:
        return Verdict(
            HealthStatus.STUCK,
            f"heartbeats arrive but no progress, iteration or test activity for {seconds(idle)} "
            f"(stuck after {seconds(limits.stuck_after_s)})",
        )
    return Verdict(HealthStatus.HEALTHY, f"last heartbeat {seconds(max(0.0, silence))} ago")


def _silent(silence: float, status: str, limit: float) -> str:
    return f"no heartbeat for {seconds(silence)} ({status} after {seconds(limit)})"


class HealthMonitor:
    """Judges sessions and reports only changes of status, one session per key."""

    def __init__(self) -> None:
        self._last: dict[str, HealthStatus] = {}

    def check(
        self, key: str, vitals: Vitals, limits: HealthThresholds, now: float
    ) -> Verdict | None:
        """The session's verdict when its status changed since the last check, else None."""
        verdict = assess(vitals, limits, now)
        if self._last.get(key, HealthStatus.HEALTHY) is verdict.status:
            self._last[key] = verdict.status
            return None
        self._last[key] = verdict.status
        return verdict

    def status(self, key: str) -> HealthStatus:
        """The last status reported for ``key`` (healthy when never checked)."""
        return self._last.get(key, HealthStatus.HEALTHY)

    def forget(self, key: str) -> None:
        """Stop tracking a session that ended."""
        self._last.pop(key, None)
