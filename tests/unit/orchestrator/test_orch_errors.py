"""error_details and the suggestion rules."""

from __future__ import annotations

from parent_harness.orchestrator import Failure, error_details, suggestions


def test_command_not_found_names_the_program_and_the_setting() -> None:
    failure = Failure("command_not_found", "command not found: claude",
                      context={"program": "claude", "agent": "coder"})  # fmt: skip
    assert suggestions(failure) == [
        "`claude` was not found: install it or write its full path in agents.coder.command."
    ]
    assert not failure.retryable


def test_exit_127_from_a_wrapper_counts_as_not_found() -> None:
    failure = Failure("nonzero_exit", "exit 127", 127, context={"program": "run.sh"})
    assert "`run.sh` was not found" in suggestions(failure)[0]


def test_signals_timeout_budget_and_stderr_patterns() -> None:
    assert "out-of-memory" in suggestions(Failure("signal", "killed", -9))[0]
    assert "SIGTERM from outside" in suggestions(Failure("signal", "killed", -15))[0]
    assert "native code (SIGSEGV)" in suggestions(Failure("signal", "killed", -11))[0]
    timeout = Failure("timeout", "slow", context={"agent": "a", "timeout_s": 60})
    assert suggestions(timeout) == [
        "The run passed agents.a.timeout_s (60 s): raise it, or split the task."
    ]
    budget = Failure("budget_exceeded", "spent", context={"limit": "budget.limit_usd_per_task"})
    assert "budget.limit_usd_per_task" in suggestions(budget)[0]
    auth = Failure("nonzero_exit", "exit 1", 1, stderr_tail="Error: Invalid API key",
                   context={"agent": "a", "workdir": "/w"})  # fmt: skip
    assert (
        suggestions(auth)[-1]
        == "The agent could not authenticate: check its API key in agents.a.env."
    )
    limited = Failure("nonzero_exit", "exit 1", 1, stderr_tail="429 Too Many Requests")
    assert "rate-limiting" in suggestions(limited)[-1]


def test_error_details_shape() -> None:
    details = error_details(
        Failure("nonzero_exit", "the agent exited with 2", 2, "x" * 5000, "last line")
    )
    assert set(details) == {"message", "kind", "exit_code", "stack", "output_tail",
                            "suggestions", "at"}  # fmt: skip
    assert details["stack"].startswith("…") and len(details["stack"]) == 4001
    assert details["output_tail"] == "last line"
    assert details["at"].endswith("Z")
    assert error_details(Failure("timeout", "t"))["stack"] is None
