"""The event catalogue: every event type the hub accepts, as pydantic models.

Entities (`agent`, `task`, `session`, `test_run`, `budget`) may arrive partial:
only the id (for the budget, `period`) is required, the hub merges the rest into
current state. Unknown types and unknown fields are refused, naming the field.

The models are the source of truth (OpenAPI, docs, error messages). Ingest checks each
payload with `SENT`: validators derived from the same models' rules whose output is the
plain dict of the fields that were sent (what `model_dump(exclude_unset=True)` gives),
without building a model instance and dumping it again. `encode_payload` then checks that a
valid payload is one the hub can keep as JSON (`MAX_DEPTH`, 64-bit integers, Unicode).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import SchemaValidator, core_schema

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX, strict=True)]
"""Every integer a client sends: within the signed 64-bit range of SQLite's INTEGER and
PostgreSQL's BIGINT, which orjson also encodes. A bigger one (Python takes any) would be
folded into state and then fail to encode, answering 500 to every snapshot after it.
Strict: a JSON integer, not `true` (which lax pydantic takes as 1), `"1"` or `1.0`."""

Count = Annotated[int, Field(ge=0, le=INT64_MAX, strict=True)]
"""A non-negative `Int64`: attempts, iterations, tokens, test counts."""

Positive = Annotated[int, Field(ge=1, le=INT64_MAX, strict=True)]
"""A positive `Int64`."""


class Strict(BaseModel):
    """Base of every catalogue model: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class TokenUsage(Strict):
    input: Count | None = None
    output: Count | None = None
    cost_usd: float | None = Field(default=None, strict=True, ge=0)
    model: str | None = None
    cache_read: Count | None = None
    """The part of `input` read from the prompt cache."""
    cache_write: Count | None = None
    """The part of `input` written to the prompt cache."""


class ErrorDetails(Strict):
    message: str | None = None
    kind: str | None = None
    exit_code: Int64 | None = None
    stack: str | None = None
    output_tail: str | None = None
    suggestions: list[str] | None = None
    at: str | None = None
    seq: Int64 | None = None


class Agent(Strict):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    status: Literal["idle", "working", "waiting_input", "paused", "offline", "error"] | None = None
    health_status: Literal["healthy", "stale", "stuck", "crashed"] | None = None
    health_reason: str | None = None
    running_instances: Count | None = None
    max_instances: Count | None = None
    current_task_id: str | None = None
    current_session_id: str | None = None
    current_iteration: Count | None = None
    last_heartbeat_at: str | None = None
    last_progress_at: str | None = None
    command: str | None = None
    pid: Int64 | None = None


TaskStatus = Literal[
    "pending",
    "queued",
    "blocked",
    "assigned",
    "running",
    "testing",
    "completed",
    "failed",
    "cancelled",
]
EntityId = Annotated[str, Field(min_length=1, max_length=200)]


class Dependency(Strict):
    """An edge of the task graph (parent_harness/graph.py): run when task `id` ends as
    `when` asks."""

    id: EntityId
    when: Literal["on_success", "on_failure", "always"] = "on_success"


DependsOn = Annotated[list[EntityId | Dependency], Field(max_length=1000)]
"""A task's parents: a bare id runs on its success; the number allowed is configured."""


class Task(Strict):
    id: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    priority: Int64 | None = None
    agent_id: str | None = None
    session_id: str | None = None
    attempts: Count | None = None
    max_attempts: Positive | None = None
    progress_percent: float | None = Field(default=None, strict=True, ge=0, le=100)
    token_usage: TokenUsage | None = None
    error_details: ErrorDetails | None = None
    created_at: str | None = None
    updated_at: str | None = None
    not_before: str | None = None
    test_suite: str | None = None
    test_command: str | None = None  # refused by the orchestrator unless its config opts in
    agent_name: str | None = None
    depends_on: DependsOn | None = None
    blocked_by: list[EntityId] | None = None
    plan_id: EntityId | None = None
    limit_usd: float | None = Field(default=None, strict=True, ge=0.01)
    """The task's own spending cap (over `budget.limit_usd_per_task`), set by an operator."""
    workspace_id: str | None = None
    labels: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50
    )
    """Labels a worker must carry to run the task (issue 19); none: any worker or agent."""
    worker_id: str | None = None
    """The worker that holds the task's lease (issue 19); None when it runs in process."""
    waiting_reason: str | None = None
    """Why a queued task waits (no live worker carries its labels, say)."""


