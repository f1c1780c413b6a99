"""The agent side on another machine (issue 19): `harness worker`.

A :class:`Worker` runs the agents of its own configuration for a hub it reaches over HTTP
(client/worker.py). It registers, then claims tasks while its agents have room (a long
poll, so an idle worker starts a new task at once), runs each with the same
:class:`SessionRun` as the in-process orchestrator, renews the task's lease while it runs
and releases it with the outcome; the hub settles the task (retry policy and all). Its
events go through an :class:`EventSpool` (client/spool.py): kept on disk while the hub is
unreachable, sent in order once it is back, and all sent before the lease is released.

Its agents are named ``agent@worker`` on the hub, so several machines may run an agent of
the same name. A lease the hub says is lost (it expired: the task went to another worker)
stops the run at once; so does a lease that could not be renewed for its whole length.
Commands (cancel) come by a long poll and stop the run that holds the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..client.spool import Unreachable
from ..client.worker import LeaseLost, WorkerRefused
from ..events.sink import EventSink
from .admission import TaskRefused, admit
from .config import HarnessConfig
from .errors import Failure
from .fleet import AgentSlot
from .publisher import FleetPublisher
from .session import RunOutcome, SessionRun, StopRequest
from .signals import TokenUsage
from .workspaces import Workspaces

log = logging.getLogger(__name__)

CLAIM_WAIT_S = 20.0
COMMANDS_WAIT_S = 20.0
RETRY_S = 1.0


class HubLink(Protocol):
    """The worker routes (client/worker.py's WorkerLink)."""

    name: str
    lease_s: float

    async def register(
        self, agents: list[str], labels: list[str], capacity: int, version: str
    ) -> dict[str, Any]: ...

    async def heartbeat(self, running: int) -> None: ...

    async def claim(self, agents: list[str], wait_s: float = 0.0) -> dict[str, Any] | None: ...

    async def renew(self, task_id: str, lease_id: str) -> None: ...

    async def release(
        self,
        task_id: str,
        lease_id: str,
        outcome: str,
        failure: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def commands(self, wait_s: float) -> dict[str, Any]: ...


class Spool(EventSink, Protocol):
    async def flush(self) -> None: ...


@dataclass(slots=True)
class Held:
    """A run under a lease."""

    run: SessionRun
    lease_id: str
    lost: bool = False


class Worker:
    """Runs claimed tasks on this machine's agents; see the module docstring."""

    def __init__(
        self,
        config: HarnessConfig,
        link: HubLink,
        spool: Spool,
        *,
        labels: list[str],
        capacity: int | None = None,
        version: str = "",
    ) -> None:
        self.config, self.link, self.spool = config, link, spool
        self.labels, self.version = labels, version
        self.publisher = FleetPublisher(spool)
        self.workspaces = Workspaces(self.publisher)
        named = {
            name: agent.model_copy(update={"name": f"{name}@{link.name}"})
            for name, agent in config.agents.items()
        }
        self.slots = {name: AgentSlot(agent) for name, agent in named.items()}
        self.capacity = capacity or sum(a.max_instances for a in config.agents.values())
        self.held: dict[str, Held] = {}
        self._room = asyncio.Event()
        self._drives: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def running(self) -> int:
        return len(self.held)

    async def run(self, stop: asyncio.Event) -> None:
        """Registers, then works until `stop` is set; then interrupts its runs (the hub
        requeues their tasks) and marks its agents offline."""
        await self._register()
        for slot in self.slots.values():
            await self.publisher.agent(slot.entity(False))
        loops = [
            asyncio.create_task(self._claim_loop(), name="worker-claim"),
            asyncio.create_task(self._beat_loop(), name="worker-heartbeat"),
            asyncio.create_task(self._command_loop(), name="worker-commands"),
        ]
        await stop.wait()
        self._stopping = True
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        for held in self.held.values():
            held.run.request_stop(
                StopRequest("interrupted", "the worker is shutting down", interruption=True)
            )
        if self._drives:
            await asyncio.wait(self._drives, timeout=60)
        for slot in self.slots.values():
            slot.offline = True
            await self.publisher.agent(slot.entity(False))

    async def _register(self) -> None:
        while True:
            try:
                await self.link.register(list(self.slots), self.labels, self.capacity, self.version)
                return
            except Unreachable as exc:
                log.warning("cannot reach the hub to register (%s); trying again", exc)
                await asyncio.sleep(RETRY_S)  # a backoff, not a wait on a condition

    # -- claiming --------------------------------------------------------------------------

    def _free_agents(self) -> list[str]:
        if self.running >= self.capacity:
            return []
        return [name for name, slot in self.slots.items() if slot.has_room]

    async def _claim_loop(self) -> None:
        while True:
            agents = self._free_agents()
            if not agents:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                won = await self.link.claim(agents, CLAIM_WAIT_S)
            except (Unreachable, WorkerRefused) as exc:
                log.warning("claim failed (%s); trying again", exc)
                await asyncio.sleep(RETRY_S)
                continue
            if won is not None:
                await self._start(won)

    async def _start(self, won: Mapping[str, Any]) -> None:
        task = dict(won["task"])
        slot = self.slots[str(won["agent"])]
        lease_id, task_id = str(won["lease_id"]), str(task["id"])
        try:
            suite = admit(task, self.config.tests)
        except TaskRefused as refused:
            await self._release(task_id, lease_id, "failed", refused.failure())
            return
        run = SessionRun(
            agent=slot.config,
            task=task,
            session_id=str(task["session_id"]),
            attempt=int(task.get("attempts") or 1),
            publisher=self.publisher,
            on_usage=_no_budget,
            suite=suite,
            runner=self.config.orchestrator,
            workspaces=self.workspaces,
        )
        held = Held(run, lease_id)
        self.held[task_id] = held
        slot.add(run)
        await self.publisher.agent(slot.entity(False))
        drive = asyncio.create_task(self._drive(slot, held), name=f"run-{task_id}")
        self._drives.add(drive)
        drive.add_done_callback(self._drives.discard)

    async def _drive(self, slot: AgentSlot, held: Held) -> None:
        run = held.run
        renewing = asyncio.create_task(self._renew_loop(held), name=f"renew-{run.task_id}")
        try:
            try:
                outcome = await run.run()
            except Exception as exc:  # a bug here must not lose the task
                log.exception("session %s failed inside the worker", run.id)
                outcome = RunOutcome(Failure("orchestrator_error", f"internal error: {exc!r}"))
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            if not held.lost:
                await self.spool.flush()  # the hub has every event before it settles
                stop = run.stop_request
                await self._release(run.task_id, held.lease_id, *_outcome(outcome, stop))
        finally:
            renewing.cancel()
            self.held.pop(run.task_id, None)
            slot.remove(run)
            await self.publisher.agent(slot.entity(False))
            self._room.set()

    async def _renew_loop(self, held: Held) -> None:
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.link.lease_s / 3)  # the renewal's period
            try:
                await self.link.renew(held.run.task_id, held.lease_id)
                renewed = time.monotonic()
            except LeaseLost as exc:
                self._lose(held, str(exc))
                return
            except (Unreachable, WorkerRefused) as exc:
                if time.monotonic() - renewed > self.link.lease_s:
                    self._lose(held, f"the lease could not be renewed in time ({exc})")
                    return

    def _lose(self, held: Held, why: str) -> None:
        log.warning("lost the lease on task %s: %s; stopping its run", held.run.task_id, why)
        held.lost = True
        held.run.request_stop(StopRequest("lease_lost", why, interruption=True))

    async def _release(
        self, task_id: str, lease_id: str, outcome: str, failure: Failure | None
    ) -> None:
        body = None if failure is None else _failure_body(failure)
        while True:
            try:
                await self.link.release(task_id, lease_id, outcome, body)
                return
            except LeaseLost as exc:
                log.warning("task %s: %s", task_id, exc)
                return
            except Unreachable as exc:
                log.warning("cannot release task %s yet (%s)", task_id, exc)
                await asyncio.sleep(RETRY_S)

    # -- heartbeats and commands -----------------------------------------------------------

    async def _beat_loop(self) -> None:
        while True:
            with contextlib.suppress(Unreachable, WorkerRefused):
                await self.link.heartbeat(self.running)
            await asyncio.sleep(self.link.lease_s / 3)  # the heartbeat's period

    async def _command_loop(self) -> None:
        while True:
            try:
                commands = await self.link.commands(COMMANDS_WAIT_S)
            except (Unreachable, WorkerRefused) as exc:
                log.warning("cannot read commands (%s)", exc)
                await asyncio.sleep(RETRY_S)
                continue
            for task_id in commands.get("cancel", ()):
                held = self.held.get(str(task_id))
                if held is not None:
                    held.run.request_stop(StopRequest("cancelled", "the task was cancelled"))
            for answer in commands.get("approvals", ()):
                # No session takes an answer yet (in process neither): it is logged here,
                # where the agent's adapter will take it (docs/workers.md, "Not yet").
                log.info(
                    "approval %s of task %s answered: %s",
                    answer.get("id"),
                    answer.get("task_id"),
                    answer.get("decision"),
                )


async def _no_budget(run: SessionRun, spent: TokenUsage) -> None:
    """Spending is booked by the hub from the events; a worker enforces no budget yet."""


def _outcome(outcome: RunOutcome, stop: StopRequest | None) -> tuple[str, Failure | None]:
    if stop is not None and stop.kind == "cancelled":
        return "cancelled", None
    if outcome.failure is None:
        return "completed", None
    return ("interrupted" if outcome.interrupted else "failed"), outcome.failure


def _failure_body(failure: Failure) -> dict[str, Any]:
    return {
        "kind": failure.kind,
        "message": failure.message[:10_000],
        "exit_code": failure.exit_code,
        "output_tail": failure.output_tail[-20_000:],
        "stderr_tail": failure.stderr_tail[-20_000:],
    }
