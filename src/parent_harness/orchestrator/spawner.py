"""Starting an agent as a real subprocess and reading what it prints.

:func:`build_invocation` turns an agent's configuration and a task into argv,
working directory, environment and stdin; :class:`AgentProcess` runs it in its
own process group, yields its stdout and stderr lines as they come, and stops
it (SIGTERM to the group, then SIGKILL after a grace period).

The command is never given to a shell: each word of the template is filled in
separately, so a task title can hold quotes or ``;`` safely. A word that starts
with a task's text comes after ``--`` (the configuration refuses any other
place), so a title cannot become an option. The task id must be a plain name and
the working directory must stay under its root (:mod:`admission`); otherwise
:func:`build_invocation` raises :class:`~.admission.TaskRefused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from .admission import check_task_id, contained_workdir
from .config import AgentConfig
from .output import LineSplitter

LINE_LIMIT = 16 * 1024 * 1024
"""Longest line read whole; Claude Code prints whole tool results on one line."""
READ_CHUNK = 64 * 1024
PARTIAL_AFTER_S = 0.1
"""A line that waits this long for its newline is shown as far as it goes (issue 16)."""
QUEUED_CHARS = 8 * 1024 * 1024
"""Read but not yet taken by the session, at most (beyond one line): past it the pumps stop
reading, the pipe fills and the agent waits on its own writes until the session catches up.
The orchestrator's memory stays bounded however fast an agent prints."""


class Line(NamedTuple):
    """What the agent printed on one stream: a whole line, or the start of one still
    waiting for its newline (`whole` is None: only for the output view)."""

    stream: str
    whole: str | None
    """The whole line, for the adapter; None for a partial line or one too long to parse."""
    fresh: str
    """What the output view has not shown of it yet."""


BASE_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SHELL", "TERM")


@dataclass(frozen=True, slots=True)
class HubAccess:
    """The hub an agent may talk to (Claude Code's approval hook does)."""

    url: str
    token: str | None = None
    approval_timeout_s: float = 900.0


HOOK_GRACE_S = 60
"""Claude Code's time limit for the hook goes this far past the request's expiry."""


def hook_settings(agent: AgentConfig, hub: HubAccess) -> str:
    """The ``--settings`` JSON that makes Claude Code ask the hub before tool calls."""
    command = shlex.join([sys.executable, "-m", "parent_harness", "approvals", "hook"])
    hook = {"type": "command", "command": command,
            "timeout": int(hub.approval_timeout_s) + HOOK_GRACE_S}  # fmt: skip
    entry = {"matcher": agent.approval_tools, "hooks": [hook]}
    return orjson.dumps({"hooks": {agent.approval_hook: [entry]}}).decode()


