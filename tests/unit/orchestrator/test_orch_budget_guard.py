"""BudgetGuard: crossings, burn rate, projection, restart, new day."""

from __future__ import annotations

from parent_harness.orchestrator import BudgetConfig, BudgetGuard, BudgetLevel
from parent_harness.orchestrator.signals import TokenUsage


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # 2027-01-15T08:00:00Z

    def __call__(self) -> float:
        return self.now


def guard(day: list[str] | None = None, **config: float | str) -> tuple[BudgetGuard, Clock]:
    clock = Clock()
    days = day or ["2027-01-15"]
    return BudgetGuard(BudgetConfig(**config), today=lambda: days[0], clock=clock), clock


def test_warning_then_limit_each_reported_once() -> None:
    budget, _ = guard(limit_usd_per_day=10.0, warn_at=0.5)
    assert budget.record("a", "t1", TokenUsage(cost_usd=4.0)) == []
    (warning,) = budget.record("a", "t1", TokenUsage(cost_usd=2.0))
    assert (warning.scope, warning.level) == ("day", BudgetLevel.WARNING)
    assert warning.message == "Spending is at 60% of today's budget: $6.00 of $10.00"
    assert budget.record("a", "t1", TokenUsage(cost_usd=1.0)) == []
    (limit,) = budget.record("b", "t2", TokenUsage(cost_usd=5.0))
    assert limit.level is BudgetLevel.LIMIT and budget.day_over_limit
    assert budget.record("b", "t2", TokenUsage(cost_usd=1.0)) == []
    assert budget.by_agent == {"a": 7.0, "b": 6.0}


def test_task_limit_counts_every_attempt() -> None:
    budget, _ = guard(limit_usd_per_task=1.0)
    budget.restore(None, [{"id": "t1", "token_usage": {"input": 1, "output": 1, "cost_usd": 0.9}}])
    (crossing,) = budget.record("a", "t1", TokenUsage(cost_usd=0.2))
    assert (crossing.scope, crossing.task_id, crossing.level) == ("task", "t1", BudgetLevel.LIMIT)
    assert budget.task_over_limit("t1") and not budget.task_over_limit("t2")


def test_entity_burn_rate_and_projection() -> None:
    budget, clock = guard(limit_usd_per_day=10.0, burn_window_s=3600)
    clock.now += 1800
    budget.record("a", "t1", TokenUsage(1000, 100, 1.0))
    entity = budget.entity()
    assert entity["period"] == "2027-01-15"
    assert (entity["spent_usd"], entity["tokens_in"], entity["tokens_out"]) == (1.0, 1000, 100)
    assert entity["burn_rate_usd_per_hour"] == 2.0  # $1 over the 30 minutes since start
    assert entity["projected_exhaustion_at"] == "2027-01-15T13:00:00.000Z"  # $9 left at $2/h
    assert entity["by_agent"] == {"a": 1.0}


def test_no_projection_past_midnight_or_without_limit() -> None:
    budget, clock = guard(limit_usd_per_day=1000.0)
    budget.record("a", "t1", TokenUsage(cost_usd=1.0))
    assert budget.entity()["projected_exhaustion_at"] is None
    unlimited, _ = guard()
    unlimited.record("a", "t1", TokenUsage(cost_usd=1.0))
    assert unlimited.entity()["limit_usd"] is None
    assert unlimited.entity()["projected_exhaustion_at"] is None


def test_restore_today_only_and_roll_to_a_new_day() -> None:
    days = ["2027-01-15"]
    budget, _ = guard(days, limit_usd_per_day=10.0)
    saved = {"period": "2027-01-15", "spent_usd": 3.5, "tokens_in": 10, "tokens_out": 2,
             "by_agent": {"a": 3.5}}  # fmt: skip
    budget.restore(saved, [])
    assert budget.spent.cost_usd == 3.5 and budget.percent == 35.0
    stale, _ = guard(["2027-01-16"])
    stale.restore(saved, [])
    assert stale.spent.cost_usd == 0
    days[0] = "2027-01-16"
    assert budget.roll() and budget.spent.cost_usd == 0 and budget.period == "2027-01-16"
    assert not budget.roll()
