"""REST: snapshots and lists, each with the `seq` it reflects, and the publish endpoint.

OpenAPI is generated from these handlers' signatures (aiohttp-pydantic) at /docs.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, Union

import orjson
from aiohttp import web
from aiohttp_pydantic.decorator import inject_params
from aiohttp_pydantic.oas.typing import r200, r201, r400, r404, r409, r503
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    create_model,
)

from parent_harness import __version__
from parent_harness.events.catalogue import (
    INT64_MAX,
    INT64_MIN,
    LABEL,
    PAYLOADS,
    SAFE_TASK_ID,
    SAFE_TASK_ID_LENGTH,
    DependsOn,
    EntityId,
)
from parent_harness.events.clock import now_iso, parse_iso
from parent_harness.events.kinds import CLASS_ROOMS, ENTITY_ROOMS, KINDS, NOT_IN_ALL, describe
from parent_harness.exceptions import (
    BrokerUnavailable,
    EventRefused,
    InvalidEvent,
    StoreUnavailable,
)
from parent_harness.graph import GraphError, check, edges_of
from parent_harness.hub import answers
from parent_harness.hub.bundles import error_signature
from parent_harness.hub.history import OutOfRange
from parent_harness.hub.ingest import Draft
from parent_harness.hub.node import snapshot_of
from parent_harness.hub.plans import apply_plan, new_task, rearm_dependents
from parent_harness.problems import invalid, problem
from parent_harness.problems import json_response as _json
from parent_harness.protocol.connection import MAX_TYPES
from parent_harness.store.queries import EventFilter, Queries
from parent_harness.web.auth import PUBLISH, Grant
from parent_harness.web.keys import NODE, QUERIES, SETTINGS, Guard
from parent_harness.web.scopes import (
    grant_of,
    may_publish,
    sees_entity,
    sees_message,
    sees_room,
    snapshot_for,
    visible,
    whole_fleet,
)


class ListOut(BaseModel):
    seq: int
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class Problem(BaseModel):
    """An error, in every route: RFC 9457 problem details (parent_harness/problems.py)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None


async def _invalid_params(exc: ValidationError, context: str) -> web.StreamResponse:
    """aiohttp-pydantic's answer to parameters or a body that do not validate."""
    return invalid([{**error, "in": context} for error in exc.errors(include_url=False)])


inject = inject_params(on_validation_error=_invalid_params)
"""Parameters from the handler's signature; a refusal is a problem like every other."""


class Published(BaseModel):
    items: list[dict[str, Any]]


MAX_PRIORITY = 1_000_000
"""A task's priority through REST is within ±MAX_PRIORITY: far more levels than a queue
needs, and exact as a JavaScript number in the dashboard (published events may carry any
64-bit priority, see `events.catalogue.Int64`)."""


class NewTask(BaseModel):
    """A task to add to the queue."""

    title: str = Field(min_length=1, max_length=500)
    description: str | None = None
    priority: int = Field(
        default=0,
        ge=-MAX_PRIORITY,
        le=MAX_PRIORITY,
        description="Higher runs first; from -1,000,000 to 1,000,000.",
    )
    max_attempts: int | None = Field(default=None, ge=1, le=100)
    agent_name: str | None = None
    labels: list[Annotated[str, Field(min_length=1, max_length=100, pattern=LABEL)]] | None = Field(
        default=None,
        max_length=50,
        description="Labels a worker must carry to run the task (docs/workers.md).",
    )
    test_suite: str | None = Field(
        default=None,
        max_length=64,
        description="The test suite to run after the agent: a [tests.NAME] of harness.toml "
        "(none: the default suite).",
    )
    test_command: str | None = Field(
        default=None,
        description="Refused by the orchestrator (the task fails, kind invalid_task) unless "
        "harness.toml sets [tests] allow_task_commands = true; then split into words and run "
        "without a shell. Name a test_suite instead.",
    )
    id: str | None = Field(
        default=None,
        pattern=SAFE_TASK_ID,
        max_length=SAFE_TASK_ID_LENGTH,
        description="A plain name: letters, digits, '_', '-' and single dots between them, "
        "starting with a letter or a digit (none: one is made).",
    )
    depends_on: DependsOn | None = Field(
        default=None,
        description="Parents: a task id (runs when it completes) or {id, when: on_success | "
        "on_failure | always}. Blocked until they end; cancelled when they cannot allow it.",
    )


class PlanTask(NewTask):
    """A task of a plan: its id is required (a plan is applied again by task id)."""

    id: str = Field(pattern=SAFE_TASK_ID, max_length=SAFE_TASK_ID_LENGTH)


class PlanIn(BaseModel):
    """A set of tasks and their edges, applied in one step (idempotent by task id)."""

    id: EntityId
    tasks: list[PlanTask] = Field(min_length=1, max_length=100_000)


def _page(page: Any, items: list[dict[str, Any]] | None = None) -> web.Response:
    shown = page.items if items is None else items
    return _json({"seq": page.seq, "items": shown, "next_cursor": page.next_cursor})


