"""The demo fleet: simulated agents, a steady trickle of tasks, a few mishaps.

``harness demo`` runs the hub with :func:`demo_config` and a :class:`DemoFeeder`.
Three simulated agents (:mod:`sim_agent`), four sessions at once, work through
plausible coding tasks with random timings and token usage; some test runs fail,
the third task hangs (the HealthMonitor flags it stuck, the timeout ends it, the
retry succeeds) and the fifth crashes (shown crashed, then retried).
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from .config import HarnessConfig, parse_config
from .orchestrator import Orchestrator

SIM_AGENT = Path(__file__).with_name("sim_agent.py")

TASKS = [
    ("Fix the off-by-one in pagination", "The last page repeats the first item of the next."),
    ("Add retries to the webhook sender", "Exponential backoff, at most 5 tries."),
    ("Refactor the settings loader", "Split file parsing from validation."),
    ("Speed up the search endpoint", "p95 is 800 ms; profile and add an index."),
    ("Upgrade the HTTP client", "Move from requests to httpx, keep the timeouts."),
    ("Write tests for the invoice totals", "Cover discounts, taxes and rounding."),
    ("Remove the deprecated v1 routes", "Return 410 Gone with a pointer to v2."),
    ("Add a dark mode toggle", "Persist the choice in local storage."),
    ("Document the public API", "One page per resource, with examples."),
    ("Fix the flaky login test", "It fails when the clock crosses a second."),
    ("Add type hints to the billing module", "mypy --strict must pass."),
    ("Cache the exchange rates", "Refresh hourly; fall back to the last known rate."),
    ("Handle empty CSV uploads", "Show a clear error instead of a 500."),
    ("Rate-limit the password reset form", "Five requests per hour per address."),
    ("Migrate the jobs table to UUID keys", "Write a reversible migration."),
    ("Localise the onboarding emails", "French and German, keep the layout."),
]
MISHAPS = {3: "hang", 5: "crash", 8: "fail"}
"""Which task (by order) misbehaves at first, and how; later ones draw at random."""


def demo_config(speed: float = 1.0) -> HarnessConfig:
    """Three simulated agents, four instances in all: lively but cheap."""
    agent = [sys.executable, str(SIM_AGENT), "--speed", f"{speed:g}"]
    health = {"stale_after_s": 8, "crashed_after_s": 25, "stuck_after_s": 12 * speed + 3}
    agents = {
        name: {
            "command": agent,
            "max_instances": instances,
            "max_iterations": 20,
            "timeout_s": 45 * speed + 15,
            "stop_grace_s": 2,
            "health": health,
        }
        for name, instances in (("claude-sim", 2), ("codex-sim", 1), ("aider-sim", 1))
    }
    data = {
        "orchestrator": {"publish_interval_s": 3.0, "health_interval_s": 0.5},
        "agents": agents,
        "budget": {"limit_usd_per_day": 50.0, "limit_usd_per_task": 1.0, "warn_at": 0.8},
        "tests": {"command": [sys.executable, str(SIM_AGENT), "tests"], "timeout_s": 60},
        "retry": {"max_attempts": 2, "backoff_s": 5, "max_backoff_s": 30},
    }
    return parse_config(data, Path.cwd())


class DemoFeeder:
    """Keeps the demo queue topped up: a burst at start, then a task every few seconds."""

    def __init__(
        self, orchestrator: Orchestrator, every_s: float = 4.0, seed: int | None = None
    ) -> None:
        self.orchestrator = orchestrator
        self.every_s = every_s
        self.added = 0
        self._rng = random.Random(seed)

    async def run(self, burst: int = 4, max_queued: int = 6) -> None:
        """Add ``burst`` tasks now, then one per ``every_s`` (±50%) while few are queued."""
        for _ in range(burst):
            await self.add()
        while True:
            await asyncio.sleep(self.every_s * self._rng.uniform(0.5, 1.5))
            if self.orchestrator.summary()["tasks_queued"] < max_queued:
                await self.add()

    async def add(self) -> str:
        """Queue the next demo task."""
        self.added += 1
        title, description = TASKS[(self.added - 1) % len(TASKS)]
        mishap = MISHAPS.get(self.added) or self._random_mishap()
        if mishap:
            description += f"\n\n[demo: this run will {mishap} — sim:{mishap}]"
        priority = self._rng.choice([0, 0, 0, 1, 2])
        return await self.orchestrator.submit(title, description=description, priority=priority)

    def _random_mishap(self) -> str | None:
        roll = self._rng.random()
        if roll < 0.02:
            return "hang"
        if roll < 0.04:
            return "crash"
        return "fail" if roll < 0.09 else None
