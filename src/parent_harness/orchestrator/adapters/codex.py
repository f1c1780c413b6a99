"""Codex's ``codex exec --json`` output (JSON lines, one thread event each).

Top-level ``type``: ``thread.started`` (``thread_id``), ``turn.started``,
``turn.completed`` (``usage``: ``input_tokens``, ``cached_input_tokens``,
``output_tokens``, ``reasoning_output_tokens``), ``turn.failed`` (``error.message``),
``item.started`` / ``item.updated`` / ``item.completed`` (an ``item`` with ``id`` and
``type``: ``agent_message``, ``reasoning``, ``command_execution``, ``file_change``,
``mcp_tool_call``, ``web_search``, ``todo_list``, ``error``) and ``error``
(``message``).

- ``{"type":"error","message":"Reconnecting... 2/5 (...)"}`` is Codex retrying: a
  warning, not a verdict. Another ``error`` or a ``turn.failed`` fails the run with the
  CLI's own words (kind ``auth`` for a 401, ``usage_limit`` for a usage or rate limit);
- a completed action (message, command, file change, tool call, search) is one
  iteration; commands, file changes, MCP tools and searches are tool calls; a
  ``todo_list`` gives progress;
- ``turn.completed`` usage is the thread's running total: booked as a cumulative
  usage, ``cached_input_tokens`` as the cache-read part of the input. A thread resumed
  by a later session (``codex exec resume``) starts from the total its earlier sessions
  reached, so that is not booked again (remembered while the orchestrator runs);
  ``reasoning_output_tokens`` are part of ``output_tokens`` (billed as output);
- earlier formats are read too: items typed by ``item_type`` (``assistant_message``
  for ``agent_message``), and the ``{"id": ..., "msg": {"type": ...}}`` lines of
  ``codex exec --json`` before 0.44 (``exec_command_begin/end``, ``patch_apply_begin/end``,
  ``agent_message``, ``token_count``, ``stream_error``, ``error``, ``task_complete``).
"""

from __future__ import annotations

from typing import Any

from ..signals import (
    Heartbeat,
    Iteration,
    Log,
    Output,
    Progress,
    Signal,
    TokenUsage,
    ToolCall,
)
from ..signals import Usage as UsageSignal
from ._common import failed
from ._json import as_int, first_line, json_object

ACTIONS = ("agent_message", "command_execution", "file_change", "mcp_tool_call", "web_search")
ITEM_ALIASES = {"assistant_message": "agent_message"}


def item_type(item: dict[str, Any]) -> str:
    """An item's type, whichever field and name the Codex version used."""
    kind = item.get("type", item.get("item_type"))
    kind = kind if isinstance(kind, str) else ""
    return ITEM_ALIASES.get(kind, kind)


def item_summary(item: dict[str, Any]) -> str:
    """One line saying what a completed Codex item did."""
    kind = item_type(item)
    if kind == "command_execution":
        code = item.get("exit_code")
        return first_line(f"$ {item.get('command', '')}" + (f" → exit {code}" if code else ""))
    if kind == "file_change":
        paths = _paths(item)
        return first_line("edited " + ", ".join(paths) if paths else "edited files")
    if kind == "mcp_tool_call":
        return f"{item.get('server', '?')}.{item.get('tool', '?')}"
    if kind == "web_search":
        return first_line(f"searched {item.get('query', '')}")
    return first_line(item.get("text"))


def _paths(item: dict[str, Any]) -> list[str]:
    changes = item.get("changes")
    return (
        [str(c.get("path")) for c in changes if isinstance(c, dict)]
        if isinstance(changes, list)
        else []
    )


def item_tool(item: dict[str, Any]) -> tuple[str, str | None] | None:
    """The tool call an item is (name, target), None when it is none."""
    kind = item_type(item)
    if kind == "command_execution":
        command = item.get("command")
        return "command", first_line(command, 300) if isinstance(command, str) else None
    if kind == "file_change":
        return "edit", ", ".join(_paths(item)) or None
    if kind == "mcp_tool_call":
        return f"{item.get('server', '?')}.{item.get('tool', '?')}", None
    if kind == "web_search":
        query = item.get("query")
        return "web_search", first_line(query, 300) if isinstance(query, str) else None
    return None


