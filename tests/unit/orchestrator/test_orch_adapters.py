"""Adapters on sample lines: the harness protocol, Claude Code stream-json, Codex exec --json."""

from __future__ import annotations

import json
from typing import Any

from parent_harness.orchestrator.adapters import (
    ClaudeStreamAdapter,
    CodexJsonAdapter,
    HarnessAdapter,
    PlainAdapter,
    make_adapter,
)
from parent_harness.orchestrator.signals import (
    AgentError,
    Heartbeat,
    Iteration,
    Log,
    Output,
    Progress,
    TestReport,
    TokenUsage,
    ToolCall,
    Usage,
)


def line(**obj: object) -> str:
    return json.dumps(obj)


# -- harness protocol --------------------------------------------------------------------


def test_harness_protocol_messages() -> None:
    adapter = HarnessAdapter()
    assert adapter.feed(line(type="heartbeat")) == [Heartbeat()]
    assert adapter.feed(line(type="heartbeat", percent=30)) == [Heartbeat(30.0)]
    assert adapter.feed(line(type="progress", percent=142, message="m")) == [Progress(100.0, "m")]
    assert adapter.feed(
        line(
            type="iteration",
            iteration=3,
            summary="s",
            input_tokens=10,
            output_tokens=2,
            cost_usd=0.5,
            model="m1",
        )
    ) == [Iteration(3, "s", TokenUsage(10, 2, 0.5, "m1"))]
    assert adapter.feed(line(type="iteration")) == [Iteration(None, "", None)]
    assert adapter.feed(line(type="usage", input_tokens=5, cumulative=True)) == [
        Usage(TokenUsage(5, 0, 0.0), cumulative=True)
    ]
    assert adapter.feed(line(type="log", level="loud", message="hi")) == [Log("hi", "info")]
    assert adapter.feed(line(type="test", status="completed", passed=4, failed=1)) == [
        TestReport("completed", None, 4, 1, 0, None)
    ]
    assert adapter.feed(line(type="error", message="no key")) == [AgentError("no key")]
    assert adapter.feed(line(type="tool", tool="edit", target="src/a.py")) == [
        ToolCall("edit", "src/a.py", "started")
    ]
    assert adapter.feed(line(type="tool", tool="Bash", status="failed", id="c1")) == [
        ToolCall("Bash", None, "failed", "c1")
    ]


def test_harness_protocol_leaves_other_lines_as_output() -> None:
    adapter = HarnessAdapter()
    for text in ["plain text", '{"type": "unknown"}', "{not json", "[1, 2]", '{"type": [1]}',
                 line(type="progress"), line(type="test", status="maybe"),
                 line(type="tool"), line(type="tool", tool="edit", status="maybe")]:  # fmt: skip
        assert adapter.feed(text) == [Output(text)]


def test_plain_adapter_and_factory() -> None:
    assert PlainAdapter().feed(line(type="heartbeat")) == [Output(line(type="heartbeat"))]
    assert isinstance(make_adapter("claude-stream-json"), ClaudeStreamAdapter)


# -- Claude Code: claude -p ... --output-format stream-json --verbose ------------------------

CLAUDE_INIT = line(
    type="system", subtype="init", session_id="9f1c", cwd="/repo", model="claude-sonnet-4-5",
    tools=["Bash", "Edit", "Read", "TodoWrite"], mcp_servers=[], permissionMode="acceptEdits",
)  # fmt: skip
USAGE_1: dict[str, Any] = {"input_tokens": 4, "cache_creation_input_tokens": 2000,
                           "cache_read_input_tokens": 10000, "output_tokens": 120,
                           "service_tier": "standard"}  # fmt: skip
CLAUDE_TEXT = line(
    type="assistant", session_id="9f1c", parent_tool_use_id=None,
    message={"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
             "content": [{"type": "text", "text": "I'll start by reading the failing test.\nThen"}],
             "stop_reason": None, "usage": USAGE_1},
)  # fmt: skip
CLAUDE_TOOL_SAME_MESSAGE = line(
    type="assistant", session_id="9f1c",
    message={"id": "msg_01", "model": "claude-sonnet-4-5",
             "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                          "input": {"command": "pytest -q tests/test_login.py"}}],
             "usage": dict(USAGE_1, output_tokens=150)},
)  # fmt: skip
CLAUDE_TODO = line(
    type="assistant", session_id="9f1c",
    message={"id": "msg_02", "model": "claude-sonnet-4-5",
             "content": [{"type": "tool_use", "id": "toolu_2", "name": "TodoWrite", "input": {
                 "todos": [
                     {"content": "Read test", "status": "completed", "activeForm": "Reading test"},
                     {"content": "Fix bug", "status": "in_progress", "activeForm": "Fixing bug"},
                     {"content": "Run tests", "status": "pending", "activeForm": "Running tests"},
                     {"content": "Commit", "status": "pending", "activeForm": "Committing"}]}}],
             "usage": {"input_tokens": 6, "cache_read_input_tokens": 12000, "output_tokens": 80}},
)  # fmt: skip
CLAUDE_TOOL_RESULT = line(
    type="user", session_id="9f1c",
    message={"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": "1 failed", "is_error": False}]},
)  # fmt: skip
CLAUDE_RESULT = line(
    type="result", subtype="success", is_error=False, duration_ms=48211, duration_api_ms=40100,
    num_turns=2, result="Fixed the login bug; tests pass.", session_id="9f1c",
    total_cost_usd=0.0873,
    usage={"input_tokens": 10, "cache_creation_input_tokens": 2000,
           "cache_read_input_tokens": 22000, "output_tokens": 230},
)  # fmt: skip
CLAUDE_MAX_TURNS = line(
    type="result", subtype="error_max_turns", is_error=True, num_turns=30, session_id="9f1c",
    total_cost_usd=1.2, usage={"input_tokens": 1, "output_tokens": 1},
)  # fmt: skip


