"""What a task must be before an agent runs for it; a refusal is final.

A task is written by whoever may publish one (``POST /api/tasks``, a
``task:created`` event, ``harness task add``), so nothing in it is trusted:

- its id reaches paths (``workdir = "work/{task_id}"``) and argv, so it must be a
  plain name (:data:`~parent_harness.events.catalogue.SAFE_TASK_ID`);
- its tests are a suite of ``harness.toml`` that it names (``test_suite``), never a
  command line: a task's own ``test_command`` is refused unless ``[tests]
  allow_task_commands = true``, and even then it runs without a shell.

:func:`admit` checks both before the task is assigned, so a refused task starts
nothing; the spawner checks the id again, and that the working directory stays
under its root (:func:`contained_workdir`). A refusal is a :class:`TaskRefused`,
which fails the task with kind ``invalid_task``: a retry cannot fix it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .commands import command_argv
from .config import SuiteConfig, SuitesConfig
from .errors import Failure
from .task_ids import SAFE_ID_RULE, is_safe_task_id

NAME_A_SUITE = (
    "Define the command in harness.toml as [tests.NAME] command = [...] and add the task "
    'again with test_suite = "NAME" (harness task add --suite NAME).'
)


class TaskRefused(ValueError):
    """The task cannot run as it is: the message says why, ``advice`` what to change."""

    def __init__(self, message: str, advice: str) -> None:
        super().__init__(message)
        self.advice = advice

    def failure(self) -> Failure:
        """The failure (kind ``invalid_task``) that fails the task."""
        return Failure("invalid_task", str(self), context={"advice": self.advice})


def admit(task: Mapping[str, Any], tests: SuitesConfig) -> SuiteConfig | None:
    """The test suite to run after the agent (None: no tests), or :class:`TaskRefused`."""
    check_task_id(str(task["id"]))
    return suite_for(task, tests)


def check_task_id(task_id: str) -> None:
    """Refuse an id that is not a plain name (it would reach a path or an argv word)."""
    if not is_safe_task_id(task_id):
        raise TaskRefused(
            f"task id {task_id!r} is refused: {SAFE_ID_RULE}",
            "Add the task again with a plain id such as 'fix-login-42' (or none: one is made).",
        )


def suite_for(task: Mapping[str, Any], tests: SuitesConfig) -> SuiteConfig | None:
    """The suite the task names, else the default one; its own command only if allowed."""
    name, command = task.get("test_suite"), task.get("test_command")
    if command:
        return _own_command(str(command), name, tests)
    if not name:
        return tests.default
    suite = tests.suites.get(str(name))
    if suite is None:
        known = ", ".join(sorted(tests.suites)) or "none"
        raise TaskRefused(
            f"unknown test suite {name!r} (the suites of harness.toml: {known})",
            f"Name one of them, or define [tests.NAME] in harness.toml. {NAME_A_SUITE}",
        )
    return suite


def _own_command(command: str, name: object, tests: SuitesConfig) -> SuiteConfig:
    if not tests.allow_task_commands:
        raise TaskRefused(
            "the task carries its own test_command, which is not run: a task names a test "
            "suite of harness.toml (test_suite); to run tasks' own commands (split into words, "
            "never given to a shell), set [tests] allow_task_commands = true",
            NAME_A_SUITE,
        )
    if name:
        raise TaskRefused(
            f"the task names test_suite {name!r} and carries a test_command: give one",
            "Add the task again with either test_suite or test_command.",
        )
    try:
        argv = command_argv(command)
    except ValueError as exc:
        raise TaskRefused(f"test_command {command!r}: {exc}", NAME_A_SUITE) from None
    return SuiteConfig(command=argv, junit_xml=tests.junit_xml, timeout_s=tests.timeout_s)


def contained_workdir(template: str, filled: str) -> Path:
    """The working directory ``filled`` in from ``template``, resolved and checked.

    Its root is the template's fixed part, up to the directory before the first
    placeholder (``/srv/work`` for ``/srv/work/{task_id}``); what a task fills in
    may choose a directory under the root, never one beside or above it, by
    ``..`` or by a symlink planted there. A template with no placeholder is taken
    as written. Raises :class:`TaskRefused`.
    """
    prefix = _fixed_prefix(template)
    if prefix is None:
        return Path(filled)
    root = (Path(prefix) if prefix.endswith("/") else Path(prefix).parent).resolve()
    resolved = Path(filled).resolve()
    if resolved != root and root not in resolved.parents:
        raise TaskRefused(
            f"the working directory {filled} resolves to {resolved}, outside {root}",
            "The task's values must name a directory under the agent's workdir root.",
        )
    return resolved


def _fixed_prefix(template: str) -> str | None:
    prefix = ""
    for literal, name, _, _ in string.Formatter().parse(template):
        prefix += literal
        if name is not None:
            return prefix
    return None
