"""Bot commands: /status, /tasks, /pause, /resume, /snooze."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from parent_harness.events.clock import ManualClock
from parent_harness.notify.commands import Commands
from parent_harness.notify.gate import ALL, Snooze, Snoozes
from parent_harness.notify.incidents import Incident
from parent_harness.notify.links import Links
from tests.unit.notify.fakes import FakeControl, FakeHub, agent, failed_task


class Desk:
    """The notifier's side of the commands: incidents and snoozes."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.snoozes = Snoozes()
        self.incidents = [Incident("task-failed", "t-1", 0.0)]

    @property
    def rule_titles(self) -> Mapping[str, str]:
        return {"task-failed": "Task failed"}

    def open_incidents(self) -> list[Incident]:
        return self.incidents

    def active_snoozes(self) -> list[Snooze]:
        return self.snoozes.active()

    def snooze(self, scope: str, seconds: float, by: str) -> Snooze:
        snooze = Snooze(scope, self.clock.now() + seconds, by)
        self.snoozes.add(snooze)
        return snooze

    def unsnooze(self, scope: str | None) -> list[str]:
        return self.snoozes.remove(scope)


@pytest.fixture
def parts() -> tuple[Commands, FakeHub, FakeControl, Desk]:
    hub, control, clock = FakeHub(), FakeControl(), ManualClock(1_800_000_000.0)
    hub.emit("agent:status", agent("a-1", status="working", health_status="stuck"))
    hub.emit("agent:status", agent("a-2", status="idle", health_status="healthy"))
    hub.emit("task:created", {"task": {"id": "t-2", "title": "Add login", "status": "running"}})
    hub.emit("task:failed", failed_task("t-1"))
    hub.emit("task:completed", {"task": {"id": "t-3", "title": "Old", "status": "completed"}})
    hub.emit("budget:updated", {"budget": {"period": "day", "limit_usd": 50.0, "spent_usd": 12.5}})
    desk = Desk(clock)
    commands = Commands(desk, hub.state, control, Links("http://dash"), clock)
    return commands, hub, control, desk


async def test_status_is_the_fleet_at_a_glance(
    parts: tuple[Commands, FakeHub, FakeControl, Desk],
) -> None:
    commands, *_ = parts
    text = await commands.handle("/status", "1")
    assert "Spawning: running" in text
    assert "Agents: 2 — 1 working, 1 idle; health: 1 stuck" in text
    assert "Tasks: 3 — 1 running, 1 failed, 1 completed" in text
    assert "Budget day: $12.50 of $50.00 (25%)" in text
    assert "Open incidents: 1 — Task failed: t-1" in text
    assert "Queue depth: 3" in text
    assert text.endswith("http://dash/")


async def test_tasks_lists_active_and_failed_with_links(
    parts: tuple[Commands, FakeHub, FakeControl, Desk],
) -> None:
    commands, *_ = parts
    text = await commands.handle("/tasks", "1")
    assert "Add login" in text and "http://dash/#/tasks/t-2" in text
    assert "Fix t-1" in text and "Old" not in text
    assert "Old" in await commands.handle("/tasks all", "1")
    assert await commands.handle("/tasks cancelled", "1") == "No cancelled tasks."


async def test_pause_and_resume_drive_the_fleet(
    parts: tuple[Commands, FakeHub, FakeControl, Desk],
) -> None:
    commands, _, control, _ = parts
    reply = await commands.handle("/pause@harness_bot  deploy in progress", "1")
    assert control.paused and control.reason == "deploy in progress"
    assert "Spawning paused (deploy in progress)" in reply
    assert "PAUSED (deploy in progress)" in await commands.handle("/status", "1")
    assert "already paused" in await commands.handle("/pause", "1")
    assert await commands.handle("/resume", "1") == "Spawning resumed."
    assert not control.paused
    assert "not paused" in await commands.handle("/resume", "1")


async def test_without_a_control_pause_says_so() -> None:
    hub, clock = FakeHub(), ManualClock()
    commands = Commands(Desk(clock), hub.state, None, Links("http://dash"), clock)
    assert "cannot be controlled" in await commands.handle("/pause", "1")
    assert "Spawning" not in await commands.handle("/status", "1")


@pytest.mark.parametrize(
    ("text", "scope", "seconds"),
    [
        ("/snooze", ALL, 3600),
        ("/snooze 30m", ALL, 1800),
        ("/snooze 2h task-failed", "task-failed", 7200),
        ("/snooze a-7", "a-7", 3600),
    ],
)
async def test_snooze_reads_a_duration_and_a_scope(
    parts: tuple[Commands, FakeHub, FakeControl, Desk], text: str, scope: str, seconds: float
) -> None:
    commands, _, _, desk = parts
    reply = await commands.handle(text, "1")
    (snooze,) = desk.snoozes.active()
    assert (snooze.scope, snooze.until - desk.clock.now(), snooze.by) == (
        scope,
        seconds,
        "telegram chat 1",
    )
    assert reply.startswith("Snoozed")
    assert "Snoozed:" in await commands.handle("/status", "1")


async def test_snooze_off_ends_snoozes(parts: tuple[Commands, FakeHub, FakeControl, Desk]) -> None:
    commands, _, _, desk = parts
    await commands.handle("/snooze 1h", "1")
    assert await commands.handle("/snooze list", "1") != "Nothing is snoozed."
    assert await commands.handle("/snooze off", "1") == "Snooze ended: all."
    assert desk.snoozes.active() == []
    assert await commands.handle("/snooze off", "1") == "Nothing was snoozed."


async def test_unknown_commands_and_chatter_get_the_help(
    parts: tuple[Commands, FakeHub, FakeControl, Desk],
) -> None:
    commands, *_ = parts
    assert (await commands.handle("/launch", "1")).startswith("Unknown command /launch.")
    assert "/status" in await commands.handle("hello bot", "1")
