"""The markdown tables of a cluster benchmark result: medians, spreads, and the issue's target."""

from __future__ import annotations

from typing import Any

from bench.report import dig, header, num, spread

CONFIGURATIONS = (
    ("one", "1 hub"),
    ("three", "3 hubs"),
    ("one_capped", "1 hub, capped"),
    ("three_capped", "3 hubs, each capped"),
)
TARGET_RATIO = 2.5


def measured_run(document: dict[str, Any]) -> dict[str, Any]:
    """The first run that did not fail (for the names of hubs and their roles)."""
    return next((run for run in document["runs"] if "error" not in run), {})


def size(document: dict[str, Any], block: str) -> str:
    """``1 hub x 300`` for a configuration."""
    plan = document["plan"]
    hubs = 1 if block.startswith("one") else plan["nodes"]
    text = f"{hubs} hub{'s' if hubs > 1 else ''} x {num(plan['clients_per_node'])}"
    if block.endswith("capped"):
        text += f", {'each ' if hubs > 1 else ''}capped at {num(plan['hub_cpu'], 2)} core"
    return text


def cores(document: dict[str, Any], *path: str) -> str:
    """A core's busy share, and in brackets the whole core's (every process on it)."""
    ours = dig(document["median"], *path)
    whole = dig(document["median"], *path[:-1], path[-1] + "_all")
    return f"{num(ours, 2)} ({num(whole, 2)})"


