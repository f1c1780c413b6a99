"""The harness JSON-lines protocol (see docs/agents.md for the reference).

A protocol line is one JSON object whose ``type`` is one of ``heartbeat``,
``progress``, ``iteration``, ``usage``, ``log``, ``test``, ``tool`` or ``error``. Any other
line, JSON or not, is output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..signals import (
    AgentError,
    Heartbeat,
    Iteration,
    Log,
    Output,
    Progress,
    Signal,
    TestReport,
    TokenUsage,
    ToolCall,
    Usage,
)
from ._json import as_float, as_int, json_object

LOG_LEVELS = ("debug", "info", "warning", "error")


def usage_fields(obj: dict[str, Any]) -> TokenUsage:
    """Token usage written inline: ``input_tokens``, ``output_tokens``, ``cost_usd``, ``model``."""
    model = obj.get("model")
    return TokenUsage(
        input=as_int(obj.get("input_tokens")),
        output=as_int(obj.get("output_tokens")),
        cost_usd=as_float(obj.get("cost_usd")) or 0.0,
        model=model if isinstance(model, str) else None,
    )


def _percent(obj: dict[str, Any]) -> float | None:
    value = as_float(obj.get("percent"))
    return None if value is None else min(100.0, max(0.0, value))


def _heartbeat(obj: dict[str, Any]) -> Signal:
    return Heartbeat(progress_percent=_percent(obj))


def _progress(obj: dict[str, Any]) -> Signal:
    percent = _percent(obj)
    if percent is None:
        raise ValueError("progress needs a numeric percent")
    message = obj.get("message")
    return Progress(percent, message if isinstance(message, str) else None)


def _iteration(obj: dict[str, Any]) -> Signal:
    number = obj.get("iteration")
    usage = usage_fields(obj)
    summary = obj.get("summary")
    return Iteration(
        number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        summary=summary if isinstance(summary, str) else "",
        usage=None if usage.empty else usage,
    )


def _usage(obj: dict[str, Any]) -> Signal:
    return Usage(usage_fields(obj), cumulative=obj.get("cumulative") is True)


def _log(obj: dict[str, Any]) -> Signal:
    level = obj.get("level", "info")
    data = obj.get("data")
    return Log(
        message=str(obj.get("message", "")),
        level=level if level in LOG_LEVELS else "info",
        data=data if isinstance(data, dict) else {},
    )


def _test(obj: dict[str, Any]) -> Signal:
    status = obj.get("status")
    if status not in ("started", "completed"):
        raise ValueError("test status must be started or completed")
    command = obj.get("command")
    return TestReport(
        status=status,
        command=command if isinstance(command, str) else None,
        passed=as_int(obj.get("passed")),
        failed=as_int(obj.get("failed")),
        skipped=as_int(obj.get("skipped")),
        duration_s=as_float(obj.get("duration_s")),
    )


TOOL_STATUSES = ("started", "completed", "failed")


def _tool(obj: dict[str, Any]) -> Signal:
    tool, target, status = obj.get("tool"), obj.get("target"), obj.get("status", "started")
    if not isinstance(tool, str) or not tool.strip():
        raise ValueError("a tool message needs the tool's name")
    if status not in TOOL_STATUSES:
        raise ValueError("tool status must be started, completed or failed")
    call_id = obj.get("id")
    return ToolCall(
        tool=tool,
        target=target if isinstance(target, str) else None,
        status=status,
        id=call_id if isinstance(call_id, str) else None,
    )


def _error(obj: dict[str, Any]) -> Signal:
    return AgentError(message=str(obj.get("message", "the agent reported an error")))


PARSERS: dict[str, Callable[[dict[str, Any]], Signal]] = {
    "heartbeat": _heartbeat,
    "progress": _progress,
    "iteration": _iteration,
    "usage": _usage,
    "log": _log,
    "test": _test,
    "tool": _tool,
    "error": _error,
}


class HarnessAdapter:
    """Reads the harness protocol; stateless, so one instance could serve many sessions."""

    def feed(self, line: str) -> list[Signal]:
        """The protocol message on ``line``, or the line as :class:`Output`."""
        obj = json_object(line)
        kind = obj.get("type") if obj else None
        parser = PARSERS.get(kind) if isinstance(kind, str) else None
        if obj is None or parser is None:
            return [Output(line)]
        try:
            return [parser(obj)]
        except ValueError:
            return [Output(line)]
