"""harness.toml: the example validates, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from parent_harness.orchestrator import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).parents[3] / "harness.example.toml"


def test_the_commented_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert set(config.agents) == {"claude", "codex"}
    claude = config.agents["claude"]
    assert claude.adapter == "claude-stream-json" and claude.max_instances == 2
    assert claude.workdir == str(EXAMPLE.parent)
    assert config.budget.on_limit == "pause" and config.tests.command == "pytest -q"
    assert config.tasks[0].agent == "claude"


def minimal(**extra: object) -> dict[str, object]:
    return {"agents": {"a": {"command": "echo {prompt}"}}, **extra}


def test_the_notify_table_is_kept_for_the_notifications() -> None:
    table = {"telegram": {"bot_token": "t", "chat_ids": ["1"]}}
    assert parse_config(minimal(notify=table), Path("/srv")).notify == table


def test_defaults() -> None:
    config = parse_config(minimal(), Path("/srv"))
    agent = config.agents["a"]
    assert (agent.name, agent.workdir, agent.adapter) == ("a", "/srv", "harness")
    assert agent.health.kill_on_stuck is False
    assert config.retry.on_interrupted == "requeue"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"agents": {}}, "at least one agent"),
        (minimal(budget={"limit_usd": 3}), "budget.limit_usd: Extra inputs are not permitted"),
        ({"agents": {"a": {"command": "x {promt}"}}}, "unknown placeholder(s) promt"),
        ({"agents": {"a": {"command": "x", "adapter": "gpt"}}}, "agents.a.adapter"),
        (minimal(tasks=[{"title": "t", "agent": "b"}]), "names unknown agent 'b'"),
        (
            {
                "agents": {
                    "a": {"command": "x", "health": {"stale_after_s": 9, "crashed_after_s": 5}}
                }
            },
            "crashed_after_s must be greater than stale_after_s",
        ),
    ],
)
def test_mistakes_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(data, Path("/srv"))
    assert message in str(caught.value)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "harness.toml")
    broken = tmp_path / "harness.toml"
    broken.write_text("[agents\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
