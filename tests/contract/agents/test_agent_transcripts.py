"""One contract for every adapter, over recorded transcripts (tests/fixtures/agents/).

Each transcript is printed by a real subprocess that exits with the code the CLI
exited with; a real :class:`SessionRun` reads it through the agent's adapter and
publishes to a hub that checks every event against the catalogue. Asserted per
transcript: the verdict (and ``error_details.kind`` and the CLI's own reason),
iterations, tool calls (tool and target, as ``session:tool`` events), tokens in,
out and cached, and the cost: the CLI's own when it reports one, else the price
table's estimate (a model missing from the table is a warning on the session).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator.config import AgentConfig, RunnerConfig
from parent_harness.orchestrator.publisher import FleetPublisher
from parent_harness.orchestrator.session import SessionRun
from parent_harness.orchestrator.signals import TokenUsage
from tests.integration.orchestrator.support import FakeHub

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agents"

ADAPTERS = {
    "claude": "claude-stream-json",
    "codex": "codex-json",
    "gemini": "gemini-stream-json",
    "cursor": "cursor-stream-json",
    "amp": "amp-stream-json",
    "opencode": "opencode-json",
}


@dataclass(frozen=True)
class Expect:
    """What one transcript must give."""

    exit_code: int = 0
    kind: str | None = None
    """``error_details.kind``; None: the run completed."""
    reason: str | None = None
    """A piece of ``error_details.message``: the CLI's own words."""
    iterations: int = 0
    tools: tuple[tuple[str, str | None, str], ...] = ()
    """Each ``session:tool`` event: (tool, target, status), in order."""
    tokens: tuple[int, int, int, int] = (0, 0, 0, 0)
    """The session's tokens: input (cache included), output, cache read, cache write."""
    cost: float = 0.0
    unpriced: bool = False
    """True when the model is not in the price table: a warning, cost 0."""
    agent: dict[str, Any] = field(default_factory=dict)
    """The agent's configuration beyond its command and adapter."""
    transcript: str | None = None
    """Another case's transcript, replayed with another configuration."""
    warnings: tuple[str, ...] = ()
    """Pieces of the warning events the run must give (a retry the CLI reported)."""


AT_ZERO = "a spending cap does not see them"
"""OpenCode's $0 for a model its list has no cost for: said once a session."""

SONNET_FLAT = {"price": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}

