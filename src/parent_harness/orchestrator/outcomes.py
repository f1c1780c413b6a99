"""What becomes of a task when a run of it ends: completed, requeued, failed, cancelled.

:class:`TaskOutcomes` applies the retry policy (:mod:`retry`) and the task's
budget, then publishes the task's new state with its ``error_details`` and an
``event`` a person can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .budget import BudgetGuard
from .config import RetryConfig
from .errors import Failure, error_details
from .publisher import FleetPublisher
from .retry import Decision, after_failure, after_interruption, attempts_of, max_attempts_of


class TaskOutcomes:
    """Publishes each task's fate; see the module docstring."""

    def __init__(self, publisher: FleetPublisher, retry: RetryConfig, budget: BudgetGuard) -> None:
        self._pub, self._retry, self._budget = publisher, retry, budget

    async def completed(self, task_id: str) -> None:
        """The agent succeeded and the tests passed."""
        task = {"id": task_id, "status": "completed", "progress_percent": 100}
        await self._pub.task("completed", {**task, "error_details": None})

    async def cancelled(self, task_id: str) -> None:
        """Say again that the task is cancelled (a late update of ours may have hidden it)."""
        await self._pub.task("updated", {"id": task_id, "status": "cancelled"})

    async def failed(self, task: Mapping[str, Any], failure: Failure) -> None:
        """A run failed: retry with backoff while the policy and the task's budget allow."""
        if failure.retryable and self._budget.task_over_limit(str(task["id"])):
            decision = Decision(requeue=False, attempts=attempts_of(task))
        else:
            decision = after_failure(self._retry, task, failure)
        await self._settle(task, decision, failure)

    async def interrupted(self, task: Mapping[str, Any], failure: Failure) -> None:
        """A run was cut short through no fault of the task: ``retry.on_interrupted`` decides."""
        await self._settle(task, after_interruption(self._retry, task), failure)

    async def fail(self, task_id: str, attempts: int, failure: Failure) -> None:
        """The task fails for good."""
        task = {"id": task_id, "status": "failed", "attempts": attempts}
        await self._pub.task("failed", {**task, "error_details": error_details(failure)})
        await self._pub.note(
            "error",
            f"Task {task_id} failed after {attempts} attempt(s): {failure.message}",
            {"task_id": task_id, "kind": failure.kind},
        )

    async def _settle(self, task: Mapping[str, Any], decision: Decision, failure: Failure) -> None:
        task_id = str(task["id"])
        if not decision.requeue:
            await self.fail(task_id, decision.attempts, failure)
            return
        await self._pub.task(
            "updated",
            {
                "id": task_id,
                "status": "queued",
                "attempts": decision.attempts,
                "not_before": decision.not_before,
                "error_details": error_details(failure),
            },
        )
        limit = max_attempts_of(task, self._retry)
        when = f" in {decision.delay_s:g} s" if decision.delay_s else ""
        await self._pub.note(
            "warning",
            f"Task {task_id} {failure.kind}: {failure.message}; requeued "
            f"(attempt {decision.attempts} of {limit} used){when}",
            {"task_id": task_id, "kind": failure.kind},
        )
