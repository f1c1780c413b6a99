"""Cursor CLI's ``cursor-agent -p --output-format stream-json`` output.

Claude Code-like lines (``system`` init with ``model``, ``user``, ``assistant`` with
``message.content``, a final ``result`` with ``subtype``, ``is_error``, ``result`` and,
in recent versions, ``usage`` with ``inputTokens``, ``outputTokens``,
``cacheReadTokens``, ``cacheWriteTokens``) plus ``thinking`` (``delta`` /
``completed``) and ``tool_call`` lines (``subtype`` ``started`` / ``completed``,
``call_id``, ``tool_call`` holding one ``<name>ToolCall`` object with ``args`` and,
once completed, ``result``), and ``connection`` (``reconnecting``) and ``retry``
(``starting``) lines when it loses its connection mid-run: warnings, not verdicts.

Each ``assistant`` line is one iteration (run it without ``--stream-partial-output``,
which splits a message into many lines); each ``tool_call`` is a tool call named
after its key (``readToolCall`` is ``read``, ``shellToolCall`` is ``shell``). Cursor
prints no cost: the price table prices the result's tokens. ``inputTokens`` leaves
the cache out, as Anthropic's ``input_tokens`` do (a recorded run of cursor-agent
2026.07.23 reports 115 input tokens and 19776 cache reads), so the session's input is
``inputTokens`` plus the cache reads and writes.
"""

from __future__ import annotations

from typing import Any

from ..signals import Heartbeat, Iteration, Log, Output, Progress, Signal, TokenUsage, ToolCall
from ..signals import Usage as UsageSignal
from ._common import failed, session_started, tool_target
from ._json import as_int, first_line, typed_object
from .claude_code import message_summary


def cursor_tool(tool_call: Any) -> tuple[str, dict[str, Any]]:
    """A ``tool_call`` object's tool name and its inner object."""
    if not isinstance(tool_call, dict) or not tool_call:
        return "tool", {}
    key, inner = next(iter(tool_call.items()))
    inner = inner if isinstance(inner, dict) else {}
    if key == "function":
        return str(inner.get("name") or "function"), inner
    name = key[: -len("ToolCall")] if key.endswith("ToolCall") else key
    return name or "tool", inner


class CursorStreamAdapter:
    """Reads one ``cursor-agent --output-format stream-json`` run."""

    def __init__(self) -> None:
        self._model: str | None = None
        self._tools: dict[str, tuple[str, str | None]] = {}

    def feed(self, line: str) -> list[Signal]:
        """The signals one JSON line holds."""
        found = typed_object(line)
        if found is None:
            return [Output(line)]
        obj, kind = found
        if kind == "system":
            self._model, started = session_started("Cursor CLI", obj)
            return [started]
        if kind in ("user", "thinking"):
            return [Heartbeat()]
        if kind == "assistant":
            message = obj.get("message")
            content = message.get("content") if isinstance(message, dict) else None
            return [Iteration(summary=message_summary(content))]
        if kind == "tool_call":
            return self._tool_call(obj)
        if kind == "result":
            return self._result(obj)
        if kind in ("connection", "retry"):  # Cursor reconnects or retries: not a verdict
            what = f"{kind} {obj.get('subtype') or ''}".strip()
            attempt = obj.get("attempt")
            more = f" (attempt {attempt})" if isinstance(attempt, int) else ""
            return [Log(f"Cursor CLI: {what}{more}", level="warning")]
        return [Output(line)]

    def _tool_call(self, obj: dict[str, Any]) -> list[Signal]:
        name, inner = cursor_tool(obj.get("tool_call"))
        call_id = obj.get("call_id")
        call_id = call_id if isinstance(call_id, str) else None
        if obj.get("subtype") == "started":
            target = tool_target(inner.get("args"))
            if call_id:
                self._tools[call_id] = (name, target)
            return [ToolCall(name, target, "started", call_id)]
        known = self._tools.pop(call_id, None) if call_id else None
        name, target = known or (name, tool_target(inner.get("args")))
        result = inner.get("result")
        status = "failed" if isinstance(result, dict) and "error" in result else "completed"
        return [ToolCall(name, target, status, call_id)]

    def _result(self, obj: dict[str, Any]) -> list[Signal]:
        signals: list[Signal] = []
        usage = obj.get("usage")
        if isinstance(usage, dict):
            read = as_int(usage.get("cacheReadTokens"))
            write = as_int(usage.get("cacheWriteTokens"))
            tokens = TokenUsage(
                input=as_int(usage.get("inputTokens")) + read + write,
                output=as_int(usage.get("outputTokens")),
                model=self._model,
                cache_read=read,
                cache_write=write,
            )
            signals.append(UsageSignal(tokens, final=True))
        if obj.get("is_error") is True or obj.get("subtype") not in (None, "success"):
            message = first_line(obj.get("result"), 500) or first_line(obj.get("error"), 500)
            signals.append(failed(message, "Cursor CLI ended with an error"))
        else:
            signals.append(Progress(100.0))
        return signals
