"""The cluster benchmark: one hub, then three, on the same Redis and PostgreSQL, in one run.

    .venv/bin/python -m bench.cluster                # 5 runs (about 2.5 minutes)
    .venv/bin/python -m bench.cluster --tiny         # a few clients, ~1 s a figure (CI)

Each run starts a fresh PostgreSQL and Redis, then hub A alone (it creates the schema): one
hub with its clients is the single-node figure. Then hubs B and C join, each with as many
clients as A, and events are published on B: the clients of A and C receive them across
nodes. Latency is measured at the same load per hub in both, and for three hubs also at one
hub's total load (a third of the events), where the shared server core is not the limit.
The hubs, Redis and PostgreSQL run on core 0 (``taskset -c 0``); the drivers and this
controller on core 1.

Three hubs on one shared core get the CPU one hub gets, so the same run also measures both
configurations with every hub capped at an equal share of the core (``--hub-cpu``, a
quarter by default; a cgroup CPU quota each, :mod:`bench.cpu_cap`) and the publishes shared
by the hubs as a balancer would: the "a core per hub" comparison, scaled down.

Writes ``bench/results/cluster.json`` and ``bench/results/cluster.md``.
``bash bench/setup.sh`` must have installed the load driver first.
"""

from __future__ import annotations

import argparse
import os
import string
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop

from bench import cluster_report, cpu_cap, machine, phases, publishers, summary
from bench.cluster_infra import Services, missing, versions
from bench.cluster_phases import Cluster, connect, full_speed, paced
from bench.fanout import raise_open_file_limit
from bench.load import LOAD_CORE, DriverPool
from bench.publishers import IngestPublisher, Publisher, SpreadPublisher
from bench.targets import HARNESS, ServerProcess, Target

RESULTS = Path(__file__).resolve().parent / "results"
PINNING = "hubs, Redis and PostgreSQL: taskset -c 0; drivers and controller: taskset -c 1"


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of one benchmark run."""

    nodes: int = 3
    clients_per_node: int = 300
    paced_deliveries_per_s_per_node: float = 20_000
    seconds: float = 2.5
    warmup: float = 0.5
    window_deliveries: int = 200_000
    publish_batch: int = 20
    publish_lanes: int = 4
    hub_cpu: float = 0.25
    """Each hub's share of a core in the capped configurations."""

    @property
    def paced_events_per_s(self) -> float:
        """The paced publish rate: the same per-hub load in both configurations."""
        return self.paced_deliveries_per_s_per_node / self.clients_per_node


TINY = Plan(
    clients_per_node=4,
    paced_deliveries_per_s_per_node=400,
    seconds=1.0,
    warmup=0.2,
    window_deliveries=2_000,
    publish_batch=10,
    publish_lanes=2,
)


def shared_services(services: Services) -> tuple[str, ...]:
    """The options that put a hub on the shared PostgreSQL and Redis."""
    return ("--store", services.store_url, "--broker", services.redis.url)


def hub_target(name: str, services: Services) -> Target:
    """``harness serve`` on the shared store and broker, as docs/deployment.md runs it."""
    return Target(
        name=f"hub-{name.lower()}",
        label=f"hub {name}",
        command=(str(HARNESS), "serve", "--port", "0", *shared_services(services)),
        ws_path="/ws?monitor=events",
        publish="ingest",
        store=True,
    )


async def start_hubs(names: str, services: Services, workdir: Path) -> list[ServerProcess]:
    """Starts one hub per name, one after the other (the first migrates the schema)."""
    hubs: list[ServerProcess] = []
    for name in names:
        hub = ServerProcess(hub_target(name, services), workdir)
        hubs.append(hub)
        await hub.start()
    return hubs


