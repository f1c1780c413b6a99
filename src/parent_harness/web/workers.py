"""REST for workers on other machines (issue 19); the logic is orchestrator/leasing.py.

A worker token (`--worker-token`) reaches only the routes marked `for_workers` here; a
publish token reaches them too (an operator, the tests). Every worker route after
`register` checks that the presented token registered that worker id.

- `POST /api/workers/register` {name, labels, agents, capacity, version} -> 201 {worker}
- `POST /api/workers/{id}/heartbeat` {running?} -> 200
- `POST /api/workers/{id}/claim` {agents} -> 200 {lease_id, expires_at, agent, task} or 204
- `POST /api/workers/{id}/renew` {task_id, lease_id} -> 200 {lease} or 409 `lease_lost`
- `POST /api/workers/{id}/release` {task_id, lease_id, outcome, failure?} -> 200 or 409
- `POST /api/workers/{id}/events`: as `POST /api/events`, for the tasks it holds only
  (409 `lease_lost` naming the task and its new holder for one it lost, 403 otherwise)
- `GET /api/workers/{id}/commands?wait=S` -> {cancel: [task ids]} (a long poll)
- `GET /api/workers` -> every worker (any reader)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r201, r204, r403, r409
from pydantic import BaseModel, ConfigDict, Field

from parent_harness.events.catalogue import LABEL, SAFE_TASK_ID
from parent_harness.events.rooms import event_rooms
from parent_harness.orchestrator.errors import Failure
from parent_harness.orchestrator.leasing import LeaseLost, NotRegistered, WorkerDesk
from parent_harness.problems import json_response, problem
from parent_harness.store.leases import Lease
from parent_harness.web.auth import presented_token
from parent_harness.web.keys import NODE, SETTINGS, Guard
from parent_harness.web.rest import (
    Problem,
    acknowledged,
    inject,
    json_body,
    publish_batch,
)
from parent_harness.web.scopes import grant_of, visible

DESK = web.AppKey("worker_desk", WorkerDesk)
F = TypeVar("F", bound=Callable[..., Awaitable[web.StreamResponse]])

Label = Annotated[str, Field(min_length=1, max_length=100, pattern=LABEL)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=SAFE_TASK_ID)]

WORKER_TYPES = frozenset(
    {
        "agent:status",
        "agent:heartbeat",
        "task:updated",
        "session:started",
        "session:updated",
        "session:ended",
        "session:iteration",
        "session:heartbeat",
        "session:tool",
        "session:output",
        "test:started",
        "test:completed",
        "workspace:created",
        "workspace:updated",
        "workspace:merged",
        "workspace:removed",
        "approval:requested",
        "event",
    }
)
"""What a worker publishes about the runs it holds; the task's fate comes with `release`."""
RUNNING = frozenset({"running", "testing"})
TASK_FIELDS = frozenset(
    {"id", "status", "progress_percent", "token_usage", "workspace_id", "updated_at"}
)
"""What a worker may change on a task it holds (what a session reports)."""


def for_workers(handler: F) -> F:
    """Marks a route a worker token may use (`app.guarded` refuses it every other one)."""
    handler.for_workers = True  # type: ignore[attr-defined]
    return handler


class Registration(BaseModel):
    """A worker introducing itself."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    labels: list[Label] = Field(default_factory=list, max_length=50)
    agents: list[Name] = Field(min_length=1, max_length=100)
    capacity: int = Field(default=1, ge=1, le=10_000)
    version: str | None = Field(default=None, max_length=100)


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    running: int | None = Field(default=None, ge=0, le=10_000)


class ClaimBody(BaseModel):
    """The worker's agents that have room now (a subset of those it registered)."""

    model_config = ConfigDict(extra="forbid")
    agents: list[Name] = Field(min_length=1, max_length=100)
    wait: float = Field(
        default=0.0, ge=0, le=30, description="Seconds to wait for a task (a long poll)."
    )


class LeaseRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: str = Field(min_length=1, max_length=200)
    lease_id: str = Field(min_length=1, max_length=200)


class FailureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=100)
    message: str = Field(max_length=10_000)
    exit_code: int | None = None
    output_tail: str = Field(default="", max_length=20_000)
    stderr_tail: str = Field(default="", max_length=20_000)