def _not_yours(what: str) -> web.Response:
    return problem(403, "forbidden", f"{what} is outside the rooms of this token")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _q(request: web.Request) -> Queries:
    return request.app[QUERIES]


class BadParam(Exception):
    """A query or path parameter the handler cannot use: answered 400, naming it."""

    def __init__(self, param: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.param, self.message, self.extra = param, message, extra

    def response(self) -> web.Response:
        return problem(400, "bad_params", self.message, param=self.param, **self.extra)


Handler = Callable[..., Awaitable[web.StreamResponse]]


def answers_bad_params(handler: Handler) -> Handler:
    """Wraps a handler so that a `BadParam` it raises is answered 400 (problem+json)."""

    @functools.wraps(handler)
    async def checked(*args: Any, **kwargs: Any) -> web.StreamResponse:
        try:
            return await handler(*args, **kwargs)
        except BadParam as exc:
            return exc.response()

    return checked


def json_body(handler: Handler) -> Handler:
    """Wraps a handler whose body aiohttp-pydantic decodes: a body that is not JSON (nor
    UTF-8, which JSON must be, RFC 8259 section 8.1) is answered 400 `bad_json` here, as by
    `publish_events`, rather than by aiohttp-pydantic's `{"error": "Malformed JSON"}`."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            orjson.loads(body.decode())
        except UnicodeDecodeError as exc:
            message = f"body is not JSON: it is not UTF-8 ({exc.reason} at byte {exc.start})"
            return problem(400, "bad_json", message)
        except orjson.JSONDecodeError as exc:
            return problem(400, "bad_json", f"body is not JSON: {exc}")
        return await handler(request)

    return checked


def acknowledged(handler: Handler) -> Handler:
    """Wraps a handler that publishes: an event the store or the broker could not take is
    answered 503 `unavailable` (not acknowledged: retry), as by `publish_events`."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (BrokerUnavailable, StoreUnavailable) as exc:
            return problem(503, "unavailable", str(exc))
        except EventRefused as exc:
            return refused_by_store(exc)

    return checked


def refused_by_store(exc: EventRefused) -> web.Response:
    """422: the store refused an event for its content (each refused one's seq holds a
    tombstone); the problem lists what was refused and what was committed."""
    return problem(422, "refused_by_store", str(exc), refused=exc.refused, committed=exc.committed)


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DIGITS = re.compile(r"-?[0-9]+")


def _decimal(value: Any) -> Any:
    """A query or path integer is written in decimal digits, as documented: pydantic alone
    would also take `1.0` or `1_000`."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be an integer in decimal digits")
    return value


IntParam = Annotated[int, BeforeValidator(_decimal)]
Int64Param = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX), BeforeValidator(_decimal)]
LIMIT: Any = Field(default=100, ge=1, le=1000)
MINUTES: Any = Field(default=60, ge=1, le=24 * 60)


def int64_param(param: str, text: str) -> int:
    """A query or path integer within the signed 64-bit range of the store's columns (a
    bigger one overflows SQLite's INTEGER and PostgreSQL's BIGINT); else `BadParam`."""
    value = int(text) if _INTEGER.fullmatch(text) else None
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise BadParam(param, f"{param} must be an integer from {INT64_MIN} to {INT64_MAX}")
    return value


def _cursor(text: str) -> str | None:
    """A `cursor` as the lists hand it out (`next_cursor`, a seq), checked."""
    if not text:
        return None
    int64_param("cursor", text)
    return text


CURSOR: Any = Field(
    default="",
    description="The `next_cursor` of the page before (a seq); none: the first page.",
    # Documented, not validated here: `_cursor` answers a bad one 400 naming it.
    json_schema_extra={"pattern": "^(0|[1-9][0-9]{0,17})?$"},
)


def _type_globs(text: str) -> list[str]:
    """The `type` parameter's globs, at most `MAX_TYPES` (the same bound as /ws `types`):
    each glob is one more term of the query, and SQLite refuses a deep expression."""
    globs = _csv(text)
    if len(globs) > MAX_TYPES:
        message = f"type takes at most {MAX_TYPES} globs ({len(globs)} given)"
        raise BadParam("type", message, limit=MAX_TYPES)
    return globs


@inject.and_request
async def health(request: web.Request) -> r200[dict[str, Any]] | r503[Problem]:
    """The hub is up (200) or degraded (503, a problem naming why: it no longer receives
    the order from its broker, or its store refuses writes)."""
    node = request.app[NODE]
    broker = node.broker.status()
    store_error = node.ingest.store_error
    body = {
        "status": "ok" if broker["ok"] and store_error is None else "degraded",
        "version": __version__,
        "seq": node.seq,
        "positions": {"appended": node.positions.appended, "committed": node.seq},
        "epoch": node.epoch,
        "clients": len(node.hub.subscribers),
        "store": {"url": node.store.description, "ok": store_error is None, "error": store_error},
        "broker": broker,
        "time": now_iso(),
    }
    if body["status"] == "ok":
        return _json(body)
    # 503 takes a node that cannot take or send events out of a load balancer's pool.
    why = f"the store refuses writes: {store_error}" if store_error else "the broker is down"
    del body["status"]  # a problem's `status` is the HTTP code; its `code` says "degraded"
    return problem(503, "degraded", why, **body)


@inject.and_request
async def access(request: web.Request) -> r200[dict[str, Any]]:
    """What the presented token may do: its `role` (`publish`: read and act, `read`: read
    only) and the `rooms` it is limited to (null: all). The dashboard shows the buttons
    that act (answer an approval, merge a workspace) only to a token that may publish."""
    grant = grant_of(request)
    rooms = None if grant.rooms is None else sorted(grant.rooms)
    return _json({"role": grant.role, "may_publish": grant.role == PUBLISH, "rooms": rooms})


@inject.and_request
async def snapshot(request: web.Request) -> r200[dict[str, Any]]:
    """Committed state: agents, active and recent tasks and sessions, the budget (with its seq)."""
    node = request.app[NODE]
    tasks = node.committed_state.tasks.values()
    return _json(snapshot_for(grant_of(request), node.snapshot(), tasks))


@answers_bad_params
@inject.and_request
async def state_at_route(
    request: web.Request, at: str = Field(min_length=1, max_length=64)
) -> r200[dict[str, Any]] | r400[Problem]:
    """The fleet as it was right after one event, in the shape of `/api/snapshot` plus `at`
    (that event's time): `at` is a seq (0: before any event), or an ISO 8601 time (the last
    event at or before it). Rebuilt from the nearest checkpoint and the events since."""
    node = request.app[NODE]
    if _DIGITS.fullmatch(at):
        seq = int64_param("at", at)
    else:
        try:
            moment = parse_iso(at)
        except ValueError:
            raise BadParam("at", f"at={at!r} is neither a seq nor an ISO 8601 time") from None
        found = await node.store.seq_at(int(moment.timestamp() * 1000))
        if found is None:
            oldest = await node.store.event_time(node.ingest.first_seq)
            since = f" ({oldest[0]})" if oldest else ""
            raise BadParam("at", f"at={at} is before the log's first event{since}")
        seq = min(found, node.seq)
    try:
        state = await node.state_at(seq)
    except OutOfRange as exc:
        raise BadParam("at", str(exc), head=node.seq) from None
    when = await node.store.event_time(seq) if seq else None
    snap = {**snapshot_of(state, node.epoch), "at": when[0] if when else None}
    return _json(snapshot_for(grant_of(request), snap, state.tasks.values()))


@inject.and_request
async def agents(request: web.Request) -> r200[ListOut]:
    """Every agent (committed)."""
    state = request.app[NODE].committed_state
    items = visible(grant_of(request), "agent", state.agents.values())
    return _json({"seq": state.seq, "items": items, "next_cursor": None})


@inject.and_request
async def agent(request: web.Request, agent_id: str, /) -> r200[dict[str, Any]] | r404[Problem]:
    """One agent (committed)."""
    state = request.app[NODE].committed_state
    found = state.agents.get(agent_id)
    if found is None:
        return problem(404, "not_found", f"no agent {agent_id!r}")
    if not sees_entity(grant_of(request), "agent", found):
        return _not_yours(f"agent {agent_id!r}")
    return _json({"seq": state.seq, "agent": found})


@answers_bad_params
@inject.and_request
async def tasks(
    request: web.Request,
    status: str = "",
    q: str = "",
    agent_id: str = "",
    plan_id: str = "",
    limit: IntParam = LIMIT,
    cursor: str = CURSOR,
) -> r200[ListOut]:
    """Tasks, most recently updated first; `status` is a comma list, `q` searches text,
    `plan_id` keeps one plan's tasks."""
    page = await _q(request).tasks(
        statuses=_csv(status),
        text=q or None,
        agent_id=agent_id or None,
        plan_id=plan_id or None,
        limit=limit,
        cursor=_cursor(cursor),
    )
    return _page(page, visible(grant_of(request), "task", page.items))