def test_claude_stream_json_session() -> None:
    adapter = ClaudeStreamAdapter()
    (init,) = adapter.feed(CLAUDE_INIT)
    assert isinstance(init, Log) and "claude-sonnet-4-5" in init.message
    first_usage = TokenUsage(12004, 120, 0.0, "claude-sonnet-4-5", 10000, 2000)
    assert adapter.feed(CLAUDE_TEXT) == [
        Iteration(None, "I'll start by reading the failing test.", first_usage)
    ]
    # The same message printed again with its tool call: no new iteration, the extra
    # tokens, and the tool call itself.
    assert adapter.feed(CLAUDE_TOOL_SAME_MESSAGE) == [
        Usage(TokenUsage(0, 30, 0.0, "claude-sonnet-4-5")),
        ToolCall("Bash", "pytest -q tests/test_login.py", "started", "toolu_1"),
    ]
    iteration, tool, progress = adapter.feed(CLAUDE_TODO)
    assert isinstance(iteration, Iteration) and iteration.summary == "TodoWrite"
    assert tool == ToolCall("TodoWrite", None, "started", "toolu_2")
    assert progress == Progress(25.0, "Fixing bug")
    assert adapter.feed(CLAUDE_TOOL_RESULT) == [
        ToolCall("Bash", "pytest -q tests/test_login.py", "completed", "toolu_1")
    ]
    usage, done = adapter.feed(CLAUDE_RESULT)
    totals = TokenUsage(24010, 230, 0.0873, "claude-sonnet-4-5", 22000, 2000)
    assert usage == Usage(totals, final=True, cost_reported=True)
    assert done == Progress(100.0)


def test_claude_message_opening_with_thinking_is_summarised_by_what_follows() -> None:
    adapter = ClaudeStreamAdapter()
    thinking = line(type="assistant", message={"id": "m1", "content": [
        {"type": "thinking", "thinking": "Let me look", "signature": "x"}],
        "usage": {"input_tokens": 5, "output_tokens": 1}})  # fmt: skip
    text = line(type="assistant", message={"id": "m1", "content": [
        {"type": "text", "text": "Reading the config."}],
        "usage": {"input_tokens": 5, "output_tokens": 9}})  # fmt: skip
    assert adapter.feed(thinking) == []
    (iteration,) = adapter.feed(text)
    assert iteration == Iteration(None, "Reading the config.", TokenUsage(5, 9))
    # A message that only thought is reported when the next one (or the result) comes.
    adapter.feed(line(type="assistant", message={"id": "m2", "content": [
        {"type": "thinking", "thinking": "hmm"}]}))  # fmt: skip
    first, *_ = adapter.feed(line(type="result", subtype="success", total_cost_usd=0.1))
    assert isinstance(first, Iteration) and first.summary == "thinking"


def test_claude_error_results_and_noise() -> None:
    adapter = ClaudeStreamAdapter()
    usage, error = adapter.feed(CLAUDE_MAX_TURNS)
    assert isinstance(usage, Usage) and usage.final and usage.usage.cost_usd == 1.2
    assert error == AgentError(
        "Claude Code stopped at its turn limit (30 turns)", kind="max_iterations"
    )
    assert adapter.feed("npm WARN deprecated") == [Output("npm WARN deprecated")]
    assert adapter.feed(line(type="stream_event", event={"type": "ping"})) == [Heartbeat()]
    unknown = line(type="brand_new", x=1)
    assert adapter.feed(unknown) == [Output(unknown)]
    errors = line(type="result", subtype="error_during_execution", is_error=True,
                  errors=["Tool permission request failed", "second"])  # fmt: skip
    assert adapter.feed(errors) == [
        AgentError("Tool permission request failed; second", "agent_error")
    ]


