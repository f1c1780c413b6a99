"""The event catalogue: every event type the hub accepts, as pydantic models.

Entities (`agent`, `task`, `session`, `test_run`, `budget`) may arrive partial:
only the id (for the budget, `period`) is required, the hub merges the rest into
current state. Unknown types and unknown fields are refused, naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Strict(BaseModel):
    """Base of every catalogue model: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class TokenUsage(Strict):
    input: int | None = Field(default=None, ge=0)
    output: int | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    model: str | None = None


class ErrorDetails(Strict):
    message: str | None = None
    kind: str | None = None
    exit_code: int | None = None
    stack: str | None = None
    output_tail: str | None = None
    suggestions: list[str] | None = None
    at: str | None = None
    seq: int | None = None


class Agent(Strict):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = None
    status: Literal["idle", "working", "paused", "offline", "error"] | None = None
    health_status: Literal["healthy", "stale", "stuck", "crashed"] | None = None
    health_reason: str | None = None
    running_instances: int | None = Field(default=None, ge=0)
    max_instances: int | None = Field(default=None, ge=0)
    current_task_id: str | None = None
    current_session_id: str | None = None
    current_iteration: int | None = Field(default=None, ge=0)
    last_heartbeat_at: str | None = None
    last_progress_at: str | None = None
    command: str | None = None
    pid: int | None = None


TaskStatus = Literal[
    "pending", "queued", "assigned", "running", "testing", "completed", "failed", "cancelled"
]


class Task(Strict):
    id: str = Field(min_length=1, max_length=200)
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    priority: int | None = None
    agent_id: str | None = None
    session_id: str | None = None
    attempts: int | None = Field(default=None, ge=0)
    max_attempts: int | None = Field(default=None, ge=1)
    progress_percent: float | None = Field(default=None, ge=0, le=100)
    token_usage: TokenUsage | None = None
    error_details: ErrorDetails | None = None
    created_at: str | None = None
    updated_at: str | None = None
    not_before: str | None = None
    test_command: str | None = None
    agent_name: str | None = None


class Session(Strict):
    id: str = Field(min_length=1, max_length=200)
    agent_id: str | None = None
    task_id: str | None = None
    status: Literal["running", "completed", "failed", "killed"] | None = None
    iteration: int | None = Field(default=None, ge=0)
    max_iterations: int | None = Field(default=None, ge=0)
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: int | None = None
    token_usage: TokenUsage | None = None
    output_tail: str | None = None
    pid: int | None = None
    agent_name: str | None = None


class TestRun(Strict):
    __test__ = False  # not a pytest class

    id: str = Field(min_length=1, max_length=200)
    task_id: str | None = None
    session_id: str | None = None
    command: str | None = None
    status: Literal["running", "passed", "failed", "error"] | None = None
    passed: int | None = Field(default=None, ge=0)
    failed: int | None = Field(default=None, ge=0)
    skipped: int | None = Field(default=None, ge=0)
    duration_s: float | None = Field(default=None, ge=0)
    output_tail: str | None = None


class Budget(Strict):
    period: str = Field(min_length=1, max_length=200)
    limit_usd: float | None = Field(default=None, ge=0)
    spent_usd: float | None = Field(default=None, ge=0)
    tokens_in: int | None = Field(default=None, ge=0)
    tokens_out: int | None = Field(default=None, ge=0)
    burn_rate_usd_per_hour: float | None = Field(default=None, ge=0)
    projected_exhaustion_at: str | None = None
    by_agent: dict[str, float] | None = None


class TelegramMessage(Strict):
    id: str = Field(min_length=1, max_length=200)
    direction: Literal["in", "out"]
    chat_id: str
    text: str
    at: str | None = None
    about_seq: int | None = None


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
    iteration: int | None = Field(default=None, ge=0)
    at: str | None = None


class TaskEvent(Strict):
    task: Task


class SessionEvent(Strict):
    session: Session


class SessionIteration(Strict):
    session_id: str = Field(min_length=1, max_length=200)
    iteration: int = Field(ge=0)
    summary: str | None = None
    token_usage: TokenUsage | None = None


class SessionHeartbeat(Strict):
    session_id: str = Field(min_length=1, max_length=200)
    iteration: int | None = Field(default=None, ge=0)
    progress_percent: float | None = Field(default=None, ge=0, le=100)
    at: str | None = None


class TestEvent(Strict):
    __test__ = False

    test_run: TestRun


class BudgetUpdated(Strict):
    budget: Budget


class TelegramEvent(Strict):
    message: TelegramMessage


class ObservabilityEvent(Strict):
    event: GenericEvent


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
    "test:started": TestEvent,
    "test:completed": TestEvent,
    "budget:updated": BudgetUpdated,
    "telegram:message": TelegramEvent,
    "event": ObservabilityEvent,
}
"""Every event type of protocol v1 and the model of its payload."""

EVENT_TYPES: frozenset[str] = frozenset(PAYLOADS)


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
