"""Why a run failed, in the catalogue's ``error_details`` shape, with advice.

A :class:`Failure` says what happened; :func:`error_details` renders it and adds
suggestions from :data:`RULES`, a small table of (test, advice) pairs a person
can read and extend.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events.clock import now_iso

TAIL_CHARS = 4000

FINAL_KINDS = frozenset(
    {
        "command_not_found",
        "permission_denied",
        "budget_exceeded",
        "cancelled",
        "invalid_task",
        "auth",
    }
)
"""Failures a retry cannot fix: the task fails at once, whatever attempts remain."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one run: a kind (``timeout``, ``signal``, ...) and its facts."""

    kind: str
    message: str
    exit_code: int | None = None
    stderr_tail: str = ""
    output_tail: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        """Whether running the task again could succeed."""
        return self.kind not in FINAL_KINDS


Rule = tuple[Callable[[Failure], bool], Callable[[Failure], str]]


def _kind(*kinds: str) -> Callable[[Failure], bool]:
    return lambda f: f.kind in kinds


def _stderr(pattern: str) -> Callable[[Failure], bool]:
    found = re.compile(pattern, re.IGNORECASE)
    return lambda f: bool(found.search(f.stderr_tail) or found.search(f.output_tail))


def _ctx(f: Failure, key: str, default: str = "?") -> str:
    return str(f.context.get(key, default))


def _signal_advice(f: Failure) -> str:
    number = -(f.exit_code or 0)
    name = signal_name(number)
    if number == signal.SIGKILL:
        return (
            "Killed by SIGKILL, most often the kernel's out-of-memory killer: check `dmesg` "
            "and free memory, or lower max_instances."
        )
    if number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        return f"Stopped by {name} from outside the orchestrator: check what else manages it."
    if number in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return f"The agent crashed in native code ({name}): update it and look for a core dump."
    return f"The agent was killed by {name}."


RULES: list[Rule] = [
    (
        lambda f: f.kind == "command_not_found" or f.exit_code == 127,
        lambda f: (
            f"`{_ctx(f, 'program')}` was not found: install it or write its full path "
            f"in agents.{_ctx(f, 'agent')}.command."
        ),
    ),
    (
        lambda f: f.kind == "permission_denied" or f.exit_code == 126,
        lambda f: (
            f"`{_ctx(f, 'program')}` could not be executed: make it executable "
            "(chmod +x) or run it through its interpreter."
        ),
    ),
    (
        _kind("timeout"),
        lambda f: (
            f"The run passed agents.{_ctx(f, 'agent')}.timeout_s "
            f"({_ctx(f, 'timeout_s')} s): raise it, or split the task."
        ),
    ),
    (_kind("signal"), _signal_advice),
    (
        lambda f: f.kind == "budget_exceeded" and "task" in _ctx(f, "limit"),
        lambda f: (
            "The task reached its spending cap: raise it for this task "
            '(POST /api/tasks/ID/limit {"limit_usd": ...}) or budget.limit_usd_per_task in '
            "harness.toml, then retry the task."
        ),
    ),
    (
        _kind("budget_exceeded"),
        lambda f: (
            f"Spending reached {_ctx(f, 'limit', 'the budget limit')}: raise it in "
            "harness.toml or wait for the next day, then retry the task."
        ),
    ),
    (
        _kind("stuck"),
        lambda f: (
            f"Heartbeats came but no progress for {_ctx(f, 'stuck_after_s')} s: "
            "the agent may be looping or waiting for input."
        ),
    ),
    (
        _kind("max_iterations"),
        lambda f: (
            f"The agent used all its iterations: raise "
            f"agents.{_ctx(f, 'agent')}.max_iterations or narrow the task."
        ),
    ),
    (
        _kind("tests_failed"),
        lambda f: (
            f"Run `{_ctx(f, 'test_command')}` in {_ctx(f, 'workdir')} to see the failing tests."
        ),
    ),
    (_kind("invalid_task"), lambda f: _ctx(f, "advice", "Correct the task and add it again.")),
    (
        _kind("auth"),
        lambda f: (
            f"The agent's CLI could not authenticate: log it in (or set its API key in "
            f"agents.{_ctx(f, 'agent')}.env), then retry the task."
        ),
    ),
    (
        _kind("usage_limit"),
        lambda f: (
            "The provider refused for a usage or rate limit: the task is retried after its "
            "backoff; raise the plan's limit or lower max_instances if it keeps happening."
        ),
    ),
    (
        _kind("workspace"),
        lambda f: (
            f"The attempt's worktree of {_ctx(f, 'repo')} could not be made ready: read the "
            "output tail, run the failing [workspace] setup command by hand in a fresh "
            "checkout, and check the disk has room."
        ),
    ),
    (
        _kind("nonzero_exit", "agent_error"),
        lambda f: (
            f"Read the stderr tail, then run the command by hand in "
            f"{_ctx(f, 'workdir')} to reproduce."
        ),
    ),
    (
        _kind("interrupted"),
        lambda f: (
            "The orchestrator stopped while this task ran; the retry policy "
            "(retry.on_interrupted) decided what happened next."
        ),
    ),
    (
        _stderr(r"api[_ ]?key|unauthori[sz]ed|\b401\b|authentication"),
        lambda f: (
            f"The agent could not authenticate: check its API key in agents.{_ctx(f, 'agent')}.env."
        ),
    ),
    (
        _stderr(r"rate.?limit|\b429\b|overloaded"),
        lambda f: "The provider is rate-limiting: lower max_instances or retry later.",
    ),
]


def suggestions(failure: Failure) -> list[str]:
    """The advice of every rule that matches ``failure``, in table order."""
    return [advise(failure) for matches, advise in RULES if matches(failure)]


def error_details(failure: Failure) -> dict[str, Any]:
    """The catalogue's ``error_details`` object; ``stack`` holds the stderr tail."""
    return {
        "message": failure.message,
        "kind": failure.kind,
        "exit_code": failure.exit_code,
        "stack": _tail(failure.stderr_tail),
        "output_tail": _tail(failure.output_tail),
        "suggestions": suggestions(failure),
        "at": now_iso(),
    }


def signal_name(number: int) -> str:
    """``SIGKILL`` for 9, ``signal 99`` for a number with no name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(text: str) -> str | None:
    if not text:
        return None
    return text if len(text) <= TAIL_CHARS else "…" + text[-TAIL_CHARS:]