# -- Codex: codex exec --json ----------------------------------------------------------------

CODEX = [
    line(type="thread.started", thread_id="0199a213-81c0-7800-8aa1-bbab2a035a53"),
    line(type="turn.started"),
    line(type="item.started", item={"id": "item_0", "type": "todo_list", "items": [
        {"text": "Reproduce", "completed": False}, {"text": "Fix", "completed": False}]}),
    line(type="item.completed", item={"id": "item_1", "type": "reasoning",
                                      "text": "**Looking at the failing test**"}),
    line(type="item.started", item={"id": "item_2", "type": "command_execution",
                                    "command": "bash -lc 'pytest -q'", "aggregated_output": "",
                                    "exit_code": None, "status": "in_progress"}),
    line(type="item.completed", item={"id": "item_2", "type": "command_execution",
                                      "command": "bash -lc 'pytest -q'",
                                      "aggregated_output": "1 failed", "exit_code": 1,
                                      "status": "failed"}),
    line(type="item.updated", item={"id": "item_0", "type": "todo_list", "items": [
        {"text": "Reproduce", "completed": True}, {"text": "Fix", "completed": False}]}),
    line(type="item.completed", item={"id": "item_3", "type": "file_change", "changes": [
        {"path": "src/login.py", "kind": "update"}], "status": "completed"}),
    line(type="item.completed", item={"id": "item_4", "type": "agent_message",
                                      "text": "Fixed the off-by-one in login."}),
    line(type="turn.completed", usage={"input_tokens": 24763, "cached_input_tokens": 24448,
                                       "output_tokens": 122}),
]  # fmt: skip


def test_codex_exec_json_run() -> None:
    adapter = CodexJsonAdapter()
    signals = [s for text in CODEX for s in adapter.feed(text)]
    command = "bash -lc 'pytest -q'"
    assert signals == [
        Heartbeat(),
        Heartbeat(),
        Progress(0.0),
        Heartbeat(),
        ToolCall("command", command, "started", "item_2"),
        Iteration(summary="$ bash -lc 'pytest -q' → exit 1"),
        ToolCall("command", command, "failed", "item_2"),
        Progress(50.0),
        Iteration(summary="edited src/login.py"),
        ToolCall("edit", "src/login.py", "started", "item_3"),
        ToolCall("edit", "src/login.py", "completed", "item_3"),
        Iteration(summary="Fixed the off-by-one in login."),
        # A thread total: cumulative, its cached part priced as cache reads.
        Usage(TokenUsage(24763, 122, 0.0, None, 24448), cumulative=True),
    ]


def test_codex_failures() -> None:
    adapter = CodexJsonAdapter()
    # Codex retrying is not a verdict (a run that recovers and exits 0 succeeded).
    reconnect = adapter.feed(line(type="error", message="Reconnecting... 2/5 (timed out)"))
    assert not any(isinstance(s, AgentError) for s in reconnect)
    assert reconnect == [Log("Codex: Reconnecting... 2/5 (timed out)", "warning")]
    failed = line(type="turn.failed", error={"message": "unexpected status 401 Unauthorized"})
    assert adapter.feed(failed) == [AgentError("unexpected status 401 Unauthorized", "auth")]
    # What follows restates the failure: the first reason stays the CLI's.
    assert adapter.feed(line(type="error", message="exited after turn.failed")) == [
        Log("exited after turn.failed", "warning")
    ]
    warning = line(type="item.completed", item={"id": "i", "type": "error", "message": "slow"})
    assert adapter.feed(warning) == [Log("Codex: slow", "warning")]
    usage = line(type="item.completed", item={"id": "i", "type": "error", "message": "slow"})
    assert adapter.feed(usage) == [Log("Codex: slow", "warning")]
    limit = CodexJsonAdapter().feed(line(type="error", message="You've hit your usage limit."))
    assert limit == [AgentError("You've hit your usage limit.", "usage_limit")]


def test_codex_resumed_thread_books_only_what_it_adds() -> None:
    thread = line(type="thread.started", thread_id="thread-resumed-once")
    first = CodexJsonAdapter()
    first.feed(thread)
    total = line(type="turn.completed", usage={"input_tokens": 1000, "cached_input_tokens": 400,
                                               "output_tokens": 50})  # fmt: skip
    assert first.feed(total) == [Usage(TokenUsage(1000, 50, 0.0, None, 400), cumulative=True)]
    # `codex exec resume`: the same thread, its total now includes the first session's.
    resumed = CodexJsonAdapter()
    resumed.feed(thread)
    later = line(type="turn.completed", usage={"input_tokens": 1600, "cached_input_tokens": 900,
                                               "output_tokens": 80})  # fmt: skip
    assert resumed.feed(later) == [Usage(TokenUsage(600, 30, 0.0, None, 500), cumulative=True)]