def full_table(document: dict[str, Any]) -> list[str]:
    """Deliveries/s at full speed, the hubs' CPU, and how busy both cores were."""
    lines = [
        "| hubs x clients each | deliveries/s, full speed | events/s to each client | hubs' CPU "
        "µs/delivery | hubs' share of core 0 | Redis / PostgreSQL share of core 0 "
        "| core 0 busy: ours (all processes) | load core busy: ours (all) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for block, _ in CONFIGURATIONS:
        full = (block, "full")
        bound = any(dig(run, *full, "driver_bound") for run in document["runs"])
        services = " / ".join(
            num(dig(document["median"], *full, "services", name, "core_busy"), 2)
            for name in ("redis", "postgres")
        )
        lines.append(
            f"| {size(document, block)} | {spread(document, *full, 'deliveries_per_s')}"
            f"{' (load core full)' if bound else ''} "
            f"| {spread(document, *full, 'events_per_s')} "
            f"| {spread(document, *full, 'hubs_cpu_us_per_delivery', digits=2)} "
            f"| {num(dig(document['median'], *full, 'hubs_core_busy'), 2)} | {services} "
            f"| {cores(document, *full, 'server_core_busy')} "
            f"| {cores(document, *full, 'load_core_busy')} |"
        )
    return [*lines, ""]


def node_table(document: dict[str, Any]) -> list[str]:
    """Each hub at full speed: its deliveries, CPU per delivery and per event, batching."""
    lines = [
        "| hubs | hub | role | deliveries/s | CPU µs/delivery | CPU µs/event | share of core 0 "
        "| events per frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for block, label in CONFIGURATIONS:
        nodes = dig(measured_run(document), block, "full", "nodes") or {}
        for name, node in nodes.items():
            at = (block, "full", "nodes", name)
            lines.append(
                f"| {label} | {name} | {node['role']} "
                f"| {spread(document, *at, 'deliveries_per_s')} "
                f"| {spread(document, *at, 'cpu_us_per_delivery', digits=2)} "
                f"| {spread(document, *at, 'cpu_us_per_event', digits=0)} "
                f"| {num(dig(document['median'], *at, 'core_busy'), 2)} "
                f"| {num(dig(document['median'], *at, 'events_per_frame'), 1)} |"
            )
    return [*lines, ""]


def latency_row(document: dict[str, Any], label: str, clients: str, *path: str) -> str:
    """One row of latency percentiles; ``path`` starts with the configuration and phase."""
    cells = " | ".join(
        spread(document, *path, key, digits=2) for key in ("p50_ms", "p99_ms", "max_ms")
    )
    samples = num(dig(document["median"], *path, "latency_samples"))
    load = num(dig(document["median"], *path[:2], "deliveries_per_s"))
    busy = cores(document, *path[:2], "server_core_busy")
    return f"| {label} | {load} | {clients} | {cells} | {samples} | {busy} |"


def latency_table(document: dict[str, Any]) -> list[str]:
    """Publish-to-receive latency at the paced rates, same-node and cross-node."""
    lines = [
        "| hubs | deliveries/s in all | whose clients | p50 ms | p99 ms | max ms "
        "| deliveries sampled | core 0 busy: ours (all processes) |",
        "|---|---|---|---|---|---|---|---|",
        latency_row(document, "1 hub", "A's (publishing hub): same-node", "one", "paced",
                    "same_node"),
    ]  # fmt: skip
    for phase in ("paced", "paced_same_total"):
        at = ("three", phase)
        lines += [
            latency_row(document, "3 hubs", "B's (publishing hub): same-node", *at, "same_node"),
            latency_row(document, "3 hubs", "A's and C's: cross-node", *at, "cross_node"),
        ]
        nodes = dig(measured_run(document), *at, "by_node") or {}
        lines += [
            latency_row(document, "3 hubs", f"{name}'s only: cross-node", *at, "by_node", name)
            for name in nodes
            if name != "B"
        ]
    return [*lines, ""]


def services_table(document: dict[str, Any]) -> list[str]:
    """What Redis and PostgreSQL spent per event, at full speed."""
    lines = [
        "| hubs | Redis CPU µs/event | PostgreSQL CPU µs/event (each event written once) |",
        "|---|---|---|",
    ]
    for block, label in CONFIGURATIONS:
        at = (block, "full", "services")
        lines.append(
            f"| {label} | {spread(document, *at, 'redis', 'cpu_us_per_event', digits=1)} "
            f"| {spread(document, *at, 'postgres', 'cpu_us_per_event', digits=1)} |"
        )
    return [*lines, ""]


def times(cell: str) -> str:
    """``0.97 (0.91-1.12)`` as ``0.97x (0.91-1.12)``."""
    value, _, rest = cell.partition(" ")
    return f"{value}x {rest}".rstrip() if value != "-" else value


def target_table(document: dict[str, Any]) -> list[str]:
    """The issue's target, as measured here and as predicted for a core per hub."""
    compare = ("compare",)
    measured = dig(document["median"], *compare, "measured_ratio")
    core = dig(document["median"], *compare, "core_per_hub_deliveries_per_s") or {}
    need = dig(document["median"], *compare, "core_per_hub_needs") or {}
    met = "-" if measured is None else ("yes" if measured >= TARGET_RATIO else "**no**")
    equal = dig(document["median"], *compare, "equal_cpu_ratio")
    equal_met = "-" if equal is None else ("yes" if equal >= TARGET_RATIO else "**no**")
    share = num(document["plan"]["hub_cpu"], 2)
    why = dig(measured_run(document), "three_capped", "unavailable")
    return [
        "| target | wanted | value | met |",
        "|---|---|---|---|",
        f"| 3 hubs' deliveries/s over 1 hub's, same run, all hubs on one core | ≥ 2.5x "
        f"| {times(spread(document, *compare, 'measured_ratio', digits=2))} | {met} "
        "(not the target's setup: the hubs share one core) |",
        f"| the same, every hub capped at {share} core (a CPU quota each), publishes shared "
        f"by the hubs | ≥ 2.5x | "
        f"{times(spread(document, *compare, 'equal_cpu_ratio', digits=2)) if why is None else why}"
        f" | {equal_met} |",
        f"| the same, predicted for a core per hub from each hub's CPU per event | ≥ 2.5x "
        f"| {times(spread(document, *compare, 'core_per_hub_ratio', digits=2))} "
        f"(median {num(core.get('three'))} against "
        f"{num(core.get('one'))} deliveries/s) | prediction, not a measurement |",
        f"| the same with the publishes shared evenly by the hubs (each at the hubs' mean CPU "
        f"per event) | ≥ 2.5x "
        f"| {times(spread(document, *compare, 'core_per_hub_spread_ratio', digits=2))} "
        f"(median {num(core.get('spread'))} deliveries/s) | prediction, not a measurement |",
        "",
        f"At that predicted rate the services and the load side would need: Redis "
        f"{num(need.get('redis_cores'), 2)} core, PostgreSQL {num(need.get('postgres_cores'), 2)} "
        f"core, load drivers {num(need.get('load_cores'), 2)} core(s), at the CPU per event "
        "(and per delivery) measured here.",
        "",
    ]


def errors(document: dict[str, Any]) -> list[str]:
    """Runs that failed, and notes the phases left: events that never reached a client."""
    lines = []
    for number, run in enumerate(document["runs"], 1):
        if "error" in run:
            lines.append(f"- run {number} failed: {run['error']}")
        for block, label in CONFIGURATIONS:
            for note in dig(run, block, "notes") or []:
                lines.append(f"- run {number}, {label}: {note}")
    return [*lines, ""] if lines else []


def markdown(document: dict[str, Any]) -> str:
    """Every table of the result."""
    plan = document["plan"]
    per_hub = num(plan["paced_deliveries_per_s_per_node"])
    paced = (
        f"{num(plan['paced_events_per_s'], 1)} events/s published on one hub "
        f"({per_hub} deliveries/s per hub); for 3 hubs also at a third of that rate "
        f"({per_hub} deliveries/s in all, as for 1 hub)"
    )
    sections = [
        *header(document),
        *errors(document),
        "Full speed, events published on one hub (B when there are three); capped: every hub "
        "capped at an equal share of core 0, the publishes shared by the hubs in turn:",
        "",
        *full_table(document),
        "Each hub at full speed:",
        "",
        *node_table(document),
        f"Publish-to-receive latency at a paced {paced}:",
        "",
        *latency_table(document),
        "Redis and PostgreSQL at full speed:",
        "",
        *services_table(document),
        "Target:",
        "",
        *target_table(document),
    ]
    return "\n".join(sections)
