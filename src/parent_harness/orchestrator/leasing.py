"""The hub's side of workers on other machines (issue 19): registration, leases, commands.

A :class:`WorkerDesk` sits in every hub node (web/workers.py serves it). A worker
registers (``worker:status`` online), then claims tasks: the desk picks the ready tasks
the worker can run (its agents, its labels) from the node's committed state, and the
database decides which one it wins (store/leases.py), so no task runs twice across nodes.
A won claim is published as the in-process orchestrator publishes a launch
(``task:assigned``, with the ``worker_id``). The worker renews its lease while the agent
runs and releases it with the run's outcome, which the desk settles with the same
:class:`TaskOutcomes` and retry policy as the orchestrator. The sweep (every node, every
few seconds) expires overdue leases, exactly once across nodes, and requeues their tasks
by ``retry.on_interrupted``; it marks silent workers ``offline`` and says on a queued task
when no live worker carries its labels.

Commands for a worker (cancel a task it holds) are read by its long poll
(:meth:`WorkerDesk.commands`); each node sees every event, so the poll may land on any node.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ..events.clock import iso, now_iso, read_iso, short_id, utc_now
from ..events.sink import Event, EventListener, PublishResult
from ..store.leases import Claim, Lease, LeaseBook
from .budget import BudgetGuard
from .config import BudgetConfig, RetryConfig
from .errors import Failure
from .outcomes import TaskOutcomes
from .publisher import FleetPublisher
from .retry import attempts_of, max_attempts_of

log = logging.getLogger(__name__)

READY = frozenset({"queued", "pending"})
CANDIDATES = 16
"""Tasks tried per claim: the database may give the first few to other workers."""
RETRY_READY_S = 0.25
"""How soon a waiting claim looks again when tasks were ready but none could be won (a
lease ending on another node is being settled: no event says when it is done)."""


class DeskHub(Protocol):
    """What the desk needs of its hub node (the `Node` has it)."""

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult: ...

    def add_listener(self, listener: EventListener) -> None: ...

    def remove_listener(self, listener: EventListener) -> None: ...

    @property
    def committed_state(self) -> Any: ...


class LeaseLost(Exception):
    """A worker acted on a lease it no longer holds (409 `lease_lost`)."""

    def __init__(self, task_id: str, holder: str | None, detail: str) -> None:
        super().__init__(detail)
        self.task_id, self.holder = task_id, holder


class NotRegistered(Exception):
    """A worker id unknown to the hub, or registered by another token (403)."""


def token_fingerprint(token: str | None) -> str:
    """The digest that binds a worker to the token that registered it."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def agent_id_of(agent: str, worker: str) -> str:
    """The hub-wide id of a worker's agent: ``claude@gpu-box-1``."""
    return f"{agent}@{worker}"


@dataclass(slots=True)
class _Mailbox:
    """Commands waiting for one worker's poll."""

    cancel: set[str] = field(default_factory=set)
    approvals: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class RecordingSink:
    """Publishes into the hub and remembers the last seq and whether any publish failed
    (FleetPublisher logs a failure instead of raising it)."""

    def __init__(self, hub: DeskHub) -> None:
        self._hub = hub
        self.seq = 0
        self.failed = False

    async def publish(
        self, type: str, payload: Mapping[str, Any], *, id: str | None = None
    ) -> PublishResult:
        try:
            result = await self._hub.publish(type, payload, id=id)
        except Exception:
            self.failed = True
            raise
        self.seq = max(self.seq, result.seq)
        return result


