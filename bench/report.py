"""The markdown tables of a benchmark result: medians, spreads, and the issue's targets."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any, NamedTuple

HUB = "hub"
REFERENCE = "node-ws"
STALL_PHASES = ("stall_full", "stall_paced")
EVENT_BYTES = 210
"""About what one benchmark event weighs on the wire, for a rough backlog size."""


def dig(tree: Any, *path: str) -> Any:
    """The value at ``path`` in nested dicts, or None."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def num(value: Any, digits: int = 0) -> str:
    """A number for a table, ``-`` when missing."""
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def spread(document: dict[str, Any], *path: str, digits: int = 0) -> str:
    """``median (min-max)`` when there were several runs, else the one value."""
    median = dig(document["median"], *path)
    bounds = dig(document["spread"], *path)
    if median is None:
        return "-"
    if len(document["runs"]) < 2 or not bounds:
        return num(median, digits)
    return f"{num(median, digits)} ({num(bounds[0], digits)}-{num(bounds[1], digits)})"


def header(document: dict[str, Any]) -> list[str]:
    """Date, machine, versions and the command."""
    machine = document["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    runs = len(document["runs"])
    return [
        f"- Date: {machine['date']}; {runs} run(s), medians with (min-max) over runs; "
        f"took {document['took_s']} s.",
        f"- Machine: {machine['cores']} cores, {machine['cpu']}, Linux {machine['kernel']}, "
        f"Python {machine['python']}; load average at start "
        f"{', '.join(f'{x:.1f}' for x in machine['load_average'])}.",
        f"- Hub: parent-harness at commit {machine.get('commit', 'unknown')}.",
        f"- Versions: {versions}.",
        f"- Pinning: {machine['pinning']}.",
        f"- Command: `{document['command']}`",
        "",
    ]


def busy(document: dict[str, Any], *path: str) -> str:
    """A core's share used by the benchmark, and in brackets by everything on the machine."""
    ours = dig(document["median"], *path)
    everything = dig(document["median"], *path[:-1], path[-1] + "_all")
    return f"{num(ours, 2)} ({num(everything, 2)})"


def fanout_table(document: dict[str, Any]) -> list[str]:
    """Figures 1-3: deliveries/s, publish rate, CPU per delivery, latency at the paced load."""
    plan = document["plan"]
    lines = [
        f"| server | clients | deliveries/s, full speed | publish/s | server CPU µs/delivery "
        "| server core busy (all processes) | load core busy (all) "
        "| p50 / p99 / p99.9 / max ms at "
        f"{num(plan['paced_deliveries_per_s'])} deliveries/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, label in document["targets"].items():
        for size in plan["sizes"]:
            full = (name, f"c{size}", "full")
            paced = (name, f"c{size}", "paced")
            bound = any(dig(run, *full, "driver_bound") for run in document["runs"])
            latency = " / ".join(
                num(dig(document["median"], *paced, key), 2)
                for key in ("p50_ms", "p99_ms", "p999_ms", "max_ms")
            )
            lines.append(
                f"| {label} | {size} | {spread(document, *full, 'deliveries_per_s')}"
                f"{' (load core full)' if bound else ''} "
                f"| {spread(document, *full, 'publish_per_s')} "
                f"| {spread(document, *full, 'server_cpu_us_per_delivery', digits=2)} "
                f"| {busy(document, *full, 'server_core_busy')} "
                f"| {busy(document, *full, 'load_core_busy')} "
                f"| {latency} |"
            )
    return [*lines, ""]


def memory_table(document: dict[str, Any]) -> list[str]:
    """Figure 4: RSS per idle connection."""
    sizes = document["plan"]["idle_sizes"]
    lines = [
        "| server | base RSS MB | "
        + " | ".join(f"KB per idle connection at {num(s)}" for s in sizes)
        + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    for name, label in document["targets"].items():
        cells = [spread(document, name, "idle", f"kb_per_idle_{s}", digits=1) for s in sizes]
        base = num(dig(document["median"], name, "idle", "rss_base_mb"), 1)
        lines.append(f"| {label} | {base} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def ingest_table(document: dict[str, Any]) -> list[str]:
    """Figure 5: events/s accepted while fanning out."""
    size = document["plan"]["sizes"][0]
    lines = [
        f"| publisher | events/s accepted | deliveries/s to {size} clients | server core busy "
        "| clients still open |",
        "|---|---|---|---|---|",
    ]
    for name, label in document["targets"].items():
        path = (name, f"c{size}", "ingest")
        if dig(document["median"], *path) is None:
            continue
        lines.append(
            f"| {label} | {spread(document, *path, 'accepted_per_s')} "
            f"| {spread(document, *path, 'deliveries_per_s')} "
            f"| {num(dig(document['median'], *path, 'server_core_busy'), 2)} "
            f"| {num(dig(document['median'], *path, 'clients_open'))} |"
        )
    return [*lines, ""]


def stall_change(run: dict[str, Any], name: str, size: int) -> float | None:
    """How much one stalled client moved the others' p99 in one run (a ratio, 0.1 = +10%)."""
    before = dig(run, name, f"c{size}", "paced", "p99_ms")
    after = dig(run, name, f"c{size}", "stall_paced", "p99_ms")
    if not before or after is None:
        return None
    return float(after) / float(before) - 1


def stall_table(document: dict[str, Any]) -> list[str]:
    """Figure 6: one client stops reading."""
    size = document["plan"]["sizes"][-1]
    lines = [
        "| server | others' p99 ms, all reading | with one stalled | change | RSS MB, all reading "
        "| with one stalled | peak RSS MB | what the stalled client saw |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, label in document["targets"].items():
        block = (name, f"c{size}")
        changes = [stall_change(run, name, size) for run in document["runs"]]
        known = [c for c in changes if c is not None]
        change = f"{statistics.median(known):+.0%}" if known else "-"
        codes = dig(document["runs"][-1], *block, "stall_clients", "close_codes")
        behind = dig(document["median"], *block, "stall_clients", "stalled_behind_events")
        seen = ", ".join(f"closed {k}" for k in codes) if codes else "left open"
        if behind is not None:
            seen += f", {num(behind)} events (~{num(behind * EVENT_BYTES / 2**20, 1)} MB) behind"
        blocked = sum(
            1
            for run in document["runs"]
            if any(dig(run, *block, phase, "publish_blocked") for phase in STALL_PHASES)
        )
        if blocked:
            seen += f"; the server stopped answering publishes in {blocked} of "
            seen += f"{len(document['runs'])} runs"
        lines.append(
            f"| {label} | {spread(document, *block, 'paced', 'p99_ms', digits=2)} "
            f"| {spread(document, *block, 'stall_paced', 'p99_ms', digits=2)} | {change} "
            f"| {num(dig(document['median'], *block, 'paced', 'rss_mb'), 1)} "
            f"| {num(dig(document['median'], *block, 'stall_paced', 'rss_mb'), 1)} "
            f"| {num(dig(document['median'], *block, 'rss_peak_mb'), 1)} | {seen} |"
        )
    return [*lines, ""]


def ratio_to_reference(document: dict[str, Any], size: int) -> float | None:
    """The hub's deliveries/s over Node ws's, taken in each run, then the median."""
    path = (f"c{size}", "full", "deliveries_per_s")
    ratios = [
        dig(run, HUB, *path) / dig(run, REFERENCE, *path)
        for run in document["runs"]
        if dig(run, HUB, *path) and dig(run, REFERENCE, *path)
    ]
    return statistics.median(ratios) if ratios else None


class Goal(NamedTuple):
    """One of the issue's targets: what is wanted, what was measured, and how to judge it."""

    label: str
    wanted: str
    value: float | None
    met: Callable[[float], bool]
    shown: Callable[[float], str]


def targets_table(document: dict[str, Any]) -> list[str]:
    """The issue's targets for the hub at the largest size, met or not."""
    size = document["plan"]["sizes"][-1]
    median = document["median"]
    at = (HUB, f"c{size}")
    ratio = ratio_to_reference(document, size)
    changes = [c for c in (stall_change(r, HUB, size) for r in document["runs"]) if c is not None]
    change = statistics.median(changes) if changes else None
    idle = [dig(median, HUB, "idle", f"kb_per_idle_{s}") for s in document["plan"]["idle_sizes"]]
    worst_idle = max((v for v in idle if v is not None), default=None)
    ingest = [
        dig(median, name, f"c{document['plan']['sizes'][0]}", "ingest", "accepted_per_s")
        for name in document["targets"]
    ]
    best_ingest = max((v for v in ingest if v is not None), default=None)
    goals = [
        Goal("deliveries/s vs Node ws (same run)", "≥ 2x", ratio,
             lambda v: v >= 2, lambda v: f"{v:.2f}x"),
        Goal("server CPU per delivery", "≤ 2 µs",
             dig(median, *at, "full", "server_cpu_us_per_delivery"),
             lambda v: v <= 2, lambda v: f"{v:.2f} µs"),
        Goal("p99 at the paced load, SQLite on", "≤ 10 ms", dig(median, *at, "paced", "p99_ms"),
             lambda v: v <= 10, lambda v: f"{v:.2f} ms"),
        Goal("RSS per idle connection (worst size)", "≤ 15 KB", worst_idle,
             lambda v: v <= 15, lambda v: f"{v:.1f} KB"),
        Goal("ingest while fanning out (best publisher)", "≥ 20,000 events/s", best_ingest,
             lambda v: v >= 20_000, lambda v: f"{v:,.0f} events/s"),
        Goal("stalled client: change of others' p99", "≤ 20%", change,
             lambda v: abs(v) <= 0.2, lambda v: f"{v:+.0%}"),
    ]  # fmt: skip
    lines = [f"| target (hub, {size} clients) | wanted | measured | met |", "|---|---|---|---|"]
    for goal in goals:
        if goal.value is None:
            lines.append(f"| {goal.label} | {goal.wanted} | - | - |")
            continue
        met = "yes" if goal.met(goal.value) else "**no**"
        lines.append(f"| {goal.label} | {goal.wanted} | {goal.shown(goal.value)} | {met} |")
    return [*lines, ""]


LATENCY_KEYS = (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"), ("max_ms", "max"))
STAGE_ORDER = (
    "http",
    "validate",
    "order",
    "fold",
    "queue_wait",
    "writer_handoff",
    "sqlite",
    "sqlite_commit",
    "commit_wait",
    "dispatch",
    "socket_write",
    "publish",
    "gc_gen0",
    "gc_gen1",
    "gc_gen2",
    "loop_lag",
)


def latency_table(document: dict[str, Any]) -> list[str]:
    """Figure 2 alone: p50, p99, p99.9 and max at the paced load, with the server's core and
    the load core's use, and each server's p99 over the floor's and Node ws's (same run)."""
    plan = document["plan"]
    lines = [
        f"| server | clients | {' | '.join(f'{label} ms' for _, label in LATENCY_KEYS)} "
        "| p99 / floor's | p99 / Node ws's | server core busy (all) | load core busy (all) |",
        "|---|---|" + "---|" * (len(LATENCY_KEYS) + 4),
    ]
    for name, label in document["targets"].items():
        for size in plan["sizes"]:
            paced = (name, f"c{size}", "paced")
            cells = [spread(document, *paced, key, digits=2) for key, _ in LATENCY_KEYS]
            ratios = [p99_ratio(document, name, other, size) for other in ("floor", REFERENCE)]
            lines.append(
                f"| {label} | {size} | {' | '.join(cells)} | "
                + " | ".join(ratios)
                + f" | {busy(document, *paced, 'server_core_busy')} "
                f"| {busy(document, *paced, 'load_core_busy')} |"
            )
    return [*lines, ""]


def p99_ratio(document: dict[str, Any], name: str, other: str, size: int) -> str:
    """A server's paced p99 over another's, taken in each run: median (min-max)."""
    path = (f"c{size}", "paced", "p99_ms")
    ratios = sorted(
        dig(run, name, *path) / dig(run, other, *path)
        for run in document["runs"]
        if dig(run, name, *path) and dig(run, other, *path)
    )
    if not ratios or name == other:
        return "-"
    middle = statistics.median(ratios)
    if len(ratios) < 2:
        return f"{middle:.2f}x"
    return f"{middle:.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def stages_table(document: dict[str, Any]) -> list[str]:
    """The hub's own timing of each stage over the paced window (its /metrics histograms):
    how many were timed, the mean, and the bucket bounds of p50, p99, p99.9 and the largest."""
    lines: list[str] = []
    for name, label in document["targets"].items():
        for size in document["plan"]["sizes"]:
            stages = dig(document["runs"][-1], name, f"c{size}", "paced", "stages")
            if not stages:
                continue
            lines += [
                f"{label}, {size} clients (last run; bucket upper bounds, ms):",
                "",
                "| stage | timed | mean ms | p50 ≤ | p99 ≤ | p99.9 ≤ | largest ≤ |",
                "|---|---|---|---|---|---|---|",
            ]
            for stage in sorted(stages, key=lambda s: (*STAGE_ORDER, s).index(s)):
                found = stages[stage]
                if not found.get("count"):
                    continue
                bounds = " | ".join(
                    num(found.get(key), 3) if found.get(key) is not None else "> 1000"
                    for key in ("p50_ms", "p99_ms", "p999_ms", "max_ms")
                )
                lines.append(
                    f"| {stage} | {num(found['count'])} | {num(found['mean_ms'], 3)} | {bounds} |"
                )
            lines.append("")
    return lines


def errors(document: dict[str, Any]) -> list[str]:
    """Servers that failed in some run, with why."""
    lines = []
    for number, run in enumerate(document["runs"], 1):
        for name, result in run.items():
            if "error" in result:
                lines.append(f"- run {number}, {name}: {result['error']}")
    return [*lines, ""] if lines else []


def markdown(document: dict[str, Any]) -> str:
    """Every table of the result."""
    if document["plan"].get("latency_only"):
        return "\n".join(
            [
                *header(document),
                *errors(document),
                "Latency at the paced load (figure 2):",
                "",
                *latency_table(document),
                "Where the hub's time went (its /metrics histograms over the paced window):",
                "",
                *stages_table(document),
            ]
        )
    sections = [
        *header(document),
        *errors(document),
        "Fan-out (figures 1-3):",
        "",
        *fanout_table(document),
        "Memory per idle connection (figure 4):",
        "",
        *memory_table(document),
        "SQLite ingest while fanning out (figure 5):",
        "",
        *ingest_table(document),
        "One client stops reading (figure 6):",
        "",
        *stall_table(document),
        "Targets:",
        "",
        *targets_table(document),
    ]
    return "\n".join(sections)
