"""Medians and spreads over runs of the same nested result shape."""

from __future__ import annotations

import statistics
from typing import Any


def _numbers(values: list[Any]) -> list[float] | None:
    found = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return [float(v) for v in found] if found and len(found) == len(values) else None


def _fold(runs: list[Any], reduce: str) -> Any:
    """Folds the runs that have a value here (a server that failed in one run is folded over
    the others)."""
    first = runs[0]
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for r in runs if isinstance(r, dict) for k in r))
        folded = {
            k: _fold([r[k] for r in runs if isinstance(r, dict) and k in r], reduce) for k in keys
        }
        return {k: v for k, v in folded.items() if v is not None}
    numbers = _numbers(runs)
    if numbers is None:
        return first if reduce == "median" and len(runs) == 1 else None
    if reduce == "median":
        return round(statistics.median(numbers), 3)
    return [round(min(numbers), 3), round(max(numbers), 3)]


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every number across runs, in the runs' shape."""
    folded: dict[str, Any] = _fold(runs, "median")
    return folded


def spreads(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``[min, max]`` of every number across runs, in the runs' shape."""
    folded: dict[str, Any] = _fold(runs, "spread")
    return folded
