"""The fan-out benchmark: one command, every server, the same load driver, side by side.

    .venv/bin/python -m bench.fanout --runs 3          # the full run (about 15 minutes)
    .venv/bin/python -m bench.fanout --tiny            # a few clients, ~1 s a figure (CI)
    .venv/bin/python -m bench.fanout --latency --runs 3 --only hub,floor,node-ws
                                                       # the paced latency alone, and its plot
    .venv/bin/python -m bench.fanout --latency --before /tmp/old/src --only hub,floor
                                                       # + the hub of another checkout's src

Servers run on core 0 (``taskset -c 0``); the drivers and this controller on core 1. Writes
``bench/results/fanout.json`` (every run, medians, spreads) and ``bench/results/fanout.md``.
``bash bench/setup.sh`` must have installed the peers first.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop

from bench import machine, phases, plot, publishers, report, summary
from bench.load import LOAD_CORE, ROOT, DriverPool
from bench.publishers import ControlPublisher, IngestPublisher, Publisher
from bench.targets import HUB, TARGETS, ServerProcess, Target

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of one benchmark run."""

    sizes: tuple[int, ...] = (100, 1000)
    idle_sizes: tuple[int, ...] = (1000, 10000)
    paced_deliveries_per_s: float = 20_000
    seconds: float = 2.5
    warmup: float = 0.4
    window_deliveries: int = 200_000
    publish_batch: int = 20
    ingest_batch: int = 100
    ingest_lanes: int = 4
    drivers: int = 2
    stalled: int = 1
    idle_settle_s: float = 0.5
    settle_timeout_s: float = 15.0
    latency_only: bool = False
    """Only the paced phase at each size (figure 2, with its stages and timeline)."""


TINY = Plan(
    sizes=(4, 8),
    idle_sizes=(10, 20),
    paced_deliveries_per_s=400,
    seconds=1.0,
    warmup=0.2,
    window_deliveries=2_000,
    publish_batch=10,
    ingest_batch=20,
    ingest_lanes=2,
    idle_settle_s=0.2,
    settle_timeout_s=3.0,
)


