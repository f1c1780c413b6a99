"""A small scripted agent for the orchestrator's tests: ``python scripted_agent.py SCENARIO``.

Scenarios: success, fail, flaky (fails on attempt 1), hang (heartbeats, no progress),
silent (one heartbeat then nothing), spend COST (one costly iteration every 0.1 s,
forever), claude (Claude Code stream-json lines), agent-tests (reports its own test run),
unless-file PATH (fails until PATH exists), ask TOOL DETAIL (asks for approval on stdout,
reads the answer on stdin, logs it and exits 0 when allowed, 5 otherwise), json-ask TOOL
DETAIL (the same after reading the task, given as a JSON line on stdin), ask-exit (asks,
then exits at once without waiting).
"""

from __future__ import annotations

import json
import os
import sys
import time


def say(**message: object) -> None:
    print(json.dumps(message), flush=True)


def success() -> int:
    say(type="heartbeat")
    print("reading the task: " + os.environ["HARNESS_TASK_TITLE"], flush=True)
    say(type="progress", percent=10)
    say(type="iteration", iteration=1, summary="planned", input_tokens=1000, output_tokens=200,
        cost_usd=0.01)  # fmt: skip
    say(type="progress", percent=60)
    say(type="iteration", iteration=2, summary="edited", input_tokens=500, output_tokens=100,
        cost_usd=0.005)  # fmt: skip
    say(type="log", level="info", message="edited 2 files")
    say(type="progress", percent=100)
    return 0


def fail() -> int:
    say(type="iteration", iteration=1, summary="tried", input_tokens=10, output_tokens=5,
        cost_usd=0.001)  # fmt: skip
    print("boom: something broke in the agent", file=sys.stderr, flush=True)
    return 3


def hang() -> int:
    say(type="iteration", iteration=1, summary="started")
    while True:
        say(type="heartbeat")
        time.sleep(0.05)


def silent() -> int:
    say(type="heartbeat")
    time.sleep(600)
    return 0


def spend(cost: float, times: int | None = None) -> int:
    number = 0
    while times is None or number < times:
        number += 1
        say(type="iteration", iteration=number, input_tokens=100, output_tokens=10, cost_usd=cost)
        time.sleep(0.1)
    return 0


def claude() -> int:
    lines = [
        {"type": "system", "subtype": "init", "session_id": "c-1", "model": "claude-sonnet-4-5",
         "tools": ["Bash", "Edit"]},
        {"type": "assistant", "session_id": "c-1", "message": {
            "id": "msg_1", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "I'll look at the code."}],
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 1000, "output_tokens": 50}}},
        {"type": "user", "session_id": "c-1", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}},
        {"type": "result", "subtype": "success", "is_error": False, "num_turns": 1,
         "total_cost_usd": 0.0421, "session_id": "c-1",
         "usage": {"input_tokens": 10, "cache_read_input_tokens": 1000, "output_tokens": 50}},
    ]  # fmt: skip
    for line in lines:
        print(json.dumps(line), flush=True)
    return 0


def agent_tests() -> int:
    say(type="test", status="started", command="pytest -q")
    say(type="test", status="completed", passed=5, failed=1, skipped=0, duration_s=0.2)
    return 0


def ask(tool: str, detail: str) -> int:
    say(type="heartbeat")
    say(type="approval_request", id="q1", kind="permission", tool=tool,
        summary=f"{tool} {detail}", detail=detail)  # fmt: skip
    line = sys.stdin.readline()
    if not line:
        print("stdin closed before an answer", file=sys.stderr, flush=True)
        return 4
    answer = json.loads(line)
    say(type="log", level="info", message=f"answer: {answer['decision']}", data=answer)
    return 0 if answer["decision"] == "allow" else 5


def main() -> int:
    scenario = sys.argv[1]
    if scenario == "flaky":
        return fail() if os.environ["HARNESS_ATTEMPT"] == "1" else success()
    if scenario == "spend":
        return spend(float(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
    if scenario == "ask":
        return ask(sys.argv[2], sys.argv[3])
    if scenario == "ask-exit":
        say(type="approval_request", kind="question", summary="Which database?")
        return 0
    if scenario == "json-ask":
        task = json.loads(sys.stdin.readline())
        assert task["task_id"] == os.environ["HARNESS_TASK_ID"], task
        return ask(sys.argv[2], sys.argv[3])
    if scenario == "unless-file":  # fails until the file exists
        return success() if os.path.exists(sys.argv[2]) else fail()
    return {
        "success": success,
        "fail": fail,
        "hang": hang,
        "silent": silent,
        "claude": claude,
        "agent-tests": agent_tests,
    }[scenario]()


if __name__ == "__main__":
    sys.exit(main())
