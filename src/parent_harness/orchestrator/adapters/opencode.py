"""OpenCode's ``opencode run --format json`` output.

One JSON object per line, by ``type``, each with a ``part``:

- ``step_start``: a model step begins;
- ``text`` (``part.text``): the model's text;
- ``tool_use`` (``part.tool``, ``part.callID``, ``part.state`` with ``status``
  ``pending`` / ``running`` / ``completed`` / ``error`` and ``input``): a tool call;
- ``step_finish`` (``part.cost``, ``part.tokens`` with ``input``, ``output``,
  ``reasoning``, ``cache.read``, ``cache.write``): the step is one iteration, with
  the cost OpenCode computed for it (its own price list, zero included: a warning says
  once that a spending cap does not see tokens booked at $0). Its
  ``input`` leaves the cache out and its ``output`` the reasoning (recorded runs add up:
  ``total`` = input + output + reasoning + cache): both are booked, reasoning as output,
  which is how it is billed;
- ``error`` (``error.name``, ``error.data.message``): the run failed, in OpenCode's words.
  One failure can print two (1.14.50: "Model not found: ..." then the server's generic
  "Unexpected server error"): the first says why, later ones are logged. OpenCode has
  exited 0 (1.14.25) as well as 1 (1.14.50) after one: the error line fails the run.
"""

from __future__ import annotations

from typing import Any

from ..signals import AgentError, Heartbeat, Iteration, Log, Output, Signal, TokenUsage, ToolCall
from ._common import failed, tool_target
from ._json import as_float, as_int, first_line, typed_object

FREE_TOKENS = (
    "OpenCode booked $0 for this session's tokens (its list has no cost for the model, "
    "free or unknown): a spending cap does not see them"
)


def _part(obj: dict[str, Any]) -> dict[str, Any]:
    part = obj.get("part")
    return part if isinstance(part, dict) else {}


class OpenCodeJsonAdapter:
    """Reads one ``opencode run --format json`` run."""

    def __init__(self) -> None:
        self._text = ""
        self._tools: list[str] = []
        self._open: dict[str, tuple[str, str | None]] = {}
        self._failed = False
        self._said_free = False

    def feed(self, line: str) -> list[Signal]:
        """The signals one JSON line holds."""
        found = typed_object(line)
        if found is None:
            return [Output(line)]
        obj, kind = found
        if kind == "step_start":
            self._text, self._tools = "", []
            return [Heartbeat()]
        if kind == "text":
            text = _part(obj).get("text")
            if isinstance(text, str):
                self._text += text
            return [Heartbeat()]
        if kind == "tool_use":
            return self._tool_use(_part(obj))
        if kind == "step_finish":
            return self._step(_part(obj))
        if kind == "error":
            error = self._error(obj.get("error"))
            if self._failed:  # the first error said why the run failed
                return [Log(f"OpenCode: {error.message}", level="warning")]
            self._failed = True
            return [error]
        return [Output(line)]

    def _tool_use(self, part: dict[str, Any]) -> list[Signal]:
        name = str(part.get("tool") or "tool")
        state = part.get("state")
        state = state if isinstance(state, dict) else {}
        target = tool_target(state.get("input"))
        call_id = part.get("callID")
        call_id = call_id if isinstance(call_id, str) else None
        status = state.get("status")
        if status in ("pending", "running"):
            if call_id and call_id not in self._open:
                self._open[call_id] = (name, target)
                return [ToolCall(name, target, "started", call_id)]
            return [Heartbeat()]
        if call_id:
            self._open.pop(call_id, None)
        self._tools.append(f"{name}({first_line(target, 80)})" if target else name)
        return [ToolCall(name, target, "failed" if status == "error" else "completed", call_id)]

    def _step(self, part: dict[str, Any]) -> list[Signal]:
        tokens = part.get("tokens")
        tokens = tokens if isinstance(tokens, dict) else {}
        cache = tokens.get("cache")
        cache = cache if isinstance(cache, dict) else {}
        read, write = as_int(cache.get("read")), as_int(cache.get("write"))
        cost = as_float(part.get("cost"))
        usage = TokenUsage(
            input=as_int(tokens.get("input")) + read + write,
            output=as_int(tokens.get("output")) + as_int(tokens.get("reasoning")),
            cost_usd=cost or 0.0,
            cache_read=read,
            cache_write=write,
        )
        summary = first_line(self._text) or " · ".join(self._tools) or "step"
        self._text, self._tools = "", []
        signals: list[Signal] = [
            Iteration(summary=summary, usage=usage, cost_reported=cost is not None)
        ]
        if cost == 0 and (usage.input or usage.output) and not self._said_free:
            self._said_free = True  # once a session: OpenCode's list has no cost for the model
            signals.append(Log(FREE_TOKENS, level="warning"))
        return signals

    def _error(self, error: Any) -> AgentError:
        if not isinstance(error, dict):
            return failed(error, "OpenCode reported an error")
        data = error.get("data")
        message = data.get("message") if isinstance(data, dict) else None
        return failed(
            message or error.get("message") or error.get("name"), "OpenCode reported an error"
        )