SAFE_TASK_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$"
"""A task id the orchestrator runs: one plain name, safe as a path segment or an argv word.

Letters, digits, ``_`` and ``-``, and single dots between them; it starts with a
letter or a digit, so it is never ``..`` nor an option; at most
:data:`SAFE_TASK_ID_LENGTH` characters. The catalogue keeps any id (other
producers, old logs); the orchestrator refuses to run a task whose id is not like
this, and ``POST /api/tasks`` refuses to create one.
"""

SAFE_TASK_ID_LENGTH = 128

LABEL = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$"
"""A worker's or a task's label (`gpu`, `linux`, `repo:api`): plain ASCII, so that every
regular-expression engine (JSON Schema's included) reads the rule alike (issue 19)."""


class Session(Strict):
    id: str = Field(min_length=1, max_length=200)
    agent_id: str | None = None
    task_id: str | None = None
    status: Literal["running", "waiting_input", "completed", "failed", "killed"] | None = None
    iteration: Count | None = None
    max_iterations: Count | None = None
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: Int64 | None = None
    token_usage: TokenUsage | None = None
    output_tail: str | None = None
    pid: Int64 | None = None
    agent_name: str | None = None
    output_lines: Count | None = None
    """The number of the last line of output it printed (`session:output`)."""
    output_bytes: Count | None = None
    """Bytes of output text it printed, in all (what retention counts)."""
    workspace_id: str | None = None


class TestRun(Strict):
    __test__ = False  # not a pytest class

    id: str = Field(min_length=1, max_length=200)
    task_id: str | None = None
    session_id: str | None = None
    command: str | None = None
    status: Literal["running", "passed", "failed", "error"] | None = None
    passed: Count | None = None
    failed: Count | None = None
    skipped: Count | None = None
    duration_s: float | None = Field(default=None, strict=True, ge=0)
    output_tail: str | None = None


class Budget(Strict):
    period: str = Field(min_length=1, max_length=200)
    limit_usd: float | None = Field(default=None, strict=True, ge=0)
    limit_usd_per_task: float | None = Field(default=None, strict=True, ge=0)
    """The fleet's cap per task (`budget.limit_usd_per_task`); a task's `limit_usd` replaces it."""
    spent_usd: float | None = Field(default=None, strict=True, ge=0)
    tokens_in: Count | None = None
    tokens_out: Count | None = None
    burn_rate_usd_per_hour: float | None = Field(default=None, strict=True, ge=0)
    projected_exhaustion_at: str | None = None
    by_agent: dict[str, float] | None = None


class Workspace(Strict):
    """One attempt's git worktree and branch (issue 14)."""

    id: str = Field(min_length=1, max_length=200)
    task_id: str | None = None
    session_id: str | None = None
    attempt: Count | None = None
    repo: str | None = None
    path: str | None = None
    branch: str | None = None
    base: str | None = None
    base_sha: str | None = None
    head_sha: str | None = None
    commits: Count | None = None
    files_changed: Count | None = None
    insertions: Count | None = None
    deletions: Count | None = None
    status: Literal["active", "ready", "conflict", "merged", "discarded", "error"] | None = None
    conflicts: list[str] | None = None
    pr_url: str | None = None
    error: str | None = None
    port_base: Count | None = None
    created_at: str | None = None
    stacked_on: list[str] | None = None
    merge_into: str | None = None


class Worker(Strict):
    """A worker on another machine, running agents for the hub's queue (issue 19)."""

    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    labels: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50
    )
    status: Literal["online", "offline"] | None = None
    agents: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=100
    )
    capacity: Count | None = None
    running: Count | None = None
    version: str | None = Field(default=None, max_length=100)
    last_seen_at: str | None = None
    registered_at: str | None = None


class TelegramMessage(Strict):
    id: str = Field(min_length=1, max_length=200)
    direction: Literal["in", "out"]
    chat_id: str
    text: str
    at: str | None = None
    about_seq: Int64 | None = None


class GenericEvent(Strict):
    id: str | None = None
    level: Literal["debug", "info", "warning", "error"] = "info"
    source: str | None = None
    message: str
    data: dict[str, Any] | None = None


class AgentStatus(Strict):
    agent: Agent


class AgentHeartbeat(Strict):
    agent_id: str = Field(min_length=1, max_length=200)
    session_id: str | None = None
    iteration: Count | None = None
    at: str | None = None


