"""Approvals (issue 15), the agent side: request to visible, answer to agent unblocked.

    .venv/bin/python -m bench.approvals_agent [--requests 200] [--out DIR]

A real hub (this process, port 0, a temporary SQLite file) runs the orchestrator with one
agent, a real subprocess speaking the harness protocol, that asks `--requests` times in a
row: it prints an `approval_request` line carrying its wall-clock time, then blocks on its
stdin until the answer comes, notes the time it read it, and prints it in a `log` line.
A client subscribed over the WebSocket (the dashboard's path, rooms `approvals` and
`events`) answers each request through `POST /api/approvals/{id}/answer` as soon as it
sees it.

- **request to visible**: from the agent printing the request to the subscriber receiving
  `approval:requested` (agent's stdout, the orchestrator's reader, ingest, store, fan-out,
  WebSocket);
- **answer to agent unblocked**: from the client sending the answer to the agent reading
  its line on stdin (REST, ingest, store, the orchestrator's listener, the stdin pipe).

Both use `time.time()` of two processes on one machine. Target: p99 under 50 ms each.
Prints a markdown table; with `--out`, writes `approvals_agent.json` and `approvals_agent.md`
there. (`bench.approvals` measures the dashboard's side: request to an Inbox row.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.dashboard_hub import machine
from parent_harness.client.subscriber import Subscriber
from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings

TARGET_MS = 50.0
AGENT = """\
import json, sys, time
for n in range(int(sys.argv[1])):
    print(json.dumps({"type": "approval_request", "id": str(n), "tool": "Bash",
                      "summary": "bench", "detail": repr(time.time())}), flush=True)
    line = sys.stdin.readline()
    got = time.time()
    print(json.dumps({"type": "log", "level": "debug", "message": "answered",
                      "data": {"n": n, "got": got}}), flush=True)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(requests: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "agent.py").write_text(AGENT)
        hub = HubServer(Settings(port=0, store=f"sqlite:///{root / 'bench.db'}"))
        url = await hub.start()
        config = parse_config(
            {
                "agents": {"asker": {"command": [sys.executable, str(root / "agent.py"),
                                                 str(requests)], "workdir": str(root)}},
                "approvals": {"timeout_s": 600},
            },
            root,
        )  # fmt: skip
        visible: list[float] = []
        unblocked: list[float] = []
        sent: dict[int, float] = {}  # by the request's number (they come one at a time)
        try:
            async with (
                Orchestrator(config, hub=hub.node) as orchestrator,
                aiohttp.ClientSession(url) as http,
                Subscriber(url, rooms=["approvals", "events"]) as events,
            ):
                await orchestrator.submit("ask a lot")
                async for message in events:
                    now = time.time()
                    payload = message.get("payload", {})
                    if message.get("type") == "approval:requested":
                        approval = payload["approval"]
                        visible.append((now - float(approval["detail"])) * 1000)
                        sent[len(visible) - 1] = time.time()
                        async with http.post(
                            f"/api/approvals/{approval['id']}/answer", json={"decision": "allow"}
                        ) as response:
                            assert response.status == 200, await response.text()
                    elif message.get("type") == "event":
                        data = payload["event"].get("data", {})
                        if payload["event"].get("message") == "answered":
                            unblocked.append((data["got"] - sent[data["n"]]) * 1000)
                            if len(unblocked) == requests:
                                break
        finally:
            await hub.stop()
    return {"request to visible": visible, "answer to agent unblocked": unblocked}


def report(results: dict[str, list[float]], requests: int) -> tuple[str, dict[str, Any]]:
    rows = ["| path | p50 | p99 | max | target |", "|---|---|---|---|---|"]
    data: dict[str, Any] = {"requests": requests, "machine": machine(), "paths": {}}
    for name, values in results.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        data["paths"][name] = {"p50_ms": p50, "p99_ms": p99, "max_ms": max(values)}
        verdict = "met" if p99 < TARGET_MS else "missed"
        rows.append(f"| {name} | {p50:.1f} ms | {p99:.1f} ms | {max(values):.1f} ms | "
                    f"p99 < {TARGET_MS:g} ms: {verdict} |")  # fmt: skip
    return "\n".join(rows), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = asyncio.run(measure(args.requests))
    table, data = report(results, args.requests)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "approvals_agent.json").write_text(json.dumps(data, indent=2))
        (args.out / "approvals_agent.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
