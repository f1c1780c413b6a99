"""Conditions on an event's payload, as rules write them in harness.toml.

A condition maps dotted paths to tests, all of which must hold::

    when = { "task.status" = "failed" }                                  # equality
    when = { "agent.health_status" = ["stuck", "crashed"] }             # one of
    when = { "budget.spent_fraction" = { gte = 0.8 } }                   # operators
    when = { "event.level" = "error", "event.source" = { ne = "ci" } }

Operators: eq, ne, in, not_in, gt, gte, lt, lte, exists (true/false), contains (text or list).
A missing field is None: it fails every operator but `ne`, `not_in` and `exists = false`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Test = Callable[[Any], bool]
Path = tuple[str, ...]


class ConditionError(ValueError):
    """A condition that cannot be compiled; `path` is the key that is wrong."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


def lookup(payload: Mapping[str, Any], path: Path) -> Any:
    """The value at a dotted path of a payload, or None when any step is missing."""
    value: Any = payload
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def split_path(dotted: str) -> Path:
    """`"task.error_details.kind"` -> `("task", "error_details", "kind")`."""
    parts = tuple(dotted.split("."))
    if not dotted or any(not part for part in parts):
        raise ConditionError(dotted, f"not a field path: {dotted!r}")
    return parts


def _ordered(compare: Callable[[Any, Any], bool], expected: Any) -> Test:
    def test(actual: Any) -> bool:
        if actual is None or isinstance(actual, bool):
            return False
        try:
            return bool(compare(actual, expected))
        except TypeError:
            return False

    return test


def _contains(expected: Any) -> Test:
    def test(actual: Any) -> bool:
        return isinstance(actual, str | list | tuple) and expected in actual

    return test


def _operator(name: str, expected: Any) -> Test:
    if name in ("in", "not_in") and not isinstance(expected, list | tuple):
        raise ValueError(f"`{name}` takes a list, not {expected!r}")
    if name in ("gt", "gte", "lt", "lte") and not isinstance(expected, int | float):
        raise ValueError(f"`{name}` takes a number, not {expected!r}")
    tests: dict[str, Callable[[], Test]] = {
        "eq": lambda: lambda actual: bool(actual == expected),
        "ne": lambda: lambda actual: bool(actual != expected),
        "in": lambda: lambda actual: actual in expected,
        "not_in": lambda: lambda actual: actual not in expected,
        "gt": lambda: _ordered(operator.gt, expected),
        "gte": lambda: _ordered(operator.ge, expected),
        "lt": lambda: _ordered(operator.lt, expected),
        "lte": lambda: _ordered(operator.le, expected),
        "exists": lambda: lambda actual: (actual is not None) == bool(expected),
        "contains": lambda: _contains(expected),
    }
    if name not in tests:
        raise ValueError(f"unknown operator {name!r}; known: {', '.join(tests)}")
    return tests[name]()


def _all(tests: Sequence[Test]) -> Test:
    return lambda actual: all(test(actual) for test in tests)


def compile_test(spec: Any) -> Test:
    """One field's test: a value (equality), a list (one of), or a table of operators."""
    if isinstance(spec, Mapping):
        if not spec:
            raise ValueError("an empty table tests nothing")
        return _all([_operator(str(name), expected) for name, expected in spec.items()])
    if isinstance(spec, list | tuple):
        return _operator("in", spec)
    return _operator("eq", spec)


@dataclass(frozen=True, slots=True)
class Clause:
    """One test on the value at one path."""

    path: Path
    test: Test

    def holds(self, payload: Mapping[str, Any]) -> bool:
        """Whether the payload's value at the path passes the test."""
        return self.test(lookup(payload, self.path))


@dataclass(frozen=True, slots=True)
class Condition:
    """Clauses that must all hold; an empty condition always holds."""

    clauses: tuple[Clause, ...] = ()

    def matches(self, payload: Mapping[str, Any]) -> bool:
        """Whether every clause holds for the payload."""
        return all(clause.holds(payload) for clause in self.clauses)


def compile_condition(spec: Mapping[str, Any]) -> Condition:
    """Compiles a `when` table; raises ConditionError naming the bad path."""
    clauses: list[Clause] = []
    for dotted, test_spec in spec.items():
        try:
            clauses.append(Clause(split_path(dotted), compile_test(test_spec)))
        except ConditionError:
            raise
        except ValueError as exc:
            raise ConditionError(dotted, str(exc)) from None
    return Condition(tuple(clauses))


def with_derived(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload plus fields rules may test but events do not carry.

    `budget.spent_fraction` is spent_usd / limit_usd (None without a limit), so a rule can say
    "budget above 80%" whatever the limit is.
    """
    budget = payload.get("budget")
    if not isinstance(budget, Mapping):
        return payload
    spent, limit = budget.get("spent_usd"), budget.get("limit_usd")
    fraction = spent / limit if isinstance(spent, int | float) and limit else None
    return {**payload, "budget": {**budget, "spent_fraction": fraction}}
