"""Claude Code's ``claude -p ... --output-format stream-json --verbose`` output.

Each stdout line is a JSON object with a ``type``:

- ``system`` (``subtype: init``): session id, model, tools — the run has started;
- ``assistant``: one model message (``message.id``, ``message.model``,
  ``message.content`` blocks of ``text`` / ``tool_use``, ``message.usage`` with
  ``input_tokens``, ``output_tokens``, ``cache_creation_input_tokens``,
  ``cache_read_input_tokens``); the CLI may print one message over several lines
  (one per content block) with the same id, so usage is counted once per id;
- ``user``: tool results fed back to the model — activity;
- ``result`` (last): ``subtype`` (``success``, ``error_max_turns``,
  ``error_during_execution``), ``is_error``, ``num_turns``, ``total_cost_usd`` and
  the session's ``usage`` totals.

A new message id is one iteration; a ``TodoWrite`` tool call gives progress
(completed todos over all todos); the ``result`` line carries the session's
total cost, reported as a cumulative usage so the orchestrator books only what
the per-message counts did not.
"""

from __future__ import annotations

from typing import Any

from ..signals import AgentError, Heartbeat, Iteration, Log, Output, Progress, Signal, TokenUsage
from ..signals import Usage as UsageSignal
from ._json import as_float, as_int, first_line, json_object


def claude_usage(usage: Any, model: str | None = None) -> TokenUsage:
    """Claude's usage object as tokens in (cached and uncached) and out."""
    if not isinstance(usage, dict):
        return TokenUsage(model=model)
    tokens_in = sum(
        as_int(usage.get(key))
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return TokenUsage(input=tokens_in, output=as_int(usage.get("output_tokens")), model=model)


def todo_progress(todos: Any) -> Progress | None:
    """Progress from a ``TodoWrite`` list: the share of todos completed."""
    if not isinstance(todos, list) or not todos:
        return None
    items = [t for t in todos if isinstance(t, dict)]
    done = sum(1 for t in items if t.get("status") == "completed")
    active = next((t for t in items if t.get("status") == "in_progress"), None)
    message = None
    if active is not None:
        message = str(active.get("activeForm") or active.get("content") or "")
    return Progress(100.0 * done / len(todos), message or None)


def message_summary(content: Any) -> str:
    """A one-line summary of an assistant message: its text, or the tools it calls."""
    if not isinstance(content, list):
        return first_line(content)
    texts = [first_line(b.get("text")) for b in content if _block(b, "text")]
    tools = [_tool_label(b) for b in content if _block(b, "tool_use")]
    return first_line(" · ".join([t for t in texts if t] + tools))


def _block(block: Any, kind: str) -> bool:
    return isinstance(block, dict) and block.get("type") == kind


def _tool_label(block: dict[str, Any]) -> str:
    name = str(block.get("name", "tool"))
    args = block.get("input")
    if isinstance(args, dict):
        detail = args.get("command") or args.get("file_path") or args.get("pattern")
        if isinstance(detail, str):
            return f"{name}({first_line(detail, 80)})"
    return name


class ClaudeStreamAdapter:
    """Reads one Claude Code session's stream-json output."""

    def __init__(self) -> None:
        self._seen: dict[str, TokenUsage] = {}
        self._model: str | None = None

    def feed(self, line: str) -> list[Signal]:
        """The signals one stream-json line holds."""
        obj = json_object(line)
        if obj is None:
            return [Output(line)]
        kind = obj.get("type")
        if kind == "system":
            return self._system(obj)
        if kind == "assistant":
            return self._assistant(obj)
        if kind == "result":
            return self._result(obj)
        return [Heartbeat()]

    def _system(self, obj: dict[str, Any]) -> list[Signal]:
        if obj.get("subtype") != "init":
            return [Heartbeat()]
        model = obj.get("model")
        self._model = model if isinstance(model, str) else None
        text = f"Claude Code session {obj.get('session_id', '?')} started"
        return [Log(text + (f" with {self._model}" if self._model else ""), level="debug")]

    def _assistant(self, obj: dict[str, Any]) -> list[Signal]:
        message = obj.get("message")
        if not isinstance(message, dict):
            return [Heartbeat()]
        model = message.get("model")
        usage = claude_usage(message.get("usage"), model if isinstance(model, str) else None)
        signals: list[Signal] = list(self._todo_progress(message.get("content")))
        message_id = str(message.get("id") or f"line-{len(self._seen)}")
        seen = self._seen.get(message_id)
        self._seen[message_id] = usage if seen is None else _larger(seen, usage)
        if seen is None:
            summary = message_summary(message.get("content"))
            return [Iteration(summary=summary, usage=usage), *signals]
        extra = usage.beyond(seen)
        return [*([UsageSignal(extra)] if not extra.empty else []), *signals]

    def _todo_progress(self, content: Any) -> list[Signal]:
        if not isinstance(content, list):
            return []
        found: list[Signal] = []
        for block in content:
            if _block(block, "tool_use") and block.get("name") == "TodoWrite":
                args = block.get("input")
                progress = todo_progress(args.get("todos") if isinstance(args, dict) else None)
                if progress is not None:
                    found.append(progress)
        return found

    def _result(self, obj: dict[str, Any]) -> list[Signal]:
        total = claude_usage(obj.get("usage"), self._model)
        cost = as_float(obj.get("total_cost_usd")) or 0.0
        signals: list[Signal] = [
            UsageSignal(TokenUsage(total.input, total.output, cost, total.model), cumulative=True)
        ]
        subtype = str(obj.get("subtype", ""))
        if obj.get("is_error") is True or (subtype and subtype != "success"):
            kind = "max_iterations" if subtype == "error_max_turns" else "agent_error"
            message = first_line(obj.get("result")) or f"Claude Code ended with {subtype}"
            signals.append(AgentError(message, kind=kind))
        else:
            signals.append(Progress(100.0))
        return signals


def _larger(a: TokenUsage, b: TokenUsage) -> TokenUsage:
    return TokenUsage(max(a.input, b.input), max(a.output, b.output), 0.0, b.model or a.model)
