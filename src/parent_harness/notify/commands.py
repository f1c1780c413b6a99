"""The commands operators send the bot: /status, /tasks, /pause, /resume, /snooze, /help.

`Commands.handle(text, chat_id)` returns the reply's text. It never checks who is asking:
the inbox only passes messages from allowed chats.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from parent_harness.events.clock import Clock, to_iso
from parent_harness.notify.control import FleetControl, FleetState, settle
from parent_harness.notify.durations import format_duration, parse_duration
from parent_harness.notify.gate import ALL, Snooze
from parent_harness.notify.incidents import Incident
from parent_harness.notify.links import Links
from parent_harness.notify.summary import (
    agents_line,
    budget_line,
    control_lines,
    incidents_line,
    snoozes_line,
    task_line,
    tasks_line,
    tasks_text,
)

DEFAULT_SNOOZE_S = 3600.0
HELP = """Commands:
/status — the fleet at a glance
/tasks [all|failed|running|…] — tasks with links (default: active and failed)
/pause [reason] — stop spawning new agents (running ones finish)
/resume — start spawning again
/snooze [duration] [rule or id] — hold alerts (default: all, 1h); /snooze off [rule or id]
/help — this list"""


class AlertDesk(Protocol):
    """What the commands need from the notifier: incidents, rules and snoozes."""

    @property
    def rule_titles(self) -> Mapping[str, str]: ...

    def open_incidents(self) -> list[Incident]: ...

    def active_snoozes(self) -> list[Snooze]: ...

    def snooze(self, scope: str, seconds: float, by: str) -> Snooze: ...

    def unsnooze(self, scope: str | None) -> list[str]: ...


Handler = Callable[[list[str], str], Awaitable[str]]


class Commands:
    """Answers one command at a time."""

    def __init__(
        self,
        desk: AlertDesk,
        state: FleetState,
        control: FleetControl | None,
        links: Links,
        clock: Clock,
    ) -> None:
        self._desk = desk
        self._state = state
        self._control = control
        self._links = links
        self._clock = clock
        self._handlers: dict[str, Handler] = {
            "status": self.status,
            "tasks": self.tasks,
            "pause": self.pause,
            "resume": self.resume,
            "snooze": self.snooze,
            "help": self.help,
            "start": self.help,
        }

    async def handle(self, text: str, chat_id: str) -> str:
        """The reply to one message."""
        words = text.strip().split()
        if not words or not words[0].startswith("/"):
            return "I answer commands.\n" + HELP
        name = words[0][1:].split("@", 1)[0].lower()
        handler = self._handlers.get(name)
        if handler is None:
            return f"Unknown command /{name}.\n{HELP}"
        return await handler(words[1:], chat_id)

    async def help(self, args: list[str], chat_id: str) -> str:
        """/help: the list of commands."""
        return HELP

    async def status(self, args: list[str], chat_id: str) -> str:
        """/status: spawning, agents, tasks, budget, open incidents, snoozes, a link."""
        state = self._state
        paused = self._control.paused if self._control else None
        summary = self._control.summary() if self._control else {}
        lines = [
            f"Fleet at {to_iso(self._clock.now())[:19]}Z",
            *control_lines(paused, summary),
            agents_line(state.agents),
            tasks_line(state.tasks),
            budget_line(state.budget),
            incidents_line(self._desk.open_incidents(), self._desk.rule_titles),
            snoozes_line(self._desk.active_snoozes()),
            self._links.home(),
        ]
        return "\n".join(line for line in lines if line)

    async def tasks(self, args: list[str], chat_id: str) -> str:
        """/tasks [filter]: a listing, or one task by id."""
        wanted = args[0] if args else None
        if wanted and wanted in self._state.tasks:
            return task_line(self._state.tasks[wanted], self._links)
        return tasks_text(self._state.tasks, wanted, self._links)

    async def pause(self, args: list[str], chat_id: str) -> str:
        """/pause [reason]: stops spawning."""
        if self._control is None:
            return "Spawning cannot be controlled from here (no orchestrator attached)."
        if self._control.paused:
            return "Spawning is already paused. /resume to start again."
        reason = " ".join(args) or f"paused from Telegram chat {chat_id}"
        await settle(self._control.pause_spawning(reason))
        return f"Spawning paused ({reason}). Running agents finish their work. /resume to undo."

    async def resume(self, args: list[str], chat_id: str) -> str:
        """/resume: starts spawning again."""
        if self._control is None:
            return "Spawning cannot be controlled from here (no orchestrator attached)."
        if not self._control.paused:
            return "Spawning is not paused."
        await settle(self._control.resume_spawning())
        return "Spawning resumed."

    async def snooze(self, args: list[str], chat_id: str) -> str:
        """/snooze [duration] [scope], /snooze off [scope], /snooze list."""
        if args and args[0].lower() == "list":
            return snoozes_line(self._desk.active_snoozes()) or "Nothing is snoozed."
        if args and args[0].lower() in ("off", "stop", "end"):
            scope = args[1] if len(args) > 1 else None
            ended = self._desk.unsnooze(scope)
            return f"Snooze ended: {', '.join(ended)}." if ended else "Nothing was snoozed."
        seconds, rest = DEFAULT_SNOOZE_S, args
        if args:
            try:
                seconds, rest = parse_duration(args[0]), args[1:]
            except ValueError:
                rest = args
        if seconds <= 0:
            return "A snooze needs a positive duration, e.g. /snooze 30m."
        scope = rest[0] if rest else ALL
        snooze = self._desk.snooze(scope, seconds, f"telegram chat {chat_id}")
        what = "all alerts" if scope == ALL else f"alerts for {scope}"
        until = to_iso(snooze.until)[11:16]
        return f"Snoozed {what} for {format_duration(seconds)} (until {until} UTC)."
