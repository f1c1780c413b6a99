"""Codex's ``codex exec --json`` output (JSON lines, one thread event each).

Top-level ``type``: ``thread.started`` (``thread_id``), ``turn.started``,
``turn.completed`` (``usage``: ``input_tokens``, ``cached_input_tokens``,
``output_tokens``), ``turn.failed`` (``error.message``), ``item.started`` /
``item.updated`` / ``item.completed`` (an ``item`` with ``id`` and ``type``:
``agent_message``, ``reasoning``, ``command_execution``, ``file_change``,
``mcp_tool_call``, ``web_search``, ``todo_list``, ``error``) and ``error``
(``message``).

A completed action (message, command, file change, tool call, search) is one
iteration; a ``todo_list`` gives progress; a completed turn reports its tokens
(Codex prints no cost: set ``price`` on the agent to estimate it).
``cached_input_tokens`` is a part of ``input_tokens``, so it is not added again.
"""

from __future__ import annotations

from typing import Any

from ..signals import AgentError, Heartbeat, Iteration, Log, Output, Progress, Signal, TokenUsage
from ..signals import Usage as UsageSignal
from ._json import as_int, first_line, json_object

ACTIONS = ("agent_message", "command_execution", "file_change", "mcp_tool_call", "web_search")


def item_summary(item: dict[str, Any]) -> str:
    """One line saying what a completed Codex item did."""
    kind = item.get("type")
    if kind == "command_execution":
        code = item.get("exit_code")
        return first_line(f"$ {item.get('command', '')}" + (f" → exit {code}" if code else ""))
    if kind == "file_change":
        changes = item.get("changes")
        paths = [str(c.get("path")) for c in changes or [] if isinstance(c, dict)]
        return first_line("edited " + ", ".join(paths) if paths else "edited files")
    if kind == "mcp_tool_call":
        return f"{item.get('server', '?')}.{item.get('tool', '?')}"
    if kind == "web_search":
        return first_line(f"searched {item.get('query', '')}")
    return first_line(item.get("text"))


def todo_list_progress(item: dict[str, Any]) -> Progress | None:
    """Progress from a ``todo_list`` item: the share of its items completed."""
    entries = item.get("items")
    if not isinstance(entries, list) or not entries:
        return None
    done = sum(1 for e in entries if isinstance(e, dict) and e.get("completed") is True)
    return Progress(100.0 * done / len(entries))


class CodexJsonAdapter:
    """Reads one ``codex exec --json`` run."""

    def feed(self, line: str) -> list[Signal]:
        """The signals one JSON line holds."""
        obj = json_object(line)
        if obj is None:
            return [Output(line)]
        kind = obj.get("type")
        if kind == "turn.completed":
            return [UsageSignal(codex_usage(obj.get("usage")))]
        if kind == "turn.failed":
            error = obj.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            return [AgentError(str(message or "the Codex turn failed"))]
        if kind == "error":
            return [AgentError(str(obj.get("message") or "Codex reported an error"))]
        item = obj.get("item")
        if isinstance(kind, str) and kind.startswith("item.") and isinstance(item, dict):
            return self._item(kind, item)
        return [Heartbeat()]

    def _item(self, kind: str, item: dict[str, Any]) -> list[Signal]:
        item_type = item.get("type")
        if item_type == "todo_list":
            progress = todo_list_progress(item)
            return [progress] if progress else [Heartbeat()]
        if kind != "item.completed":
            return [Heartbeat()]
        if item_type in ACTIONS:
            return [Iteration(summary=item_summary(item))]
        if item_type == "error":
            return [Log(str(item.get("message", "")), level="warning")]
        return [Heartbeat()]


def codex_usage(usage: Any) -> TokenUsage:
    """A turn's usage: input tokens (cached ones included) and output tokens."""
    if not isinstance(usage, dict):
        return TokenUsage()
    return TokenUsage(
        input=as_int(usage.get("input_tokens")), output=as_int(usage.get("output_tokens"))
    )