@inject.and_request
async def task(request: web.Request, task_id: str, /) -> r200[dict[str, Any]] | r404[Problem]:
    """One task with its test runs and sessions."""
    queries = _q(request)
    seq, found = await queries.entity("task", task_id)
    if found is None:
        return problem(404, "not_found", f"no task {task_id!r}")
    grant = grant_of(request)
    if not sees_entity(grant, "task", found):
        return _not_yours(f"task {task_id!r}")
    sessions = visible(grant, "session", (await queries.sessions(task_id=task_id, limit=100)).items)
    runs = await queries.test_runs(task_id)
    return _json({"seq": seq, "task": found, "test_runs": runs, "sessions": sessions})


@answers_bad_params
@inject.and_request
async def sessions(
    request: web.Request,
    status: str = "",
    agent_id: str = "",
    task_id: str = "",
    limit: IntParam = LIMIT,
    cursor: str = CURSOR,
) -> r200[ListOut]:
    """Sessions, most recently updated first."""
    page = await _q(request).sessions(
        statuses=_csv(status),
        agent_id=agent_id or None,
        task_id=task_id or None,
        limit=limit,
        cursor=_cursor(cursor),
    )
    return _page(page, visible(grant_of(request), "session", page.items))


@inject.and_request
async def session(request: web.Request, session_id: str, /) -> r200[dict[str, Any]] | r404[Problem]:
    """One session with its iterations and heartbeats (from the event log)."""
    queries = _q(request)
    seq, found = await queries.entity("session", session_id)
    if found is None:
        return problem(404, "not_found", f"no session {session_id!r}")
    if not sees_entity(grant_of(request), "session", found):
        return _not_yours(f"session {session_id!r}")
    flt = EventFilter(
        room=f"session:{session_id}",
        descending=False,
        types=("session:iteration", "session:heartbeat"),
    )
    page = await queries.events(flt, limit=5000)
    iterations: list[dict[str, Any]] = []
    heartbeats: list[dict[str, Any]] = []
    for msg in page.items:
        row = {
            "seq": msg["seq"],
            "at": msg["payload"].get("at", msg["timestamp"]),
            **msg["payload"],
        }
        (iterations if msg["type"] == "session:iteration" else heartbeats).append(row)
    return _json({"seq": seq, "session": found, "iterations": iterations, "heartbeats": heartbeats})


