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
    """Tokens and money spent; adds up with ``+``."""

    input: int = 0
    output: int = 0
    cost_usd: float = 0.0
    model: str | None = None

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input + other.input,
            self.output + other.output,
            self.cost_usd + other.cost_usd,
            other.model or self.model,
        )

    def beyond(self, seen: TokenUsage) -> TokenUsage:
        """What this running total adds to ``seen`` (never negative)."""
        return TokenUsage(
            max(0, self.input - seen.input),
            max(0, self.output - seen.output),
            max(0.0, self.cost_usd - seen.cost_usd),
            self.model or seen.model,
        )

    @property
    def empty(self) -> bool:
        """True when nothing was spent."""
        return self.input == 0 and self.output == 0 and self.cost_usd == 0

    def as_payload(self) -> dict[str, Any]:
        """The catalogue's ``token_usage`` object."""
        payload: dict[str, Any] = {
            "input": self.input,
            "output": self.output,
            "cost_usd": round(self.cost_usd, 6),
        }
        if self.model:
            payload["model"] = self.model
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


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and cost: an increment, or the session's running total when ``cumulative``."""

    usage: TokenUsage
    cumulative: bool = False


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


@dataclass(frozen=True, slots=True)
class Output:
    """A line that is not part of any protocol: kept in the session's output tail."""

    text: str


Signal = Heartbeat | Progress | Iteration | Usage | Log | TestReport | AgentError | Output
"""Everything an adapter can produce from a line."""
