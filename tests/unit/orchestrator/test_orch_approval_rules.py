"""Approvals on the agent side, the pure parts: the protocol line, the rules, the config."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator import ConfigError, parse_config
from parent_harness.orchestrator.adapters import HarnessAdapter
from parent_harness.orchestrator.approvals import inside, matching_rule
from parent_harness.orchestrator.config import ApprovalsConfig
from parent_harness.orchestrator.signals import ApprovalRequest, Output


def feed(**message: Any) -> Any:
    (signal,) = HarnessAdapter().feed(json.dumps(message))
    return signal


def test_an_approval_request_line() -> None:
    ask = feed(type="approval_request", id="q1", tool="Bash", summary="rm", detail="rm -rf b")
    assert ask == ApprovalRequest("permission", "rm", "Bash", "rm -rf b", ("allow", "deny"),
                                  None, "q1")  # fmt: skip
    question = feed(type="approval_request", kind="question", summary="Which DB?",
                    options=["sqlite", "postgres", "sqlite"], expires_in_s=30)  # fmt: skip
    assert (question.options, question.expires_in_s) == (("sqlite", "postgres"), 30.0)
    assert feed(type="approval_request", kind="question", summary="Name?").options == ()
    assert feed(type="approval_request", tool="Edit").summary == "Edit"


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "vote"},
        {"options": "allow"},
        {"options": ["allow", ""]},
        {"detail": ["not", "text"]},
    ],
)
def test_a_malformed_request_is_output_not_a_silent_wait(bad: dict[str, Any]) -> None:
    assert isinstance(feed(type="approval_request", **bad), Output)


def rules(*tables: dict[str, Any]) -> ApprovalsConfig:
    return ApprovalsConfig.model_validate({"rules": list(tables)})


def test_the_first_matching_rule_decides(tmp_path: Path) -> None:
    config = rules(
        {"name": "no-force-push", "tool": "Bash", "detail": r"git\s+push\s+.*--force",
         "decision": "deny", "answer": "never force-push"},
        {"name": "reads", "tool": "Read", "decision": "allow"},
        {"name": "edits-here", "tool": "Edit", "inside_workspace": True, "decision": "allow"},
        {"name": "plans", "kind": "plan", "decision": "ask"},
    )  # fmt: skip
    ws = str(tmp_path)

    def decide(**approval: Any) -> str | None:
        rule = matching_rule(config.rules, {"kind": "permission", **approval}, ws)
        return None if rule is None else rule.name

    assert decide(tool="Bash", detail="git push origin main --force") == "no-force-push"
    assert decide(tool="Bash", detail="git push origin main") is None
    assert decide(tool="Read", detail="/etc/passwd") == "reads"
    assert decide(tool="Edit", detail="src/app.py") == "edits-here"
    assert decide(tool="Edit", detail=f"{ws}/src/app.py") == "edits-here"
    assert decide(tool="Edit", detail="../elsewhere/app.py") is None
    assert decide(tool="Edit", detail="/etc/hosts") is None
    assert decide(kind="plan", tool=None) == "plans"
    assert matching_rule(config.rules, {"tool": "Edit", "detail": "a.py"}, None) is None


def test_inside_resolves_dots_and_links(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "out").symlink_to(tmp_path)
    ws = str(tmp_path / "ws")
    assert inside("a/b.py", ws) and inside("./a/../b.py", ws)
    assert not inside("a/../../b.py", ws)
    assert not inside("out/secret", ws)  # a link out of the workspace
    assert not inside("", ws) and not inside("a\nb", ws)


@pytest.mark.parametrize(
    ("approvals", "message"),
    [
        ({"rules": [{"name": "bad", "detail": "([a-z", "decision": "deny"}]},
         "rule 'bad': detail '([a-z' is not a regular expression"),
        ({"rules": [{"name": "x", "decision": "maybe"}]}, "approvals.rules.0.decision"),
        ({"rules": [{"name": "x", "decision": "allow"}, {"name": "x", "decision": "deny"}]},
         "two rules are named 'x'"),
        ({"timeout_s": 0}, "approvals.timeout_s"),
        ({"remind_after": 3}, "approvals.remind_after"),
    ],
)  # fmt: skip
def test_bad_approvals_tables_are_named(approvals: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_config({"agents": {"a": {"command": "x"}}, "approvals": approvals}, Path("."))


def test_defaults() -> None:
    config = parse_config({"agents": {"a": {"command": "x"}}}, Path(".")).approvals
    assert (config.timeout_s, config.default, config.remind_after_s, config.rules) == (
        900.0, "deny", 300.0, []
    )  # fmt: skip


def test_the_documented_examples_are_valid() -> None:
    """The commented [approvals] of harness.example.toml and the one of
    docs/configuration.md, uncommented, load."""
    root = Path(__file__).parents[3]
    example = (root / "harness.example.toml").read_text()
    start = example.index("[approvals]")
    table = example[start : example.index("[retry]", start)]
    uncommented = "\n".join(
        line.removeprefix("# ")
        for line in table.splitlines()
        if re.match(r"(# )?(\[|\w+ = )", line)  # settings, and settings commented out
    )
    docs = (root / "docs" / "configuration.md").read_text()
    section = docs[docs.index("### [[approvals.rules]]") :]
    block = section[
        section.index("```toml\n") + 8 : section.index("```\n", section.index("```toml"))
    ]
    for text in (uncommented, block):
        data = tomllib.loads(text)
        config = parse_config({"agents": {"a": {"command": "x"}}, **data}, Path("."))
        assert config.approvals.rules and config.approvals.default == "deny"
    hook_lines = [line.removeprefix("# ").split("#")[0] for line in example.splitlines()
                  if line.startswith(("# approval_hook", "# approval_tools"))]  # fmt: skip
    claude = tomllib.loads("\n".join(hook_lines))
    agent = {"command": "claude -p", "adapter": "claude-stream-json", **claude}
    parsed = parse_config({"agents": {"claude": agent}}, Path(".")).agents["claude"]
    assert parsed.approval_hook == "PreToolUse"