class OutputOut(BaseModel):
    """A page of a session's output: lines numbered after `after`, in order."""

    seq: int
    session_id: str
    first_line: int | None
    """The oldest line still kept (older ones were dropped by retention); None: none kept."""
    last_line: int
    """The number of the last line the session printed so far."""
    lines: list[dict[str, Any]]
    next_after: int | None
    """`after` for the next page; None: nothing more for now (follow `session:output`)."""


LineParam = Annotated[int, Field(ge=0, le=INT64_MAX), BeforeValidator(_decimal)]
OUTPUT_LIMIT: Any = Field(default=500, ge=1, le=5000)
QUERY: Any = Field(default="", max_length=500)


@inject.and_request
async def session_output(
    request: web.Request,
    session_id: str,
    /,
    after: LineParam = 0,
    limit: IntParam = OUTPUT_LIMIT,
    q: str = QUERY,
) -> r200[OutputOut] | r404[Problem]:
    """A session's kept output: the lines after line `after`, at most `limit`; with `q`,
    only the lines holding it (case-insensitive). Secrets were redacted before storing."""
    queries = _q(request)
    _seq, found = await queries.entity("session", session_id)
    if found is None:
        return problem(404, "not_found", f"no session {session_id!r}")
    if not sees_entity(grant_of(request), "session", found):
        return _not_yours(f"session {session_id!r}")
    page = await queries.output(session_id, after=after, limit=limit, q=q or None)
    return _json(
        {
            "seq": page.seq,
            "session_id": session_id,
            "first_line": page.first_line,
            "last_line": found.get("output_lines") or 0,
            "lines": page.lines,
            "next_after": page.next_after,
        }
    )


@answers_bad_params
@inject.and_request
async def events(
    request: web.Request,
    after: Int64Param | None = None,
    before: Int64Param | None = None,
    type: str = "",
    room: str = "",
    level: str = "",
    q: str = "",
    order: str = Field(default="desc", pattern="^(asc|desc)$"),
    limit: IntParam = LIMIT,
    cursor: str = CURSOR,
) -> r200[ListOut]:
    """The event log, filtered (type globs, room, level, text) before the limit; seq cursors.
    Agent output (`session:output`) is listed only when `type` or `room` is given."""
    grant = grant_of(request)
    if room and not sees_room(grant, room):
        return _not_yours(f"room {room!r}")
    descending = order == "desc"
    position = _cursor(cursor)
    if position is not None:
        if descending:
            before = int(position)
        else:
            after = int(position)
    flt = EventFilter(
        after=after,
        before=before,
        types=_type_globs(type),
        room=room or None,
        level=level or None,
        text=q or None,
        descending=descending,
        within=None if grant.rooms is None or room else tuple(grant.rooms),
        # Like /ws for `*`: agent output only when a type or a room asks for it.
        hidden=() if type or room else sorted(NOT_IN_ALL),
    )
    return _page(await _q(request).events(flt, limit=limit))


@inject.and_request
async def event(request: web.Request, seq: Int64Param, /) -> r200[dict[str, Any]] | r404[Problem]:
    """One event by its seq."""
    found = await _q(request).event(seq)
    if found is None:
        return problem(404, "not_found", f"no event with seq {seq}")
    if not sees_message(grant_of(request), found):
        return _not_yours(f"event {seq}")
    return _json(found)


@inject.and_request
async def budget(request: web.Request) -> r200[dict[str, Any]]:
    """The current budget period (committed)."""
    if not sees_room(grant_of(request), "budget"):
        return _not_yours("the budget")
    state = request.app[NODE].committed_state
    return _json({"seq": state.seq, "budget": state.budget})


