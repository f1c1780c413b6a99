"""Profiles one server under one benchmark load with py-spy, and tells where its time goes.

    .venv/bin/python -m bench.profile --target hub --clients 1000 --phase full

py-spy (from ``bench/.peers/venv``) samples the server process, native frames included, while
the phase runs; the collapsed stacks are kept in ``bench/results/profile-*.txt`` and the
functions that hold the most samples, by self time and by total time, are printed. Native
sampling stops the process 250 times a second (it slowed the hub's ingest by a third):
``--python-only`` samples Python frames alone, without stopping it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections import Counter
from pathlib import Path

import uvloop

from bench import phases, publishers
from bench.fanout import RESULTS, Plan, flow_window, publisher_for, raise_open_file_limit
from bench.load import LOAD_CORE, PEERS_PYTHON, DriverPool
from bench.targets import TARGETS, ServerProcess, Target

PY_SPY = PEERS_PYTHON.parent / "py-spy"


IDLE_WAITS = ("_queue_SimpleQueue_get", "epoll_pwait", "epoll_wait")
"""Frames where a thread waits for work (the store's worker thread, the event loop's poll)."""
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py",)
"""Python frames that, last on a stack sampled without native frames, wait for work."""
PRODUCT = "parent_harness/"

Ranking = list[tuple[str, float]]


def function_of(frame: str) -> str:
    """A frame without its line number: ``Hub.dispatch (parent_harness/hub/fanout.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rstrip(')')})" if where else name


def top_functions(collapsed: str, count: int) -> tuple[Ranking, Ranking]:
    """Where busy samples fall: by function, self time; and the product's functions, anywhere
    on the stack (inclusive time). Samples of a thread waiting for work are left out, so
    shares are of the server's busy time."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = stack.split(";")
        if any(wait in frame for frame in frames for wait in IDLE_WAITS):
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            continue
        weight = int(samples)
        total += weight
        own[function_of(frames[-1])] += weight
        for function in {function_of(f) for f in frames if PRODUCT in f}:
            anywhere[function] += weight
    if not total:
        return [], []

    def shares(counter: Counter[str]) -> Ranking:
        return [(name, n / total) for name, n in counter.most_common(count)]

    return shares(own), shares(anywhere)


async def run_phase(plan: Plan, stage: phases.Stage, phase: str, seconds: float) -> None:
    """Runs one benchmark phase for ``seconds``."""
    if phase == "full":
        window, batch = flow_window(plan, stage.clients)
        await phases.full_speed(stage, seconds, 0.5, window, batch)
    elif phase == "paced":
        await phases.paced(stage, plan.paced_deliveries_per_s, seconds, 0.5)
    else:
        await phases.ingest(stage, seconds, 0.5, plan.ingest_batch, plan.ingest_lanes)


async def profile(
    target: Target, clients: int, phase: str, seconds: float, out: Path, native: bool = True
) -> None:
    """Runs the phase under py-spy, which writes the collapsed stacks to ``out``."""
    plan = Plan()
    with tempfile.TemporaryDirectory(prefix="profile-") as folder:
        workdir = Path(folder)
        pool = DriverPool(workdir, plan.drivers)
        await pool.start()
        server = ServerProcess(target, workdir)
        await server.start()
        try:
            await pool.connect(server.ws_url, clients, target.kind)
            async with publishers.session() as session:
                stage = phases.Stage(server, pool, publisher_for(target, session, server.base_url),
                                     clients)  # fmt: skip
                spy = await asyncio.create_subprocess_exec(
                    "taskset", "-c", LOAD_CORE, str(PY_SPY), "record", "--pid", str(server.pid),
                    "--duration", str(int(seconds + 1)), "--rate", "250",
                    "--native" if native else "--nonblocking",
                    "--format", "raw", "--output", str(out),
                    stdout=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                await run_phase(plan, stage, phase, seconds + 1.5)
                await spy.wait()
        finally:
            await server.stop()
            await pool.stop()


def main() -> None:
    """Entry point: profile one server in one phase and print the hottest functions."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="hub", choices=[t.name for t in TARGETS])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--phase", default="full", choices=["full", "paced", "ingest"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--python-only", action="store_true", help="no native frames: the process runs on"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    raise_open_file_limit()
    target = next(t for t in TARGETS if t.name == args.target)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"profile-{args.target}-{args.clients}-{args.phase}.txt"
    native = not args.python_only
    uvloop.run(profile(target, args.clients, args.phase, args.seconds, out, native))
    collapsed = out.read_text() if out.exists() else ""
    own, anywhere = top_functions(collapsed, args.top)
    print(f"stacks: {out}\n\nself time:")
    for name, share in own:
        print(f"  {share:6.1%}  {name}")
    print("\nthe product's functions, anywhere on the stack:")
    for name, share in anywhere:
        print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    main()