CASES: dict[str, Expect] = {
    "claude/opus_cache_write": Expect(
        iterations=1, tokens=(21580, 25, 0, 21570), cost=0.1354875, agent=SONNET_FLAT
    ),
    # A real Claude Code 2.1.34 run: the tool_use comes on the second line of its message.
    # Priced from the table meanwhile, the result's total is the truth.
    "claude/read_tool_same_message": Expect(
        iterations=2,
        tools=(
            ("Read", "/home/user/merlin/merlin-bot/merlin.py", "started"),
            ("Read", "/home/user/merlin/merlin-bot/merlin.py", "completed"),
        ),
        tokens=(56139, 94, 44467, 11668),
        cost=0.0975285,
    ),
    # Claude's result is the truth: it corrects the live estimate down (the flat price of
    # docs/agents.md prices cache reads at the full input rate), and it counts the
    # auxiliary model of modelUsage.
    "claude/multiline_cache_heavy": Expect(
        iterations=3,
        tools=(
            ("Bash", "pytest -q tests/test_login.py", "started"),
            ("Bash", "pytest -q tests/test_login.py", "completed"),
            ("Edit", "src/login.py", "started"),
            ("Edit", "src/login.py", "completed"),
        ),
        tokens=(58557, 300, 56700, 1500),
        cost=0.027106,
        agent=SONNET_FLAT,
    ),
    "claude/error_during_execution": Expect(
        exit_code=1,
        kind="agent_error",
        reason="Permission denied: cannot write to /root/secret.txt",
        tokens=(40, 12, 0, 0),
        cost=0.001,
    ),
    "claude/max_turns": Expect(
        exit_code=1,
        kind="max_iterations",
        reason="turn limit",
        iterations=1,
        tools=(("Read", "README.md", "started"),),
        tokens=(12004, 30, 12000, 0),
        cost=0.00411,
    ),
    # A real result with a cost but no usage: the cost is booked, the reason is the CLI's.
    "claude/max_turns_live": Expect(
        exit_code=1,
        kind="max_iterations",
        reason="Reached maximum number of turns (1)",
        cost=0.254125,
    ),
    # A retried request (401) is not the end: the run completes; modelUsage is the truth.
    "claude/api_retry_then_success": Expect(
        iterations=2,
        tools=(
            ("Read", "/tmp/nanopy-agent-event-probe.ktOr9V/probe.txt", "started"),
            ("Read", "/tmp/nanopy-agent-event-probe.ktOr9V/probe.txt", "completed"),
        ),
        tokens=(920 + 4 + 5015 + 2651, 12 + 98, 5015, 2651),
        cost=0.032467499999999996,
        unpriced=True,  # claude-opus-5 is not in the table: the live estimate says so
        warnings=("retries its API request: attempt 1 of 10, HTTP 401, authentication_failed",),
    ),
    # A subscription's session limit after 29 turns: a usage limit (HTTP 429), with its cost.
    "claude/session_limit_429": Expect(
        exit_code=1,
        kind="usage_limit",
        reason="You've hit your session limit · resets 9:20pm (Europe/Moscow)",
        tokens=(47 + 25417 + 3862884, 8243, 3862884, 25417),
        cost=2.391922,
    ),
    "claude/auth_invalid_key": Expect(
        exit_code=1, kind="auth", reason="Invalid API key", iterations=1
    ),
    # Codex: "Reconnecting..." is transient; usage is the thread's total with its cached part.
    "codex/reconnect_then_success": Expect(
        iterations=4,
        tools=(
            ("command", "...", "started"),
            ("command", "...", "completed"),
            ("command", "...", "started"),
            ("command", "...", "completed"),
        ),
        tokens=(53424, 395, 34304, 0),
        cost=(19120 * 1.25 + 34304 * 0.125 + 395 * 10.0) / 1e6,
        agent={"model": "gpt-5-codex"},
        warnings=("Reconnecting... 2/5", "Reconnecting... 3/5"),
    ),
    "codex/auth_401": Expect(
        exit_code=1,
        kind="auth",
        reason="401 Unauthorized: Incorrect API key provided",
        agent={"model": "gpt-5-codex"},
    ),
    "codex/model_unsupported": Expect(
        exit_code=1,
        kind="agent_error",
        reason="model is not supported when using Codex with a ChatGPT account",
        agent={"model": "gpt-5-codex"},
    ),
    # Real Codex runs: a command (0.149.0, reasoning tokens inside output_tokens) and an MCP
    # tool call (0.156.1), each then the agent's message.
    "codex/cat_probe_0_149": Expect(
        iterations=2,
        tools=(
            ("command", "/usr/bin/zsh -lc 'cat probe.txt'", "started"),
            ("command", "/usr/bin/zsh -lc 'cat probe.txt'", "completed"),
        ),
        tokens=(31003, 135, 19968, 0),
        cost=((31003 - 19968) * 1.25 + 19968 * 0.125 + 135 * 10.0) / 1e6,
        agent={"model": "gpt-5-codex"},
    ),
    "codex/mcp_tool_0_156": Expect(
        iterations=2,
        tools=(("forge.secret_word", None, "started"), ("forge.secret_word", None, "completed")),
        tokens=(36960, 84, 29952, 0),
        cost=((36960 - 29952) * 1.25 + 29952 * 0.125 + 84 * 10.0) / 1e6,
        agent={"model": "gpt-5-codex"},
    ),
    "codex/legacy_msg": Expect(
        iterations=3,
        tools=(
            ("command", "bash -lc 'pytest -q'", "started"),
            ("command", "bash -lc 'pytest -q'", "failed"),
            ("edit", "src/login.py", "started"),
            ("edit", "src/login.py", "completed"),
        ),
        tokens=(20480, 512, 16384, 0),
        cost=(4096 * 1.25 + 16384 * 0.125 + 512 * 10.0) / 1e6,
        agent={"model": "gpt-5-codex"},
    ),
    "codex/legacy_item_type": Expect(
        iterations=2,
        tools=(
            ("command", "bash -lc 'pytest -q'", "started"),
            ("command", "bash -lc 'pytest -q'", "completed"),
        ),
        tokens=(9000, 210, 4096, 0),
        cost=(4904 * 1.25 + 4096 * 0.125 + 210 * 10.0) / 1e6,
        agent={"model": "gpt-5-codex"},
    ),
    "gemini/auth_invalid_key": Expect(exit_code=144, kind="auth", reason="API_KEY_INVALID"),
    "gemini/tool_success": Expect(
        iterations=2,
        tools=(
            ("run_shell_command", "ls", "started"),
            ("run_shell_command", "ls", "completed"),
        ),
        tokens=(26928, 87, 0, 0),
        unpriced=True,
    ),
    # Non-JSON warnings before the JSON lines; a tool the CLI called on its own; two models
    # (priced as the one that used most tokens, which the table lacks).
    "gemini/warnings_then_tool": Expect(
        iterations=2,
        tools=(("update_topic", None, "started"), ("update_topic", None, "completed")),
        tokens=(33651, 151, 11879, 0),
        unpriced=True,
    ),
    # A real tool call the CLI refused (a path outside the workspace), named by dir_path.
    "gemini/tool_refused": Expect(
        iterations=1,
        tools=(("list_directory", "/tmp", "started"), ("list_directory", "/tmp", "failed")),
        tokens=(26512, 156, 6329, 0),
        unpriced=True,
    ),
    "gemini/turn_limit": Expect(
        exit_code=53,
        kind="max_iterations",
        reason="turn limit",
        iterations=2,
        tools=(
            ("read_file", "/work/app/src/parser.py", "started"),
            ("read_file", "/work/app/src/parser.py", "completed"),
            ("replace", "/work/app/src/parser.py", "started"),
            ("replace", "/work/app/src/parser.py", "failed"),
        ),
        tokens=(3900, 300, 1024, 0),
        cost=(2876 * 0.3 + 1024 * 0.03 + 300 * 2.5) / 1e6,
    ),
    # Cursor's inputTokens leave the cache out (tools_reconnect: 115 input, 19776 read).
    "cursor/pong_usage": Expect(iterations=1, tokens=(7175 + 6048, 39, 6048, 0), unpriced=True),
    "cursor/ready_thinking": Expect(
        iterations=1, tokens=(18197 + 2304, 40, 2304, 0), unpriced=True
    ),
    # Real tool calls named by their key, one without a "started" line, then a dropped
    # connection and a retry (lines of types the adapter does not know: output).
    "cursor/tools_reconnect": Expect(
        tools=(
            ("glob", "**/app.ts", "started"),
            ("glob", "**/app.ts", "completed"),
            ("edit", "/tmp/cursor-probe/note.txt", "completed"),
            ("read", "/tmp/cursor-probe/app.ts", "completed"),
        ),
        tokens=(115 + 19776, 18, 19776, 0),
        unpriced=True,
        warnings=("connection reconnecting (attempt 1)", "retry starting (attempt 1)"),
    ),
    "cursor/tool_call_success": Expect(
        iterations=1,
        tools=(
            ("read", "/home/user/project/README.md", "started"),
            ("read", "/home/user/project/README.md", "completed"),
        ),
    ),
    "cursor/upstream_error": Expect(
        exit_code=1, kind="agent_error", reason="Request failed due to upstream error."
    ),
    "amp/tool_success": Expect(
        iterations=3,
        tools=(
            ("Bash", "pytest -q", "started"),
            ("Bash", "pytest -q", "completed"),
            ("edit_file", "/work/app/src/login.py", "started"),
            ("edit_file", "/work/app/src/login.py", "completed"),
        ),
        tokens=(27424, 152, 18200, 9200),
        unpriced=True,  # Amp names no model: without the agent's own, no price
    ),
    # A real 12-turn Amp run: every tool call, a failing command among them (its result
    # is not flagged as an error: Amp reports exitCode 1 inside a successful tool result).
    "amp/elicit_tools": Expect(
        iterations=12,
        tools=tuple(
            (tool, target, status)
            for tool, target in (
                ("skill", None),
                ("shell_command", "ls -la"),
                ("apply_patch", None),
                ("shell_command", "cat notes.md"),
                ("apply_patch", None),
                ("shell_command", "find . -maxdepth 1 -name 'note*'"),
                ("shell_command", "rg -n 'fixture' ."),
                ("shell_command", "cat does-not-exist.txt"),
                ("apply_patch", None),
                ("shell_command", "bash count.sh"),
                ("Task", "Count the words in `notes.md` and report the number."),
            )
            for status in ("started", "completed")
        ),
        tokens=(
            16954
            + 1146
            + 16951
            + 225
            + 18094
            + 468
            + 18316
            + 157
            + 18781
            + 474
            + 18935
            + 155
            + 19406
            + 184
            + 19558
            + 176
            + 19739
            + 502
            + 19912
            + 183
            + 20411
            + 134
            + 20591,
            117 + 142 + 112 + 119 + 112 + 128 + 149 + 139 + 143 + 150 + 111 + 115,
            16951 + 18094 + 18316 + 18781 + 18935 + 19406 + 19558 + 19739 + 19912 + 20411 + 20591,
            16954 + 1146 + 225 + 468 + 157 + 474 + 155 + 184 + 176 + 502 + 183 + 134,
        ),
        unpriced=True,
    ),
    "amp/no_paid_credits": Expect(
        exit_code=1,
        kind="usage_limit",
        reason="Execute mode (amp -x) and the Amp SDK require paid credits",
    ),
    "amp/prompt_too_long": Expect(exit_code=1, kind="agent_error", reason="Prompt is too long"),
    "amp/two_plus_two": Expect(iterations=1, tokens=(14019, 13, 14009, 3), unpriced=True),
    # With the agent's model named, the price table prices Amp's tokens.
    "amp/priced_by_agent_model": Expect(
        iterations=1,
        tokens=(14019, 13, 14009, 3),
        cost=(7 * 3.0 + 14009 * 0.3 + 3 * 3.75 + 13 * 15.0) / 1e6,
        agent={"model": "claude-sonnet-4-5"},
        transcript="amp/two_plus_two",
    ),
    "amp/error_during_execution": Expect(
        exit_code=1,
        kind="usage_limit",
        reason="Out of free credits",
        iterations=1,
        tools=(
            ("Read", "/work/app/README.md", "started"),
            ("Read", "/work/app/README.md", "failed"),
        ),
        tokens=(10, 20, 0, 0),
        unpriced=True,
    ),
    "amp/max_turns": Expect(
        exit_code=1,
        kind="max_iterations",
        reason="Reached the maximum number of turns",
        iterations=1,
        tokens=(4006, 9, 4000, 0),
        unpriced=True,
    ),
    "opencode/bash_two_steps": Expect(
        iterations=2,
        tools=(("bash", "echo hello", "completed"),),
        tokens=(21772 + 671 + 21415, 118, 21415, 0),
        cost=0.001,
    ),
    "opencode/api_timeout": Expect(
        exit_code=1,
        kind="agent_error",
        reason="Upstream timeout while calling provider",
        iterations=1,
        tools=(("bash", "rg --version", "completed"),),
        tokens=(534, 128 + 64, 0, 0),  # reasoning tokens are output
        cost=0.0123,
    ),
    "opencode/rate_limited": Expect(exit_code=1, kind="usage_limit", reason="Rate limit exceeded"),
    # Real OpenCode runs: cost 0 is OpenCode's own figure (its price list for the model);
    # reasoning tokens are output tokens.
    "opencode/pong_1_17": Expect(iterations=1, tokens=(9409, 3, 0, 0), warnings=(AT_ZERO,)),
    "opencode/bash_then_done_1_17": Expect(
        iterations=2,
        tools=(("bash", "echo hello", "completed"),),
        tokens=(74 + 9344 + 22 + 9472, 44 + 18 + 2, 9344 + 9472, 0),
        warnings=(AT_ZERO,),
    ),
    "opencode/read_probe_1_18": Expect(
        iterations=2,
        tools=(("read", "/tmp/nanopy-agent-event-probe.ktOr9V/probe.txt", "completed"),),
        tokens=(7952 + 397 + 7680, 35 + 24 + 16 + 20, 7680, 0),
        warnings=(AT_ZERO,),
    ),
    "opencode/reasoning_ready_1_18": Expect(
        iterations=1, tokens=(6244 + 1792, 44, 1792, 0), warnings=(AT_ZERO,)
    ),
    # OpenCode exits 0 after a session error: the error line fails the run.
    "opencode/invalid_model_exit0": Expect(
        kind="agent_error", reason="Model not found: nonexistent/nonexistent."
    ),
    # OpenCode 1.14.50 prints two errors for one failure and exits 1: the first says why.
    "opencode/invalid_model_two_errors": Expect(
        exit_code=1, kind="agent_error", reason="Model not found: nonexistent/nonexistent."
    ),
    "opencode/auth_401": Expect(
        kind="auth", reason="Failed to get direct access token: 401 Unauthorized"
    ),
}