class WorkerDesk:
    """Workers, their leases and their commands, on one hub node; see the module docstring."""

    def __init__(
        self,
        hub: DeskHub,
        book: LeaseBook,
        *,
        lease_s: float = 30.0,
        retry: RetryConfig | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.hub, self.book, self.lease_s = hub, book, lease_s
        self.retry = retry or RetryConfig()
        self._wall = wall
        self._mail: dict[str, _Mailbox] = {}
        self._keys: dict[str, str] = {}
        self._taken: set[str] = set()
        """Tasks this node won a claim on whose `task:assigned` it has not folded yet: not
        candidates meanwhile (every claim would try them first, and lose)."""
        self._sweeper: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        """Set (and replaced) when a task becomes ready: wakes the claims that wait."""

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.hub.add_listener(self._on_event)
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="worker-sweep")

    async def stop(self) -> None:
        self.hub.remove_listener(self._on_event)
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)

    # -- registration ----------------------------------------------------------------------

    async def register(self, entity: Mapping[str, Any], token: str | None) -> dict[str, Any]:
        """Registers (or registers again) a worker; its entity as published."""
        worker_id = str(entity["id"])
        if not await self.book.bind_key(worker_id, token_fingerprint(token)):
            raise NotRegistered(f"worker name {worker_id!r} is taken by another token")
        now = now_iso()
        worker = {**entity, "status": "online", "last_seen_at": now, "registered_at": now}
        await self.hub.publish("worker:status", {"worker": worker})
        return dict(self.hub.committed_state.workers.get(worker_id) or worker)

    async def check(self, worker_id: str, token: str | None) -> None:
        """Raises NotRegistered unless `token` registered `worker_id` (a binding never
        changes, so each node keeps the ones it has seen)."""
        given = token_fingerprint(token)
        if self._keys.get(worker_id) == given:
            return
        if await self.book.key_of(worker_id) != given:
            raise NotRegistered(f"worker {worker_id!r} is not registered with this token")
        self._keys[worker_id] = given

    async def heartbeat(self, worker_id: str, running: int | None = None) -> None:
        """The worker is alive (and runs `running` sessions)."""
        worker: dict[str, Any] = {"id": worker_id, "status": "online", "last_seen_at": now_iso()}
        if running is not None:
            worker["running"] = running
        await self.hub.publish("worker:status", {"worker": worker})

    # -- leases ----------------------------------------------------------------------------

    async def claim(
        self, worker_id: str, agents: list[str], wait_s: float = 0.0
    ) -> dict[str, Any] | None:
        """A task for one of `agents` (names of the worker's agents with room) under a new
        lease, published as assigned; None when nothing is ready for this worker within
        `wait_s` (a long poll: woken when a task becomes ready, on any node)."""
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            ready = self._ready
            won, tried = await self._claim_once(worker_id, agents)
            left = deadline - asyncio.get_running_loop().time()
            if won is not None or left <= 0:
                return won
            if tried:  # ready tasks, all taken for now (a lease settling): look again soon
                left = min(left, RETRY_READY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), left)

    async def _claim_once(
        self, worker_id: str, agents: list[str]
    ) -> tuple[dict[str, Any] | None, bool]:
        """The claim won (or None) and whether any task was ready for it."""
        state = self.hub.committed_state
        worker = state.workers.get(worker_id) or {}
        labels = set(worker.get("labels") or ())
        offered = [a for a in agents if a in set(worker.get("agents") or agents)]
        ready = [
            t
            for t in self._ready_for(state.tasks.values(), offered, labels)
            if t["id"] not in self._taken
        ]
        expires = self._wall_ms() + int(self.lease_s * 1000)
        candidates = [
            Claim(str(t["id"]), short_id("l"), worker_id, short_id("s"), expires, state.seq)
            for t in ready[:CANDIDATES]
        ]
        won = await self.book.claim(candidates)
        if won is None:
            return None, bool(candidates)
        self._taken.add(won.task_id)
        task = state.tasks[won.task_id]
        agent = task.get("agent_name") if task.get("agent_name") in offered else offered[0]
        attempt = attempts_of(task) + 1
        assigned = {
            "id": won.task_id,
            "status": "assigned",
            "agent_id": agent_id_of(str(agent), worker_id),
            "session_id": won.session_id,
            "attempts": attempt,
            "max_attempts": max_attempts_of(task, self.retry),
            "not_before": None,
            "worker_id": worker_id,
            "waiting_reason": None,
            "updated_at": now_iso(),
        }
        await self.hub.publish("task:assigned", {"task": assigned}, id=f"lease:{won.lease_id}")
        lease = {
            "lease_id": won.lease_id,
            "expires_at": _iso_ms(won.expires_ms),
            "lease_s": self.lease_s,
            "agent": agent,
            "task": {**task, **assigned},
        }
        return lease, True

    @staticmethod
    def _ready_for(tasks: Any, agents: list[str], labels: set[str]) -> list[Mapping[str, Any]]:
        now = utc_now()
        ready = []
        for task in tasks:
            if task.get("status") not in READY or not agents:
                continue
            if task.get("agent_name") not in (None, *agents):
                continue
            if not set(task.get("labels") or ()) <= labels:
                continue
            not_before = read_iso(task.get("not_before"))
            if not_before is not None and not_before > now:
                continue
            ready.append(task)
        ready.sort(key=lambda t: (-int(t.get("priority") or 0), str(t.get("created_at") or "")))
        return ready

    async def renew(self, worker_id: str, task_id: str, lease_id: str) -> Lease:
        """Extends a held lease by `lease_s`; LeaseLost when it is not held any more."""
        expires = self._wall_ms() + int(self.lease_s * 1000)
        lease = await self.book.renew(task_id, lease_id, worker_id, expires)
        if lease is None:
            raise await self.lost_error(worker_id, task_id)
        return lease

    async def release(
        self, worker_id: str, task_id: str, lease_id: str, outcome: str, failure: Failure | None
    ) -> Lease:
        """Ends a held lease with the run's outcome (completed, failed, interrupted or
        cancelled) and settles the task by the retry policy; LeaseLost when not held."""
        lease = await self.book.end(task_id, lease_id, worker_id)
        if lease is None:
            raise await self.lost_error(worker_id, task_id)
        await self._settle(lease, outcome, failure)
        return lease

    async def holds(self, worker_id: str) -> list[Lease]:
        return await self.book.held_by(worker_id)

    async def lost_error(self, worker_id: str, task_id: str) -> LeaseLost:
        """The refusal of an event about `task_id`, which `worker_id` does not hold."""
        lease = (await self.book.of_tasks([task_id])).get(task_id)
        return _lost_error(worker_id, task_id, lease)

    async def _settle(self, lease: Lease, outcome: str, failure: Failure | None) -> None:
        """Publishes the task's fate after its lease ended; puts the lease back for the
        sweep when that cannot be published (the store or broker is down)."""
        sink = RecordingSink(self.hub)
        outcomes = TaskOutcomes(FleetPublisher(sink), self.retry, BudgetGuard(BudgetConfig()))
        task = dict(self.hub.committed_state.tasks.get(lease.task_id) or {"id": lease.task_id})
        if outcome == "completed":
            await outcomes.completed(lease.task_id)
        elif outcome == "cancelled" or task.get("status") == "cancelled":
            await outcomes.cancelled(lease.task_id)
        elif outcome == "failed":
            await outcomes.failed(task, failure or Failure("failed", "the run failed"))
        else:
            await outcomes.interrupted(task, failure or Failure("interrupted", "interrupted"))
        if sink.failed or sink.seq == 0:
            await self.book.reopen(lease.lease_id)
            return
        await self.book.settle(lease.lease_id, sink.seq)
        self._wake_claims()  # the task may be claimed again now

    def _wake_claims(self) -> None:
        self._ready.set()
        self._ready = asyncio.Event()

    # -- commands --------------------------------------------------------------------------

    async def commands(self, worker_id: str, wait_s: float) -> dict[str, Any]:
        """What the worker must do now: `cancel` (ids of tasks it holds that were
        cancelled) and `approvals` (answers to its runs' approvals, whole); waits up to
        `wait_s` for something when there is nothing yet."""
        box = self._mail.setdefault(worker_id, _Mailbox())
        if not box.cancel and not box.approvals:
            box.ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(box.ready.wait(), wait_s)
        tasks = self.hub.committed_state.tasks
        # a node the worker did not poll keeps its copy: only what still holds is sent
        cancel = sorted(
            t
            for t in box.cancel
            if (tasks.get(t) or {}).get("status") == "cancelled"
            and (tasks.get(t) or {}).get("worker_id") == worker_id
        )
        answered = [
            a
            for a in box.approvals.values()
            if (tasks.get(str(a.get("task_id"))) or {}).get("worker_id") == worker_id
        ]
        box.cancel, box.approvals = set(), {}
        return {"cancel": cancel, "approvals": answered}

    def _on_event(self, event: Event) -> None:
        if event.type == "approval:answered":
            self._on_answer(event.payload.get("approval"))
            return
        if not event.type.startswith("task:"):
            return
        task = event.payload.get("task")
        if not isinstance(task, Mapping):
            return
        if task.get("status") in READY:
            self._wake_claims()
        else:
            self._taken.discard(str(task["id"]))
        worker_id = task.get("worker_id")
        if worker_id and task.get("status") == "cancelled":
            box = self._mail.setdefault(str(worker_id), _Mailbox())
            box.cancel.add(str(task["id"]))
            box.ready.set()

    def _on_answer(self, approval: Any) -> None:
        """An answer for a run a worker holds goes to that worker's mailbox."""
        if not isinstance(approval, Mapping) or approval.get("status") != "answered":
            return
        task = self.hub.committed_state.tasks.get(str(approval.get("task_id"))) or {}
        worker_id = task.get("worker_id")
        if worker_id and task.get("status") not in ("completed", "failed", "cancelled"):
            box = self._mail.setdefault(str(worker_id), _Mailbox())
            box.approvals[str(approval["id"])] = dict(approval)
            box.ready.set()

    # -- the sweep -------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self.lease_s / 4))
            try:
                await self.sweep()
            except Exception:  # the next round tries again
                log.exception("the worker sweep failed")

    async def sweep(self) -> None:
        """Expires overdue leases (requeueing their tasks), marks silent workers offline,
        notes queued tasks no live worker can take."""
        now_ms = self._wall_ms()
        for lease in await self.book.overdue(now_ms):
            if await self.book.expire(lease.lease_id, now_ms) is not None:
                await self._expired(lease)
        await self._offline_silent()
        await self._note_waiting()

    async def _expired(self, lease: Lease) -> None:
        message = f"worker {lease.worker_id} stopped renewing its lease on the task"
        failure = Failure("lease_expired", message, context={"worker_id": lease.worker_id})
        await self.hub.publish(
            "session:ended",
            {"session": {"id": lease.session_id, "status": "killed", "ended_at": now_iso()}},
            id=f"lease-expired:{lease.lease_id}",
        )
        await self._settle(lease, "interrupted", failure)

    async def _offline_silent(self) -> None:
        limit = self.lease_s
        for worker in list(self.hub.committed_state.workers.values()):
            seen = read_iso(worker.get("last_seen_at"))
            if worker.get("status") != "online" or seen is None:
                continue
            if (utc_now() - seen).total_seconds() > limit:
                offline = {"id": worker["id"], "status": "offline"}
                key = f"worker-offline:{worker['id']}:{worker.get('last_seen_at')}"
                await self.hub.publish("worker:status", {"worker": offline}, id=key)

    async def _note_waiting(self) -> None:
        state = self.hub.committed_state
        live = [w for w in state.workers.values() if w.get("status") == "online"]
        for task in list(state.tasks.values()):
            wanted = set(task.get("labels") or ())
            if task.get("status") not in READY or not wanted:
                continue
            able = any(wanted <= set(w.get("labels") or ()) for w in live)
            reason = None if able else f"no live worker carries the labels {sorted(wanted)}"
            if task.get("waiting_reason") != reason:
                update = {"id": task["id"], "waiting_reason": reason}
                await self.hub.publish("task:updated", {"task": update})

    def _wall_ms(self) -> int:
        return int(self._wall() * 1000)