def flow_window(plan: Plan, clients: int) -> tuple[int, int]:
    """Events in flight (to the slowest reading client) and events per publish at full speed.

    The batch is the same for every server and size; the window holds about the same number
    of deliveries at every size, and at least four batches."""
    batch = plan.publish_batch
    return max(4 * batch, plan.window_deliveries // clients), batch


def publisher_for(target: Target, session: aiohttp.ClientSession, url: str) -> Publisher:
    """How this server takes events."""
    if target.publish == "ingest":
        return IngestPublisher(session, url)
    return ControlPublisher(session, url)


def say(stage: phases.Stage, phase: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Prints one phase's main figures as it ends, and returns them."""
    keys = (
        "deliveries_per_s",
        "publish_per_s",
        "accepted_per_s",
        "server_cpu_us_per_delivery",
        "server_core_busy",
        "load_core_busy",
        "p50_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "undelivered",
    )
    shown = " ".join(f"{k}={figures[k]}" for k in keys if k in figures)
    clock = time.strftime("%H:%M:%S")
    print(f"  {clock} {stage.server.target.name} {stage.clients} {phase}: {shown}", flush=True)
    return figures


async def stalled_clients(stage: phases.Stage) -> dict[str, Any]:
    """What became of the stalled clients: closed or open, and how far behind they fell."""
    report = await stage.pool.report()
    behind = [stage.published - received for received in report.pop("stalled_events")]
    report["stalled_behind_events"] = max(behind, default=0)
    return report


async def measure_size(
    plan: Plan, stage: phases.Stage, with_ingest: bool, with_stall: bool
) -> dict[str, Any]:
    """Every figure at one number of clients."""
    window, batch = flow_window(plan, stage.clients)
    rate, seconds, warmup = plan.paced_deliveries_per_s, plan.seconds, plan.warmup
    if plan.latency_only:
        paced = say(stage, "paced", await phases.paced(stage, rate, seconds, warmup))
        return {"paced": paced, "notes": stage.notes}
    block: dict[str, Any] = {
        "full": say(stage, "full", await phases.full_speed(stage, seconds, warmup, window, batch)),
        "paced": say(stage, "paced", await phases.paced(stage, rate, seconds, warmup)),
    }
    if with_ingest:
        block["ingest"] = say(stage, "ingest", await phases.ingest(
            stage, seconds, warmup, plan.ingest_batch, plan.ingest_lanes))  # fmt: skip
    if with_stall:
        await stage.pool.stall(plan.stalled)
        block["stall_full"] = say(
            stage, "stall full", await phases.full_speed(stage, seconds, warmup, window, batch)
        )
        block["stall_paced"] = say(
            stage, "stall paced", await phases.paced(stage, rate, seconds, warmup)
        )
        block["stall_clients"] = await stalled_clients(stage)
    block["rss_peak_mb"] = round(stage.rss_peak / 2**20, 1)
    block["notes"] = stage.notes
    return block


async def measure_target(
    plan: Plan, target: Target, pool: DriverPool, workdir: Path
) -> dict[str, Any]:
    """Every figure for one server: fan-out at each size on one instance, then idle memory on
    a fresh one."""
    result: dict[str, Any] = {}
    server = ServerProcess(target, workdir)
    await server.start()
    try:
        async with publishers.session() as session:
            publisher = publisher_for(target, session, server.base_url)
            for size in plan.sizes:
                connect_s = await pool.connect(server.ws_url, size, target.kind)
                result[f"c{size}"] = {"connect_s": connect_s}
                stage = phases.Stage(
                    server, pool, publisher, size, settle_timeout=plan.settle_timeout_s
                )
                with_ingest = target.ingest and size == plan.sizes[0] and not plan.latency_only
                with_stall = size == plan.sizes[-1] and not plan.latency_only
                result[f"c{size}"].update(await measure_size(plan, stage, with_ingest, with_stall))
                await pool.close()
    finally:
        await server.stop()
    if plan.latency_only:
        return result
    idle_server = ServerProcess(target, workdir / "idle")
    idle_server.workdir.mkdir(exist_ok=True)
    await idle_server.start()
    try:
        result["idle"] = await phases.idle_memory(
            idle_server, pool, list(plan.idle_sizes), plan.idle_settle_s
        )
        print(f"  {time.strftime('%H:%M:%S')} {target.name} idle: {result['idle']}", flush=True)
    finally:
        await idle_server.stop()
    return result


async def run_once(plan: Plan, targets: list[Target], number: int) -> dict[str, Any]:
    """One run over every server, each with fresh driver processes and a fresh work folder."""
    outcome: dict[str, Any] = {}
    for target in targets:
        with tempfile.TemporaryDirectory(prefix=f"fanout-{target.name}-") as folder:
            workdir = Path(folder)
            pool = DriverPool(workdir, plan.drivers)
            await pool.start()
            started = time.monotonic()
            try:
                outcome[target.name] = await measure_target(plan, target, pool, workdir)
            except Exception as error:  # one server failing must not hide the others
                outcome[target.name] = {"error": f"{type(error).__name__}: {error}"}
            finally:
                await pool.stop()
            took = time.monotonic() - started
            print(f"run {number}: {target.name} measured in {took:.0f} s", flush=True)
    return outcome


def raise_open_file_limit() -> None:
    """Lets the servers and drivers (which inherit it) hold 10,000 sockets each."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def benchmark(plan: Plan, targets: list[Target], runs: int, out: Path) -> dict[str, Any]:
    """All runs, their medians and spreads; writes the JSON and markdown results."""
    started = time.time()
    results = [await run_once(plan, targets, number + 1) for number in range(runs)]
    document = {
        "machine": machine.describe(),
        "plan": asdict(plan),
        "runs": results,
        "median": summary.medians(results),
        "spread": summary.spreads(results),
        "targets": {t.name: t.label for t in targets},
        "command": command_line(),
        "took_s": round(time.time() - started),
    }
    write_results(document, out)
    return document


def command_line() -> str:
    """The command that produced the results, as typed from the repository's root."""
    return " ".join([".venv/bin/python -m bench.fanout", *sys.argv[1:]])


def write_results(document: dict[str, Any], out: Path) -> None:
    """Writes ``fanout.json`` and ``fanout.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "fanout.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    (out / "fanout.md").write_text(report.markdown(document))
    (out / "fanout-latency.svg").write_text(plot.latency_svg(document))


def before_target(src: Path) -> Target:
    """The hub as `harness serve` starts it, importing the product from another checkout."""
    path = os.pathsep.join((str(src), str(ROOT)))
    return replace(HUB, name="hub-before", label=f"hub before (`{src}`)", env={"PYTHONPATH": path})


def main() -> None:
    """Entry point: parses the options, pins itself to the load core, runs the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="a few clients, ~1 s a figure")
    parser.add_argument(
        "--latency", action="store_true", help="only the paced latency at each size, and its plot"
    )
    parser.add_argument("--only", default="", help="comma list of servers: " + ",".join(
        t.name for t in TARGETS))  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--before",
        type=Path,
        help="the src folder of another checkout: its hub runs too, as hub-before, side by side",
    )
    args = parser.parse_args()
    plan = TINY if args.tiny else Plan()
    if args.latency:
        plan = replace(plan, latency_only=True)
    wanted = [name for name in args.only.split(",") if name]
    targets = [t for t in TARGETS if not wanted or t.name in wanted]
    if args.before is not None:
        targets.insert(0, before_target(args.before.resolve()))
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    raise_open_file_limit()
    document = uvloop.run(benchmark(plan, targets, args.runs, args.out))
    print(report.markdown(document))


if __name__ == "__main__":
    main()
