"""Takes docs/dashboard.png: the dashboard at 1280x800 over a hub with a small, busy fleet.

Starts a hub on a fresh SQLite file, publishes agents (one stuck, one crashed), tasks (one
failed with its error details), sessions with iterations, a budget past its warning line and
Telegram messages, keeps the fleet busy for `--busy` seconds so the charts have a history,
then captures the page.

    .venv/bin/python -m bench.dashboard_screenshot [--out docs/dashboard.png] [--busy 45]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.dashboard_hub import Event, chromium, new_context, publish, publish_all, running_hub

AGENTS = [
    ("agent-1", "claude-1", "working", "healthy", None),
    ("agent-2", "claude-2", "working", "stuck", "no progress for 7 min (iteration 6 of 20)"),
    ("agent-3", "codex-1", "error", "crashed", "exit code 137: killed (out of memory)"),
    ("agent-4", "codex-2", "working", "healthy", None),
    ("agent-5", "aider-1", "idle", "healthy", None),
]
TASKS = [
    ("Fix flaky reconnect test in the SDK", "running", 64),
    ("Add cursor paging to GET /api/sessions", "running", 35),
    ("Refactor the budget projection", "failed", 30),
    ("Migrate store to SQLAlchemy 2.1", "testing", 92),
    ("Write the operator guide for alerts", "queued", 0),
    ("Investigate slow fan-out with 1k clients", "pending", 0),
    ("Upgrade aiohttp to 3.14", "completed", 100),
    ("Telegram /status command", "completed", 100),
]
FAILURE = {
    "message": "pytest exited with 1 failed test: test_projection_with_zero_burn",
    "kind": "test_failure",
    "exit_code": 1,
    "stack": "Traceback (most recent call last):\n"
    '  File "tests/unit/test_budget.py", line 88, in test_projection_with_zero_burn\n'
    "    assert projected is None\nAssertionError: assert datetime(2026, 11, 25) is None",
    "output_tail": "FAILED tests/unit/test_budget.py::test_projection_with_zero_burn\n"
    "1 failed, 211 passed in 6.4s",
    "suggestions": [
        "Return None when the burn rate is zero",
        "Run: pytest tests/unit/test_budget.py -x",
    ],
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fleet() -> list[Event]:
    now = datetime.now(UTC)
    out: list[Event] = []
    for i, (ident, name, status, health, reason) in enumerate(AGENTS):
        working = status == "working"
        out.append(
            {
                "type": "agent:status",
                "payload": {
                    "agent": {
                        "id": ident,
                        "name": name,
                        "status": status,
                        "health_status": health,
                        "health_reason": reason,
                        "running_instances": 1 if working else 0,
                        "max_instances": 2,
                        "current_task_id": f"task-{i + 1}" if working else None,
                        "current_session_id": f"session-{i + 1}" if working else None,
                        "current_iteration": 3 + i if working else None,
                        "last_heartbeat_at": iso(now),
                    }
                },
            }
        )
    for i, (title, status, progress) in enumerate(TASKS):
        task: dict[str, Any] = {
            "id": f"task-{i + 1}",
            "title": title,
            "status": status,
            "priority": i % 3,
            "progress_percent": progress,
            "attempts": 1,
            "max_attempts": 3,
            "agent_id": AGENTS[i % len(AGENTS)][0] if status not in ("queued", "pending") else None,
            "session_id": f"session-{i + 1}",
            "token_usage": {
                "input": 18_000 * (i + 1),
                "output": 4_100 * (i + 1),
                "cost_usd": round(0.37 * (i + 1), 2),
            },
        }
        if status == "failed":
            task["error_details"] = FAILURE
        out.append(
            {
                "type": "task:failed" if status == "failed" else "task:created",
                "payload": {"task": task},
            }
        )
        if status in ("queued", "pending"):
            continue
        out.append(
            {
                "type": "session:started",
                "payload": {
                    "session": {
                        "id": f"session-{i + 1}",
                        "agent_id": AGENTS[i % len(AGENTS)][0],
                        "task_id": f"task-{i + 1}",
                        "iteration": 3 + i,
                        "max_iterations": 20,
                        "status": {"failed": "failed", "completed": "completed"}.get(
                            status, "running"
                        ),
                    }
                },
            }
        )
    out.append(
        {
            "type": "test:completed",
            "payload": {
                "test_run": {
                    "id": "run-1",
                    "task_id": "task-3",
                    "command": "pytest -q",
                    "status": "failed",
                    "passed": 211,
                    "failed": 1,
                    "duration_s": 6.4,
                }
            },
        }
    )
    out.append(
        {
            "type": "test:completed",
            "payload": {
                "test_run": {
                    "id": "run-2",
                    "task_id": "task-7",
                    "command": "pytest -q",
                    "status": "passed",
                    "passed": 212,
                    "failed": 0,
                    "skipped": 3,
                    "duration_s": 6.1,
                }
            },
        }
    )
    out.append(
        {
            "type": "telegram:message",
            "payload": {
                "message": {
                    "id": "tg-1",
                    "direction": "out",
                    "chat_id": "ops",
                    "text": "task-3 failed: pytest exited with 1 failed test",
                }
            },
        }
    )
    out.append(
        {
            "type": "telegram:message",
            "payload": {
                "message": {
                    "id": "tg-2",
                    "direction": "in",
                    "chat_id": "ops",
                    "text": "/retry task-3",
                }
            },
        }
    )
    return out


def budget(spent: float) -> Event:
    runout = datetime.now(UTC) + timedelta(hours=(50 - spent) / 3.4)
    return {
        "type": "budget:updated",
        "payload": {
            "budget": {
                "period": "2026-11",
                "limit_usd": 50.0,
                "spent_usd": round(spent, 2),
                "tokens_in": 1_820_000,
                "tokens_out": 402_000,
                "burn_rate_usd_per_hour": 3.4,
                "projected_exhaustion_at": iso(runout),
            }
        },
    }


NOTES = ["queue depth 2", "spawned claude-1 iteration", "health check passed", "test run started"]


def busy_second(rng: random.Random, rate: float, spent: float) -> list[Event]:
    """One second of a working fleet: session and agent heartbeats, a note, the spend."""
    batch: list[Event] = [budget(spent)]
    for _ in range(round(rate)):
        progress = {"session_id": f"session-{rng.choice([1, 2, 4])}", "progress_percent": 50}
        batch.append({"type": "session:heartbeat", "payload": progress})
    for ident in ("agent-1", "agent-2", "agent-4", "agent-5"):
        batch.append({"type": "agent:heartbeat", "payload": {"agent_id": ident}})
    level = rng.choice(["info", "info", "debug", "warning"])
    note = {"level": level, "source": "orchestrator", "message": rng.choice(NOTES)}
    batch.append({"type": "event", "payload": {"event": note}})
    return batch


async def keep_busy(url: str, seconds: float) -> None:
    """Publishes a second of activity each second, at a rate that wanders (charts get a shape)."""
    rng = random.Random(3)
    spent = 40.2
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        while (elapsed := time.monotonic() - start) < seconds:
            rate = 8 + 6 * abs((elapsed % 20) - 10) / 10 + rng.random() * 4
            spent += 0.004 * rate
            await publish(http, url, busy_second(rng, rate, spent))
            await asyncio.sleep(1.0)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_hub(Path(tmp) / "shot.db") as url:
            await publish_all(url, fleet())
            await keep_busy(url, args.busy)
            async with chromium() as browser:
                context = await new_context(browser)
                page = await context.new_page()
                await page.goto(f"{url}/{args.page}")
                await page.wait_for_selector("html[data-ready='true']")
                await page.wait_for_function(  # the chart history and the recent events loaded
                    "document.querySelector('[data-testid=chart-events-value]')"
                    ".textContent.includes('peak') && document.querySelectorAll("
                    "'[data-testid=event-stream] [data-testid=event-row]').length > 5"
                )
                await page.screenshot(path=args.out)
                await context.close()
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/dashboard.png")
    parser.add_argument("--busy", type=float, default=45.0)
    parser.add_argument("--page", default="#/")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
