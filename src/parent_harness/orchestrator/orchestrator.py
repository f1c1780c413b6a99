"""The Orchestrator: runs configured agents over the hub's task queue.

Wire it to a started hub (the ``Node`` of a ``HubServer``, or any
:class:`FleetHub`) and start it::

    orchestrator = Orchestrator(config, hub=server.node)
    await orchestrator.start()
    ...
    await orchestrator.stop()

It recovers what a previous run left (running tasks are interrupted, then
requeued or failed by ``retry.on_interrupted``), adds the tasks listed in the
configuration, then launches sessions while agents have room, watches their
health, books their spending and decides what becomes of each task. The
control surface for people and bots: :meth:`pause_spawning`,
:meth:`resume_spawning`, :attr:`paused`, :meth:`summary`, :meth:`submit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from ..events.clock import now_iso, short_id, utc_now
from ..events.sink import Event
from ..graph import edges_of
from .admission import TaskRefused, admit
from .approvals import ApprovalDesk, Asker
from .budget import BudgetGuard, BudgetLevel, Crossing, utc_day
from .config import HarnessConfig, TaskSpec
from .dependencies import DependencyScheduler
from .errors import Failure
from .fleet import AgentSlot
from .health import HealthMonitor, HealthStatus, Verdict, assess
from .merging import WorkspaceActions
from .outcomes import TaskOutcomes
from .ports import FleetHub, FleetState, TaskClaims
from .publisher import FleetPublisher
from .queue import ACTIVE, RUNNABLE, TaskQueue
from .recovery import recover, seed_id
from .retry import attempts_of, max_attempts_of
from .session import RunOutcome, SessionRun, StopRequest
from .signals import TokenUsage
from .spawner import HubAccess
from .workspace_config import WorkspaceConfig
from .workspaces import Workspaces

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
UNHEALTHY = (HealthStatus.STALE, HealthStatus.STUCK, HealthStatus.CRASHED)


TASK_LIMIT = "budget.limit_usd_per_task (or the task's own limit_usd: POST /api/tasks/ID/limit)"
"""Where a task's cap is set, for the failure's advice."""


class Orchestrator:
    """Runs tasks on agents and publishes every change of state; see the module docstring."""

    def __init__(
        self,
        config: HarnessConfig,
        *,
        hub: FleetHub,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], str] = utc_day,
        claims: TaskClaims | None = None,
        wall: Callable[[], datetime] = utc_now,
        hub_url: str | None = None,
        hub_token: str | None = None,
    ) -> None:
        self.config = config
        self.hub_access = (
            None if hub_url is None else HubAccess(hub_url, hub_token, config.approvals.timeout_s)
        )
        """What agents get to reach the hub over HTTP (Claude Code's approval hook)."""
        self._claims = claims
        self._taken_elsewhere: set[str] = set()
        self.queue = TaskQueue()
        self.monitor = HealthMonitor()
        self.budget = BudgetGuard(config.budget, today=today)
        self.publisher = FleetPublisher(hub)
        self.outcomes = TaskOutcomes(self.publisher, config.retry, self.budget)
        self.dependencies = DependencyScheduler(self.queue, self.publisher)
        self.workspaces = Workspaces(self.publisher)
        self.workspaces.parent_attempts = self._parent_attempts
        self.approvals = ApprovalDesk(
            config.approvals,
            self.publisher,
            find_run=self._live_run,
            waiting_changed=self._waiting_changed,
        )
        self._hub, self._clock, self._wall = hub, clock, wall
        self.slots = {name: AgentSlot(agent) for name, agent in config.agents.items()}
        self._drives: dict[str, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._manual_pause: str | None = None
        self._budget_pause: str | None = None
        self._budget_dirty = True
        self._warned_unknown_agent: set[str] = set()
        self._rotation = 0
        self.started = False

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover the hub's state, announce the agents, seed tasks, begin scheduling."""
        self.approvals.start()
        self._hub.add_listener(self._on_event)
        self.queue.rebuild(list(self._hub.state.tasks.values()))
        self.budget.restore(self._hub.state.budget, list(self._hub.state.tasks.values()))
        if self._claims is not None:
            await self._claims.recover()
        if self.budget.day_over_limit:  # spent before a restart: still spent
            spent, limit = self.budget.spent.cost_usd, self.config.budget.limit_usd_per_day
            self._budget_pause = f"today's budget is spent (${spent:.2f} of ${limit:.2f})"
            await self.publisher.note("warning", f"Spawning paused: {self._budget_pause}",
                                      {"paused": True}, source="budget")  # fmt: skip
        await recover(self._hub.state, self.queue, self.slots, self.publisher, self.outcomes)
        state = self._hub.state
        await self.approvals.recover(state.approvals.values(), state.sessions, self.slots)
        workspaces, configs = list(self._hub.state.workspaces.values()), self._workspace_configs()
        await self.workspaces.recover(workspaces, configs)
        await self.sweep_workspaces()
        for slot in self.slots.values():
            await self._publish_agent(slot, force=True)
        for spec in self.config.tasks:
            await self._seed(spec)
        await self._publish_budget()
        self.dependencies.note_all_blocked()  # parents may have ended while it was down
        self._loops = [
            asyncio.create_task(self._schedule_loop(), name="orchestrator-schedule"),
            asyncio.create_task(self._watch_loop(), name="orchestrator-watch"),
            asyncio.create_task(self.dependencies.run(), name="orchestrator-dependencies"),
        ]
        if (every := self._cleanup_every_s()) is not None:
            self._loops.append(
                asyncio.create_task(self._cleanup_loop(every), name="orchestrator-cleanup")
            )
        self.started = True

    async def stop(self, reason: str = "the orchestrator is shutting down") -> None:
        """Stop every session (their tasks are interrupted), mark agents offline, detach."""
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        for slot in self.slots.values():
            for run in list(slot.runs.values()):
                run.request_stop(StopRequest("interrupted", reason, interruption=True))
        drives = list(self._drives.values())
        if drives:
            await asyncio.wait(drives, timeout=STOP_TIMEOUT_S)
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.approvals.stop()
        for slot in self.slots.values():
            slot.offline = True
            await self._publish_agent(slot, force=True)
        await self._publish_budget()
        self._hub.remove_listener(self._on_event)
        self.started = False

    async def __aenter__(self) -> Orchestrator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- control surface -------------------------------------------------------------------

    @property
    def hub_state(self) -> FleetState:
        """The hub's folded state, read only (what the orchestrator started from and sees)."""
        return self._hub.state

    def workspace_actions(self) -> WorkspaceActions | None:
        """Diff, merge, pull request and discard of this fleet's attempts (None: no agent
        works in a worktree). ``harness run`` hands them to its hub's REST routes."""
        configs = self._workspace_configs()
        if not configs:
            return None
        return WorkspaceActions(
            self.workspaces,
            configs,
            lambda: self._hub.state.workspaces.values(),
            after_merge=self.sweep_workspaces,
        )

    async def sweep_workspaces(self) -> list[str]:
        """Remove the old merged attempts ``cleanup = N`` (days) allows; the ids removed.
        Never one holding unmerged work (``Workspaces.sweep``)."""
        configs = self._workspace_configs()
        if not any(_days(ws.cleanup) for ws in configs.values()):
            return []
        workspaces = list(self._hub.state.workspaces.values())
        return await self.workspaces.sweep(workspaces, configs, self._wall())

    def _cleanup_every_s(self) -> float | None:
        """How often to sweep (the shortest ``cleanup_every_s`` of a table with days)."""
        every = [ws.cleanup_every_s for ws in self._workspace_configs().values()
                 if _days(ws.cleanup)]  # fmt: skip
        return min(every) if every else None

    async def _cleanup_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep_workspaces()
            except Exception:  # a sweep that fails is tried again next time
                log.exception("workspace cleanup failed")

    def _parent_attempts(self, task_id: str) -> list[Mapping[str, Any]]:
        """Per parent of the task, its latest attempt whose session completed (stacking)."""
        state = self._hub.state
        task = state.tasks.get(task_id) or {}
        found = []
        for edge in edges_of(task):
            done = [
                ws
                for ws in state.workspaces.values()
                if ws.get("task_id") == edge.parent
                and ws.get("status") in ("ready", "conflict", "merged")
                and (state.sessions.get(str(ws.get("session_id"))) or {}).get("status")
                == "completed"
            ]
            if done:
                found.append(max(done, key=lambda ws: int(ws.get("attempt") or 0)))
        return found

    def _workspace_configs(self) -> dict[str, WorkspaceConfig]:
        """Each repository's ``[workspace]`` table, by repo path."""
        return {
            ws.repo: ws
            for agent in self.config.agents.values()
            if (ws := agent.workspace) is not None and ws.enabled and ws.repo
        }

    @property
    def paused(self) -> bool:
        """Whether new sessions are held back (by a person or by the budget)."""
        return self._manual_pause is not None or self._budget_pause is not None

    @property
    def pause_reason(self) -> str | None:
        """Why spawning is paused, or None."""
        return self._budget_pause or self._manual_pause

    def pause_spawning(self, reason: str) -> None:
        """Start no new session until :meth:`resume_spawning`; running ones go on."""
        self._manual_pause = reason or "paused by the operator"
        self._in_background(self._announce_pause(self._manual_pause))

    def resume_spawning(self) -> None:
        """Lift every pause, the budget's included (an operator's override until tomorrow)."""
        overridden = self._budget_pause
        self._manual_pause = self._budget_pause = None
        message = "Spawning resumed" + (f" (overriding: {overridden})" if overridden else "")
        self._in_background(self._announce_resume(message))
        self._wake.set()

    def summary(self) -> dict[str, Any]:
        """One glance, as a flat dict of scalars (Telegram's /status shows each as a line).

        Keys: ``paused``, ``pause_reason``, ``agents_working``, ``agents_stale``,
        ``agents_stuck``, ``agents_crashed``, ``sessions_running``, ``tasks_running``,
        ``tasks_queued``, ``tasks_failed``, ``tasks_completed``, ``budget_spent_usd``,
        ``budget_limit_usd``, ``budget_percent``, ``burn_rate_usd_per_hour``.
        """
        counts = self.queue.counts()
        health = [slot.health().status for slot in self.slots.values()]
        percent = self.budget.percent
        return {
            "paused": self.paused,
            "pause_reason": self.pause_reason,
            "agents_working": sum(1 for s in self.slots.values() if s.runs),
            **{f"agents_{status}": health.count(status) for status in UNHEALTHY},
            "sessions_running": sum(len(s.runs) for s in self.slots.values()),
            "tasks_running": sum(counts.get(s, 0) for s in ACTIVE),
            "tasks_queued": sum(counts.get(s, 0) for s in RUNNABLE),
            "tasks_failed": counts.get("failed", 0),
            "tasks_completed": counts.get("completed", 0),
            "budget_spent_usd": round(self.budget.spent.cost_usd, 4),
            "budget_limit_usd": self.config.budget.limit_usd_per_day,
            "budget_percent": None if percent is None else round(percent, 1),
            "burn_rate_usd_per_hour": round(self.budget.burn_rate(), 4),
        }

    async def submit(
        self,
        title: str,
        *,
        description: str = "",
        priority: int = 0,
        agent: str | None = None,
        test_suite: str | None = None,
        test_command: str | None = None,
        max_attempts: int | None = None,
        task_id: str | None = None,
    ) -> str:
        """Add a task to the queue (``task:created``); its id.

        ``test_suite`` names a suite of ``[tests]``; ``test_command`` is run only when
        ``[tests] allow_task_commands`` is set (the task fails otherwise).
        """
        task_id = task_id or short_id("t")
        task = {
            "id": task_id,
            "title": title,
            "description": description,
            "status": "queued",
            "priority": priority,
            "attempts": 0,
            "max_attempts": max_attempts or self.config.retry.max_attempts,
            "progress_percent": 0,
            "token_usage": TokenUsage().as_payload(),
            "agent_name": agent,
            "test_suite": test_suite,
            "test_command": test_command,
            "not_before": None,
            "created_at": now_iso(),
        }
        await self.publisher.task("created", task, id=f"task:created:{task_id}")
        return task_id

    # -- events from the hub ---------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """The hub's listener: keep the queue view current; act on cancellations; hand
        approvals to the desk."""
        if event.type.startswith("approval:"):
            self.approvals.on_event(event)
            return
        if not event.type.startswith("task:"):
            return
        task = event.payload.get("task")
        if not isinstance(task, Mapping) or "id" not in task:
            return
        self.queue.apply(task)
        if str(task["id"]) in self._taken_elsewhere:  # its holder's news came: forget it
            self._taken_elsewhere.discard(str(task["id"]))
            self.queue.release(str(task["id"]))
        self.dependencies.on_task(task)
        limit = task.get("limit_usd")
        if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0:
            self.budget.set_task_limit(str(task["id"]), float(limit))
        if task.get("status") == "cancelled" and self.queue.is_claimed(str(task["id"])):
            for run in self._runs_of(str(task["id"])):
                run.request_stop(StopRequest("cancelled", "the task was cancelled"))
        self._wake.set()

    def _live_run(self, session_id: str) -> SessionRun | None:
        """The session ``session_id`` of this fleet while its agent's process runs."""
        for slot in self.slots.values():
            run = slot.runs.get(session_id)
            if run is not None and not run.exited:
                return run
        return None

    async def _waiting_changed(self, asker: Asker) -> None:
        """A session began or stopped waiting for approvals: its status and its agent's."""
        run = self._live_run(asker.id)
        if run is None:
            return
        waiting = bool(run.waiting)
        run.vitals.wait(waiting, self._clock())
        status = "waiting_input" if waiting else "running"
        await self.publisher.session("updated", {"id": run.id, "status": status})
        await self._publish_agent(self.slots[run.agent.name])

    def _runs_of(self, task_id: str) -> list[SessionRun]:
        return [r for s in self.slots.values() for r in s.runs.values() if r.task_id == task_id]

    # -- scheduling ------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            self._wake.clear()
            await self._launch_ready()
            wait = self.queue.seconds_until_due(utc_now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _launch_ready(self) -> None:
        now = utc_now()
        slots = list(self.slots.values())
        self._rotation = (self._rotation + 1) % len(slots)
        for slot in slots[self._rotation :] + slots[: self._rotation]:
            while slot.has_room and not self.paused:
                task = self.queue.next_for(slot.name, now)
                if task is None:
                    break
                await self._launch(slot, task)
        await self._warn_unknown_agents(now)

    async def _launch(self, slot: AgentSlot, task: Mapping[str, Any]) -> None:
        task_id = str(task["id"])
        self.queue.claim(task_id)
        try:
            suite = admit(task, self.config.tests)
        except TaskRefused as refused:
            await self._refuse(task, refused.failure())
            return
        if self.budget.task_over_limit(task_id):
            failure = Failure(
                "budget_exceeded",
                "the task's budget is already spent",
                context={"limit": TASK_LIMIT},
            )
            await self._refuse(task, failure)
            return
        attempt = attempts_of(task) + 1
        session_id = short_id("s")
        if self._claims is not None and not await self._claims.take(task_id, session_id):
            self._taken_elsewhere.add(task_id)  # a worker holds it: skip it until its news
            return
        await self.publisher.task(
            "assigned",
            {
                "id": task_id,
                "status": "assigned",
                "agent_id": slot.name,
                "session_id": session_id,
                "attempts": attempt,
                "max_attempts": max_attempts_of(task, self.config.retry),
                "not_before": None,
                "worker_id": None,  # this process runs it (a worker may have held it before)
            },
        )
        run = SessionRun(
            agent=slot.config,
            task={**task, "attempts": attempt},
            session_id=session_id,
            attempt=attempt,
            publisher=self.publisher,
            on_usage=self._book_usage,
            suite=suite,
            runner=self.config.orchestrator,
            clock=self._clock,
            workspaces=self.workspaces,
            on_approval=self.approvals.ask,
            on_gone=self.approvals.session_ended,
            hub=self.hub_access,
        )
        slot.add(run)
        await self._publish_agent(slot)
        self._drives[session_id] = asyncio.create_task(self._drive(slot, run), name=session_id)

    async def _refuse(self, task: Mapping[str, Any], failure: Failure) -> None:
        """Fail a task before any session starts for it."""
        task_id = str(task["id"])
        await self.outcomes.fail(task_id, attempts_of(task), failure)
        self.queue.release(task_id)

    async def _drive(self, slot: AgentSlot, run: SessionRun) -> None:
        try:
            outcome = await run.run()
        except Exception as exc:  # a bug here must not lose the task
            log.exception("session %s failed inside the orchestrator", run.id)
            outcome = RunOutcome(Failure("orchestrator_error", f"internal error: {exc!r}"))
        try:
            await self._conclude(slot, run, outcome)
        finally:
            if self._claims is not None:
                await self._settle_claim(run.task_id)
            slot.remove(run)
            self.monitor.forget(run.id)
            self.queue.release(run.task_id)
            self._drives.pop(run.id, None)
            await self._publish_agent(slot)
            self._wake.set()

    async def _settle_claim(self, task_id: str) -> None:
        assert self._claims is not None
        try:
            await self._claims.settle(task_id)
        except Exception:  # the lease stays held: the next start of this process ends it
            log.exception("could not end the lease on task %s", task_id)

    async def _conclude(self, slot: AgentSlot, run: SessionRun, outcome: RunOutcome) -> None:
        task = {**run.task, **(self.queue.get(run.task_id) or {})}
        stop = run.stop_request
        if run.vitals.gone is not None:
            verdict = assess(run.vitals, slot.config.health, self._clock())
            slot.crash = Verdict(verdict.status, f"session {run.id}: {verdict.reason}")
            await self._note_health(slot, run, slot.crash)
        if outcome.failure and outcome.failure.kind in ("command_not_found", "permission_denied"):
            slot.error = outcome.failure.message
        elif run.pid is not None:
            slot.error = None
        if task.get("status") == "cancelled" or (stop is not None and stop.kind == "cancelled"):
            await self.outcomes.cancelled(run.task_id)
        elif outcome.failure is None:
            await self.outcomes.completed(run.task_id)
        elif outcome.interrupted:
            await self.outcomes.interrupted(task, outcome.failure)
        else:
            await self.outcomes.failed(task, outcome.failure)

    # -- health, budget and periodic publishing --------------------------------------------

    async def _watch_loop(self) -> None:
        budget_every = self.config.orchestrator.publish_interval_s
        budget_at = self._clock()
        while True:
            await asyncio.sleep(self.config.orchestrator.health_interval_s)
            await self._check_health()
            await self.approvals.tick()
            await self._check_budget_period()
            if self._budget_dirty and self._clock() - budget_at >= budget_every:
                budget_at = self._clock()
                await self._publish_budget()

    async def _check_health(self) -> None:
        now = self._clock()
        for slot in self.slots.values():
            limits = slot.config.health
            for run in list(slot.runs.values()):
                verdict = self.monitor.check(run.id, run.vitals, limits, now)
                if verdict is None:
                    continue
                slot.verdicts[run.id] = verdict
                await self._note_health(slot, run, verdict)
                if verdict.status is HealthStatus.STUCK and limits.kill_on_stuck:
                    context = {"stuck_after_s": limits.stuck_after_s}
                    run.request_stop(StopRequest("stuck", f"stuck: {verdict.reason}", context))
            await self._publish_agent(slot)

    async def _note_health(self, slot: AgentSlot, run: SessionRun, verdict: Verdict) -> None:
        level = "info" if verdict.status is HealthStatus.HEALTHY else "warning"
        await self.publisher.note(
            level,
            f"Agent {slot.name} is {verdict.status}: {verdict.reason}",
            {
                "agent_id": slot.name,
                "session_id": run.id,
                "task_id": run.task_id,
                "health_status": str(verdict.status),
            },
            source="health",
        )

    async def _book_usage(self, run: SessionRun, spent: TokenUsage) -> None:
        self._budget_dirty = True
        crossings = self.budget.record(run.agent.name, run.task_id, spent)
        if crossings:
            await self._publish_budget()  # a level crossed: show the spending that crossed it
        for crossing in crossings:
            await self._on_crossing(crossing, run)

    async def _on_crossing(self, crossing: Crossing, run: SessionRun) -> None:
        data = {
            "scope": crossing.scope,
            "spent_usd": round(crossing.spent_usd, 4),
            "limit_usd": crossing.limit_usd,
            "task_id": crossing.task_id,
        }
        if crossing.level is BudgetLevel.WARNING:
            await self.publisher.note("warning", crossing.message, data, source="budget")
            return
        if crossing.scope == "task":
            stopping = self.config.budget.on_task_limit == "stop"
            message = crossing.message + (
                "; its session is stopped" if stopping else "; it will not be retried if it fails"
            )
            await self.publisher.note("error", message, data, source="budget")
            if stopping:
                run.request_stop(StopRequest("budget_exceeded", message, {"limit": TASK_LIMIT}))
            return
        stopping = self.config.budget.on_limit == "stop"
        self._budget_pause = crossing.message + ": spawning paused"
        if stopping:
            self._budget_pause += " and running sessions stopped"
            self._stop_all(
                StopRequest(
                    "budget_exceeded",
                    self._budget_pause,
                    {"limit": "budget.limit_usd_per_day"},
                    interruption=True,
                )
            )
        await self._announce_pause(self._budget_pause, source="budget")

    def _stop_all(self, request: StopRequest) -> None:
        for slot in self.slots.values():
            for run in slot.runs.values():
                run.request_stop(request)

    async def _check_budget_period(self) -> None:
        if not self.budget.roll():
            return
        self._budget_dirty = True
        if self._budget_pause is not None:
            self._budget_pause = None
            await self._announce_resume(f"A new budget period ({self.budget.period}) began")
            self._wake.set()

    async def _publish_budget(self) -> None:
        self._budget_dirty = False
        await self.publisher.budget(self.budget.entity())

    async def _publish_agent(self, slot: AgentSlot, force: bool = False) -> None:
        entity = slot.entity(self.paused)
        if force or slot.changed(entity):
            slot.published = entity
            await self.publisher.agent(entity)

    async def _announce_pause(self, reason: str, source: str = "orchestrator") -> None:
        await self.publisher.note(
            "warning", f"Spawning paused: {reason}", {"paused": True}, source=source
        )
        for slot in self.slots.values():
            await self._publish_agent(slot)

    async def _announce_resume(self, message: str) -> None:
        await self.publisher.note("info", message, {"paused": self.paused})
        for slot in self.slots.values():
            await self._publish_agent(slot)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- seeding and warnings --------------------------------------------------------------

    async def _seed(self, spec: TaskSpec) -> None:
        task_id = seed_id(spec)
        if task_id in self._hub.state.tasks or self.queue.get(task_id) is not None:
            return
        await self.submit(
            spec.title,
            description=spec.description,
            priority=spec.priority,
            agent=spec.agent,
            test_suite=spec.test_suite,
            max_attempts=spec.max_attempts,
            task_id=task_id,
        )

    async def _warn_unknown_agents(self, now: Any) -> None:
        for task in self.queue.waiting_on(self.slots, now):
            task_id = str(task["id"])
            if task_id not in self._warned_unknown_agent:
                self._warned_unknown_agent.add(task_id)
                await self.publisher.note(
                    "warning",
                    f"Task {task_id} asks for agent {task.get('agent_name')!r}, which is not "
                    f"configured (agents: {', '.join(self.slots)}); it waits.",
                    {"task_id": task_id},
                )


def _days(cleanup: str | int) -> bool:
    """Whether a ``cleanup`` setting is a number of days."""
    return isinstance(cleanup, int) and not isinstance(cleanup, bool)
