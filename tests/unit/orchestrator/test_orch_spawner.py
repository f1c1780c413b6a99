"""Handing a task to an agent: argv, environment, stdin, and the task's id on the filesystem."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from parent_harness.orchestrator import ConfigError, parse_config
from parent_harness.orchestrator.admission import TaskRefused
from parent_harness.orchestrator.spawner import (
    AgentProcess,
    HubAccess,
    Invocation,
    build_invocation,
)

TASK = {"id": "t-1", "title": 'Fix it; rm -rf / "now"', "description": "Details here"}


def agent(**fields: object):  # type: ignore[no-untyped-def]
    data = {"agents": {"coder": {"command": "tool --task {task_id} -p -- {prompt}", **fields}}}
    return parse_config(data, Path("/work")).agents["coder"]


def test_each_word_is_filled_in_without_a_shell() -> None:
    invocation = build_invocation(agent(), TASK, "s-9", 2)
    assert invocation.argv == [
        "tool",
        "--task",
        "t-1",
        "-p",
        "--",
        'Fix it; rm -rf / "now"\n\nDetails here',
    ]
    assert invocation.cwd == Path("/work")
    assert invocation.stdin is None
    assert invocation.display.startswith("tool --task t-1 -p -- 'Fix it;")


def test_environment_and_config_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SECRET_FOR_TEST", "s3cret")
    invocation = build_invocation(
        agent(env={"API_KEY": "${SECRET_FOR_TEST}"}, inherit_env=False), TASK, "s-9", 2
    )
    env = invocation.env
    assert env["API_KEY"] == "s3cret"
    assert "SECRET_FOR_TEST" not in env  # not inherited
    assert (env["HARNESS_TASK_ID"], env["HARNESS_SESSION_ID"], env["HARNESS_ATTEMPT"]) == (
        "t-1", "s-9", "2",
    )  # fmt: skip
    assert env["HARNESS_MAX_ITERATIONS"] == "50" and env["HARNESS_AGENT"] == "coder"


def test_stdin_modes_and_templated_workdir() -> None:
    prompt = build_invocation(agent(stdin="prompt", prompt_template="Do: {title}"), TASK, "s", 1)
    assert prompt.stdin == b'Do: Fix it; rm -rf / "now"'
    as_json = build_invocation(agent(stdin="json", workdir="/tmp/w/{task_id}"), TASK, "s", 1)
    assert as_json.cwd == Path("/tmp/w/t-1")
    assert json.loads(as_json.stdin or b"")["task_id"] == "t-1"


def test_a_title_that_looks_like_an_option_stays_after_the_end_of_options() -> None:
    task = {**TASK, "title": "--dangerously-skip-permissions", "description": ""}
    argv = build_invocation(agent(), task, "s", 1).argv
    assert argv[-2:] == ["--", "--dangerously-skip-permissions"]


@pytest.mark.parametrize("task_id", ["../../escaped", "a/b", ".", "..", "-rf", "a..b", "x" * 129])
def test_a_task_id_that_is_not_a_plain_name_is_refused(task_id: str) -> None:
    with pytest.raises(TaskRefused, match=r"task id .* is refused"):
        build_invocation(agent(workdir="/tmp/w/{task_id}"), {**TASK, "id": task_id}, "s", 1)


def test_the_workdir_stays_under_its_root(tmp_path: Path) -> None:
    root = tmp_path / "work"
    (root / "t-2").mkdir(parents=True)  # a directory of its own: fine
    (root / "t-3").symlink_to(tmp_path)  # planted by an earlier run, pointing out
    coder = agent(workdir=f"{root}/run-{{task_id}}", create_workdir=True)
    assert build_invocation(coder, TASK, "s", 1).cwd == root / "run-t-1"  # root: {root}
    assert build_invocation(agent(workdir=f"{root}/{{task_id}}"), {**TASK, "id": "t-2"}, "s", 1)
    with pytest.raises(TaskRefused, match=f"resolves to {tmp_path}, outside {root}"):
        build_invocation(agent(workdir=f"{root}/{{task_id}}"), {**TASK, "id": "t-3"}, "s", 1)


def test_a_workdir_without_placeholders_is_taken_as_written(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path)
    invocation = build_invocation(agent(workdir=str(tmp_path / "link")), TASK, "s", 1)
    assert invocation.cwd == tmp_path / "link"


def test_claude_codes_approval_hook_comes_right_after_the_program() -> None:
    hub = HubAccess("http://127.0.0.1:4000", "tok", 120.0)
    claude = agent(adapter="claude-stream-json", approval_hook="PreToolUse",
                   approval_tools="Bash|Edit", stdin="prompt",
                   command="claude -p --output-format stream-json")  # fmt: skip
    invocation = build_invocation(claude, TASK, "s-9", 1, hub)
    assert invocation.argv[0] == "claude" and invocation.argv[1] == "--settings"
    assert invocation.argv[3:] == ["-p", "--output-format", "stream-json"]
    (entry,) = json.loads(invocation.argv[2])["hooks"]["PreToolUse"]
    assert entry["matcher"] == "Bash|Edit"
    (hook,) = entry["hooks"]
    assert hook["command"].endswith("-m parent_harness approvals hook")
    assert hook["type"] == "command" and hook["timeout"] == 180
    env = invocation.env
    assert (env["HARNESS_URL"], env["HARNESS_TOKEN"], env["HARNESS_APPROVAL_TIMEOUT_S"]) == (
        "http://127.0.0.1:4000", "tok", "120"
    )  # fmt: skip
    assert not invocation.answers  # Claude Code hears answers through its hook, not stdin

    plain = build_invocation(agent(), TASK, "s-9", 1, hub)
    assert "--settings" not in plain.argv and "HARNESS_TOKEN" not in plain.env
    assert plain.env["HARNESS_URL"] == "http://127.0.0.1:4000" and plain.answers


def test_the_hook_is_claude_codes_only() -> None:
    with pytest.raises(ConfigError, match="approval_hook is Claude Code's"):
        agent(approval_hook="PreToolUse")


async def test_an_agent_printing_faster_than_it_is_read_waits_and_loses_nothing(
    tmp_path: Path,
) -> None:
    """The lines read ahead of the session are bounded: past the bound the pipe fills and
    the agent waits on its writes; once read, every line comes, in order."""
    script = (
        "import sys\n"
        "for i in range(60000):\n"
        "    sys.stdout.write(f'line {i:05d} ' + 'x' * 90 + '\\n')\n"
    )
    invocation = Invocation([sys.executable, "-c", script], tmp_path, {}, None)
    agent = await AgentProcess.start(invocation, queued_chars=64 * 1024)
    async with asyncio.timeout(20):
        while agent._room.is_set():  # the pump stops reading once 64 KB wait unread
            await asyncio.sleep(0.005)
    assert agent._queued <= 64 * 1024 + 2 * 110
    assert agent.returncode is None  # 6 MB fit neither the pipe nor the reader: the agent waits
    seen = [line.whole async for line in agent.lines() if line.stream == "stdout"]
    assert await agent.wait() == 0
    assert len(seen) == 60000
    assert seen[0] == "line 00000 " + "x" * 90 and seen[-1].startswith("line 59999 ")
    assert seen == sorted(seen)
