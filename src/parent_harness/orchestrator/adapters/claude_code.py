"""Claude Code's ``claude -p ... --output-format stream-json --verbose`` output.

Each stdout line is a JSON object with a ``type``:

- ``system`` (``subtype: init``): session id, model, tools — the run has started;
- ``system`` (``subtype: api_retry``): the CLI retries a request (attempt, HTTP status,
  error): a warning, not a verdict;
- ``assistant``: one model message (``message.id``, ``message.model``,
  ``message.content`` blocks of ``thinking`` / ``text`` / ``tool_use``,
  ``message.usage`` with ``input_tokens``, ``output_tokens``,
  ``cache_creation_input_tokens``, ``cache_read_input_tokens``). Claude Code 2.x
  prints one message over several lines, one content block each, sharing the
  message's id and usage: a message is one iteration, its usage is booked once
  (and any growth of it), and each ``tool_use`` block, on whatever line, is a tool call;
- ``user``: tool results fed back to the model: each ``tool_result`` ends its tool call;
- ``result`` (last): ``subtype`` (``success``, ``error_max_turns``,
  ``error_during_execution``), ``is_error``, ``errors``, ``result``, ``api_error_status``
  (the API's HTTP status: 429 is a usage limit, 401/403 auth, whatever the words),
  ``total_cost_usd``, ``usage`` and ``modelUsage`` (every model used, auxiliary ones
  included): the session's final totals, which replace the live estimate.

A message's iteration is reported at its first text or tool block (a message that
opens with ``thinking`` waits for it), so its summary says what it did. A
``TodoWrite`` tool call gives progress (completed todos over all todos).
"""

from __future__ import annotations

from typing import Any