@dataclass(frozen=True, slots=True)
class Invocation:
    """Everything needed to start one agent process."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    stdin: bytes | None
    answers: bool = False
    """Keep stdin open after ``stdin`` for answers written later (approvals, the harness
    protocol); otherwise stdin is closed after ``stdin`` (or is /dev/null)."""

    @property
    def display(self) -> str:
        """The command line, quoted as a shell would need it."""
        return shlex.join(self.argv)


def template_values(
    agent: AgentConfig, task: Mapping[str, Any], session_id: str, attempt: int
) -> dict[str, str]:
    """The values of every placeholder for this agent, task and attempt.

    Raises :class:`~.admission.TaskRefused` when the task id is not a plain name.
    """
    check_task_id(str(task.get("id")))
    values = {
        "title": str(task.get("title") or ""),
        "description": str(task.get("description") or ""),
        "task_id": str(task.get("id")),
        "session_id": session_id,
        "attempt": str(attempt),
        "max_iterations": str(agent.max_iterations),
        "agent": agent.name,
        "prompt": "",
        "workdir": "",
    }
    values["workdir"] = agent.workdir.format_map(values)
    values["prompt"] = agent.prompt_template.format_map(values).strip()
    return values


def build_invocation(
    agent: AgentConfig,
    task: Mapping[str, Any],
    session_id: str,
    attempt: int,
    hub: HubAccess | None = None,
) -> Invocation:
    """The argv, cwd, env and stdin that hand ``task`` to ``agent``. With ``hub``, the
    agent gets ``HARNESS_URL``; one with an ``approval_hook`` also gets the hook (its
    ``--settings``, right after the program) and what the hook needs to reach the hub.

    Raises :class:`~.admission.TaskRefused` for an id that is not a plain name or a
    working directory outside its root.
    """
    values = template_values(agent, task, session_id, attempt)
    argv = [word.format_map(values) for word in agent.words]
    cwd = contained_workdir(agent.workdir, values["workdir"])
    env, stdin = _environment(agent, values), _stdin(agent, values)
    if hub is not None:
        env["HARNESS_URL"] = hub.url
        if agent.approval_hook != "none":
            argv[1:1] = ["--settings", hook_settings(agent, hub)]
            env["HARNESS_APPROVAL_TIMEOUT_S"] = f"{hub.approval_timeout_s:g}"
            if hub.token:
                env["HARNESS_TOKEN"] = hub.token
    return Invocation(argv, cwd, env, stdin, answers=takes_answers(agent))


def takes_answers(agent: AgentConfig) -> bool:
    """Whether the agent hears approval answers on its stdin: it speaks the harness
    protocol and does not read its prompt from stdin to the end (``stdin = "prompt"``)."""
    return agent.adapter == "harness" and agent.stdin != "prompt"


def _environment(agent: AgentConfig, values: Mapping[str, str]) -> dict[str, str]:
    if agent.inherit_env:
        env = dict(os.environ)
    else:
        env = {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}
    env.update({key: os.path.expandvars(value) for key, value in agent.env.items()})
    env.update(
        {
            "HARNESS_TASK_ID": values["task_id"],
            "HARNESS_TASK_TITLE": values["title"],
            "HARNESS_TASK_DESCRIPTION": values["description"],
            "HARNESS_PROMPT": values["prompt"],
            "HARNESS_SESSION_ID": values["session_id"],
            "HARNESS_ATTEMPT": values["attempt"],
            "HARNESS_MAX_ITERATIONS": values["max_iterations"],
            "HARNESS_AGENT": values["agent"],
            "PYTHONUNBUFFERED": env.get("PYTHONUNBUFFERED", "1"),
        }
    )
    return env


def _stdin(agent: AgentConfig, values: Mapping[str, str]) -> bytes | None:
    if agent.stdin == "prompt":
        return values["prompt"].encode()
    if agent.stdin == "json":
        keys = ("task_id", "title", "description", "prompt", "session_id", "attempt", "agent")
        return orjson.dumps({key: values[key] for key in keys}) + b"\n"
    return None


class AgentProcess:
    """One running agent: its lines as ``(stream, text)`` pairs, its exit, its stop."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        queued_chars: int = QUEUED_CHARS,
        answers: bool = False,
    ) -> None:
        self._proc = proc
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        if answers and proc.stdin is not None:
            self._writer = asyncio.create_task(self._write(proc.stdin))
        self._lines: asyncio.Queue[tuple[Line | None, int]] = asyncio.Queue()
        self._queued = 0
        self._queued_limit = queued_chars
        self._room = asyncio.Event()
        self._room.set()
        self._pumps = [
            asyncio.create_task(self._pump("stdout", proc.stdout)),
            asyncio.create_task(self._pump("stderr", proc.stderr)),
        ]
        self._open = len(self._pumps)

    @classmethod
    async def start(cls, invocation: Invocation, queued_chars: int = QUEUED_CHARS) -> AgentProcess:
        """Start the process; raises :class:`OSError` when it cannot be started."""
        proc = await asyncio.create_subprocess_exec(
            *invocation.argv,
            cwd=invocation.cwd,
            env=invocation.env,
            stdin=asyncio.subprocess.DEVNULL
            if invocation.stdin is None and not invocation.answers
            else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=16 * READ_CHUNK,
        )
        agent = cls(proc, queued_chars, invocation.answers)
        if invocation.answers:
            if invocation.stdin is not None:
                agent.send(invocation.stdin)
        elif invocation.stdin is not None:
            await agent._feed(invocation.stdin)
        return agent

    @property
    def answers(self) -> bool:
        """Whether :meth:`send` reaches the agent (its stdin is kept open)."""
        return self._writer is not None and not self._writer.done()

    def send(self, data: bytes) -> bool:
        """Queue ``data`` for the agent's stdin, in order, without waiting; False when the
        agent takes no answers (stdin closed or never open)."""
        if not self.answers:
            return False
        self._outbox.put_nowait(data)
        return True

    async def _write(self, stdin: asyncio.StreamWriter) -> None:
        """Writes what :meth:`send` queues; stdin is closed when the writer ends (cancelled
        by :meth:`abandon_output` once the agent exited or was stopped)."""
        try:
            while (data := await self._outbox.get()) is not None:
                stdin.write(data)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the agent closed its end or exited: nothing more reaches it
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
                stdin.close()

    @property
    def pid(self) -> int:
        """The process id (also its process group id)."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once it ended; negative when a signal killed it."""
        return self._proc.returncode

    async def lines(self) -> AsyncIterator[Line]:
        """Each line from stdout and stderr as it arrives, until both close; a line that
        waits `PARTIAL_AFTER_S` for its newline comes as far as it goes."""
        while self._open:
            item, size = await self._lines.get()
            self._queued -= size
            if self._queued <= self._queued_limit:
                self._room.set()
            if item is None:
                self._open -= 1
            else:
                yield item

    async def wait(self) -> int:
        """Wait for the process to end; its return code."""
        return await self._proc.wait()

    async def stop(self, grace_s: float) -> None:
        """SIGTERM the process group, then SIGKILL it if still running after ``grace_s``."""
        self.signal_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._proc.wait(), grace_s)
        except TimeoutError:
            self.signal_group(signal.SIGKILL)
            await self._proc.wait()

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the agent and everything it started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    async def abandon_output(self) -> None:
        """Stop reading: kill what is left of the group and close :meth:`lines`."""
        self.signal_group(signal.SIGKILL)
        tasks = [*self._pumps, *([self._writer] if self._writer is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _feed(self, data: bytes) -> None:
        stdin = self._proc.stdin
        if stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        stdin.close()

    async def _pump(self, stream: str, reader: asyncio.StreamReader | None) -> None:
        splitter = LineSplitter(LINE_LIMIT)
        try:
            while reader is not None:
                try:
                    if splitter.waiting:
                        async with asyncio.timeout(PARTIAL_AFTER_S):  # not wait_for: see git.py
                            data = await reader.read(READ_CHUNK)
                    else:
                        data = await reader.read(READ_CHUNK)
                except TimeoutError:  # nothing more for a while: show the line so far
                    await self._put(Line(stream, None, splitter.partial()))
                    continue
                if not data:
                    break
                for whole, fresh in splitter.feed(data):
                    await self._put(Line(stream, whole, fresh))
            last = splitter.end()
            if last is not None:
                await self._put(Line(stream, *last))
        finally:
            self._lines.put_nowait((None, 0))

    async def _put(self, line: Line) -> None:
        """Queue a line for :meth:`lines`, first waiting while the queue is over its bound."""
        while self._queued > self._queued_limit:
            self._room.clear()
            await self._room.wait()
        size = len(line.fresh) + (len(line.whole) if line.whole is not None else 0)
        self._queued += size
        self._lines.put_nowait((line, size))
