"""The demo fleet: simulated agents, a steady trickle of tasks, a few mishaps.

``harness demo`` runs the hub with :func:`demo_config` and a :class:`DemoFeeder`.
Three simulated agents (:mod:`sim_agent`), four sessions at once, work through
plausible coding tasks with random timings and token usage; some test runs fail,
the second task fails for good (both attempts: its error details and suggestions fill
the Recent failures panel), the third hangs (the HealthMonitor flags it stuck, the
timeout ends it, the retry succeeds) and the fifth crashes (shown crashed, then retried).
The sixth asks the operator for permission (it waits in the Inbox; unanswered, it is
denied after ``[approvals] timeout_s``), the seventh asks for a read the demo's rule
allows; later ones now and then ask too. (The first burst only works, so the fleet shows
busy at once.)

With git installed, the demo works in a throwaway repository (:func:`make_demo_repo`):
each attempt gets a worktree and the simulated agents make real commits there, so the
task pages show attempts and diffs, and the feeder merges a finished attempt now and
then (``workspace:merged``, then ``workspace:removed``: ``cleanup = "on_merge"``; one that
conflicts is simply left as it is).

Right after its first burst the feeder applies a small plan (:data:`PLAN`: a chain and a
branch, ``plan:applied``), so tasks wait ``blocked`` on their parents and the plan's graph
page has something to draw. The simulated agents report their tool calls
(``session:tool``) and print plain output (``session:output``): within its first minute
the demo shows every event kind but those of :data:`NOT_SHOWN`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..events.sink import FleetState
from ..exceptions import WorkspaceRefused
from ..hub.plans import apply_plan
from .config import HarnessConfig, parse_config
from .orchestrator import Orchestrator

log = logging.getLogger(__name__)

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
MISHAPS = {2: "fail-always", 3: "hang", 5: "crash", 6: "ask", 7: "ask-rule", 8: "fail"}
"""Which task (by order) misbehaves at first, and how; later ones draw at random."""


NOT_SHOWN = {
    "worker:status": "the demo's agents run in its own process, on no worker (harness worker)",
    "telegram:message": "the demo has no Telegram bot ([notify.telegram] in harness.toml)",
}
"""Event kinds the demo does not make, and why; it shows every other one in its first
minute (tests/integration/workspaces/test_demo_workspaces.py)."""

PLAN_ID = "release-1-2"
PLAN = [
    ("rel-schema", "Add a delivery window to orders", []),
    ("rel-api", "Expose the delivery window in the orders API", ["rel-schema"]),
    ("rel-client", "Let shoppers pick a delivery window", ["rel-api"]),
    ("rel-docs", "Document the delivery window", ["rel-schema"]),
]
"""The demo's plan: (task id, title, parents); applying it again changes nothing."""


DEMO_FILES = {
    "README.md": "# acme-shop\n\nA small shop the demo's agents work on.\n",
    "CHANGELOG.md": "# Changelog\n\n",
    "src/app.py": "def main() -> None:\n    print('acme-shop')\n",
    ".gitignore": ".env\n",
}


def make_demo_repo(root: Path) -> Path | None:
    """A throwaway git repository for the demo's workspaces, or None without git."""
    if shutil.which("git") is None:
        return None
    repo = root / "acme-shop"
    for name, text in DEMO_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    identity = ["-c", "user.name=parent-harness demo", "-c", "user.email=demo@localhost"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "--all"],
        [*identity, "commit", "-qm", "Start"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


def demo_config(speed: float = 1.0, repo: Path | None = None) -> HarnessConfig:
    """Three simulated agents, four instances in all: lively but cheap; with ``repo``, each
    attempt in a worktree of it."""
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
        # A request unanswered expires before the session's timeout_s could stop it.
        "approvals": {
            "timeout_s": 20 * speed + 10,
            "remind_after_s": 10 * speed + 5,
            "rules": [{"name": "reads", "tool": "Read", "decision": "allow"}],
        },
    }
    if repo is not None:
        data["workspace"] = {"repo": str(repo), "cleanup": "on_merge", "stats_interval_s": 2.0}
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
        """Add ``burst`` tasks now, then one per ``every_s`` (±50%) while few are queued;
        every third tick, merge a finished attempt (with workspaces)."""
        for _ in range(burst):
            await self.add()
        await self.apply_plan()
        tick = 0
        while True:
            await asyncio.sleep(self.every_s * self._rng.uniform(0.5, 1.5))
            tick += 1
            if self.orchestrator.summary()["tasks_queued"] < max_queued:
                await self.add()
            if tick % 3 == 0:
                await self.merge_one()

    async def apply_plan(self) -> list[str]:
        """Apply :data:`PLAN` through the hub, as ``POST /api/plans`` would; the task ids
        it created (none when a kept store has it already)."""
        tasks = [
            {"id": task_id, "title": title, "priority": 1, "depends_on": parents,
             "description": "Part of the 1.2 release plan."}
            for task_id, title, parents in PLAN
        ]  # fmt: skip
        state = self.orchestrator.hub_state
        drafts = apply_plan(PLAN_ID, tasks, state.tasks, max_parents=len(PLAN))
        for draft in drafts:
            await self.orchestrator.publisher.publish(draft.type, draft.payload)
        return [str(d.payload["task"]["id"]) for d in drafts if d.type == "task:created"]

    async def merge_one(self) -> dict[str, Any] | None:
        """Squash-merge the oldest attempt whose session completed and that merges cleanly;
        what it merged (an operator merges the work that succeeded, not a failed try)."""
        actions = self.orchestrator.workspace_actions()
        if actions is None:
            return None
        state = self.orchestrator.hub_state
        ready = [w for w in state.workspaces.values()
                 if w.get("status") == "ready" and _succeeded(state, w)]  # fmt: skip
        for workspace in sorted(ready, key=lambda w: str(w.get("created_at"))):
            try:
                return await actions.merge(workspace, "squash")
            except WorkspaceRefused as refused:
                log.info("demo: attempt %s not merged: %s", workspace["id"], refused.detail)
        return None

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
        if roll < 0.09:
            return "fail"
        if roll < 0.14:
            return "ask"
        return "ask-rule" if roll < 0.17 else None


def _succeeded(state: FleetState, workspace: Mapping[str, Any]) -> bool:
    """Whether the attempt's session completed."""
    session = state.sessions.get(workspace.get("session_id") or "")
    return session is not None and session.get("status") == "completed"
