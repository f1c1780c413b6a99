"""The hub's per-stage latency histograms (`/metrics`), read before and after a phase.

`scrape` reads every histogram bucket the hub exposes (``harness_stage_seconds``,
``harness_gc_pause_seconds``, ``harness_loop_lag_seconds``); `between` subtracts two scrapes
and gives, per stage, how many were timed in the phase, their mean, and the upper bound of the
bucket holding p50, p99 and p99.9, and the largest bucket reached.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

HISTOGRAMS = ("harness_stage_seconds", "harness_gc_pause_seconds", "harness_loop_lag_seconds")
LINE = re.compile(r"^(\w+?)_(bucket|sum|count)(?:\{([^}]*)\})? (\S+)$")
LABEL = re.compile(r'(\w+)="([^"]*)"')

Histograms = dict[str, dict[str, float]]
"""Per series (``stage=http``, ``gc=0``, ``loop_lag``): ``le`` bound -> cumulative count,
plus ``sum`` and ``count``."""


def series_name(metric: str, labels: dict[str, str]) -> str | None:
    """A short name for one histogram series, or None for a metric not read here."""
    if metric == "harness_stage_seconds":
        return labels.get("stage")
    if metric == "harness_gc_pause_seconds":
        return f"gc_gen{labels.get('generation')}"
    if metric == "harness_loop_lag_seconds":
        return "loop_lag"
    return None


def parse(text: str) -> Histograms:
    """The histograms of one `/metrics` text."""
    out: Histograms = {}
    for line in text.splitlines():
        match = LINE.match(line)
        if match is None or match.group(1) not in HISTOGRAMS:
            continue
        metric, part, raw_labels, value = match.groups()
        labels = dict(LABEL.findall(raw_labels or ""))
        name = series_name(metric, labels)
        if name is None:
            continue
        key = labels["le"] if part == "bucket" else part
        out.setdefault(name, {})[key] = float(value)
    return out


async def scrape(base_url: str) -> Histograms:
    """Reads the hub's histograms now."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url + "/metrics") as response,
    ):
        response.raise_for_status()
        return parse(await response.text())


def _bound(le: str) -> float:
    return float("inf") if le == "+Inf" else float(le)


def between(before: Histograms, after: Histograms) -> dict[str, Any]:
    """Per series, what was timed between two scrapes: count, mean ms, and the upper bound
    (ms) of the bucket holding p50, p99, p99.9, and of the highest bucket reached."""
    out: dict[str, Any] = {}
    for name, later in after.items():
        earlier = before.get(name, {})
        count = later.get("count", 0) - earlier.get("count", 0)
        if count <= 0:
            out[name] = {"count": 0}
            continue
        total = later.get("sum", 0) - earlier.get("sum", 0)
        buckets = sorted(
            (
                (_bound(le), later[le] - earlier.get(le, 0))
                for le in later
                if le not in {"sum", "count"}
            ),
        )
        figures: dict[str, Any] = {"count": int(count), "mean_ms": round(total / count * 1e3, 4)}
        for label, q in (("p50_ms", 0.5), ("p99_ms", 0.99), ("p999_ms", 0.999), ("max_ms", 1.0)):
            figures[label] = _quantile_ms(buckets, count, q)
        out[name] = figures
    return out


def _quantile_ms(buckets: list[tuple[float, float]], count: float, q: float) -> float | None:
    """The upper bound (ms) of the first cumulative bucket reaching rank ``q * count``; None
    past the last finite bound."""
    rank = q * count
    for bound, cumulative in buckets:
        if cumulative >= rank - 1e-9:
            return None if bound == float("inf") else round(bound * 1e3, 3)
    return None