def _lost_error(worker_id: str, task_id: str, lease: Lease | None) -> LeaseLost:
    if lease is not None and lease.state == "held" and lease.worker_id != worker_id:
        holder: str | None = lease.worker_id
        detail = f"task {task_id} is now held by worker {holder} (lease {lease.lease_id})"
    else:
        holder = lease.worker_id if lease is not None and lease.state == "held" else None
        detail = f"worker {worker_id} does not hold task {task_id}"
        if lease is not None and lease.state != "held":
            detail += f" (its last lease {lease.state})"
    return LeaseLost(task_id, holder, detail)


def _iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


LOCAL = "@local"
"""The holder of the in-process orchestrator's leases (no worker name can have `@`)."""
FOREVER_MS = 2**62
"""A local lease never expires: the process that holds it runs the agents itself, and a
restart of it ends them all (:meth:`LocalClaims.recover`)."""


class ClaimsHub(Protocol):
    """What the local claims read of the hub node in process (the `Node` has it)."""

    @property
    def committed_state(self) -> Any: ...

    @property
    def positions(self) -> Any: ...


class LocalClaims:
    """The in-process orchestrator's side of the leases (`harness run`): a session starts
    only once the database gave its task to this process, so a worker on another machine
    and the local agents never both run it. Nothing changes when no worker is attached."""

    def __init__(self, hub: ClaimsHub, book: LeaseBook) -> None:
        self.hub, self.book = hub, book
        self._leases: dict[str, str] = {}

    async def recover(self) -> None:
        """Ends the leases a previous run of this process held (its recovery settles their
        tasks right after)."""
        ended = await self.book.end_all(LOCAL, self.hub.committed_state.seq)
        if ended:
            log.info("ended %d lease(s) of the previous run", len(ended))

    async def take(self, task_id: str, session_id: str) -> bool:
        """Whether this process won the task (False: a worker holds it)."""
        lease_id = short_id("l")
        claim = Claim(
            task_id, lease_id, LOCAL, session_id, FOREVER_MS, self.hub.committed_state.seq
        )
        if await self.book.claim([claim]) is None:
            return False
        self._leases[task_id] = lease_id
        return True

    async def settle(self, task_id: str) -> None:
        """The task's run ended and its outcome is published: the lease ends, settled as of
        what this process has appended (at or after the outcome)."""
        lease_id = self._leases.pop(task_id, None)
        if lease_id is not None:
            await self.book.finish(task_id, lease_id, LOCAL, self.hub.positions.appended)
