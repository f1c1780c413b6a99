"""Latency over time at the paced load, as an SVG written by hand (no plotting dependency).

One panel per number of clients and run; in each, one colour per server: its largest latency
in each 25 ms slice of the window (solid) and its median (dotted), on a logarithmic scale so
that a server a hundred times faster than another is still seen. A tail that comes in bursts
(a checkpoint, a collection, a stalled event loop) shows as spikes of the solid line; a slice
with no event published in it (20 events/s publishes one every 50 ms) is bridged.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

COLOURS = {
    "hub-before": "#8c564b",
    "hub": "#d62728",
    "hub-inproc": "#ff7f0e",
    "floor": "#1f77b4",
    "socketio": "#9467bd",
    "node-ws": "#2ca02c",
}
WIDTH = 900
PANEL_HEIGHT = 190
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 26, 30
LEGEND_HEIGHT = 28


FLOOR_MS = 0.5
"""The bottom of the scale: anything faster is drawn there."""


def decade_ceiling(value: float) -> float:
    """The smallest power of ten at or above ``value`` (at least 10 ms)."""
    return float(10 ** max(1, math.ceil(math.log10(max(value, FLOOR_MS)))))


def _path(points: list[tuple[float, float] | None]) -> str:
    """An SVG path through the points, broken where a point is None."""
    parts: list[str] = []
    move = True
    for point in points:
        if point is None:  # no event in that slice: the line goes on to the next one
            continue
        parts.append(f"{'M' if move else 'L'}{point[0]:.1f},{point[1]:.1f}")
        move = False
    return " ".join(parts)


def _panel(
    document: dict[str, Any], size: int, run_index: int, top: float, ceiling: float
) -> list[str]:
    run = document["runs"][run_index]
    inner_w = WIDTH - LEFT - RIGHT
    inner_h = PANEL_HEIGHT - TOP - BOTTOM
    seconds = float(document["plan"]["seconds"])
    y0 = top + TOP + inner_h
    out = [
        f'<text x="{LEFT}" y="{top + 16}" class="title">{size} clients, run {run_index + 1} '
        f"(paced {document['plan']['paced_deliveries_per_s']:,.0f} deliveries/s)</text>"
    ]
    low, high = math.log10(FLOOR_MS), math.log10(ceiling)

    def height(value_ms: float) -> float:
        return y0 - inner_h * (math.log10(max(value_ms, FLOOR_MS)) - low) / (high - low)

    for value in (10.0**k for k in range(0, round(high) + 1)):
        y = height(value)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:g}</text>'
        )
    steps = max(1, round(seconds / 0.5))
    for tick in range(steps + 1):
        at = seconds * tick / steps
        x = LEFT + inner_w * at / seconds
        out.append(
            f'<text x="{x:.1f}" y="{y0 + 16:.1f}" class="axis" text-anchor="middle">{at:g} s</text>'
        )
    out.append(
        f'<text x="14" y="{top + TOP + inner_h / 2:.1f}" class="axis" '
        f'transform="rotate(-90 14 {top + TOP + inner_h / 2:.1f})" text-anchor="middle">'
        "ms (log)</text>"
    )
    for name in document["targets"]:
        series = ((run.get(name) or {}).get(f"c{size}") or {}).get("paced", {}).get("timeline")
        if not series:
            continue
        step_s = series["bin_ms"] / 1000
        colour = COLOURS.get(name, "#444")
        for key, style in (("max_ms", ""), ("p50_ms", ' stroke-dasharray="2,3"')):
            points: list[tuple[float, float] | None] = []
            for index, value in enumerate(series[key]):
                middle = (index + 0.5) * step_s
                if value is None or middle > seconds:
                    points.append(None)
                    continue
                points.append((LEFT + inner_w * middle / seconds, height(min(value, ceiling))))
            out.append(
                f'<path d="{_path(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="{1.4 if key == "max_ms" else 1}"{style}/>'
            )
    return out


def latency_svg(document: dict[str, Any]) -> str:
    """The latency-over-time figure of a benchmark result."""
    sizes: list[int] = list(document["plan"]["sizes"])
    runs = len(document["runs"])
    panels = [(size, index) for size in sizes for index in range(runs)]
    height = LEGEND_HEIGHT + PANEL_HEIGHT * max(1, len(panels))
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        "<style>.title{font-size:13px;font-weight:bold}.axis{font-size:11px;fill:#333}"
        ".grid{stroke:#ddd;stroke-width:1}.legend{font-size:12px}</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    x = LEFT
    for name in document["targets"]:
        colour = COLOURS.get(name, "#444")
        lines.append(
            f'<line x1="{x}" x2="{x + 22}" y1="14" y2="14" stroke="{colour}" stroke-width="2"/>'
        )
        lines.append(f'<text x="{x + 28}" y="18" class="legend">{escape(name)}</text>')
        x += 40 + 8 * len(name)
    lines.append(
        f'<text x="{x + 10}" y="18" class="legend">solid: largest latency per 25 ms of publish '
        "time; dotted: median</text>"
    )
    for number, (size, index) in enumerate(panels):
        values = [
            v
            for run in document["runs"]
            for name in document["targets"]
            for v in (((run.get(name) or {}).get(f"c{size}") or {}).get("paced", {}))
            .get("timeline", {})
            .get("max_ms", [])
            if v is not None
        ]
        ceiling = decade_ceiling(max(values, default=1.0))
        top = LEGEND_HEIGHT + PANEL_HEIGHT * number
        lines.extend(_panel(document, size, index, top, ceiling))
    lines.append("</svg>")
    return "\n".join(lines) + "\n"