def item_failed(item: dict[str, Any]) -> bool:
    """Whether a completed item's action failed."""
    code = item.get("exit_code")
    return item.get("status") == "failed" or (isinstance(code, int) and code != 0)


def todo_list_progress(item: dict[str, Any]) -> Progress | None:
    """Progress from a ``todo_list`` item: the share of its items completed."""
    entries = item.get("items")
    if not isinstance(entries, list) or not entries:
        return None
    done = sum(1 for e in entries if isinstance(e, dict) and e.get("completed") is True)
    return Progress(100.0 * done / len(entries))


def codex_usage(usage: Any) -> TokenUsage:
    """A usage object: input tokens (cached ones included, as their cache-read part), output."""
    if not isinstance(usage, dict):
        return TokenUsage()
    return TokenUsage(
        input=as_int(usage.get("input_tokens")),
        output=as_int(usage.get("output_tokens")),
        cache_read=as_int(usage.get("cached_input_tokens")),
        cache_write=as_int(usage.get("cache_write_input_tokens")),
    )


def transient(message: str) -> bool:
    """Codex saying it retries (``Reconnecting... 2/5 (...)``), not that the run failed."""
    return message.lstrip().lower().startswith(("reconnecting", "stream error"))


THREAD_TOTALS: dict[str, TokenUsage] = {}
"""The last running total of each Codex thread seen by this process (for resumed threads)."""
THREADS_KEPT = 10_000


