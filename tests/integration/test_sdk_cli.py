"""The SDK and the `harness` command against real hubs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson
import pytest

from parent_harness.client import HttpPublisher, LocalPublisher, Subscriber
from parent_harness.exceptions import InvalidEvent
from parent_harness.web.app import HubServer
from tests.conftest import HubProcess, RunningHub, generic, settings_for


async def test_local_publisher_is_the_same_ingest(hub: RunningHub) -> None:
    client = await hub.connect("monitor=tasks")
    await client.next_of("welcome")
    result = await LocalPublisher(hub.node).publish("task:created", {"task": {"id": "t-local"}})
    (event,) = await client.events_until(result.seq)
    assert event["payload"]["task"]["id"] == "t-local"


async def test_http_publisher_reports_the_bad_field(hub: RunningHub) -> None:
    async with HttpPublisher(hub.url) as pub:
        with pytest.raises(InvalidEvent) as caught:
            await pub.publish("task:created", {"task": {"title": "no id"}})
    assert caught.value.field == "payload.task.id"
    assert str(caught.value) == "event[0].payload.task.id: Field required"


async def test_subscriber_reloads_the_snapshot_on_reset(hub: RunningHub) -> None:
    await hub.publish({"type": "agent:status", "payload": {"agent": {"id": "a1"}}})
    async with Subscriber(hub.url, since=50, snapshot=True) as sub:
        stream = sub.__aiter__()
        reset = await asyncio.wait_for(anext(stream), 5)
        snapshot = await asyncio.wait_for(anext(stream), 5)
        assert reset["type"] == "reset"
        assert snapshot["type"] == "snapshot"
        assert [a["id"] for a in snapshot["payload"]["agents"]] == ["a1"]
        assert sub.last_seq == 1
        items = await hub.publish(generic("after"))
        live = await asyncio.wait_for(anext(stream), 5)
        assert live["seq"] == items[0]["seq"]


async def test_metrics(hub: RunningHub) -> None:
    await hub.publish(generic("x"), generic("y"))
    async with hub.session.get(hub.url + "/metrics") as resp:
        text = await resp.text()
    assert "harness_seq 2.0" in text
    assert "harness_events_committed_total 2.0" in text


async def test_clients_hear_1001_when_the_hub_stops(tmp_path: Path) -> None:
    server = HubServer(settings_for(tmp_path))
    await server.start()
    async with aiohttp.ClientSession() as session:
        client = await RunningHub(server, session).connect()
        await client.next_of("welcome")
        stopping = asyncio.create_task(server.stop())
        code, reason = await client.closed()
        await stopping
    assert code == 1001
    assert "shutting down" in reason


def run_harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parent_harness", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = run_harness("serve", "--host", "0.0.0.0", "--store", f"sqlite:///{tmp_path}/h.db")
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr


async def test_publish_and_tail_commands(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub.db")
    url = await hub.start()
    try:
        published = await asyncio.to_thread(
            run_harness,
            "publish",
            "task:created",
            '{"task": {"id": "t-cli"}}',
            "--id",
            "k1",
            env={"HARNESS_URL": url},
        )
        assert published.returncode == 0, published.stderr
        assert published.stdout.strip() == "k1 seq=1"
        again = await asyncio.to_thread(
            run_harness,
            "publish",
            "task:created",
            '{"task": {"id": "t-cli"}}',
            "--id",
            "k1",
            "--url",
            url,
        )
        assert again.stdout.strip() == "k1 seq=1 (duplicate)"
        bad = await asyncio.to_thread(run_harness, "publish", "task:created", "{}", "--url", url)
        assert bad.returncode == 1 and "payload.task: Field required" in bad.stderr
        tail = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "parent_harness",
            "tail",
            "--url",
            url,
            "--since",
            "0",
            "--types",
            "task:*",
            "--json",
            stdout=asyncio.subprocess.PIPE,
        )
        assert tail.stdout is not None
        line = await asyncio.wait_for(tail.stdout.readline(), 20)
        tail.kill()
        await tail.wait()
        msg = orjson.loads(line)
        assert (msg["seq"], msg["type"], msg["payload"]["task"]["id"]) == (
            1,
            "task:created",
            "t-cli",
        )
    finally:
        await hub.kill()
