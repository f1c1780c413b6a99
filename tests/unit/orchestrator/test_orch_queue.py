"""TaskQueue ordering and the retry decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from parent_harness.events.clock import iso, read_iso
from parent_harness.orchestrator import Failure, RetryConfig, TaskQueue
from parent_harness.orchestrator.retry import after_failure, after_interruption, backoff_s

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "status": "queued", "priority": 0, **fields}


def test_priority_then_age_then_arrival() -> None:
    queue = TaskQueue()
    queue.rebuild([
        task("old", created_at="2027-01-15T07:00:00.000Z"),
        task("urgent", priority=9, created_at="2027-01-15T07:59:00.000Z"),
        task("new", created_at="2027-01-15T07:30:00.000Z"),
    ])  # fmt: skip
    picked = []
    while (next_task := queue.next_for("bot", NOW)) is not None:
        picked.append(next_task["id"])
        queue.claim(next_task["id"])
    assert picked == ["urgent", "old", "new"]


def test_not_before_agent_name_status_and_claims() -> None:
    queue = TaskQueue()
    later = iso(NOW + timedelta(seconds=30))
    queue.rebuild([
        task("later", not_before=later),
        task("for-other", agent_name="other"),
        task("done", status="completed"),
        task("mine", agent_name="bot", status="pending"),
    ])  # fmt: skip
    assert queue.next_for("bot", NOW) == task("mine", agent_name="bot", status="pending")
    queue.claim("mine")
    assert queue.next_for("bot", NOW) is None
    assert queue.seconds_until_due(NOW) == 30.0
    assert queue.next_for("bot", NOW + timedelta(seconds=31))["id"] == "later"  # type: ignore[index]
    assert [t["id"] for t in queue.waiting_on(["bot"], NOW)] == ["for-other"]
    queue.apply(task("mine", agent_name="bot", status="running"))
    queue.release("mine")
    assert [t["id"] for t in queue.active_unclaimed()] == ["mine"]
    assert queue.counts() == {"queued": 2, "completed": 1, "running": 1}


def test_tasks_with_labels_are_left_to_the_workers() -> None:
    queue = TaskQueue()
    queue.rebuild([task("gpu", labels=["gpu"]), task("gpu-other", labels=["gpu"], agent_name="x")])
    assert queue.next_for("bot", NOW) is None
    assert queue.waiting_on(["bot"], NOW) == []
    queue.apply(task("plain", labels=[]))
    picked = queue.next_for("bot", NOW)
    assert picked is not None and picked["id"] == "plain"


def test_cancelled_and_requeued_tasks_follow_events() -> None:
    queue = TaskQueue()
    queue.apply(task("t"))
    queue.apply(task("t", status="cancelled"))
    assert queue.next_for("bot", NOW) is None
    queue.apply(task("t", status="queued"))  # POST /api/tasks/t/retry
    assert queue.next_for("bot", NOW) is not None


def test_backoff_grows_to_its_ceiling() -> None:
    config = RetryConfig(backoff_s=10, backoff_factor=2, max_backoff_s=35)
    assert [backoff_s(config, n) for n in (1, 2, 3, 4)] == [10, 20, 35, 35]


def test_retry_decisions() -> None:
    config = RetryConfig(max_attempts=3, backoff_s=10)
    failure = Failure("nonzero_exit", "exit 1", 1)
    decision = after_failure(config, {"attempts": 1}, failure)
    assert decision.requeue and decision.attempts == 1 and decision.delay_s == 10
    not_before = read_iso(decision.not_before)
    assert not_before is not None and not_before > datetime.now(UTC)
    assert not after_failure(config, {"attempts": 3}, failure).requeue
    assert after_failure(config, {"attempts": 1, "max_attempts": 5}, failure).requeue
    final = Failure("command_not_found", "no such command")
    assert not after_failure(config, {"attempts": 1}, final).requeue


def test_interruption_policies() -> None:
    task_state = {"attempts": 3, "max_attempts": 3}
    assert after_interruption(RetryConfig(), task_state).attempts == 2  # the attempt is refunded
    assert not after_interruption(RetryConfig(on_interrupted="retry"), task_state).requeue
    assert not after_interruption(RetryConfig(on_interrupted="fail"), {"attempts": 1}).requeue
