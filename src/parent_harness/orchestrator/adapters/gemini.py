"""Gemini CLI's ``gemini -p ... --output-format stream-json`` output.

One JSON object per line, by ``type``:

- ``init`` (``session_id``, ``model``): the run has started;
- ``message`` (``role`` ``user`` / ``assistant``, ``content``, ``delta: true`` for a
  chunk of the assistant's text);
- ``tool_use`` (``tool_name``, ``tool_id``, ``parameters``) and ``tool_result``
  (``tool_id``, ``status`` ``success`` / ``error``, ``output`` or ``error``): tool calls;
- ``error`` (``severity`` ``warning`` / ``error``, ``message``): not fatal, a warning or
  error ``event``;
- ``result`` (``status`` ``success`` / ``error``, ``error``, ``stats`` with
  ``input_tokens``, ``output_tokens``, ``cached``, ``models``): the session's totals
  (Gemini prints no cost: the price table prices them) and, with ``status: error``, the
  failure in the CLI's words.

A model turn (its text and the tool calls it makes) is one iteration. Exit codes:
41 (no auth) fails the run as ``auth``, 42 (bad input) as ``agent_error``, 53 (the
turn limit) as ``max_iterations``.
"""

from __future__ import annotations

from typing import Any

from ..signals import AgentError, Heartbeat, Iteration, Log, Output, Signal, TokenUsage, ToolCall
from ..signals import Usage as UsageSignal
from ._common import failed, session_started, tool_target
from ._json import as_int, first_line, typed_object

EXIT_CODES = {
    41: ("Gemini CLI is not authenticated (exit 41)", "auth"),
    42: ("Gemini CLI refused its input (exit 42)", "agent_error"),
    53: ("Gemini CLI stopped at its turn limit (exit 53)", "max_iterations"),
}


class GeminiStreamAdapter:
    """Reads one ``gemini --output-format stream-json`` run."""

    def __init__(self) -> None:
        self._model: str | None = None
        self._text = ""
        self._counted = False
        self._tools: dict[str, tuple[str, str | None]] = {}

    def feed(self, line: str) -> list[Signal]:
        """The signals one JSON line holds."""
        found = typed_object(line)
        if found is None:
            return [Output(line)]
        obj, kind = found
        if kind == "init":
            self._model, started = session_started("Gemini CLI", obj)
            return [started]
        if kind == "message":
            if obj.get("role") == "assistant" and isinstance(obj.get("content"), str):
                self._text += obj["content"]
            return [Heartbeat()]
        if kind == "tool_use":
            return self._tool_use(obj)
        if kind == "tool_result":
            return self._tool_result(obj)
        if kind == "error":
            level = "error" if obj.get("severity") == "error" else "warning"
            return [Log(f"Gemini CLI: {first_line(obj.get('message'), 500)}", level=level)]
        if kind == "result":
            return [*self._turn(), *self._result(obj)]
        return [Output(line)]

    def _turn(self, label: str = "") -> list[Signal]:
        """The current model turn's iteration, once."""
        if self._counted or not (self._text.strip() or label):
            return []
        self._counted = True
        return [Iteration(summary=first_line(self._text) or label)]

    def _tool_use(self, obj: dict[str, Any]) -> list[Signal]:
        name = str(obj.get("tool_name") or "tool")
        target = tool_target(obj.get("parameters"))
        call_id = obj.get("tool_id")
        call_id = call_id if isinstance(call_id, str) else None
        if call_id:
            self._tools[call_id] = (name, target)
        label = f"{name}({first_line(target, 80)})" if target else name
        return [*self._turn(label), ToolCall(name, target, "started", call_id)]

    def _tool_result(self, obj: dict[str, Any]) -> list[Signal]:
        self._text, self._counted = "", False  # what follows is the model's next turn
        call_id = obj.get("tool_id")
        known = self._tools.pop(call_id, None) if isinstance(call_id, str) else None
        if known is None:
            return [Heartbeat()]
        status = "completed" if obj.get("status") == "success" else "failed"
        return [ToolCall(known[0], known[1], status, call_id)]

    def _result(self, obj: dict[str, Any]) -> list[Signal]:
        signals: list[Signal] = []
        stats = obj.get("stats")
        if isinstance(stats, dict):
            signals.append(UsageSignal(self._usage(stats), final=True))
        if obj.get("status") == "error":
            error = obj.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            signals.append(failed(message, "Gemini CLI ended with an error"))
        return signals

    def _usage(self, stats: dict[str, Any]) -> TokenUsage:
        models = stats.get("models")
        model = self._model
        if isinstance(models, dict):
            used = {
                str(name): as_int(row.get("total_tokens"))
                for name, row in models.items()
                if isinstance(row, dict)
            }
            if any(used.values()):
                model = max(used, key=lambda name: used[name])
        return TokenUsage(
            input=as_int(stats.get("input_tokens")),
            output=as_int(stats.get("output_tokens")),
            model=model,
            cache_read=as_int(stats.get("cached")),
        )

    def on_exit(self, code: int) -> AgentError | None:
        """What Gemini CLI's own exit codes mean."""
        known = EXIT_CODES.get(code)
        return AgentError(*known) if known else None