class TaskEvent(Strict):
    task: Task


class SessionEvent(Strict):
    session: Session


class SessionIteration(Strict):
    session_id: str = Field(min_length=1, max_length=200)
    iteration: Count
    summary: str | None = None
    token_usage: TokenUsage | None = None


class SessionTool(Strict):
    """An agent's tool call started, completed or failed (DESIGN.md, second wave)."""

    session_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    tool: str = Field(min_length=1, max_length=200)
    target: str | None = Field(default=None, max_length=2000)
    status: Literal["started", "completed", "failed"]
    at: str | None = None
    line: Count | None = None
    """The last output line printed before the call (0: none yet), so the terminal can
    jump to where it happened."""


class SessionHeartbeat(Strict):
    session_id: str = Field(min_length=1, max_length=200)
    iteration: Count | None = None
    progress_percent: float | None = Field(default=None, strict=True, ge=0, le=100)
    at: str | None = None


OUTPUT_LINES_MAX = 10_000
"""Lines in one `session:output` event (a producer coalesces at most 64 KB: far fewer)."""


class OutputLine(Strict):
    """One line an agent printed, redacted: its number in the session (from 1), its stream,
    its text (without the newline) and when it was read."""

    n: Positive
    stream: Literal["stdout", "stderr"]
    text: str
    at: str | None = None


class SessionOutput(Strict):
    """Lines of a session's output, in order and numbered without gaps from `from_line`;
    `dropped`: lines the producer dropped just before these (over its rate bound)."""

    session_id: str = Field(min_length=1, max_length=200)
    agent_id: str | None = None
    task_id: str | None = None
    from_line: Positive
    lines: list[OutputLine] = Field(min_length=1, max_length=OUTPUT_LINES_MAX)
    dropped: Count | None = None


class TestEvent(Strict):
    __test__ = False

    test_run: TestRun


class BudgetUpdated(Strict):
    budget: Budget


class WorkspaceEvent(Strict):
    workspace: Workspace


class TelegramEvent(Strict):
    message: TelegramMessage


class ObservabilityEvent(Strict):
    event: GenericEvent


class Approval(Strict):
    """An agent waiting for a human (or a rule): a permission, a question or a plan."""

    id: EntityId
    agent_id: str | None = None
    session_id: str | None = None
    task_id: str | None = None
    workspace_id: str | None = None
    kind: Literal["permission", "question", "plan"] | None = None
    tool: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=2000)
    detail: str | None = Field(default=None, max_length=65_536)
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=50
    )
    status: Literal["pending", "answered", "expired", "cancelled"] | None = None
    decision: str | None = Field(default=None, max_length=200)
    answer: str | None = Field(default=None, max_length=65_536)
    by: str | None = Field(default=None, max_length=200)
    via: Literal["dashboard", "telegram", "api", "cli", "rule", "agent", "hub"] | None = None
    requested_at: str | None = None
    expires_at: str | None = None
    answered_at: str | None = None


class ApprovalEvent(Strict):
    approval: Approval


class WorkerStatus(Strict):
    worker: Worker


class PlanEdge(Strict):
    """Task `child` depends on task `parent`, and runs when `parent` ends as `when` asks."""

    parent: EntityId
    child: EntityId
    when: Literal["on_success", "on_failure", "always"] = "on_success"


class Plan(Strict):
    id: EntityId
    task_ids: list[EntityId]
    edges: list[PlanEdge]
    created: list[EntityId] | None = None
    updated: list[EntityId] | None = None


class PlanApplied(Strict):
    plan: Plan


PAYLOADS: dict[str, type[Strict]] = {
    "agent:status": AgentStatus,
    "agent:heartbeat": AgentHeartbeat,
    "task:created": TaskEvent,
    "task:updated": TaskEvent,
    "task:assigned": TaskEvent,
    "task:completed": TaskEvent,
    "task:failed": TaskEvent,
    "session:started": SessionEvent,
    "session:updated": SessionEvent,
    "session:ended": SessionEvent,
    "session:iteration": SessionIteration,
    "session:heartbeat": SessionHeartbeat,
    "session:tool": SessionTool,
    "session:output": SessionOutput,
    "test:started": TestEvent,
    "test:completed": TestEvent,
    "budget:updated": BudgetUpdated,
    "workspace:created": WorkspaceEvent,
    "workspace:updated": WorkspaceEvent,
    "workspace:merged": WorkspaceEvent,
    "workspace:removed": WorkspaceEvent,
    "telegram:message": TelegramEvent,
    "event": ObservabilityEvent,
    "plan:applied": PlanApplied,
    "approval:requested": ApprovalEvent,
    "approval:answered": ApprovalEvent,
    "approval:expired": ApprovalEvent,
    "worker:status": WorkerStatus,
}
"""Every event type of protocol v1 and the model of its payload."""