class CodexJsonAdapter:
    """Reads one ``codex exec --json`` run (any of its formats)."""

    def __init__(self) -> None:
        self._thread: str | None = None
        self._baseline = TokenUsage()
        self._started: set[str] = set()
        self._failed = False
        self._legacy_calls: dict[str, tuple[str, str | None]] = {}

    def feed(self, line: str) -> list[Signal]:
        """The signals one JSON line holds."""
        obj = json_object(line)
        if obj is None:
            return [Output(line)]
        kind = obj.get("type")
        if not isinstance(kind, str):
            msg = obj.get("msg")
            if isinstance(msg, dict) and isinstance(msg.get("type"), str):
                return self._legacy(msg)
            return [Output(line)]
        if kind == "turn.completed":
            return [self._total(codex_usage(obj.get("usage")))]
        if kind == "turn.failed":
            error = obj.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            return self._fail(message, "the Codex turn failed")
        if kind == "error":
            return self._error(obj.get("message"))
        if kind == "thread.started":
            thread = obj.get("thread_id")
            self._thread = thread if isinstance(thread, str) else None
            self._baseline = THREAD_TOTALS.get(self._thread or "", TokenUsage())
            return [Heartbeat()]
        if kind == "turn.started":
            return [Heartbeat()]
        item = obj.get("item")
        if kind.startswith("item.") and isinstance(item, dict):
            return self._item(kind, item)
        return [Output(line)]

    def _total(self, total: TokenUsage) -> Signal:
        """The thread's running total, less what earlier sessions of it already booked."""
        if self._thread:
            THREAD_TOTALS.pop(self._thread, None)
            THREAD_TOTALS[self._thread] = total  # the most recent last
            while len(THREAD_TOTALS) > THREADS_KEPT:
                del THREAD_TOTALS[next(iter(THREAD_TOTALS))]
        return UsageSignal(total.beyond(self._baseline), cumulative=True)

    def _error(self, message: Any) -> list[Signal]:
        text = first_line(message, 500) if isinstance(message, str) else ""
        if transient(text):
            return [Log(f"Codex: {text}", level="warning")]
        return self._fail(text, "Codex reported an error")

    def _fail(self, message: Any, fallback: str) -> list[Signal]:
        error = failed(_unwrap(message), fallback)
        if self._failed:  # the first reason is the CLI's; what follows restates it
            return [Log(error.message, level="warning")]
        self._failed = True
        return [error]

    def _item(self, kind: str, item: dict[str, Any]) -> list[Signal]:
        what = item_type(item)
        if what == "todo_list":
            progress = todo_list_progress(item)
            return [progress] if progress else [Heartbeat()]
        tool = item_tool(item)
        item_id = str(item.get("id", ""))
        if kind == "item.started":
            if tool is None:
                return [Heartbeat()]
            self._started.add(item_id)
            return [ToolCall(tool[0], tool[1], "started", item_id or None)]
        if kind != "item.completed":
            return [Heartbeat()]
        if what == "error":
            return [Log(f"Codex: {item.get('message', '')}", level="warning")]
        if what not in ACTIONS:
            return [Heartbeat()]
        signals: list[Signal] = []
        if tool is not None:
            if item_id not in self._started:
                signals.append(ToolCall(tool[0], tool[1], "started", item_id or None))
            status = "failed" if item_failed(item) else "completed"
            signals.append(ToolCall(tool[0], tool[1], status, item_id or None))
        return [Iteration(summary=item_summary(item)), *signals]

    def _legacy(self, msg: dict[str, Any]) -> list[Signal]:
        kind = msg["type"]
        call_id = str(msg.get("call_id", ""))
        if kind == "agent_message":
            return [Iteration(summary=first_line(msg.get("message")))]
        if kind == "exec_command_begin":
            command = msg.get("command")
            words = [str(w) for w in command] if isinstance(command, list) else [str(command)]
            target: str | None = first_line(_shell_line(words), 300)
            self._legacy_calls[call_id] = ("command", target)
            return [ToolCall("command", target, "started", call_id or None)]
        if kind == "exec_command_end":
            name, target = self._legacy_calls.pop(call_id, ("command", None))
            code = msg.get("exit_code")
            status = "failed" if isinstance(code, int) and code != 0 else "completed"
            summary = f"$ {target or ''}" + (f" → exit {code}" if code else "")
            return [
                Iteration(summary=first_line(summary)),
                ToolCall(name, target, status, call_id or None),
            ]
        if kind == "patch_apply_begin":
            changes = msg.get("changes")
            paths = ", ".join(str(p) for p in changes) if isinstance(changes, dict) else ""
            self._legacy_calls[call_id] = ("edit", paths or None)
            return [ToolCall("edit", paths or None, "started", call_id or None)]
        if kind == "patch_apply_end":
            name, target = self._legacy_calls.pop(call_id, ("edit", None))
            status = "completed" if msg.get("success") is not False else "failed"
            summary = f"edited {target}" if target else "edited files"
            return [Iteration(summary=summary), ToolCall(name, target, status, call_id or None)]
        if kind == "token_count":
            info = msg.get("info")
            totals = info.get("total_token_usage") if isinstance(info, dict) else msg
            return [UsageSignal(codex_usage(totals), cumulative=True)]
        if kind in ("stream_error", "background_event"):
            return [Log(f"Codex: {first_line(msg.get('message'))}", level="warning")]
        if kind == "error":
            return self._fail(msg.get("message"), "Codex reported an error")
        if kind == "task_complete":
            return [Progress(100.0)]
        return [Heartbeat()]


def _shell_line(words: list[str]) -> str:
    if len(words) == 3 and words[0].endswith(("bash", "sh", "zsh")) and words[1] in ("-lc", "-c"):
        return f"{words[0]} {words[1]} '{words[2]}'"
    return " ".join(words)


def _unwrap(message: Any) -> Any:
    """A message that is itself JSON (``{"detail": "..."}``) says its reason inside."""
    if not isinstance(message, str):
        return message
    inner = json_object(message)
    if inner is None:
        return message
    for key in ("detail", "message"):
        if isinstance(inner.get(key), str):
            return inner[key]
    error = inner.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return message
