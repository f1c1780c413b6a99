"""A simulated coding agent that speaks the harness protocol (docs/agents.md).

Run by ``harness demo``; standard library only, so it starts fast as a script::

    python sim_agent.py [--speed 1.0] [--scenario auto|ok|fail|hang|crash|freeze]
    python sim_agent.py tests        # a fake test run with a pytest-style summary

The task comes from the environment the orchestrator sets (``HARNESS_TASK_ID``,
``HARNESS_TASK_DESCRIPTION``, ...). With ``--scenario auto`` a description
containing ``sim:hang``, ``sim:crash``, ``sim:fail`` or ``sim:freeze`` picks that
behaviour for the task's first attempt (so a retry shows recovery), and
``sim:fail-always`` fails every attempt (the task fails for good); otherwise the
run succeeds, with random timings and token usage. ``sim:ask`` makes the first attempt
ask for permission to run a command (left to the operator: the dashboard's Inbox,
``harness approvals``), ``sim:ask-rule`` for permission to read a file (which the demo's
rule allows); it waits for the answer on its stdin, then goes on either way.

In a workspace (``HARNESS_WORKSPACE`` set: a git worktree of its own), it makes real
changes: each iteration edits the task's module and the shared ``CHANGELOG.md``, and
commits them every other iteration; the last edits are left for the orchestrator's
auto-commit. Attempts of different tasks therefore each have a diff, and two that both
touched the changelog conflict when the second is merged.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PRICE_IN, PRICE_OUT = 0.8, 4.0  # USD per million tokens, like a small model
STEPS = (
    "Reading the code around the task",
    "Searching for the call sites",
    "Writing a failing test first",
    "Editing the implementation",
    "Running the unit tests",
    "Fixing a type error",
    "Refactoring the helper",
    "Updating the docs",
)


def say(message: dict[str, Any]) -> None:
    """Print one protocol line."""
    print(json.dumps(message), flush=True)


def busy(seconds: float, rng: random.Random, beat_every: float = 1.0) -> None:
    """Wait ``seconds`` while sending heartbeats and some plain output."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(beat_every, left))
        say({"type": "heartbeat"})
        if rng.random() < 0.2:
            print(f"  … {rng.choice(['grep', 'read', 'edit', 'pytest'])} {rng.randint(1, 99)}")


def iterate(number: int, total: int, rng: random.Random, speed: float) -> None:
    """One turn: think a while, then report the iteration, its usage and progress."""
    busy(rng.uniform(0.8, 2.5) * speed, rng)
    tokens_in, tokens_out = rng.randint(900, 6000), rng.randint(80, 900)
    cost = (tokens_in * PRICE_IN + tokens_out * PRICE_OUT) / 1e6
    say(
        {
            "type": "iteration",
            "iteration": number,
            "summary": rng.choice(STEPS),
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "cost_usd": round(cost, 6),
            "model": "sim-1",
        }
    )
    say({"type": "progress", "percent": round(100 * number / total, 1)})
    if os.environ.get("HARNESS_WORKSPACE"):
        edit_and_commit(number, rng)
    else:
        tool_call("edit", f"src/{rng.choice(['app', 'api', 'models'])}.py")
    if rng.random() < 0.1:
        say({"type": "log", "level": "info", "message": f"Touched {rng.randint(1, 6)} files"})


IDENTITY = ["-c", "user.name=sim-agent", "-c", "user.email=sim-agent@localhost"]


def tool_call(tool: str, target: str, status: str = "completed") -> None:
    """Report a tool call (``session:tool``), started then ended."""
    say({"type": "tool", "tool": tool, "target": target, "status": "started"})
    say({"type": "tool", "tool": tool, "target": target, "status": status})


def edit_and_commit(number: int, rng: random.Random) -> None:
    """Real work in the worktree: edit two files, commit every other iteration."""
    task_id = os.environ.get("HARNESS_TASK_ID", "task")
    name = re.sub(r"[^a-z0-9]+", "_", os.environ.get("HARNESS_TASK_TITLE", task_id).lower())
    module = Path("src") / f"{name.strip('_')[:40] or 'task'}.py"
    module.parent.mkdir(exist_ok=True)
    step = rng.choice(STEPS)
    with module.open("a") as out:
        out.write(f"# {step} (iteration {number})\ndef step_{number}() -> int:\n")
        out.write(f"    return {rng.randint(1, 999)}\n\n")
    tool_call("edit", str(module))
    with Path("CHANGELOG.md").open("a") as out:
        out.write(f"- {task_id}: {step.lower()}\n")
    if number % 2 == 0:
        subprocess.run(["git", "add", "--all"], check=False, capture_output=True)
        message = f"{step} ({task_id}, iteration {number})"
        done = subprocess.run(
            ["git", *IDENTITY, "commit", "-qm", message], check=False, capture_output=True
        )
        tool_call("git", "commit", "completed" if done.returncode == 0 else "failed")