class Release(LeaseRef):
    """How the run under a lease ended."""

    outcome: Literal["completed", "failed", "interrupted", "cancelled"]
    failure: FailureBody | None = None


def _lost(exc: LeaseLost) -> web.Response:
    return problem(409, "lease_lost", str(exc), task_id=exc.task_id, holder=exc.holder)


def _lease(lease: Lease) -> dict[str, Any]:
    return lease.as_dict()


async def _checked(request: web.Request, worker_id: str) -> web.Response | None:
    """403 unless the presented token registered `worker_id`."""
    try:
        await request.app[DESK].check(worker_id, presented_token(request))
    except NotRegistered as exc:
        return problem(403, "not_registered", str(exc))
    return None


@for_workers
@acknowledged
@json_body
@inject.and_request
async def register(
    request: web.Request, given: Registration
) -> r201[dict[str, Any]] | r409[Problem]:
    """Registers a worker (again, after a restart, with the same token): `worker:status`."""
    entity = {
        "id": given.name,
        "name": given.name,
        "labels": given.labels,
        "agents": given.agents,
        "capacity": given.capacity,
        "version": given.version,
        "running": 0,
    }
    try:
        worker = await request.app[DESK].register(entity, presented_token(request))
    except NotRegistered as exc:
        return problem(409, "name_taken", str(exc))
    lease_s = request.app[SETTINGS].lease_s
    return json_response({"worker": worker, "lease_s": lease_s}, status=201)


@for_workers
@acknowledged
@json_body
@inject.and_request
async def heartbeat(
    request: web.Request, worker_id: str, /, given: Heartbeat
) -> r200[dict[str, Any]] | r403[Problem]:
    """The worker is alive; a worker silent past its lease is shown `offline`."""
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused
    await request.app[DESK].heartbeat(worker_id, given.running)
    return json_response({"ok": True})


@for_workers
@acknowledged
@json_body
@inject.and_request
async def claim(
    request: web.Request, worker_id: str, /, given: ClaimBody
) -> r200[dict[str, Any]] | r204[None] | r403[Problem]:
    """A ready task for one of the worker's agents under a new lease; 204 when none."""
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused
    wait = min(given.wait, request.app[SETTINGS].max_poll_s)
    won = await request.app[DESK].claim(worker_id, given.agents, wait)
    if won is None:
        return web.Response(status=204)
    return json_response(won)


@for_workers
@acknowledged
@json_body
@inject.and_request
async def renew(
    request: web.Request, worker_id: str, /, given: LeaseRef
) -> r200[dict[str, Any]] | r403[Problem] | r409[Problem]:
    """Extends a lease the worker holds."""
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused
    try:
        lease = await request.app[DESK].renew(worker_id, given.task_id, given.lease_id)
    except LeaseLost as exc:
        return _lost(exc)
    return json_response({"lease": _lease(lease)})


@for_workers
@acknowledged
@json_body
@inject.and_request
async def release(
    request: web.Request, worker_id: str, /, given: Release
) -> r200[dict[str, Any]] | r403[Problem] | r409[Problem]:
    """Ends a lease with the run's outcome; the hub settles the task by its retry policy."""
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused
    failure = None
    if given.failure is not None:
        f = given.failure
        failure = Failure(
            f.kind,
            f.message,
            exit_code=f.exit_code,
            output_tail=f.output_tail,
            stderr_tail=f.stderr_tail,
        )
    try:
        lease = await request.app[DESK].release(
            worker_id, given.task_id, given.lease_id, given.outcome, failure
        )
    except LeaseLost as exc:
        return _lost(exc)
    return json_response({"lease": _lease(lease)})


@for_workers
@acknowledged
@inject.and_request
async def commands(
    request: web.Request, worker_id: str, /, wait: float = 0.0
) -> r200[dict[str, Any]] | r403[Problem]:
    """Commands for the worker (`cancel`: task ids it holds; `approvals`: answers for its
    runs), waiting up to `wait` seconds (at most the hub's `max_poll_s`, 30) for one."""
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused
    wait = min(max(wait, 0.0), request.app[SETTINGS].max_poll_s)
    return json_response(await request.app[DESK].commands(worker_id, wait))


