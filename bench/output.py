"""One agent printing 5 MB/s while 100 clients follow other rooms (issue 16).

    .venv/bin/python -m bench.output [--seconds 10] [--clients 100] [--mb-per-s 5]

A real hub (`harness serve --port 0`, SQLite file). `--clients` WebSocket clients each follow
their own room (`task:t-<i>`), where a task update arrives for each about twice a second,
stamped with the publisher's monotonic clock; one more client follows the noisy session's
room. Two phases of `--seconds` each: without agent output, then with one session printing
`--mb-per-s` as `session:output` events of 64 KB (25 lines of 2.5 KB: the orchestrator's
2,000 lines/s bound), published over REST. For each phase: the followers' latency (p50,
p99, from the publisher's clock to the client), the hub's peak RSS, and what the session's
follower received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.dashboard_hub import machine, percentile
from bench.procstat import rss_bytes

HARNESS = Path(sys.executable).with_name("harness")
URL_RE = re.compile(rb"serving (http://\S+)")
LINE_BYTES = 2560
LINES_PER_EVENT = 25
ROOM_RATE_HZ = 2.0


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    rss_peak: int = 0
    output_bytes: int = 0
    output_events: int = 0
    published_output_bytes: int = 0


async def follower(http: aiohttp.ClientSession, url: str, room: str, phase: list[Phase]) -> None:
    async with http.ws_connect(f"{url}/ws?monitor={room}", max_msg_size=0) as ws:
        async for frame in ws:
            now = time.monotonic()
            data = orjson.loads(frame.data)
            for msg in data if isinstance(data, list) else [data]:
                if msg.get("type") == "task:updated":
                    sent = float(msg["payload"]["task"]["title"])
                    phase[0].latencies_ms.append((now - sent) * 1000)
                elif msg.get("type") == "session:output":
                    phase[0].output_events += 1
                    phase[0].output_bytes += sum(
                        len(line["text"]) for line in msg["payload"]["lines"]
                    )


async def post(http: aiohttp.ClientSession, url: str, events: list[dict[str, Any]]) -> None:
    async with http.post(
        f"{url}/api/events", data=orjson.dumps(events), headers={"Content-Type": "application/json"}
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"publish failed: {resp.status} {await resp.text()}")


async def rooms_ticker(http: aiohttp.ClientSession, url: str, clients: int) -> None:
    """A task update for each room about ROOM_RATE_HZ times a second, in batches of 10."""
    per_batch = 10
    interval = per_batch / (clients * ROOM_RATE_HZ)
    next_at = time.monotonic()
    i = 0
    while True:
        batch = []
        for _ in range(per_batch):
            title = repr(time.monotonic())
            batch.append(
                {
                    "type": "task:updated",
                    "payload": {"task": {"id": f"t-{i % clients}", "title": title}},
                }
            )
            i += 1
        await post(http, url, batch)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def noisy_agent(
    http: aiohttp.ClientSession, url: str, mb_per_s: float, phase: list[Phase]
) -> None:
    """`session:output` of 64 KB events at `mb_per_s`."""
    event_bytes = LINE_BYTES * LINES_PER_EVENT
    interval = event_bytes / (mb_per_s * 1024 * 1024)
    text = ("\x1b[32mok\x1b[0m " + "x" * LINE_BYTES)[:LINE_BYTES]
    line = 1
    next_at = time.monotonic()
    while True:
        lines = [{"n": line + k, "stream": "stdout", "text": text} for k in range(LINES_PER_EVENT)]
        payload = {"session_id": "s-noisy", "from_line": line, "lines": lines}
        await post(http, url, [{"type": "session:output", "payload": payload}])
        phase[0].published_output_bytes += event_bytes
        line += LINES_PER_EVENT
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def sample_rss(pid: int, phase: list[Phase]) -> None:
    while True:
        phase[0].rss_peak = max(phase[0].rss_peak, rss_bytes(pid))
        await asyncio.sleep(0.25)


async def run(seconds: float, clients: int, mb_per_s: float) -> list[Phase]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = await asyncio.create_subprocess_exec(
            str(HARNESS), "serve", "--port", "0", "--store", f"sqlite:///{tmp}/hub.db",
            "--max-messages-per-s", "1000", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            found = URL_RE.search(await asyncio.wait_for(proc.stdout.readline(), 30))
            assert found, "the hub printed no URL"
            return await phases(found.group(1).decode(), proc.pid, seconds, clients, mb_per_s)
        finally:
            proc.terminate()
            await proc.wait()


async def phases(url: str, pid: int, seconds: float, clients: int, mb_per_s: float) -> list[Phase]:
    current = [Phase("warm-up")]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        session = {"id": "s-noisy", "agent_id": "noisy", "status": "running"}
        await post(http, url, [{"type": "session:started", "payload": {"session": session}}])
        tasks = [
            asyncio.create_task(follower(http, url, f"task:t-{i}", current)) for i in range(clients)
        ]
        tasks.append(asyncio.create_task(follower(http, url, "session:s-noisy", current)))
        tasks.append(asyncio.create_task(rooms_ticker(http, url, clients)))
        tasks.append(asyncio.create_task(sample_rss(pid, current)))
        done: list[Phase] = []
        try:
            await asyncio.sleep(2)  # connections up, caches warm
            for name, noisy in (
                ("others only", False),
                (f"+ one agent at {mb_per_s:g} MB/s", True),
            ):
                current[0] = Phase(name)
                agent = (
                    asyncio.create_task(noisy_agent(http, url, mb_per_s, current))
                    if noisy
                    else None
                )
                await asyncio.sleep(seconds)
                if agent is not None:
                    agent.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await agent
                done.append(current[0])
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return done


def report(results: list[Phase], seconds: float, clients: int) -> str:
    rows = [
        f"{clients} clients, each following its own room (2 events/s each), {seconds:g} s a phase; "
        + machine(),
        "",
        "| phase | events to the others | p50 ms | p99 ms | hub peak RSS | output published "
        "| output received by its follower |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in results:
        lat = p.latencies_ms
        published = p.published_output_bytes / 1_048_576 / seconds
        received = p.output_bytes / 1_048_576 / seconds
        rows.append(
            f"| {p.name} | {len(lat)} | {percentile(lat, 50):.1f} | {percentile(lat, 99):.1f} "
            f"| {p.rss_peak / 1_048_576:.0f} MB | {published:.2f} MB/s "
            f"| {received:.2f} MB/s in {p.output_events} events |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--mb-per-s", type=float, default=5.0)
    parser.add_argument("--event-kb", type=int, default=64, help="output per event")
    args = parser.parse_args()
    global LINES_PER_EVENT
    LINES_PER_EVENT = max(1, args.event_kb * 1024 // LINE_BYTES)
    results = asyncio.run(run(args.seconds, args.clients, args.mb_per_s))
    print(report(results, args.seconds, args.clients))


if __name__ == "__main__":
    main()