def scenario_of(requested: str) -> str:
    """The behaviour for this run: the one asked for, or one named in the task."""
    if requested != "auto":
        return requested
    if "sim:fail-always" in os.environ.get("HARNESS_TASK_DESCRIPTION", ""):
        return "fail"
    if os.environ.get("HARNESS_ATTEMPT", "1") != "1":
        return "ok"
    description = os.environ.get("HARNESS_TASK_DESCRIPTION", "")
    for name in ("ask-rule", "ask", "hang", "crash", "fail", "freeze"):
        if f"sim:{name}" in description:
            return name
    return "ok"


def work(scenario: str, speed: float, rng: random.Random) -> int:
    """Act out one task; the process exit code."""
    total = rng.randint(3, 7)
    limit = int(os.environ.get("HARNESS_MAX_ITERATIONS", "50"))
    print(f"sim agent on task {os.environ.get('HARNESS_TASK_ID', '?')}: {scenario}")
    for number in range(1, min(total, limit) + 1):
        if scenario in ("hang", "crash", "freeze", "fail") and number == 2:
            return misbehave(scenario, rng)
        if scenario in ("ask", "ask-rule") and number == 2:
            ask(scenario, rng)
        iterate(number, total, rng, speed)
    print("All steps done; handing over to the tests.")
    return 0


ASKS = {
    "ask": ("Bash", "Delete the build cache", "rm -rf build/.cache"),
    "ask-rule": ("Read", "Read the deployment notes", "docs/DEPLOY.md"),
}


def ask(scenario: str, rng: random.Random) -> None:
    """Ask for approval (harness protocol) and wait for the answer on stdin."""
    tool, summary, detail = ASKS[scenario]
    say({"type": "approval_request", "id": f"ask-{rng.randint(1, 9999)}", "kind": "permission",
         "tool": tool, "summary": summary, "detail": detail})  # fmt: skip
    line = sys.stdin.readline()
    answer = json.loads(line) if line.strip() else {"decision": "deny", "by": "nobody"}
    decision, by = answer.get("decision"), answer.get("by")
    go_on = "doing it" if decision == "allow" else "skipping it"
    say({"type": "log", "level": "info", "message": f"{summary}: {decision} by {by}; {go_on}"})


def misbehave(scenario: str, rng: random.Random) -> int:
    """The failure modes the demo shows."""
    if scenario == "hang":
        say({"type": "log", "level": "warning", "message": "Waiting for a lock…"})
        while True:  # alive but going nowhere: stuck
            busy(60, rng, beat_every=1.0)
    if scenario == "freeze":
        while True:  # no output at all: stale, then crashed
            time.sleep(60)
    if scenario == "crash":
        print("Segmentation fault in the simulated model runtime", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    print("Traceback (most recent call last):", file=sys.stderr)
    print('  File "agent.py", line 42, in apply_patch', file=sys.stderr)
    print("PatchError: hunk 3 does not apply to src/app.py", file=sys.stderr, flush=True)
    say({"type": "log", "level": "error", "message": "The patch did not apply"})
    return 1


def fake_tests(rng: random.Random) -> int:
    """Print a pytest-like session; fails about one run in eight."""
    passed, skipped = rng.randint(12, 80), rng.randint(0, 3)
    failed = rng.choice([1, 1, 2]) if rng.random() < 0.12 else 0
    time.sleep(rng.uniform(0.3, 1.2))
    for index in range(failed):
        print(f"FAILED tests/test_app.py::test_case_{index} - AssertionError: expected 2, got 3")
    parts = [f"{failed} failed"] if failed else []
    parts.append(f"{passed} passed")
    if skipped:
        parts.append(f"{skipped} skipped")
    print(f"==== {', '.join(parts)} in {rng.uniform(0.5, 4):.2f}s ====")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``work`` (the default) or ``tests``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="work", choices=["work", "tests"])
    parser.add_argument("--speed", type=float, default=1.0, help="time scale, 0.1 is 10x faster")
    parser.add_argument("--scenario", default="auto")
    parser.add_argument("--seed", default=None)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed or os.environ.get("HARNESS_SESSION_ID"))
    if args.mode == "tests":
        return fake_tests(rng)
    return work(scenario_of(args.scenario), args.speed, rng)


if __name__ == "__main__":
    sys.exit(main())