@for_workers
async def publish(request: web.Request) -> web.StreamResponse:
    """POST /api/workers/{id}/events: events of the runs the worker holds (see module)."""
    worker_id = request.match_info["worker_id"]
    refused = await _checked(request, worker_id)
    if refused is not None:
        return refused

    async def held(drafts: list[Any]) -> web.Response | None:
        return await _outside_leases(request, worker_id, drafts)

    return await publish_batch(request, held)


async def _outside_leases(
    request: web.Request, worker_id: str, drafts: list[Any]
) -> web.Response | None:
    """The refusal of the first event that is not about a run this worker holds."""
    desk = request.app[DESK]
    held = await desk.holds(worker_id)
    tasks = {lease.task_id for lease in held}
    sessions = {lease.session_id: lease.task_id for lease in held}
    state = request.app[NODE].committed_state
    for index, draft in enumerate(drafts):
        if draft.type not in WORKER_TYPES:
            return problem(
                403, "forbidden", f"event {index}: a worker may not publish {draft.type}"
            )
        named = _named(draft.type, draft.payload)
        if not named:
            return problem(
                403,
                "forbidden",
                f"event {index} ({draft.type}) names no task, session or agent of this worker",
                index=index,
            )
        for entity, ident in named:
            if entity == "agent" and not ident.endswith(f"@{worker_id}"):
                return problem(
                    403, "forbidden", f"event {index}: agent {ident} is not this worker's"
                )
            task_id = ident if entity == "task" else None
            if entity == "session" and ident not in sessions:
                task_id = str((state.sessions.get(ident) or {}).get("task_id") or "")
                if not task_id:
                    return problem(
                        403, "forbidden", f"event {index}: session {ident} is not under a lease"
                    )
            if task_id is not None and task_id not in tasks:
                return _lost(await desk.lost_error(worker_id, task_id))
        task = draft.payload.get("task")
        if isinstance(task, Mapping) and task.get("status") not in (None, *RUNNING):
            return problem(
                403,
                "forbidden",
                f"event {index}: a task's end is reported by releasing its lease",
                index=index,
            )
        if isinstance(task, Mapping) and not set(task) <= TASK_FIELDS:
            fields = ", ".join(sorted(set(task) - TASK_FIELDS))
            return problem(
                403, "forbidden", f"event {index}: a worker may not set {fields}", index=index
            )
    return None


def _named(type_: str, payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The tasks, sessions and agents an event names that must be the worker's (`event`: its
    data's task_id; `agent:*`: the agent only)."""
    if type_ == "event":
        data = (payload.get("event") or {}).get("data") or {}
        task_id = data.get("task_id") if isinstance(data, Mapping) else None
        return [("task", str(task_id))] if task_id else []
    # An agent's status names the task it works on as a pointer, which its spool may deliver
    # just after that task's lease ended: only whose agent it is counts.
    kinds = ("agent",) if type_.startswith("agent:") else ("task", "session", "agent")
    named = []
    for room in event_rooms(type_, payload)[1:]:
        entity, _, ident = room.partition(":")
        if entity in kinds:
            named.append((entity, ident))
    return named


async def list_workers(request: web.Request) -> r200[dict[str, Any]]:
    """Every worker (committed): status, labels, agents, capacity, version, last contact."""
    state = request.app[NODE].committed_state
    items = visible(grant_of(request), "worker", state.workers.values())
    return json_response({"seq": state.seq, "items": items, "next_cursor": None})


async def _desk_lifecycle(app: web.Application) -> AsyncIterator[None]:
    app[DESK].start()
    yield
    await app[DESK].stop()


def add_routes(app: web.Application, guard: Guard, desk: WorkerDesk) -> None:
    """The worker routes, each behind `guard`; `desk` starts and stops with the app."""
    app[DESK] = desk
    app.cleanup_ctx.append(_desk_lifecycle)
    r = app.router
    r.add_get("/api/workers", guard(list_workers))
    r.add_post("/api/workers/register", guard(register))
    r.add_post("/api/workers/{worker_id}/heartbeat", guard(heartbeat))
    r.add_post("/api/workers/{worker_id}/claim", guard(claim))
    r.add_post("/api/workers/{worker_id}/renew", guard(renew))
    r.add_post("/api/workers/{worker_id}/release", guard(release))
    r.add_post("/api/workers/{worker_id}/events", guard(publish))
    r.add_get("/api/workers/{worker_id}/commands", guard(commands))