def test_every_transcript_has_a_case_and_a_source() -> None:
    found = {f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.jsonl")}
    assert found == {case.transcript or name for name, case in CASES.items()}
    for name in found:
        source = (FIXTURES / f"{name}.source").read_text()
        assert "kind:" in source and "source:" in source and "edit:" in source, name
    for cli in ADAPTERS:
        recorded = [
            n
            for n in found
            if n.startswith(cli + "/")
            and _real((FIXTURES / f"{n}.source").read_text().splitlines()[0])
        ]
        assert len(recorded) >= 3, f"{cli}: {len(recorded)} real recordings"


def _real(kind_line: str) -> bool:
    """A `kind:` line of a real run (edited by its source or not; a guess is not one)."""
    return kind_line.startswith("kind: recording") and "probably" not in kind_line


@dataclass
class Run:
    hub: FakeHub
    session: SessionRun
    failure: Any

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [dict(e.payload) for e in self.hub.of_type(type_)]


async def replay(name: str, expect: Expect, tmp_path: Path) -> Run:
    """The transcript printed by a real process, read by a real session."""
    cli = name.split("/")[0]
    script = "import sys; sys.stdout.write(open(sys.argv[1]).read()); sys.exit(int(sys.argv[2]))"
    transcript = str(FIXTURES / f"{expect.transcript or name}.jsonl")
    agent = AgentConfig.model_validate(
        {
            "name": cli,
            "command": [sys.executable, "-c", script, transcript, str(expect.exit_code)],
            "adapter": ADAPTERS[cli],
            "workdir": str(tmp_path),
            **expect.agent,
        }
    )
    hub = FakeHub()

    async def on_usage(run: SessionRun, spent: TokenUsage) -> None:
        return None

    session = SessionRun(
        agent=agent,
        task={"id": "t-1", "title": "fix the login test", "description": ""},
        session_id="s-1",
        attempt=1,
        publisher=FleetPublisher(hub),
        on_usage=on_usage,
        suite=None,
        runner=RunnerConfig(publish_interval_s=30.0),
    )
    outcome = await session.run()
    assert not hub.refused, hub.refused
    return Run(hub, session, outcome.failure)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_transcript(name: str, tmp_path: Path) -> None:
    expect = CASES[name]
    run = await replay(name, expect, tmp_path)

    if expect.kind is None:
        assert run.failure is None, run.failure
    else:
        assert run.failure is not None, "the run should have failed"
        assert run.failure.kind == expect.kind, run.failure
        assert expect.reason is not None and expect.reason in run.failure.message
        assert run.failure.exit_code == expect.exit_code

    assert run.session.iteration == expect.iterations
    tools = [(e["tool"], e["target"], e["status"]) for e in run.of("session:tool")]
    assert tools == list(expect.tools)
    for event in run.of("session:tool"):
        assert event["session_id"] == "s-1" and event["agent_id"] == name.split("/")[0]

    usage = run.session.usage
    tokens = (usage.input, usage.output, usage.cache_read, usage.cache_write)
    assert tokens == expect.tokens
    assert usage.cost_usd == pytest.approx(expect.cost, abs=1e-6)
    (ended,) = run.of("session:ended")
    assert ended["session"]["token_usage"]["cost_usd"] == pytest.approx(expect.cost, abs=1e-6)

    warnings = [
        e["event"]["message"]
        for e in run.of("event")
        if e["event"]["level"] == "warning" and "price" in e["event"]["message"]
    ]
    assert bool(warnings) == expect.unpriced, warnings
    said = [e["event"]["message"] for e in run.of("event") if e["event"]["level"] == "warning"]
    for piece in expect.warnings:
        assert any(piece in message for message in said), (piece, said)


@pytest.mark.parametrize("cli", sorted(ADAPTERS))
async def test_noise_never_crashes_or_fails_a_run(cli: str, tmp_path: Path) -> None:
    """Unknown line types and non-JSON lines are output: the run still completes."""
    noise = tmp_path / "noise.jsonl"
    noise.write_text(
        'plain text\n{not json\n[1, 2]\n"a string"\n'
        '{"type": "something.new", "payload": 1}\n{"no_type": true}\n{"type": 7}\n'
        '{"type": "assistant", "message": "not an object"}\n'
        '{"type": "result", "usage": [1], "modelUsage": 3, "stats": "x", "part": null}\n'
        '{"type": "item.completed", "item": {"type": "command_execution", "command": 5}}\n'
        '{"type": "tool_use", "parameters": 3}\n{"type": "tool_call", "tool_call": []}\n'
        '{"type": "step_finish", "part": {"tokens": "many", "cost": "lots"}}\n'
    )
    script = "import sys; sys.stdout.write(open(sys.argv[1]).read())"
    agent = AgentConfig.model_validate(
        {
            "name": cli,
            "command": [sys.executable, "-c", script, str(noise)],
            "adapter": ADAPTERS[cli],
            "workdir": str(tmp_path),
        }
    )
    hub = FakeHub()

    async def on_usage(run: SessionRun, spent: TokenUsage) -> None:
        return None

    session = SessionRun(
        agent=agent,
        task={"id": "t-1", "title": "t", "description": ""},
        session_id="s-1",
        attempt=1,
        publisher=FleetPublisher(hub),
        on_usage=on_usage,
        suite=None,
        runner=RunnerConfig(publish_interval_s=30.0),
    )
    outcome = await session.run()
    assert outcome.failure is None, outcome.failure
    assert "plain text" in session.output_tail and "something.new" in session.output_tail
    assert not hub.refused


# What CLIs print on stderr before a non-zero exit, with nothing on stdout: the last line
# decides the kind when it names a usage limit or a refused key.
STDERR_CASES = {
    # Cursor CLI, captured 14 September 2026 (index file id 69070877321): exit 1.
    "cursor out of usage": (
        "cursor",
        [
            "ActionRequiredError: Increase limits for faster responses You're out of usage. "
            "Switch to Auto, or ask your admin to increase your limit to continue."
        ],
        "usage_limit",
    ),
    # Amp execute mode without paid credits, as observed (index file id 53812048291).
    "amp paid credits": (
        "amp",
        [
            "Error: 402 Execute mode (amp -x) and the Amp SDK require paid credits and cannot use "
            "Amp Free in non-interactive contexts. Add credits at https://ampcode.com/pay to "
            "continue."
        ],
        "usage_limit",
    ),
    # Written here: a line that only mentions credentials is not a refusal, and another
    # failure keeps the plain verdict.
    "gemini credentials loaded": ("gemini", ["Loaded cached credentials."], "nonzero_exit"),
    "gemini other error": (
        "gemini",
        ["Loaded cached credentials.", "Error when talking to Gemini API"],
        "nonzero_exit",
    ),
}


@pytest.mark.parametrize("name", sorted(STDERR_CASES))
async def test_the_last_stderr_line_decides_a_nonzero_exit(name: str, tmp_path: Path) -> None:
    cli, lines, kind = STDERR_CASES[name]
    script = "import sys; sys.stderr.write(sys.argv[1]); sys.exit(1)"
    agent = AgentConfig.model_validate(
        {
            "name": cli,
            "command": [sys.executable, "-c", script, "".join(f"{x}\n" for x in lines)],
            "adapter": ADAPTERS[cli],
            "workdir": str(tmp_path),
        }
    )
    hub = FakeHub()

    async def on_usage(run: SessionRun, spent: TokenUsage) -> None:
        return None

    session = SessionRun(
        agent=agent,
        task={"id": "t-1", "title": "t", "description": ""},
        session_id="s-1",
        attempt=1,
        publisher=FleetPublisher(hub),
        on_usage=on_usage,
        suite=None,
        runner=RunnerConfig(publish_interval_s=30.0),
    )
    outcome = await session.run()
    assert outcome.failure is not None and outcome.failure.kind == kind, outcome.failure
    assert outcome.failure.exit_code == 1
    if kind != "nonzero_exit":
        assert lines[-1] in outcome.failure.message