@inject.and_request
async def stats_history(
    request: web.Request,
    minutes: IntParam = MINUTES,
) -> r200[dict[str, Any]]:
    """Events per bucket and spend at each bucket's end, for the dashboard's charts."""
    bucket_s = max(10, minutes * 60 // 360)
    now_ms = int(time.time() * 1000)
    since_ms = now_ms - minutes * 60_000
    seq, counts, spent = await _q(request).history(since_ms, bucket_s)
    first, last = since_ms // (bucket_s * 1000), now_ms // (bucket_s * 1000)
    buckets, spend = [], None
    for b in range(first, last + 1):
        spend = spent.get(b, spend)
        buckets.append({"t": b * bucket_s, "events": counts.get(b, 0), "spent_usd": spend})
    return _json({"seq": seq, "bucket_s": bucket_s, "buckets": buckets})


@inject.and_request
async def errors_summary(request: web.Request) -> r200[dict[str, Any]]:
    """Task failures grouped by signature (kind and message with numbers masked)."""
    seq, failures = await _q(request).failures()
    grant = grant_of(request)
    groups: dict[str, dict[str, Any]] = {}
    for msg in failures:
        if not sees_message(grant, msg):
            continue
        task_ = msg["payload"]["task"]
        details = task_.get("error_details") or {}
        sig = error_signature(details)
        group = groups.setdefault(
            sig,
            {
                "signature": sig,
                "kind": details.get("kind"),
                "message": details.get("message"),
                "count": 0,
                "first_seen": msg["timestamp"],
                "task_ids": [],
            },
        )
        group["count"] += 1
        group["last_seen"] = msg["timestamp"]
        if task_["id"] not in group["task_ids"]:
            group["task_ids"].append(task_["id"])
    items = sorted(groups.values(), key=lambda g: g["count"], reverse=True)
    return _json({"seq": seq, "items": items})


@inject.and_request
async def rooms(request: web.Request) -> r200[dict[str, Any]]:
    """Occupied rooms and their client counts."""
    node = request.app[NODE]
    grant = grant_of(request)
    counts = {r: n for r, n in node.hub.room_counts().items() if sees_room(grant, r)}
    return _json({"seq": node.seq, "rooms": counts})


@functools.cache
def _catalogue() -> dict[str, Any]:
    """Every event kind as data (built once: the catalogue does not change while running)."""
    return {
        "class_rooms": sorted(CLASS_ROOMS),
        "entities": sorted(ENTITY_ROOMS),
        "kinds": [describe(kind) for kind in KINDS.values()],
    }


@inject.and_request
async def catalogue(request: web.Request) -> r200[dict[str, Any]]:
    """Every event type the hub accepts, from its descriptor (events/kinds.py): `type`, its
    class `room`, the `entity` it carries, `rooms` (an event goes to its class room, then
    to `<entity>:<value>` for each `{entity, path}` whose payload value is not empty, in order,
    without repeats), `level` (`fixed`; else the value at `field`; else the first of
    `cases` whose value at `path` is (`op` `in`) or is not (`not_in`) one of `values`, null
    standing for absent; else `default`) and the payload's JSON `schema`."""
    return _json(_catalogue())


_ENVELOPE = frozenset({"type", "payload", "id"})


def _draft(index: int, item: Any) -> Draft:
    """Checks the envelope `{type, payload, id?}` of one published event (the payload is
    checked by the ingest against the catalogue). Hand-written: it runs for every event,
    so a well-formed envelope is recognised at once and only a bad one is looked at closely."""
    if type(item) is dict and (len(item) == 2 or (len(item) == 3 and "id" in item)):
        type_, payload, ident = item.get("type"), item.get("payload"), item.get("id")
        # a string `type` and a dict `payload` found: no other key is there
        if (
            type(type_) is str
            and type(payload) is dict
            and (ident is None or (type(ident) is str and 0 < len(ident) <= 200))
        ):
            return Draft(type_, payload, ident)
    return _checked_draft(index, item)


def _checked_draft(index: int, item: Any) -> Draft:
    """The envelope looked at closely: a Draft, or InvalidEvent naming what is wrong."""
    if not isinstance(item, dict):
        raise InvalidEvent("", "an event is a JSON object {type, payload, id?}", index=index)
    extra = sorted(set(item) - _ENVELOPE)
    if extra:
        raise InvalidEvent(extra[0], "Extra inputs are not permitted", index=index)
    for name, kind in (("type", str), ("payload", dict)):
        if name not in item:
            raise InvalidEvent(name, "Field required", index=index)
        if not isinstance(item[name], kind):
            raise InvalidEvent(
                name, f"must be a JSON {'string' if kind is str else 'object'}", index=index
            )
    ident = item.get("id")
    if ident is not None and (not isinstance(ident, str) or not 0 < len(ident) <= 200):
        raise InvalidEvent("id", "must be a string of 1 to 200 characters", index=index)
    return Draft(item["type"], item["payload"], ident)


async def publish_events(request: web.Request) -> web.Response:
    """POST /api/events: one event or a JSON array; answers each event's id and seq.

    The batch is all or nothing: a bad event refuses the whole batch with 400, naming
    its index and field. A repeated `id` is accepted once (duplicate: true).
    """
    grant = grant_of(request)

    async def in_scope(drafts: list[Draft]) -> web.Response | None:
        return _outside_scope(grant, drafts)

    return await publish_batch(request, in_scope)


BatchCheck = Callable[[list[Draft]], Awaitable[web.Response | None]]
"""What may refuse a parsed batch before it is published (its refusal, or None)."""


async def publish_batch(request: web.Request, check: BatchCheck) -> web.Response:
    """The body of a publish (one event or a JSON array) checked whole, then by `check`,
    published and answered with each event's id and seq: `POST /api/events` and a worker's
    events share it."""
    started = time.perf_counter_ns()
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        return problem(400, "bad_json", f"body is not JSON: {exc}")
    except web.HTTPRequestEntityTooLarge as exc:  # a chunked body, past the size bound
        return problem(413, "too_large", exc.text or "the body is too large")
    raw = body if isinstance(body, list) else [body]
    if not raw:
        return problem(400, "invalid_event", "the batch is empty", field="")
    limit = request.app[SETTINGS].max_batch_events
    if len(raw) > limit:
        return problem(
            413,
            "batch_too_large",
            f"{len(raw)} events in one request; at most {limit} (send several requests)",
            limit=limit,
        )
    try:
        drafts = [_draft(index, item) for index, item in enumerate(raw)]
        refused = await check(drafts)
        if refused is not None:
            return refused
        node = request.app[NODE]
        node.stages.http.since(started)
        results = await node.publish_many(drafts)
    except InvalidEvent as exc:
        return problem(400, "invalid_event", str(exc), **exc.fields())
    except (BrokerUnavailable, StoreUnavailable) as exc:
        # Not acknowledged: the publisher retries (with the same ids, safely).
        return problem(503, "unavailable", str(exc))
    except EventRefused as exc:
        return refused_by_store(exc)
    items = [{"id": r.id, "seq": r.seq, "duplicate": r.duplicate} for r in results]
    answer = _json({"items": items})
    node.stages.publish.since(started)
    return answer


def _outside_scope(grant: Grant, drafts: list[Draft]) -> web.Response | None:
    """403 naming the first event a room-limited publish token may not publish."""
    for index, draft in enumerate(drafts):
        if not may_publish(grant, draft.type, draft.payload):
            return problem(
                403,
                "forbidden",
                f"event {index} ({draft.type}) is outside the rooms of this token",
                index=index,
            )
    return None


def _envelope(type_: str, payload: type[BaseModel]) -> type[BaseModel]:
    """The documented envelope of one event type: `{type, payload, id?}`."""
    name = "Publish" + "".join(part.capitalize() for part in re.split("[:_]", type_))
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid"),
        type=(Literal[type_], ...),
        payload=(payload, ...),
        id=(str | None, Field(default=None, min_length=1, max_length=200)),
    )


