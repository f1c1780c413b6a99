"""One attempt of one task on one agent: a session, from spawn to verdict.

A :class:`SessionRun` starts the agent process, turns each line it prints into
signals (through the agent's adapter) and the signals into events, runs the
task's test suite when the agent succeeds, and returns a :class:`RunOutcome`. What
becomes of the task afterwards (requeue, fail, complete) is the orchestrator's
decision. Heartbeats, progress and usage totals are coalesced and published
every ``orchestrator.publish_interval_s``; iterations, logs and tests go out as
they happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import shlex
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..events.clock import now_iso, short_id
from .adapters import exit_error, make_adapter
from .adapters._common import error_kind
from .admission import TaskRefused
from .config import AgentConfig, RunnerConfig, SuiteConfig
from .errors import Failure, signal_name
from .health import Vitals
from .output import OutputCapture
from .prices import Pricer
from .publisher import FleetPublisher
from .signals import (
    AgentError,
    ApprovalRequest,
    Heartbeat,
    Iteration,
    Log,
    Output,
    Progress,
    Signal,
    TestReport,
    TokenUsage,
    ToolCall,
    Usage,
)
from .spawner import AgentProcess, HubAccess, Invocation, build_invocation
from .suite import SuiteResult, run_suite, tests_failure
from .workspaces import Workspace, WorkspaceFailure, Workspaces

DRAIN_S = 2.0
"""How long output may keep flowing after the agent exited (a child may hold the pipe)."""


@dataclass(frozen=True, slots=True)
class StopRequest:
    """Why the orchestrator is stopping a session; ``interruption``: not the task's fault."""

    kind: str
    message: str
    context: Mapping[str, Any] = field(default_factory=dict)
    interruption: bool = False


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a session ended: no failure means the task is done."""

    failure: Failure | None = None
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        """The agent finished and the tests (if any) passed."""
        return self.failure is None


UsageHook = Callable[["SessionRun", TokenUsage], Awaitable[None]]
ApprovalHook = Callable[["SessionRun", ApprovalRequest], Awaitable[str | None]]
GoneHook = Callable[["SessionRun", str], Awaitable[None]]


class SessionRun:
    """Runs one task on one agent; see the module docstring."""

    def __init__(
        self,
        *,
        agent: AgentConfig,
        task: Mapping[str, Any],
        session_id: str,
        attempt: int,
        publisher: FleetPublisher,
        on_usage: UsageHook,
        suite: SuiteConfig | None,
        runner: RunnerConfig,
        clock: Callable[[], float] = time.monotonic,
        workspaces: Workspaces | None = None,
        on_approval: ApprovalHook | None = None,
        on_gone: GoneHook | None = None,
        hub: HubAccess | None = None,
    ) -> None:
        self.agent, self.task, self.id, self.attempt = agent, task, session_id, attempt
        self.task_id = str(task["id"])
        self._pub, self._on_usage, self._suite, self._runner = publisher, on_usage, suite, runner
        self._clock = clock
        self._adapter = make_adapter(agent.adapter)
        self._pricer = Pricer(agent)
        self._unpriced: set[str] = set()
        self.last_tool: ToolCall | None = None
        now = clock()
        self.vitals = Vitals(last_heartbeat=now, last_progress=now)
        self.iteration = 0
        self.progress: float | None = None
        self.usage = TokenUsage()
        self._base_usage = TokenUsage.from_payload(task.get("token_usage"))
        self.pid: int | None = None
        self.last_heartbeat_at: str | None = None
        self.last_progress_at: str | None = None
        self._tail: deque[str] = deque(maxlen=runner.output_tail_lines)
        self._stderr: deque[str] = deque(maxlen=runner.output_tail_lines)
        self._stop: StopRequest | None = None
        self._stopping = asyncio.Event()
        self._agent_error: AgentError | None = None
        self._last_error_log: str | None = None
        self._agent_test: tuple[str, str | None] | None = None
        self._beats = 0
        self._flushed: dict[str, dict[str, Any]] = {}
        self._invocation: Invocation | None = None
        out = runner.output
        self.output = OutputCapture(
            out.redactor(), out.limits(), clock, now_iso, streaming=out.enabled
        )
        self._output_due = asyncio.Event()
        self._workspaces = workspaces
        self.workspace: Workspace | None = None
        self._workspace_open = False
        self._on_approval, self._on_gone, self._hub = on_approval, on_gone, hub
        self._proc: AgentProcess | None = None
        self.exited = False
        """The agent's process ended (its session may still be running tests)."""
        self.waiting: set[str] = set()
        """The approvals this session waits for (it is ``waiting_input`` while any)."""

    # -- control ---------------------------------------------------------------------------

    def request_stop(self, request: StopRequest) -> None:
        """Ask the session to stop its agent (the first reason given wins)."""
        if self._stop is None:
            self._stop = request
            self._stopping.set()

    @property
    def stop_request(self) -> StopRequest | None:
        """Why the session was asked to stop, if it was."""
        return self._stop

    @property
    def output_tail(self) -> str:
        """The last lines of output (stdout that is not protocol, and stderr)."""
        return "\n".join(self._tail)

    @property
    def agent_name(self) -> str:
        """The agent's id and name."""
        return self.agent.name

    @property
    def workspace_path(self) -> str | None:
        """Where the agent works: its worktree, else its working directory."""
        if self.workspace is not None:
            return str(self.workspace.path)
        return str(self._invocation.cwd) if self._invocation else None

    @property
    def workspace_id(self) -> str | None:
        """The attempt's workspace, when it has one."""
        return self.workspace.id if self.workspace is not None else None

    def tell(self, message: Mapping[str, Any]) -> bool:
        """Write ``message`` as one JSON line on the agent's stdin (never blocking); False
        when the agent takes no answers or is gone."""
        if self._proc is None or self._proc.returncode is not None:
            return False
        return self._proc.send(orjson.dumps(dict(message)) + b"\n")

    @property
    def command(self) -> str | None:
        """The command line the agent was started with."""
        return self._invocation.display if self._invocation else None

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> RunOutcome:
        """Start the agent, follow it to the end, run the tests; publishes as it goes."""
        proc_or_failure = await self._spawn()
        if isinstance(proc_or_failure, Failure):
            await self._publish_started()
            return await self._end(RunOutcome(proc_or_failure), exit_code=None)
        proc = proc_or_failure
        self._proc = proc
        self.pid = proc.pid
        await self._publish_started()
        await self._pub.task("updated", {"id": self.task_id, "status": "running"})
        await self._supervise(proc)
        self.exited = True
        if self._on_gone is not None:  # also for a request the desk has not seen yet
            await self._on_gone(self, self._gone_reason(proc.returncode))
        await self.flush()
        await self._close_workspace()  # before the tests: they check what was committed
        outcome = self._judge(proc.returncode)
        if outcome.succeeded and self._stop is None:
            outcome = await self._test_phase()
        return await self._end(outcome, exit_code=proc.returncode)

    def _gone_reason(self, code: int | None) -> str:
        """Why the agent stopped waiting: it was stopped, killed or it exited."""
        if self._stop is not None:
            return f"the agent was stopped while waiting: {self._stop.message}"
        if code is not None and code < 0:
            return f"the agent was killed by {signal_name(-code)} while waiting"
        return f"the agent exited with {code} while waiting"

    async def _spawn(self) -> AgentProcess | Failure:
        try:
            invocation = build_invocation(self.agent, self.task, self.id, self.attempt, self._hub)
        except TaskRefused as exc:
            return self._failure("invalid_task", str(exc), advice=exc.advice)
        except (KeyError, ValueError, IndexError) as exc:
            return self._failure("spawn_error", f"cannot build the agent's command: {exc}")
        workspace = await self._open_workspace()
        if isinstance(workspace, Failure):
            return workspace
        if workspace is not None:
            env = {**invocation.env, **workspace.env}
            invocation = dataclasses.replace(invocation, cwd=Path(workspace.path), env=env)
        self._invocation = invocation
        if not invocation.cwd.is_dir():
            if not self.agent.create_workdir:
                missing = f"working directory {invocation.cwd} is missing"
                return self._failure("spawn_error", missing)
            invocation.cwd.mkdir(parents=True, exist_ok=True)
        try:
            return await AgentProcess.start(invocation)
        except FileNotFoundError:
            return self._failure("command_not_found", f"command not found: {invocation.argv[0]}")
        except PermissionError:
            return self._failure("permission_denied", f"permission denied: {invocation.argv[0]}")
        except OSError as exc:
            return self._failure("spawn_error", f"cannot start {invocation.argv[0]}: {exc}")

    async def _open_workspace(self) -> Workspace | Failure | None:
        """This attempt's worktree, when the agent works in one (``[workspace]``)."""
        config = self.agent.workspace
        if config is None or not config.enabled or self._workspaces is None:
            return None
        try:
            self.workspace = await self._workspaces.create(
                config, self.task, self.attempt, self.id, self.agent.name
            )
        except WorkspaceFailure as exc:
            self._tail.extend(exc.output_tail.splitlines())
            return self._failure("workspace", f"workspace: {exc}", repo=config.repo)
        self._workspace_open = True
        await self._pub.task("updated", {"id": self.task_id, "workspace_id": self.workspace.id})
        return self.workspace

    async def _close_workspace(self) -> None:
        """Commit what the agent left and publish the attempt's diff stats (once)."""
        if self.workspace is None or self._workspaces is None or not self._workspace_open:
            return
        self._workspace_open = False
        await self._workspaces.finish(self.workspace)

    async def _count_work_every(self) -> None:
        """The attempt's diff stats while the agent works, coalesced (``stats_interval_s``)."""
        workspace, workspaces = self.workspace, self._workspaces
        if workspace is None or workspaces is None:
            return
        while True:
            await asyncio.sleep(workspace.config.stats_interval_s)
            await workspaces.progress(workspace)

    async def _supervise(self, proc: AgentProcess) -> None:
        reader = asyncio.create_task(self._read(proc))
        counter = asyncio.create_task(self._count_work_every())
        flusher = asyncio.create_task(self._flush_every(self._runner.publish_interval_s))
        streamer = asyncio.create_task(self._stream_output())
        deadline = asyncio.get_running_loop().call_later(self.agent.timeout_s, self._time_out)
        try:
            await self._until_exit_or_stop(proc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), DRAIN_S)
            await proc.abandon_output()
            await reader
        finally:
            deadline.cancel()
            flusher.cancel()
            counter.cancel()
            reader.cancel()
            streamer.cancel()
            await asyncio.gather(flusher, counter, reader, streamer, return_exceptions=True)
            await self._publish_output()

    async def _until_exit_or_stop(self, proc: AgentProcess) -> None:
        exited = asyncio.create_task(proc.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            await proc.stop(self.agent.stop_grace_s)
        await exited

    def _time_out(self) -> None:
        limit = self.agent.timeout_s
        self.request_stop(
            StopRequest("timeout", f"the agent ran longer than {limit:g} s", {"timeout_s": limit})
        )

    # -- signals ---------------------------------------------------------------------------

    async def _read(self, proc: AgentProcess) -> None:
        async for stream, whole, fresh in proc.lines():
            now = self._clock()
            self._beat(now)
            if whole is None:  # a line still waiting for its newline, or one too long
                self._show(stream, fresh)
                continue
            if stream == "stderr":
                shown = self._show(stream, fresh)
                self._stderr.append(shown)
                self._tail.append(shown)
                continue
            for signal in self._adapter.feed(whole):
                if isinstance(signal, Output):
                    self._tail.append(
                        self._show(stream, fresh if signal.text == whole else signal.text)
                    )
                else:
                    await self._handle(signal, now)

    def _show(self, stream: str, text: str) -> str:
        """Into the output stream (issue 16): what the agent prints that is not protocol.
        Returns the line as shown (cleaned, cut, redacted): the only form of it kept
        anywhere else (the tail, error details)."""
        if not text:
            return text
        shown = self.output.add(stream, text)
        if self.output.due:
            self._output_due.set()
        return shown

    def _safe(self, text: str) -> str:
        """Text from a protocol message (a log, a summary, an error), redacted."""
        return self.output.redactor.redact(text, "protocol")

    async def _stream_output(self) -> None:
        """Publishes the output every flush interval, or as soon as enough is waiting;
        never in the reader's way (the reader only appends)."""
        interval = self._runner.output.flush_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):  # never swallows a cancellation
                    await self._output_due.wait()
            self._output_due.clear()
            await self._publish_output()

    async def _publish_output(self) -> None:
        batch = self.output.take()
        if batch is None:
            return
        await self._pub.session_output(
            self.id, self.agent.name, self.task_id, batch.from_line, batch.lines, batch.dropped
        )

    async def _handle(self, signal: Signal, now: float) -> None:
        match signal:
            case Heartbeat(progress_percent=percent):
                if percent is not None:
                    self._advance(now, percent)
            case Progress(percent=percent):
                self._advance(now, percent)
            case Iteration():
                await self._iteration(signal, now)
            case Usage(final=True):
                await self._final_usage(signal)
            case Usage(usage=usage, cumulative=cumulative, cost_reported=reported):
                spent = usage.beyond(self.usage) if cumulative else usage
                spent = await self._priced(spent, reported)
                if not spent.empty:
                    await self._book(spent, "usage reported by the agent")
            case ToolCall():
                await self._tool(signal, now)
            case Log():
                await self._log(signal)
            case TestReport():
                await self._agent_test_report(signal, now)
            case AgentError():
                self._agent_error = signal
            case ApprovalRequest():
                await self._ask(signal, now)

    def _beat(self, now: float) -> None:
        self.vitals.beat(now)
        self.last_heartbeat_at = now_iso()
        self._beats += 1

    def _advance(self, now: float, percent: float | None = None) -> None:
        self.vitals.advance(now)
        self.last_progress_at = now_iso()
        if percent is not None:
            self.progress = round(min(100.0, max(0.0, percent)), 1)

    async def _iteration(self, signal: Iteration, now: float) -> None:
        self._advance(now)
        self.iteration = signal.number if signal.number is not None else self.iteration + 1
        spent = await self._priced(signal.usage, signal.cost_reported) if signal.usage else None
        await self._book(spent or TokenUsage(), self._safe(signal.summary))
        if self.iteration > self.agent.max_iterations:
            limit = self.agent.max_iterations
            self.request_stop(
                StopRequest("max_iterations", f"the agent went past {limit} iterations")
            )

    async def _book(self, spent: TokenUsage, summary: str) -> None:
        self.usage = self.usage + spent
        usage = None if spent.empty else spent.as_payload()  # api_calls gets real calls only
        await self._pub.session_iteration(self.id, self.iteration, summary, usage)
        if not spent.empty:
            await self._on_usage(self, spent)

    async def _final_usage(self, signal: Usage) -> None:
        """The CLI's own totals replace what was booked, downwards as well as upwards."""
        final = signal.usage
        if final.input == final.output == 0:  # a total of cost only: the tokens stand
            final = self.usage.with_cost(final.cost_usd)
        if not (signal.cost_reported or final.cost_usd):
            final = await self._priced(final)
        delta = final.minus(self.usage)
        if delta.empty and not delta.negative and delta.cache_read == delta.cache_write == 0:
            return
        if not delta.negative:
            await self._book(delta, "usage reported by the agent")
            return
        # A correction downwards: it is booked against the budget, but it is not an
        # API call (api_calls keep the calls as they were reported).
        self.usage = self.usage + delta
        await self._pub.session_iteration(
            self.id,
            self.iteration,
            f"the agent's own total corrects the estimate to ${self.usage.cost_usd:.4f}",
            None,
        )
        await self._on_usage(self, delta)

    async def _priced(self, usage: TokenUsage, reported: bool = False) -> TokenUsage:
        """``usage`` with its cost: the agent's own, else the price table's estimate."""
        if reported or usage.cost_usd or (usage.input == 0 and usage.output == 0):
            return usage
        priced = self._pricer.price(usage)
        if priced is not None:
            return priced
        model = usage.model or self.agent.model or "(not named by the agent)"
        if model not in self._unpriced:
            self._unpriced.add(model)
            await self._pub.note(
                "warning",
                f"No price for model {model} in the price table: its tokens are booked "
                "without cost. Set price or prices on the agent in harness.toml.",
                {"session_id": self.id, "task_id": self.task_id, "model": model},
                source=f"agent:{self.agent.name}",
            )
        return usage

    async def _tool(self, call: ToolCall, now: float) -> None:
        self._advance(now)
        self.last_tool = call
        tool = call.tool.strip()[:200] or "tool"
        target = call.target[:2000] if call.target else None
        await self._pub.session_tool(
            self.id, self.agent.name, tool, target, call.status, self.output.next_line - 1
        )

    async def _log(self, signal: Log) -> None:
        data = {**signal.data, "session_id": self.id, "task_id": self.task_id}
        message = self._safe(signal.message)
        await self._pub.note(signal.level, message, data, source=f"agent:{self.agent.name}")
        if signal.level == "error":
            self._last_error_log = message

    async def _ask(self, request: ApprovalRequest, now: float) -> None:
        self._advance(now)
        if self._on_approval is None:  # nobody to ask: the agent must not wait for nothing
            self.tell({"type": "approval_response", "id": request.ref, "status": "cancelled",
                       "decision": "deny", "answer": "approvals are not handled here",
                       "by": "orchestrator", "via": "hub"})  # fmt: skip
            return
        safe = dataclasses.replace(
            request,
            summary=self._safe(request.summary),
            detail=None if request.detail is None else self._safe(request.detail),
        )
        # Waiting from this line on: the health monitor must not call the silence that
        # follows stale before the hub's event comes back to the approvals desk.
        self.vitals.wait(True, now)
        if await self._on_approval(self, safe) is None:  # refused: the agent goes on
            self.vitals.wait(bool(self.waiting), self._clock())

    async def _agent_test_report(self, report: TestReport, now: float) -> None:
        self._advance(now)
        if report.status == "started":
            self.vitals.testing = True
            entity = self._test_entity(report.command, "running")
            self._agent_test = (entity["id"], report.command)
            await self._pub.test_run("started", entity)
            return
        self.vitals.testing = False
        test_id, command = self._agent_test or (short_id("tr"), report.command)
        self._agent_test = None
        status = "failed" if report.failed else "passed"
        entity = self._test_entity(report.command or command, status, test_id)
        counts = {"passed": report.passed, "failed": report.failed, "skipped": report.skipped}
        await self._pub.test_run("completed", {**entity, **counts, "duration_s": report.duration_s})

    # -- verdict and tests -----------------------------------------------------------------

    def _judge(self, code: int | None) -> RunOutcome:
        if self._stop is not None:
            stop = self._stop
            failure = self._failure(stop.kind, stop.message, code, **stop.context)
            return RunOutcome(failure, interrupted=stop.interruption)
        if code is not None and code < 0:
            self.vitals.gone = f"killed by {signal_name(-code)}"  # not by us: a crash
            return RunOutcome(self._failure("signal", f"the agent was {self.vitals.gone}", code))
        error = self._agent_error or (exit_error(self._adapter, code) if code else None)
        if code and error is not None:  # the CLI said why: its words, its kind
            return RunOutcome(self._failure(error.kind, error.message, code))
        if code:
            message = f"the agent exited with {code}"
            said = stderr_verdict(self._stderr)
            if said is not None:  # its last words on stderr: a usage limit, a refused key
                return RunOutcome(self._failure(said[1], f"{message}: {said[0]}", code))
            if self._last_error_log:
                message += f": {self._last_error_log}"
            return RunOutcome(self._failure("nonzero_exit", message, code))
        if self._agent_error is not None:
            error = self._agent_error
            return RunOutcome(self._failure(error.kind, self._safe(error.message), code))
        return RunOutcome()

    async def _test_phase(self) -> RunOutcome:
        suite = self._suite
        if suite is None:
            return RunOutcome()
        command = shlex.join(suite.command)
        self.vitals.testing = True
        await self._pub.task("updated", {"id": self.task_id, "status": "testing"})
        entity = self._test_entity(command, "running")
        await self._pub.test_run("started", entity)
        result = await self._run_tests(suite)
        self.vitals.testing = False
        self._advance(self._clock())
        if result is None:
            await self._pub.test_run("completed", {**entity, "status": "error"})
            stop = self._stop or StopRequest("cancelled", "stopped during tests")
            return RunOutcome(
                self._failure(stop.kind, stop.message, None, **stop.context),
                interrupted=stop.interruption,
            )
        await self._pub.test_run("completed", {**entity, **result.fields()})
        if result.status == "passed":
            return RunOutcome()
        context = self._context(test_command=command)
        return RunOutcome(tests_failure(result, context))

    async def _run_tests(self, config: SuiteConfig) -> SuiteResult | None:
        assert self._invocation is not None
        cwd, junit = self._invocation.cwd, config.junit_xml
        suite = asyncio.create_task(
            run_suite(
                config.command,
                cwd,
                self._invocation.env,
                config.timeout_s,
                cwd / junit if junit else None,
            )
        )
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            while not suite.done() and not stopping.done():
                await asyncio.wait(
                    {suite, stopping},
                    timeout=self._runner.publish_interval_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                self._beat(self._clock())  # the test process is alive: so is the session
                await self.flush()
        finally:
            stopping.cancel()
        if suite.done():
            return suite.result()
        suite.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await suite
        return None

    def _test_entity(
        self, command: str | None, status: str, test_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": test_id or short_id("tr"),
            "task_id": self.task_id,
            "session_id": self.id,
            "command": command,
            "status": status,
        }

    # -- publishing ------------------------------------------------------------------------

    async def _publish_started(self) -> None:
        await self._pub.session(
            "started",
            {
                "id": self.id,
                "agent_id": self.agent.name,
                "agent_name": self.agent.name,
                "task_id": self.task_id,
                "status": "running",
                "iteration": 0,
                "max_iterations": self.agent.max_iterations,
                "started_at": now_iso(),
                "pid": self.pid,
                "workspace_id": self.workspace.id if self.workspace else None,
                "token_usage": TokenUsage().as_payload(),
            },
        )

    async def _flush_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()

    async def flush(self) -> None:
        """Publish what changed since the last flush: heartbeats, progress, usage, output."""
        if self._beats:
            self._beats = 0
            await self._pub.session_heartbeat(self.id, self.iteration, self.progress)
            await self._pub.agent_heartbeat(self.agent.name, self.id, self.iteration)
        task_patch = {"progress_percent": self.progress, "token_usage": self._task_usage()}
        await self._publish_if_changed("task", task_patch)
        session_patch = {
            "iteration": self.iteration,
            "token_usage": self.usage.as_payload(),
            "output_tail": self.output_tail or None,
        }
        await self._publish_if_changed("session", session_patch)

    async def _publish_if_changed(self, kind: str, patch: dict[str, Any]) -> None:
        if self._flushed.get(kind) == patch:
            return
        self._flushed[kind] = patch
        if kind == "task":
            await self._pub.task("updated", {"id": self.task_id, **patch})
        else:
            await self._pub.session("updated", {"id": self.id, **patch})

    def _task_usage(self) -> dict[str, Any]:
        return (self._base_usage + self.usage).as_payload()

    async def _end(self, outcome: RunOutcome, exit_code: int | None) -> RunOutcome:
        await self.flush()
        await self._publish_output()
        redacted = self.output.redactor.counts
        if redacted:  # by pattern name only: never the secret
            message = f"{sum(redacted.values())} secrets redacted from the agent's output"
            data = {"session_id": self.id, "task_id": self.task_id, "redacted": dict(redacted)}
            await self._pub.note("info", message, data, source=f"agent:{self.agent.name}")
        await self._close_workspace()
        if outcome.succeeded:
            status = "completed"
        elif self._stop is not None:
            status = "killed"
        else:
            status = "failed"
        await self._pub.session(
            "ended",
            {
                "id": self.id,
                "status": status,
                "ended_at": now_iso(),
                "exit_code": exit_code,
                "iteration": self.iteration,
                "token_usage": self.usage.as_payload(),
                "output_tail": self.output_tail or None,
            },
        )
        return outcome

    # -- failures --------------------------------------------------------------------------

    def _failure(self, kind: str, message: str, code: int | None = None, **context: Any) -> Failure:
        return Failure(
            kind,
            message,
            code,
            stderr_tail="\n".join(self._stderr),
            output_tail=self.output_tail,
            context=self._context(**context),
        )

    def _context(self, **extra: Any) -> dict[str, Any]:
        workdir = self._invocation.cwd if self._invocation else Path(self.agent.workdir)
        program = self._invocation.argv[0] if self._invocation else None
        return {"agent": self.agent.name, "workdir": str(workdir), "program": program, **extra}


_REFUSAL = re.compile(
    r"error|invalid|not (logged in|authenticated)|unauthori[sz]ed|\b40[13]\b", re.IGNORECASE
)
"""A stderr line that refuses, not one that only mentions credentials ("Loaded cached
credentials.", which Gemini CLI prints on every start)."""


def stderr_verdict(lines: Iterable[str]) -> tuple[str, str] | None:
    """The last line an agent wrote on stderr before a non-zero exit and its kind
    (``usage_limit``, ``auth``) when it says the agent hit a usage limit or was refused its
    key (Cursor CLI prints "You're out of usage" there, with nothing on stdout); else None."""
    text = next((line.strip() for line in reversed(list(lines)) if line.strip()), "")
    kind = error_kind(text) if text else "agent_error"
    if kind == "usage_limit" or (kind == "auth" and _REFUSAL.search(text)):
        return text[:500], kind
    return None
