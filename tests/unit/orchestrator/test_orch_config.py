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
    assert claude.stdin == "prompt" and "{prompt}" not in claude.command
    assert config.budget.on_limit == "pause"
    assert config.tests.command == ("pytest", "-q") and not config.tests.allow_task_commands
    assert config.tests.suites["docs"].command == ("pytest", "-q", "tests/test_docs.py")
    assert (config.tasks[0].agent, config.tasks[0].test_suite) == ("claude", "docs")


def minimal(**extra: object) -> dict[str, object]:
    return {"agents": {"a": {"command": "echo -- {prompt}"}}, **extra}


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
        (minimal(tasks=[{"title": "t", "test_suite": "e2e"}]), "unknown test suite 'e2e'"),
        (
            minimal(tasks=[{"title": "t", "test_command": "pytest"}]),
            "tasks.0: test_command: a task names a suite instead; define it as [tests.NAME] "
            'command = [...] and write test_suite = "NAME"',
        ),
        (minimal(tasks=[{"title": "t", "id": "../x"}]), "tasks.0.id: '../x': a task id is"),
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


# -- a task's text is never an option ------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "claude -p {prompt} --verbose",
        ["codex", "exec", "{prompt}"],
        ["tool", "{title}"],
        ["tool", "{description}-and-more"],
        ["tool", "--message", "{title}", "--", "x"],
    ],
)
def test_a_word_starting_with_task_text_before_the_end_of_options_is_refused(
    command: object,
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"agents": {"a": {"command": command}}}, Path("/srv"))
    message = str(caught.value)
    assert message.startswith("agents.a: command: the word '{")
    assert "after '--'" in message and 'stdin = "prompt"' in message


@pytest.mark.parametrize(
    "command",
    [
        ["codex", "exec", "--json", "--", "{prompt}"],
        "tool --title={title} -- {description}",
        ["tool", "--task", "{task_id}", "prompt:{prompt}"],
        ["claude", "-p", "--max-turns", "{max_iterations}"],
    ],
)
def test_task_text_after_the_end_of_options_or_inside_a_word_is_accepted(command: object) -> None:
    parse_config({"agents": {"a": {"command": command}}}, Path("/srv"))


def test_a_workdir_is_never_made_of_task_text() -> None:
    data = {"agents": {"a": {"command": "x", "workdir": "work/{title}"}}}
    with pytest.raises(ConfigError, match=r"workdir: \{title\} is a task's text, not a path"):
        parse_config(data, Path("/srv"))


# -- [tests]: the default suite and named ones ----------------------------------------------


def test_suites_are_argv_the_default_and_named_ones() -> None:
    tests = {
        "command": "pytest -q 'tests/a b'",
        "timeout_s": 60,
        "junit_xml": "report.xml",
        "unit": {"command": ["pytest", "tests/unit"]},
        "e2e": {"command": "npm test", "timeout_s": 600, "junit_xml": None},
    }
    config = parse_config(minimal(tests=tests), Path("/srv")).tests
    assert config.default is not None
    assert config.default.command == ("pytest", "-q", "tests/a b")
    unit, e2e = config.suites["unit"], config.suites["e2e"]
    assert (unit.command, unit.timeout_s, unit.junit_xml) == (
        ("pytest", "tests/unit"),
        60,
        "report.xml",
    )
    assert (e2e.command, e2e.timeout_s, e2e.junit_xml) == (("npm", "test"), 600, None)
    assert config.allow_task_commands is False


def test_no_tests_by_default() -> None:
    tests = parse_config(minimal(), Path("/srv")).tests
    assert tests.default is None and tests.suites == {} and not tests.allow_task_commands


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ({"command": "pytest && ruff check"}, "tests.command: '&&' is shell syntax"),
        ({"command": "pytest -q > out.txt"}, "'>' is shell syntax"),
        ({"command": "CI=1 pytest"}, "the variable assignment 'CI=1' is shell syntax"),
        ({"unit": {"command": "pytest | tee log"}}, "tests.unit.command: '|' is shell"),
        ({"command": []}, "a test command is a non-empty list of words"),
        ({"command": "pytest 'unclosed"}, "No closing quotation"),
        (
            {"unit": "pytest"},
            "unit = 'pytest' is not a key of [tests]; a named suite is a "
            "table: [tests.unit] command = [...]",
        ),
        ({"unit": {}}, "tests.unit.command: Field required"),
        ({"unit": {"command": ["x"], "cmd": 1}}, "tests.unit.cmd: Extra inputs"),
        ({"my suite": {"command": ["x"]}}, "[tests.my suite]: a suite name is"),
        ({"command": 5}, "tests.command: a test command is a non-empty list of words"),
    ],
)
def test_wrong_suite_shapes_are_named(tests: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(tests=tests), Path("/srv"))
    assert message in str(caught.value)
