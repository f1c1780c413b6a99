"""The BudgetGuard: money spent today and per task, burn rate, limits.

It books every usage, says when a warning level or a limit is crossed (once
per crossing), and renders the catalogue's ``budget`` entity. What to do at a
limit (pause spawning, stop sessions) is the orchestrator's decision.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from ..events.clock import iso
from .config import BudgetConfig
from .signals import TokenUsage

MIN_RATE_SPAN_S = 60.0


class BudgetLevel(IntEnum):
    """Where spending stands against a limit."""

    OK = 0
    WARNING = 1
    LIMIT = 2


@dataclass(frozen=True, slots=True)
class Crossing:
    """Spending just reached a level: ``scope`` is ``day`` or ``task``."""

    scope: str
    level: BudgetLevel
    spent_usd: float
    limit_usd: float
    task_id: str | None = None

    @property
    def message(self) -> str:
        """What happened, for people."""
        what = "today's budget" if self.scope == "day" else f"the budget of task {self.task_id}"
        share = 100.0 * self.spent_usd / self.limit_usd
        verb = "reached" if self.level is BudgetLevel.LIMIT else "is at"
        amounts = f"${self.spent_usd:.2f} of ${self.limit_usd:.2f}"
        return f"Spending {verb} {share:.0f}% of {what}: {amounts}"


def utc_day() -> str:
    """Today's budget period, ``YYYY-MM-DD`` in UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%d")


class BudgetGuard:
    """Books usage against the daily and per-task limits of a :class:`BudgetConfig`."""

    def __init__(
        self,
        config: BudgetConfig,
        today: Callable[[], str] = utc_day,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._today = today
        self._clock = clock
        self.period = today()
        self.spent = TokenUsage()
        self.by_agent: dict[str, float] = {}
        self._by_task: dict[str, float] = {}
        self._task_limits: dict[str, float] = {}
        self._recent: deque[tuple[float, float]] = deque()
        self._since = clock()

    def restore(self, budget: Mapping[str, Any] | None, tasks: Iterable[Mapping[str, Any]]) -> None:
        """Pick up today's spending and each task's cost from the hub's state after a restart."""
        for task in tasks:
            cost = TokenUsage.from_payload(task.get("token_usage")).cost_usd
            if cost:
                self._by_task[str(task["id"])] = cost
            limit = task.get("limit_usd")
            if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0:
                self._task_limits[str(task["id"])] = float(limit)
        if not budget or budget.get("period") != self.period:
            return
        self.spent = TokenUsage(
            int(budget.get("tokens_in") or 0),
            int(budget.get("tokens_out") or 0),
            float(budget.get("spent_usd") or 0.0),
        )
        by_agent = budget.get("by_agent")
        if isinstance(by_agent, Mapping):
            self.by_agent = {str(k): float(v) for k, v in by_agent.items() if _number(v)}

    def record(self, agent: str, task_id: str, usage: TokenUsage) -> list[Crossing]:
        """Book ``usage``; the levels this spending just crossed (daily first)."""
        self.roll()
        day_before, task_before = self.spent.cost_usd, self.task_spent(task_id)
        self.spent = self.spent + usage
        self.by_agent[agent] = self.by_agent.get(agent, 0.0) + usage.cost_usd
        self._by_task[task_id] = task_before + usage.cost_usd
        if usage.cost_usd:
            self._recent.append((self._clock(), usage.cost_usd))
        crossings = [
            self._crossing("day", day_before, self.spent.cost_usd, self.config.limit_usd_per_day),
            self._crossing(
                "task", task_before, self._by_task[task_id], self.task_limit(task_id), task_id
            ),
        ]
        return [c for c in crossings if c is not None]

    def roll(self) -> bool:
        """Start a new period when the day changed; True when it did."""
        today = self._today()
        if today == self.period:
            return False
        self.period, self.spent, self.by_agent = today, TokenUsage(), {}
        self._recent.clear()
        return True

    def task_spent(self, task_id: str) -> float:
        """USD spent on ``task_id`` over all its attempts."""
        return self._by_task.get(task_id, 0.0)

    def task_limit(self, task_id: str) -> float | None:
        """The task's cap: its own ``limit_usd`` if an operator set one, else the config's."""
        return self._task_limits.get(task_id, self.config.limit_usd_per_task)

    def set_task_limit(self, task_id: str, limit_usd: float) -> None:
        """An operator raised (or lowered) one task's cap."""
        self._task_limits[task_id] = limit_usd

    def task_over_limit(self, task_id: str) -> bool:
        """Whether the task's own limit is reached."""
        limit = self.task_limit(task_id)
        return limit is not None and self.task_spent(task_id) >= limit

    @property
    def day_over_limit(self) -> bool:
        """Whether today's limit is reached."""
        limit = self.config.limit_usd_per_day
        return limit is not None and self.spent.cost_usd >= limit

    @property
    def percent(self) -> float | None:
        """Today's spending as a share of the daily limit (None without a limit)."""
        limit = self.config.limit_usd_per_day
        return None if limit is None else 100.0 * self.spent.cost_usd / limit

    def burn_rate(self) -> float:
        """USD per hour over the last ``burn_window_s`` (or since start, if shorter)."""
        now = self._clock()
        window = self.config.burn_window_s
        while self._recent and self._recent[0][0] < now - window:
            self._recent.popleft()
        span = max(MIN_RATE_SPAN_S, min(window, now - self._since))
        return sum(cost for _, cost in self._recent) * 3600.0 / span

    def entity(self) -> dict[str, Any]:
        """The catalogue's ``budget`` entity for the current period."""
        rate = self.burn_rate()
        return {
            "period": self.period,
            "limit_usd": self.config.limit_usd_per_day,
            "limit_usd_per_task": self.config.limit_usd_per_task,
            "spent_usd": round(self.spent.cost_usd, 6),
            "tokens_in": self.spent.input,
            "tokens_out": self.spent.output,
            "burn_rate_usd_per_hour": round(rate, 6),
            "projected_exhaustion_at": self._exhaustion(rate),
            "by_agent": {name: round(usd, 6) for name, usd in self.by_agent.items()},
        }

    def _exhaustion(self, rate: float) -> str | None:
        limit = self.config.limit_usd_per_day
        if limit is None:
            return None
        left = limit - self.spent.cost_usd
        now = datetime.fromtimestamp(self._clock(), UTC)
        if left <= 0:
            return iso(now)
        if rate <= 0:
            return None
        moment = now + timedelta(hours=left / rate)
        # Past midnight the daily budget starts afresh: it does not run out today.
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return iso(moment) if moment < midnight else None

    def _crossing(
        self,
        scope: str,
        before: float,
        after: float,
        limit: float | None,
        task_id: str | None = None,
    ) -> Crossing | None:
        if limit is None:
            return None
        level_before, level_after = self._level(before, limit), self._level(after, limit)
        if level_after <= level_before:
            return None
        return Crossing(scope, level_after, after, limit, task_id)

    def _level(self, spent: float, limit: float) -> BudgetLevel:
        if spent >= limit:
            return BudgetLevel.LIMIT
        if spent >= limit * self.config.warn_at:
            return BudgetLevel.WARNING
        return BudgetLevel.OK


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
