"""What happens to a task after a failed or interrupted run.

A failure that a retry could fix requeues the task (status ``queued``) with a
``not_before`` that backs off exponentially, while attempts remain; otherwise
the task fails for good. An interrupted run (the orchestrator stopped, or the
budget stopped it) follows ``retry.on_interrupted``: ``requeue`` gives the
attempt back, ``retry`` counts it like a failure, ``fail`` ends the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..events.clock import later_iso
from .config import RetryConfig
from .errors import Failure


@dataclass(frozen=True, slots=True)
class Decision:
    """Requeue (with when and the attempts to record) or fail for good."""

    requeue: bool
    attempts: int
    not_before: str | None = None
    delay_s: float = 0.0


def attempts_of(task: Mapping[str, Any]) -> int:
    """Runs started so far."""
    return int(task.get("attempts") or 0)


def max_attempts_of(task: Mapping[str, Any], config: RetryConfig) -> int:
    """The task's own limit, or the configured default."""
    return int(task.get("max_attempts") or config.max_attempts)


def backoff_s(config: RetryConfig, attempts: int) -> float:
    """Delay before the next attempt after ``attempts`` runs."""
    delay = config.backoff_s * config.backoff_factor ** max(0, attempts - 1)
    return min(config.max_backoff_s, delay)


def after_failure(config: RetryConfig, task: Mapping[str, Any], failure: Failure) -> Decision:
    """Requeue with backoff while attempts remain and a retry could help; else fail."""
    if not failure.retryable:
        return Decision(requeue=False, attempts=attempts_of(task))
    return _while_attempts_remain(config, task)


def after_interruption(config: RetryConfig, task: Mapping[str, Any]) -> Decision:
    """Apply ``on_interrupted`` to a run cut short through no fault of the task."""
    if config.on_interrupted == "fail":
        return Decision(requeue=False, attempts=attempts_of(task))
    if config.on_interrupted == "retry":
        return _while_attempts_remain(config, task)
    return Decision(requeue=True, attempts=max(0, attempts_of(task) - 1))


def _while_attempts_remain(config: RetryConfig, task: Mapping[str, Any]) -> Decision:
    attempts = attempts_of(task)
    if attempts >= max_attempts_of(task, config):
        return Decision(requeue=False, attempts=attempts)
    delay = backoff_s(config, attempts)
    return Decision(True, attempts, later_iso(delay) if delay else None, delay)