def say(nodes: int, phase: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Prints one phase's main figures as it ends, and returns them."""
    keys = ("deliveries_per_s", "events_per_s", "hubs_cpu_us_per_delivery",
            "server_core_busy_all", "load_core_busy_all", "undelivered")  # fmt: skip
    shown = " ".join(f"{k}={figures[k]}" for k in keys if k in figures)
    for split in ("same_node", "cross_node"):
        if split in figures:
            shown += f" {split} p50/p99={figures[split]['p50_ms']}/{figures[split]['p99_ms']}"
    print(f"  {time.strftime('%H:%M:%S')} {nodes} hub(s) {phase}: {shown}", flush=True)
    return figures


async def measure(plan: Plan, cluster: Cluster, capped: bool = False) -> dict[str, Any]:
    """Connects every hub's clients, then the full-speed and paced figures (capped: the
    full-speed figures only)."""
    nodes = len(cluster.nodes)
    clients = cluster.stage.clients
    most = max(4 * plan.publish_batch, plan.window_deliveries // clients)
    block: dict[str, Any] = {"hubs": nodes, "clients": clients}
    block["connect_s"] = await connect(cluster)
    batch, lanes = plan.publish_batch, plan.publish_lanes
    full = await full_speed(cluster, plan.seconds, plan.warmup, most, batch, lanes)
    block["full"] = say(nodes, "full, capped" if capped else "full", full)
    if capped:
        block["hub_cpu"] = plan.hub_cpu
        block["notes"] = cluster.stage.notes
        return block
    steady = await paced(cluster, plan.paced_events_per_s, plan.seconds, plan.warmup)
    block["paced"] = say(nodes, "paced", steady)
    if nodes > 1:
        light = plan.paced_deliveries_per_s_per_node / clients
        steady = await paced(cluster, light, plan.seconds, plan.warmup)
        block["paced_same_total"] = say(nodes, "paced, one hub's total", steady)
    block["notes"] = cluster.stage.notes
    return block


def fresh_folder(path: Path) -> Path:
    """Creates a work folder for one configuration."""
    path.mkdir()
    return path


async def configuration(
    plan: Plan, services: Services, hubs: list[ServerProcess], workdir: Path, capped: bool = False
) -> dict[str, Any]:
    """Every figure with these hubs: one driver process per hub, events published on the
    second hub when there are several (on the only one otherwise); capped, on every hub in
    turn."""
    fresh_folder(workdir)
    publish_on = 1 if len(hubs) > 1 else 0
    pool = DriverPool(workdir, len(hubs))
    await pool.start()
    try:
        async with publishers.session() as session:
            cluster = make_cluster(
                plan, services, hubs, publish_on, pool, session, workdir, spread=capped
            )
            block = await measure(plan, cluster, capped)
        await pool.close()
    finally:
        await pool.stop()
    return block


def make_cluster(
    plan: Plan,
    services: Services,
    hubs: list[ServerProcess],
    publish_on: int,
    pool: DriverPool,
    session: aiohttp.ClientSession,
    workdir: Path,
    spread: bool = False,
) -> Cluster:
    """The hubs, their drivers and a publisher on ``hubs[publish_on]`` (with ``spread``, one
    on every hub, used in turn)."""
    publisher: Publisher = IngestPublisher(session, hubs[publish_on].base_url)
    if spread:
        publisher = SpreadPublisher([IngestPublisher(session, hub.base_url) for hub in hubs])
    clients = plan.clients_per_node * len(hubs)
    stage = phases.Stage(hubs[publish_on], pool, publisher, clients)
    names = [hub.target.label.rsplit(" ", 1)[-1] for hub in hubs]
    return Cluster(hubs, names, services, stage, publish_on, plan.clients_per_node, workdir, spread)


def capacity(block: dict[str, Any], spread: bool = False) -> float | None:
    """Deliveries/s these hubs would make with a core each: every hub gets every event, so the
    hub that spends the most CPU per event sets the pace for all.

    Events are published on one hub here, which also writes them all. With ``spread``, the
    publishes are taken as shared evenly (as behind a balancer): every hub then does a third
    of that work, and each spends the hubs' mean CPU per event."""
    costs = [node["cpu_us_per_event"] for node in block["full"]["nodes"].values()]
    if not costs or None in costs:
        return None
    cost = sum(costs) / len(costs) if spread else max(costs)
    return float(round(block["clients"] * 1e6 / cost))


def compare(
    one: dict[str, Any],
    three: dict[str, Any],
    one_capped: dict[str, Any],
    three_capped: dict[str, Any],
) -> dict[str, Any]:
    """Three hubs against one: measured on the shared core, measured with an equal CPU cap
    per hub, and predicted for a core per hub."""
    measured = three["full"]["deliveries_per_s"] / max(one["full"]["deliveries_per_s"], 1)
    alone, together = capacity(one), capacity(three)
    shared = capacity(three, spread=True)
    figures: dict[str, Any] = {
        "measured_ratio": round(measured, 3),
        "core_per_hub_deliveries_per_s": {"one": alone, "three": together, "spread": shared},
        "core_per_hub_ratio": round(together / alone, 3) if alone and together else None,
        "core_per_hub_spread_ratio": round(shared / alone, 3) if alone and shared else None,
    }
    if together:
        figures["core_per_hub_needs"] = needs(three, together)
    if "full" in one_capped and "full" in three_capped:
        capped_one = one_capped["full"]["deliveries_per_s"]
        figures["equal_cpu_ratio"] = round(three_capped["full"]["deliveries_per_s"] / capped_one, 3)
    return figures


def needs(block: dict[str, Any], deliveries_per_s: float) -> dict[str, float | None]:
    """What the predicted rate would ask of Redis, PostgreSQL and the load side, in cores, at
    the CPU per event (and per delivery) measured here."""
    full = block["full"]
    events_per_s = deliveries_per_s / block["clients"]
    found: dict[str, float | None] = {}
    for name, service in full["services"].items():
        cost = service["cpu_us_per_event"]
        found[f"{name}_cores"] = round(events_per_s * cost / 1e6, 2) if cost else None
    load_per_delivery = full["load_core_busy"] / max(full["deliveries_per_s"], 1)
    found["load_cores"] = round(deliveries_per_s * load_per_delivery, 2)
    return found


async def run_once(plan: Plan, number: int) -> dict[str, Any]:
    """One run: fresh services, one hub, then all of them."""
    names = string.ascii_uppercase[: plan.nodes]
    with tempfile.TemporaryDirectory(prefix="cluster-") as folder:
        workdir = Path(folder)
        services = Services(workdir)
        hubs: list[ServerProcess] = []
        started = time.monotonic()
        try:
            await services.start()
            hubs += await start_hubs(names[:1], services, workdir)
            one = await configuration(plan, services, hubs, workdir / "one")
            one_capped = await capped(plan, services, hubs, workdir / "one-capped")
            hubs += await start_hubs(names[1:], services, workdir)
            three = await configuration(plan, services, hubs, workdir / "three")
            three_capped = await capped(plan, services, hubs, workdir / "three-capped")
        finally:
            for hub in hubs:
                await hub.stop()
            await services.stop()
        print(f"run {number}: measured in {time.monotonic() - started:.0f} s", flush=True)
    return {
        "one": one,
        "three": three,
        "one_capped": one_capped,
        "three_capped": three_capped,
        "compare": compare(one, three, one_capped, three_capped),
    }


async def capped(
    plan: Plan, services: Services, hubs: list[ServerProcess], workdir: Path
) -> dict[str, Any]:
    """The full-speed figures with every hub capped at ``plan.hub_cpu`` of a core, or why
    they could not be measured here."""
    reason = cpu_cap.unavailable()
    if reason is not None:
        return {"unavailable": reason}
    with cpu_cap.CpuCap("harness-bench", plan.hub_cpu) as cap:
        for hub in hubs:
            cap.add(hub.target.name, hub.pid)
        return await configuration(plan, services, hubs, workdir, capped=True)


async def attempt(plan: Plan, number: int) -> dict[str, Any]:
    """One run, or why it failed: one failed run must not lose the others."""
    try:
        return await run_once(plan, number)
    except Exception as error:
        print(f"run {number} failed: {type(error).__name__}: {error}", flush=True)
        return {"error": f"{type(error).__name__}: {str(error)[-500:]}"}


async def benchmark(plan: Plan, runs: int, out: Path) -> dict[str, Any]:
    """All runs, their medians and spreads; writes the JSON and markdown results."""
    started = time.time()
    results = [await attempt(plan, number + 1) for number in range(runs)]
    if all("error" in result for result in results):
        raise RuntimeError(f"every run failed: {results[-1]['error']}")
    described = machine.describe()
    described["pinning"] = PINNING
    described["versions"].update(versions())
    document = {
        "machine": described,
        "plan": {**asdict(plan), "paced_events_per_s": round(plan.paced_events_per_s, 3)},
        "runs": results,
        "median": summary.medians(results),
        "spread": summary.spreads(results),
        "command": " ".join([".venv/bin/python -m bench.cluster", *sys.argv[1:]]),
        "took_s": round(time.time() - started),
    }
    write_results(document, out)
    return document


def write_results(document: dict[str, Any], out: Path) -> None:
    """Writes ``cluster.json`` and ``cluster.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    (out / "cluster.md").write_text(cluster_report.markdown(document))


def main() -> None:
    """Entry point: parses the options, pins itself to the load core, runs the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a few clients, ~1 s a figure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--hub-cpu", type=float, default=Plan.hub_cpu, help="each hub's share of a core, capped"
    )
    args = parser.parse_args()
    plan = replace(TINY if args.tiny else Plan(), hub_cpu=args.hub_cpu)
    lacking = missing()
    if lacking is not None:
        sys.exit(f"bench.cluster cannot run here: {lacking}")
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    raise_open_file_limit()
    document = uvloop.run(benchmark(plan, args.runs, args.out))
    print(cluster_report.markdown(document))


if __name__ == "__main__":
    main()
