"""What an agent tells the orchestrator, whatever format it speaks.

Adapters turn each line an agent prints into zero or more of these signals; the
session turns signals into events. Every line, whatever it holds, also counts as
a sign of life (a heartbeat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens and money spent; adds up with ``+``.

    ``input`` counts every input token, ``cache_read`` and ``cache_write`` included:
    those two say which part of ``input`` was read from or written to the provider's
    prompt cache (each priced at its own rate).
    """

    input: int = 0
    output: int = 0
    cost_usd: float = 0.0
    model: str | None = None
    cache_read: int = 0
    cache_write: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input + other.input,
            self.output + other.output,
            self.cost_usd + other.cost_usd,
            other.model or self.model,
            self.cache_read + other.cache_read,
            self.cache_write + other.cache_write,
        )

    def minus(self, other: TokenUsage) -> TokenUsage:
        """The difference (may be negative: a correction)."""
        return TokenUsage(
            self.input - other.input,
            self.output - other.output,
            self.cost_usd - other.cost_usd,
            self.model or other.model,
            self.cache_read - other.cache_read,
            self.cache_write - other.cache_write,
        )

    def beyond(self, seen: TokenUsage) -> TokenUsage:
        """What this running total adds to ``seen`` (never negative)."""
        return TokenUsage(
            max(0, self.input - seen.input),
            max(0, self.output - seen.output),
            max(0.0, self.cost_usd - seen.cost_usd),
            self.model or seen.model,
            max(0, self.cache_read - seen.cache_read),
            max(0, self.cache_write - seen.cache_write),
        )

    def with_cost(self, cost_usd: float) -> TokenUsage:
        """The same tokens at another price."""
        return TokenUsage(
            self.input, self.output, cost_usd, self.model, self.cache_read, self.cache_write
        )

    @property
    def empty(self) -> bool:
        """True when nothing was spent."""
        return self.input == 0 and self.output == 0 and self.cost_usd == 0

    @property
    def negative(self) -> bool:
        """True when some part is below zero (a correction downwards)."""
        parts = (self.input, self.output, self.cost_usd, self.cache_read, self.cache_write)
        return any(part < 0 for part in parts)

    def as_payload(self) -> dict[str, Any]:
        """The catalogue's ``token_usage`` object."""
        payload: dict[str, Any] = {
            "input": self.input,
            "output": self.output,
            "cost_usd": round(self.cost_usd, 6),
        }
        if self.model:
            payload["model"] = self.model
        if self.cache_read:
            payload["cache_read"] = self.cache_read
        if self.cache_write:
            payload["cache_write"] = self.cache_write
        return payload

    @classmethod
    def from_payload(cls, payload: Any) -> TokenUsage:
        """Read a ``token_usage`` object back (missing or malformed gives zero)."""
        if not isinstance(payload, dict):
            return cls()
        return cls(
            int(payload.get("input") or 0),
            int(payload.get("output") or 0),
            float(payload.get("cost_usd") or 0.0),
            payload.get("model"),
            int(payload.get("cache_read") or 0),
            int(payload.get("cache_write") or 0),
        )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The agent is alive (and may say how far it is)."""

    progress_percent: float | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the agent is through its task, 0 to 100."""

    percent: float
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Iteration:
    """One turn of the agent's loop; ``number`` None means the next one."""

    number: int | None = None
    summary: str = ""
    usage: TokenUsage | None = None
    cost_reported: bool = False
    """The CLI reported this cost itself (zero included): it is not estimated."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and cost: an increment, or the session's running total when ``cumulative``.

    ``final``: the CLI's own totals for the whole session (Claude Code's ``result``):
    they replace what was booked so far, downwards as well as upwards. A final usage
    without a cost is priced from the price table.
    """

    usage: TokenUsage
    cumulative: bool = False
    final: bool = False
    cost_reported: bool = False
    """The CLI reported this cost itself (zero included): it is not estimated."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The agent started, finished or failed a tool call.

    ``tool`` is the CLI's name for it (``Bash``, ``run_shell_command``, ``edit``);
    ``target`` the file, command, pattern or URL it works on (None when it has none);
    ``status`` is ``started``, ``completed`` or ``failed``; ``id`` the CLI's call id,
    when it gives one.
    """

    tool: str
    target: str | None
    status: str = "started"
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Log:
    """A line the agent wants shown as an event (level debug/info/warning/error)."""

    message: str
    level: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TestReport:
    """A test run the agent ran itself: ``status`` is ``started`` or ``completed``."""

    __test__ = False  # not a pytest class

    status: str
    command: str | None = None
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class AgentError:
    """The agent says its run failed (an error result, a failed turn)."""

    message: str
    kind: str = "agent_error"
    """``agent_error``, ``max_iterations``, ``usage_limit`` or ``auth``."""


@dataclass(frozen=True, slots=True)
class Output:
    """A line that is not part of any protocol: kept in the session's output tail."""

    text: str


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """The agent waits for a human (or a rule): a permission, a question or a plan.

    ``ref`` is the agent's own id for the request (echoed in the answer); ``options``
    the decisions it accepts; ``expires_in_s`` its own deadline, when shorter than the
    configured one.
    """

    kind: str
    summary: str
    tool: str | None = None
    detail: str | None = None
    options: tuple[str, ...] = ()
    expires_in_s: float | None = None
    ref: str | None = None


Signal = (
    Heartbeat
    | Progress
    | Iteration
    | Usage
    | ToolCall
    | Log
    | TestReport
    | AgentError
    | ApprovalRequest
    | Output
)
"""Everything an adapter can produce from a line."""