from ..signals import (
    AgentError,
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
from ._common import error_kind, session_started, tool_target
from ._json import as_float, as_int, first_line, typed_object


def claude_usage(usage: Any, model: str | None = None) -> TokenUsage:
    """Claude's usage object: tokens in (cache reads and writes included) and out."""
    if not isinstance(usage, dict):
        return TokenUsage(model=model)
    read = as_int(usage.get("cache_read_input_tokens"))
    write = as_int(usage.get("cache_creation_input_tokens"))
    return TokenUsage(
        input=as_int(usage.get("input_tokens")) + read + write,
        output=as_int(usage.get("output_tokens")),
        model=model,
        cache_read=read,
        cache_write=write,
    )


def model_usage(models: Any) -> TokenUsage | None:
    """The sum of ``modelUsage`` (camelCase, per model), None when absent."""
    if not isinstance(models, dict) or not models:
        return None
    total = TokenUsage()
    main, most = None, -1
    for name, row in models.items():
        if not isinstance(row, dict):
            continue
        read = as_int(_either(row, "cacheReadInputTokens", "cache_read_input_tokens"))
        write = as_int(_either(row, "cacheCreationInputTokens", "cache_creation_input_tokens"))
        part = TokenUsage(
            as_int(_either(row, "inputTokens", "input_tokens")) + read + write,
            as_int(_either(row, "outputTokens", "output_tokens")),
            as_float(row.get("costUSD")) or 0.0,
            None,
            read,
            write,
        )
        total = total + part
        if part.input + part.output > most:
            main, most = str(name), part.input + part.output
    return TokenUsage(
        total.input, total.output, total.cost_usd, main, total.cache_read, total.cache_write
    )


def _either(row: dict[str, Any], *keys: str) -> Any:
    return next((row[key] for key in keys if key in row), None)


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
    target = tool_target(block.get("input"))
    return f"{name}({first_line(target, 80)})" if target else name


class _Message:
    """One assistant message as its lines arrive."""

    __slots__ = ("content", "reported", "usage")

    def __init__(self, usage: TokenUsage) -> None:
        self.usage = usage
        self.content: list[Any] = []
        self.reported = False


def api_retry(obj: dict[str, Any]) -> str:
    """What a ``system`` ``api_retry`` line says: the attempt, the status and the error."""
    attempt, most = obj.get("attempt"), obj.get("max_retries")
    parts = [f"attempt {attempt}" + (f" of {most}" if most is not None else "")]
    if obj.get("error_status") is not None:
        parts.append(f"HTTP {obj.get('error_status')}")
    if isinstance(obj.get("error"), str):
        parts.append(first_line(obj["error"], 200))
    return ", ".join(parts)


class ClaudeStreamAdapter:
    """Reads one Claude Code session's stream-json output."""

    cli = "Claude Code"

    def __init__(self) -> None:
        self._messages: dict[str, _Message] = {}
        self._pending: str | None = None
        self._tools: dict[str, tuple[str, str | None]] = {}
        self._model: str | None = None

    def feed(self, line: str) -> list[Signal]:
        """The signals one stream-json line holds."""
        found = typed_object(line)
        if found is None:
            return [Output(line)]
        obj, kind = found
        if kind == "system":
            return self._system(obj)
        if kind == "assistant":
            return self._assistant(obj) if isinstance(obj.get("message"), dict) else [Output(line)]
        if kind == "user":
            return self._user(obj)
        if kind == "result":
            return [*self._flush(), *self._result(obj)]
        if kind in ("stream_event", "thinking", "control_request", "control_response"):
            return [Heartbeat()]
        return [Output(line)]

    def _system(self, obj: dict[str, Any]) -> list[Signal]:
        if obj.get("subtype") == "api_retry":  # the CLI retries a request: not a verdict
            return [Log(f"{self.cli} retries its API request: {api_retry(obj)}", "warning")]
        if obj.get("subtype") != "init":
            return [Heartbeat()]
        self._model, started = session_started(self.cli, obj)
        return [started]

    def _assistant(self, obj: dict[str, Any]) -> list[Signal]:
        message = obj["message"]
        model = message.get("model")
        model = model if isinstance(model, str) and not model.startswith("<") else self._model
        usage = claude_usage(message.get("usage"), model)
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        message_id = str(message.get("id") or f"line-{len(self._messages)}")
        signals: list[Signal] = []
        current = self._messages.get(message_id)
        if current is None:
            signals += self._flush()  # the previous message, if it only thought
            current = self._messages[message_id] = _Message(usage)
            self._pending = message_id
        else:
            extra = usage.beyond(current.usage)
            current.usage = _larger(current.usage, usage)
            if current.reported and not extra.empty:
                signals.append(UsageSignal(extra))
        current.content += blocks if blocks else ([content] if isinstance(content, str) else [])
        if not current.reported and any(not _block(b, "thinking") for b in current.content):
            signals.append(self._report(current))
        signals += self._tool_calls(blocks)
        return signals

    def _report(self, message: _Message) -> Iteration:
        message.reported = True
        self._pending = None
        summary = message_summary(message.content) or "thinking"
        return Iteration(summary=summary, usage=message.usage)

    def _flush(self) -> list[Signal]:
        pending = self._messages.get(self._pending or "")
        if pending is None or pending.reported:
            return []
        return [self._report(pending)]

    def _tool_calls(self, blocks: list[Any]) -> list[Signal]:
        found: list[Signal] = []
        for block in blocks:
            if not _block(block, "tool_use"):
                continue
            name = str(block.get("name") or "tool")
            args = block.get("input")
            target = tool_target(args)
            call_id = block.get("id")
            if isinstance(call_id, str):
                self._tools[call_id] = (name, target)
            found.append(
                ToolCall(name, target, "started", call_id if isinstance(call_id, str) else None)
            )
            if name == "TodoWrite":
                progress = todo_progress(args.get("todos") if isinstance(args, dict) else None)
                if progress is not None:
                    found.append(progress)
        return found

    def _user(self, obj: dict[str, Any]) -> list[Signal]:
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            return [Heartbeat()]
        found: list[Signal] = []
        for block in content:
            if not _block(block, "tool_result"):
                continue
            call_id = block.get("tool_use_id")
            known = self._tools.pop(call_id, None) if isinstance(call_id, str) else None
            if known is None:
                continue
            status = "failed" if block.get("is_error") is True else "completed"
            found.append(ToolCall(known[0], known[1], status, call_id))
        return found or [Heartbeat()]

    def _result(self, obj: dict[str, Any]) -> list[Signal]:
        signals: list[Signal] = []
        cost = as_float(obj.get("total_cost_usd"))
        totals = model_usage(obj.get("modelUsage"))
        if totals is None and isinstance(obj.get("usage"), dict):
            totals = claude_usage(obj.get("usage"), self._model)
        if totals is None and cost is not None:  # a cost without tokens: the tokens stand
            totals = TokenUsage(model=self._model)
        if totals is not None:
            if cost is not None:
                totals = totals.with_cost(cost)
            signals.append(UsageSignal(totals, final=True, cost_reported=cost is not None))
        subtype = str(obj.get("subtype", ""))
        if obj.get("is_error") is True or (subtype and subtype != "success"):
            signals.append(self._error(obj, subtype))
        else:
            signals.append(Progress(100.0))
        return signals

    def _error(self, obj: dict[str, Any], subtype: str) -> AgentError:
        errors = obj.get("errors")
        said = (
            [first_line(e, 300) for e in errors if isinstance(e, str)]
            if isinstance(errors, list)
            else []
        )
        text = "; ".join(s for s in said if s) or first_line(obj.get("error"), 500)
        text = text or first_line(obj.get("result"), 500)
        if subtype == "error_max_turns":
            turns = obj.get("num_turns")
            limit = f"{self.cli} stopped at its turn limit" + (f" ({turns} turns)" if turns else "")
            return AgentError(f"{limit}: {text}" if text else limit, kind="max_iterations")
        text = text or f"{self.cli} ended with {subtype or 'an error'}"
        status = obj.get("api_error_status")  # the API's HTTP status (429: a usage limit)
        return AgentError(text, kind=error_kind(text, status))


def _larger(a: TokenUsage, b: TokenUsage) -> TokenUsage:
    return TokenUsage(
        max(a.input, b.input),
        max(a.output, b.output),
        0.0,
        b.model or a.model,
        max(a.cache_read, b.cache_read),
        max(a.cache_write, b.cache_write),
    )


class AmpStreamAdapter(ClaudeStreamAdapter):
    """Amp's ``amp -x ... --stream-json``: Claude Code-compatible lines, no cost reported."""

    cli = "Amp"
