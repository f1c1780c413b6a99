"""The harness JSON-lines protocol (see docs/agents.md for the reference).

A protocol line is one JSON object whose ``type`` is one of ``heartbeat``,
``progress``, ``iteration``, ``usage``, ``log``, ``test``, ``tool``, ``error`` or
``approval_request`` (answered on the agent's stdin by an ``approval_response``
line). Any other line, JSON or not, is output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..signals import (
    AgentError,
    ApprovalRequest,
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
APPROVAL_KINDS = ("permission", "question", "plan")
DEFAULT_OPTIONS = {"permission": ("allow", "deny"), "plan": ("allow", "deny"), "question": ()}
"""The decisions a request accepts when it names none (a question takes free text)."""


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


def _text(obj: dict[str, Any], key: str, limit: int) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value[:limit]


def _approval_request(obj: dict[str, Any]) -> Signal:
    kind = obj.get("kind", "permission")
    if kind not in APPROVAL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(APPROVAL_KINDS)}")
    options = obj.get("options")
    if options is None:
        chosen = DEFAULT_OPTIONS[kind]
    elif isinstance(options, list) and all(isinstance(o, str) and o.strip() for o in options):
        chosen = tuple(dict.fromkeys(o.strip()[:200] for o in options))[:50]
    else:
        raise ValueError("options must be a list of non-empty strings")
    ref = obj.get("id")
    expires = as_float(obj.get("expires_in_s"))
    tool, detail = _text(obj, "tool", 200), _text(obj, "detail", 65_536)
    summary = _text(obj, "summary", 2000) or tool or kind
    return ApprovalRequest(
        kind=kind,
        summary=summary,
        tool=tool,
        detail=detail,
        options=chosen,
        expires_in_s=expires if expires is not None and expires > 0 else None,
        ref=str(ref)[:200] if isinstance(ref, str | int) and not isinstance(ref, bool) else None,
    )


PARSERS: dict[str, Callable[[dict[str, Any]], Signal]] = {
    "heartbeat": _heartbeat,
    "progress": _progress,
    "iteration": _iteration,
    "usage": _usage,
    "log": _log,
    "test": _test,
    "tool": _tool,
    "error": _error,
    "approval_request": _approval_request,
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