def _publish_body() -> type[BaseModel]:
    """The documented body of `POST /api/events`: one event or a JSON array of them (at most
    --max-batch-events), each `{type, payload, id?}` with the payload of its type."""
    # Built from the catalogue at run time: there is no static type to name, hence Any.
    union: Any = Union
    envelopes = tuple(_envelope(type_, model) for type_, model in PAYLOADS.items())
    one = Annotated[union[envelopes], Field(discriminator="type")]
    root: Any = RootModel
    body = root[union[one, Annotated[list[one], Field(min_length=1)]]]
    return create_model("PublishBody", __base__=body, __doc__=_publish_body.__doc__)


PublishBody = _publish_body()


# Listed in /docs like the decorated handlers (its body is checked by hand, for speed; the
# document describes it with `PublishBody`: web/openapi.py).
publish_events.__annotations__["return"] = r200[Published] | r400[Problem]
BODIES = {("/api/events", "post"): PublishBody}
"""Bodies read by hand, for the document at /docs/spec."""
publish_events.is_aiohttp_pydantic_handler = True  # type: ignore[attr-defined]


@acknowledged
@json_body
@inject.and_request
async def create_task(request: web.Request, new: NewTask) -> r201[dict[str, Any]] | r409[Problem]:
    """Adds a task to the queue (a `task:created` event): queued, or blocked by the parents
    it names in `depends_on` until they end (cancelled when they cannot allow it)."""
    node = request.app[NODE]
    task_id = new.id or f"task-{int(time.time() * 1000):x}-{node.state.seq + 1}"
    fields = new.model_dump(exclude={"id"})
    tasks = node.state.tasks
    try:
        check_edges({task_id: edges_of(fields)}, request)
    except GraphError as exc:
        return bad_dependencies(exc)
    draft = new_task(task_id, fields, lambda t: tasks[t]["status"] if t in tasks else None)
    if not may_publish(grant_of(request), draft.type, draft.payload):
        return _not_yours(f"task {task_id!r}")
    result = await node.publish(draft.type, draft.payload)
    return _json({"seq": result.seq, "task": node.state.tasks[task_id]}, 201)