EVENT_TYPES: frozenset[str] = frozenset(PAYLOADS)


MAX_DEPTH = 64
"""Levels of objects and arrays a payload may nest (the payload itself is the first).

Only free-form fields (`event.data`) nest at will. orjson encodes at most 254 levels and an
event goes out wrapped in its message, so a deeper payload could be given a seq and folded,
then fail to encode: refused before it gets a seq, with a margin, by `encode_payload`."""


class Unstorable(ValueError):
    """A payload the models accept that the hub cannot keep as JSON: nested deeper than
    `MAX_DEPTH`, an integer past 64 bits, a string that is not Unicode, a key that is not
    a string, a value that is not JSON."""

    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{'.'.join(map(str, path))}: {reason}")


def encode_payload(type_: str, payload: Any) -> bytes:
    """A valid payload of `type_` as JSON, once it is known that the hub can keep it; raises
    Unstorable naming the first field that it cannot.

    Called for every event: one orjson call; the depth is counted only for a type with a
    free-form field (`FREE_FORM`), and then only when the payload is long enough to be too
    deep (each level takes two bytes). Every other type's depth is bounded by its model.
    """
    try:
        encoded = orjson.dumps(payload)
    except orjson.JSONEncodeError:
        raise _unstorable(payload) from None
    if type_ in FREE_FORM and len(encoded) > 2 * MAX_DEPTH and _brackets(encoded) > MAX_DEPTH:
        deep = _too_deep(payload, MAX_DEPTH, ())
        if deep is not None:
            raise Unstorable(deep, _TOO_DEEP)
    return encoded


_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels of objects and arrays"


def _brackets(encoded: bytes) -> int:
    """Objects and arrays opened in JSON text (and brackets in its strings): at least its
    depth."""
    return encoded.count(b"{") + encoded.count(b"[")


def _nests_freely(schema: Any) -> bool:
    """Whether a core schema holds an `Any` (a value nested at will) or a reference (a model
    that may hold itself)."""
    if isinstance(schema, dict):
        free = schema.get("type") in ("any", "definition-ref")
        return free or any(_nests_freely(v) for v in schema.values())
    if isinstance(schema, list | tuple):
        return any(_nests_freely(v) for v in schema)
    return False


FREE_FORM: frozenset[str] = frozenset(
    type_ for type_, model in PAYLOADS.items() if _nests_freely(model.__pydantic_core_schema__)
)
"""Event types whose payload has a free-form field (`event.data`): the only ones whose
depth their model does not bound."""


