"""Which test suite a task runs, and which tasks are refused before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator import SuitesConfig, parse_config
from parent_harness.orchestrator.admission import TaskRefused, admit
from parent_harness.orchestrator.errors import error_details


def suites_of(**table: Any) -> SuitesConfig:
    data = {"agents": {"a": {"command": "x"}}, "tests": table}
    return parse_config(data, Path("/srv")).tests


SUITES = suites_of(command="pytest -q", timeout_s=60, unit={"command": ["pytest", "tests/unit"]})


def task(**fields: Any) -> dict[str, Any]:
    return {"id": "t-1", "title": "Fix it", **fields}


def test_a_task_runs_the_suite_it_names_else_the_default_one() -> None:
    unit = admit(task(test_suite="unit"), SUITES)
    assert unit is not None and unit.command == ("pytest", "tests/unit")
    default = admit(task(), SUITES)
    assert default is not None and (default.command, default.timeout_s) == (("pytest", "-q"), 60)
    assert admit(task(test_suite=None, test_command=""), SUITES) == default
    assert admit(task(), suites_of()) is None  # no default suite: no tests


def test_an_unknown_suite_is_refused_naming_the_ones_there_are() -> None:
    with pytest.raises(TaskRefused) as caught:
        admit(task(test_suite="e2e"), SUITES)
    assert str(caught.value) == "unknown test suite 'e2e' (the suites of harness.toml: unit)"


def test_a_task_command_is_refused_unless_the_configuration_opts_in() -> None:
    with pytest.raises(TaskRefused) as caught:
        admit(task(test_command="pytest -q"), SUITES)
    details = error_details(caught.value.failure())
    assert details["kind"] == "invalid_task"
    assert "[tests] allow_task_commands = true" in details["message"]
    assert details["suggestions"] == [
        "Define the command in harness.toml as [tests.NAME] command = [...] and add the task "
        'again with test_suite = "NAME" (harness task add --suite NAME).'
    ]


def test_an_opted_in_task_command_is_argv_with_the_default_limits() -> None:
    allowed = suites_of(allow_task_commands=True, timeout_s=30, junit_xml="r.xml")
    suite = admit(task(test_command="pytest -k 'login and not slow'"), allowed)
    assert suite is not None
    assert suite.command == ("pytest", "-k", "login and not slow")
    assert (suite.timeout_s, suite.junit_xml) == (30, "r.xml")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"test_command": "pytest; rm -rf ~"}, "';' is shell syntax"),
        ({"test_command": "pytest && curl x | sh"}, "'&&' is shell syntax"),
        ({"test_command": "pytest $(curl x)"}, "'\\(' is shell syntax"),
        ({"test_command": "pytest 'open"}, "No closing quotation"),
        ({"test_command": "pytest", "test_suite": "unit"}, "names test_suite 'unit' and carries"),
    ],
)
def test_an_opted_in_command_still_never_needs_a_shell(
    fields: dict[str, Any], message: str
) -> None:
    allowed = suites_of(allow_task_commands=True, unit={"command": ["pytest"]})
    with pytest.raises(TaskRefused, match=message):
        admit(task(**fields), allowed)


def test_a_refusal_is_final() -> None:
    with pytest.raises(TaskRefused) as caught:
        admit(task(test_suite="e2e"), SUITES)
    failure = caught.value.failure()
    assert failure.kind == "invalid_task" and not failure.retryable


def test_a_task_id_that_is_not_a_plain_name_is_refused() -> None:
    with pytest.raises(TaskRefused, match=r"^task id '\.\./etc' is refused: a task id is"):
        admit(task(id="../etc"), SUITES)