def check_edges(changed: dict[str, Any], request: web.Request) -> None:
    """Refuses (GraphError) edges that name an unknown task, the task itself, too many
    parents, or make a cycle, against the hub's tasks."""
    tasks = request.app[NODE].state.tasks
    max_parents = request.app[SETTINGS].max_parents
    check(changed, lambda t: edges_of(tasks[t]) if t in tasks else None, max_parents=max_parents)


def bad_dependencies(exc: GraphError) -> web.Response:
    """409 `bad_dependencies`: edges the task graph cannot take, with the `reason` (cycle,
    unknown_parent, self_dependency, too_many_parents, duplicate_parent) and the `tasks`
    at fault."""
    return problem(409, "bad_dependencies", exc.message, reason=exc.code, tasks=exc.tasks)


async def _task_transition(
    request: web.Request, task_id: str, change: dict[str, Any]
) -> web.Response:
    node = request.app[NODE]
    current = node.state.tasks.get(task_id)
    if current is None:
        return problem(404, "not_found", f"no task {task_id!r}")
    if not may_publish(grant_of(request), "task:updated", {"task": {"id": task_id}}):
        return _not_yours(f"task {task_id!r}")
    result = await node.publish("task:updated", {"task": {"id": task_id, **change}})
    return _json({"seq": result.seq, "task": node.state.tasks[task_id]})


@acknowledged
@inject.and_request
async def cancel_task(
    request: web.Request, task_id: str, /
) -> r200[dict[str, Any]] | r404[Problem]:
    """Cancels a task; a running session of it is stopped by the orchestrator."""
    return await _task_transition(request, task_id, {"status": "cancelled"})


@acknowledged
@inject.and_request
async def retry_task(
    request: web.Request, task_id: str, /, with_dependents: bool = False
) -> r200[dict[str, Any]] | r404[Problem]:
    """Puts a task back in the queue with a fresh count of attempts; `with_dependents`
    also re-arms the tasks cancelled because it failed (blocked again, down the chain)."""
    change = {
        "status": "queued",
        "attempts": 0,
        "not_before": None,
        "progress_percent": 0.0,
        "error_details": None,
    }
    if not with_dependents:
        return await _task_transition(request, task_id, change)
    node = request.app[NODE]
    if task_id not in node.state.tasks:
        return problem(404, "not_found", f"no task {task_id!r}")
    drafts = [Draft("task:updated", {"task": {"id": task_id, **change}})]
    drafts += rearm_dependents(task_id, node.state.tasks)
    refused = _outside_scope(grant_of(request), drafts)
    if refused is not None:
        return refused
    results = await node.publish_many(drafts)
    rearmed = [d.payload["task"]["id"] for d in drafts[1:]]
    return _json({"seq": results[-1].seq, "task": node.state.tasks[task_id], "rearmed": rearmed})


@acknowledged
@json_body
@inject.and_request
async def apply_plan_route(
    request: web.Request, plan: PlanIn
) -> r200[dict[str, Any]] | r409[Problem]:
    """Creates and updates the plan's tasks with their edges in one step, then
    `plan:applied`; idempotent by task id: applying it again publishes nothing."""
    node = request.app[NODE]
    tasks = [t.model_dump(exclude_unset=True) for t in plan.tasks]
    try:
        drafts = apply_plan(
            plan.id, tasks, node.state.tasks, max_parents=request.app[SETTINGS].max_parents
        )
    except GraphError as exc:
        return bad_dependencies(exc)
    except ValueError as exc:  # a task given twice
        return problem(409, "duplicate_task", str(exc))
    refused = _outside_scope(grant_of(request), drafts)
    if refused is not None:
        return refused
    seq = node.seq
    if drafts:
        seq = (await node.publish_many(drafts))[-1].seq
        summary = drafts[-1].payload["plan"]
        created, updated = summary["created"], summary["updated"]
    else:
        created, updated = [], []
    unchanged = len(tasks) - len(created) - len(updated)
    body = {"seq": seq, "plan_id": plan.id, "created": created, "updated": updated}
    return _json({**body, "unchanged": unchanged})


class TaskLimit(BaseModel):
    """A task's own spending cap."""

    limit_usd: float = Field(
        ge=0.01,  # a cent at least (and an OpenAPI 3.0 minimum, which exclusiveMinimum is not)
        le=1_000_000,
        allow_inf_nan=False,
        description="USD over all the task's attempts; replaces budget.limit_usd_per_task "
        "for this task. Raise it so a task stopped at its cap can be retried and finish.",
    )


@acknowledged
@json_body
@inject.and_request
async def set_task_limit(
    request: web.Request, task_id: str, /, change: TaskLimit
) -> r200[dict[str, Any]] | r404[Problem]:
    """Sets a task's own spending cap (`limit_usd` on the task, read by the orchestrator)."""
    return await _task_transition(request, task_id, {"limit_usd": change.limit_usd})