def _too_deep(value: Any, levels: int, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path of the first object or array below `levels` levels, or None."""
    if not isinstance(value, dict | list | tuple):
        return None
    if levels == 0:
        return path
    for key, item in _children(value):
        found = _too_deep(item, levels - 1, (*path, key))
        if found is not None:
            return found
    return None


def _children(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Any:
    return value.items() if isinstance(value, dict) else enumerate(value)


def _unstorable(payload: Any) -> Unstorable:
    """Why orjson refused `payload`, at the first field it refuses (a slow path: refusals)."""
    deep = _too_deep(payload, MAX_DEPTH, ())
    return Unstorable(deep, _TOO_DEEP) if deep is not None else _first_refused(payload, ())


def _first_refused(value: Any, path: tuple[str | int, ...]) -> Unstorable:
    """The first part of `value` (which orjson refuses) that orjson refuses."""
    if isinstance(value, dict | list | tuple):
        for key, item in _children(value):
            if isinstance(value, dict) and not isinstance(key, str):
                return Unstorable(path, f"key {key!r} is not a string")
            if not _encodes(item):
                return _first_refused(item, (*path, key))
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        return Unstorable(path, str(exc))
    return Unstorable(path, "not encodable as JSON")


def _encodes(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


class Unsupported(Exception):
    """A model uses what `sent_fields_validator` does not translate (a validator, ...)."""


_JSON_ATOMS = frozenset({str, int, float, bool, type(None)})


def json_value(value: Any, levels: int = MAX_DEPTH) -> Any:
    """A copy of a JSON-shaped value (dicts with string keys, lists, str, numbers, bools,
    None) at most `levels` deep; anything else is refused, so that the model decides what
    it becomes (and `encode_payload` whether the hub can keep it)."""
    kind = type(value)
    if kind in _JSON_ATOMS:
        return value
    if levels == 0:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError("not a JSON object key")
            out[key] = json_value(item, levels - 1)
        return out
    if kind is list:
        return [json_value(item, levels - 1) for item in value]
    raise ValueError("not a JSON value")


_ANY = core_schema.no_info_plain_validator_function(json_value)
_CONTAINERS = {
    "nullable": ("schema",),
    "list": ("items_schema",),
    "dict": ("keys_schema", "values_schema"),
}
_LEAVES = frozenset({"str", "int", "float", "bool", "literal", "none"})
_FIELD_KEYS = frozenset({"type", "schema", "metadata", "validation_alias"})
_MODEL_KEYS = frozenset(
    {"type", "cls", "schema", "config", "ref", "metadata", "custom_init", "root_model"}
)
_MODEL_FIELDS_KEYS = frozenset({"type", "fields", "model_name", "computed_fields"})


def _sent_only(schema: Any) -> Any:
    """The same rules as a model's core schema, with every model (nested ones too) checked
    as a dict that keeps only the keys it was given: no defaults filled in, extra keys
    refused. `Any` accepts JSON-shaped values only (others go through the model)."""
    kind = schema["type"]
    if kind == "model":
        fields = schema["schema"]
        if (
            set(schema) - _MODEL_KEYS
            or schema.get("custom_init")
            or schema.get("root_model")
            or fields["type"] != "model-fields"
            or set(fields) - _MODEL_FIELDS_KEYS
            or fields.get("computed_fields")
        ):
            raise Unsupported(f"{kind} {schema.get('cls')}")
        typed = {name: _sent_field(field) for name, field in fields["fields"].items()}
        return core_schema.typed_dict_schema(typed, config=schema.get("config"))
    if kind == "any":
        return _ANY
    if kind in _CONTAINERS:
        inner = {key: _sent_only(schema[key]) for key in _CONTAINERS[kind] if key in schema}
        return {**schema, **inner}
    if kind == "union":
        choices = [
            (_sent_only(c[0]), c[1]) if isinstance(c, tuple) else _sent_only(c)
            for c in schema["choices"]
        ]
        return {**schema, "choices": choices}
    if kind in _LEAVES:
        return schema
    raise Unsupported(kind)


def _sent_field(field: dict[str, Any]) -> core_schema.TypedDictField:
    if set(field) - _FIELD_KEYS:
        raise Unsupported(f"field with {sorted(set(field) - _FIELD_KEYS)}")
    inner = field["schema"]
    required = inner["type"] != "default"
    if not required:
        inner = inner["schema"]  # a default is not filled in: the key stays absent
    return core_schema.typed_dict_field(
        _sent_only(inner), required=required, validation_alias=field.get("validation_alias")
    )


def sent_fields_validator(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    """Checks a payload by `model`'s rules and returns the fields sent, as plain dicts.

    It accepts what the model accepts and returns what `model_validate` then
    `model_dump(exclude_unset=True)` return, for JSON-shaped input; anything it refuses
    (an error, or input only the model takes) goes to the model, for its verdict and its
    error message. A model it cannot translate (one with validators of its own, say) is
    checked by the model itself: slower, the same answers.
    """
    try:
        return SchemaValidator(_sent_only(model.__pydantic_core_schema__)).validate_python
    except Unsupported:
        return partial(model_fields_sent, model)


def model_fields_sent(model: type[BaseModel], payload: Any) -> dict[str, Any]:
    """What the model makes of a payload: the fields sent, after validation."""
    return model.model_validate(payload).model_dump(exclude_unset=True)


SENT: dict[str, Callable[[Any], dict[str, Any]]] = {
    type_: sent_fields_validator(model) for type_, model in PAYLOADS.items()
}
"""Every event type's fast check (see `sent_fields_validator`)."""


class IncomingEvent(Strict):
    """One event as a publisher sends it: `{"type", "payload", "id"?}`."""

    type: str
    payload: dict[str, Any]
    id: str | None = Field(default=None, min_length=1, max_length=200)


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The dotted path and message of a validation error's first problem."""
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in err["loc"])
    return field, err["msg"]
