"""Conditions on payloads, as rules write them."""

from __future__ import annotations

from typing import Any

import pytest

from parent_harness.notify.conditions import ConditionError, compile_condition, with_derived

TASK = {"task": {"id": "t", "status": "failed", "attempts": 2, "error_details": {"kind": "oom"}}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"task.status": "failed"}, True),
        ({"task.status": "completed"}, False),
        ({"task.status": ["failed", "cancelled"]}, True),
        ({"task.status": {"not_in": ["failed"]}}, False),
        ({"task.status": {"ne": "completed"}}, True),
        ({"task.attempts": {"gte": 2, "lt": 3}}, True),
        ({"task.attempts": {"gt": 2}}, False),
        ({"task.error_details.kind": "oom"}, True),
        ({"task.error_details.kind": {"contains": "o"}}, True),
        ({"task.agent_id": {"exists": False}}, True),
        ({"task.agent_id": {"exists": True}}, False),
        ({"task.agent_id": {"gte": 0}}, False),
        ({"task.status": {"gte": 1}}, False),
        ({"task.status": "failed", "task.attempts": 9}, False),
        ({}, True),
    ],
)
def test_condition(spec: dict[str, Any], expected: bool) -> None:
    assert compile_condition(spec).matches(TASK) is expected


def test_a_bad_operator_names_its_path() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition({"task.attempts": {"above": 1}})
    assert caught.value.path == "task.attempts"


def test_budget_spent_fraction_is_derived() -> None:
    over = with_derived({"budget": {"period": "d", "spent_usd": 45.0, "limit_usd": 50.0}})
    assert compile_condition({"budget.spent_fraction": {"gte": 0.8}}).matches(over)
    unlimited = with_derived({"budget": {"period": "d", "spent_usd": 45.0, "limit_usd": None}})
    assert not compile_condition({"budget.spent_fraction": {"gte": 0.8}}).matches(unlimited)