class ApprovalAnswer(BaseModel):
    """An answer to a pending approval."""

    decision: str = Field(
        min_length=1,
        max_length=200,
        description="One of the approval's options when it has some (allow, deny...).",
    )
    answer: str | None = Field(default=None, max_length=65_536, description="Free text.")
    by: str | None = Field(default=None, max_length=200, description="Who answers.")
    via: Literal["dashboard", "api", "cli", "telegram"] = "api"


@inject.and_request
async def approvals(
    request: web.Request, status: str = "", limit: IntParam = LIMIT
) -> r200[ListOut]:
    """Approvals (committed), the newest first; `status` is a comma list (pending,
    answered, expired, cancelled)."""
    wanted = set(_csv(status))
    state = request.app[NODE].committed_state
    found = [a for a in state.approvals.values() if not wanted or a.get("status") in wanted]
    found.sort(key=lambda a: str(a.get("requested_at") or ""), reverse=True)
    items = visible(grant_of(request), "approval", found)[:limit]
    return _json({"seq": state.seq, "items": items, "next_cursor": None})


@inject.and_request
async def approval(
    request: web.Request, approval_id: str, /
) -> r200[dict[str, Any]] | r404[Problem]:
    """One approval (committed)."""
    state = request.app[NODE].committed_state
    found = state.approvals.get(approval_id)
    if found is None:
        return problem(404, "not_found", f"no approval {approval_id!r}")
    if not sees_entity(grant_of(request), "approval", found):
        return _not_yours(f"approval {approval_id!r}")
    return _json({"seq": state.seq, "approval": found})


@acknowledged
@json_body
@inject.and_request
async def answer_approval(
    request: web.Request, approval_id: str, /, given: ApprovalAnswer
) -> r200[dict[str, Any]] | r404[Problem] | r409[Problem]:
    """Answers a pending approval. The first answer in the log's order wins, whichever hub
    or channel it came through: a later one gets 409 `already_decided` with the approval as
    it stands."""
    node = request.app[NODE]
    current = node.state.approvals.get(approval_id)
    if current is None:
        return problem(404, "not_found", f"no approval {approval_id!r}")
    if not may_publish(grant_of(request), "approval:answered", {"approval": current}):
        return _not_yours(f"approval {approval_id!r}")
    done = await answers.answer_approval(
        node, approval_id, given.decision, answer=given.answer, by=given.by, via=given.via
    )
    if done.outcome == "not_found":
        return problem(404, "not_found", f"no approval {approval_id!r}")
    if done.outcome == "bad_decision":
        return problem(
            400,
            "bad_decision",
            f"decision {given.decision!r} is not one of the approval's options {done.options}",
            field="decision",
            options=done.options,
        )
    assert done.approval is not None
    if done.outcome == "decided":
        return _decided(done.approval)
    return _json({"seq": done.seq, "approval": done.approval})


def _decided(current: Mapping[str, Any]) -> web.Response:
    """409: the approval was decided already; the problem carries it as it stands."""
    how = current.get("decision") or current.get("status")
    who = f" by {current['by']}" if current.get("by") else ""
    return problem(
        409,
        "already_decided",
        f"approval {current['id']} is {current.get('status')} ({how}{who})",
        approval=current,
    )


def add_routes(app: web.Application, guard: Guard) -> None:
    """Every REST route, each handler wrapped by `guard` (the hub's tokens)."""
    r = app.router
    r.add_get("/api/health", guard(health))
    r.add_get("/api/access", guard(access))
    r.add_get("/api/snapshot", guard(snapshot))
    r.add_get("/api/state", guard(state_at_route))
    r.add_get("/api/agents", guard(agents))
    r.add_get("/api/agents/{agent_id}", guard(agent))
    r.add_get("/api/tasks", guard(tasks))
    r.add_post("/api/tasks", guard(create_task))
    r.add_get("/api/tasks/{task_id}", guard(task))
    r.add_post("/api/tasks/{task_id}/cancel", guard(cancel_task))
    r.add_post("/api/tasks/{task_id}/retry", guard(retry_task))
    r.add_post("/api/plans", guard(apply_plan_route))
    r.add_post("/api/tasks/{task_id}/limit", guard(set_task_limit))
    r.add_get("/api/approvals", guard(approvals))
    r.add_get("/api/approvals/{approval_id}", guard(approval))
    r.add_post("/api/approvals/{approval_id}/answer", guard(answer_approval))
    r.add_get("/api/sessions", guard(sessions))
    r.add_get("/api/sessions/{session_id}", guard(session))
    r.add_get("/api/sessions/{session_id}/output", guard(session_output))
    r.add_get("/api/events", guard(events))
    r.add_post("/api/events", guard(publish_events))
    r.add_get("/api/events/{seq}", guard(event))
    r.add_get("/api/budget", guard(budget))
    r.add_get("/api/stats/history", guard(whole_fleet(stats_history)))
    r.add_get("/api/errors/summary", guard(errors_summary))
    r.add_get("/api/rooms", guard(rooms))
    r.add_get("/api/catalogue", guard(catalogue))
