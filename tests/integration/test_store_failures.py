"""A real hub on a real SQLite file that refuses writes for a while, then takes them again:
what was acknowledged is in the file once, at its seq, in order; clients see each event once;
the hub carries on without a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import RunningHub, generic, refusing_writes

PUBLISHERS = 6
BATCHES_EACH = 8


def stored(db: Path) -> list[tuple[int, str]]:
    """(seq, id) of every event in the file, in the order SQLite gave them rowids."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT seq, id FROM events ORDER BY rowid"))


def batch(name: str) -> list[dict[str, Any]]:
    return [{**generic(f"{name}-{n}"), "id": f"{name}-{n}"} for n in range(3)]


async def publish_until_acknowledged(
    hub: RunningHub,
    events: list[dict[str, Any]],
    acked: dict[str, int],
    refused: asyncio.Event | None = None,
    timeout: float = 20.0,
) -> None:
    """Posts the same events (same ids) until the hub acknowledges them, as a client retries
    after a 503; sets `refused` when it got one."""
    async with asyncio.timeout(timeout):
        while True:
            status, body = await hub.post("/api/events", events)
            if status == 200:
                acked.update({item["id"]: item["seq"] for item in body["items"]})
                return
            assert status == 503, body
            assert body["code"] == "unavailable", body
            if refused is not None:
                refused.set()
            await asyncio.sleep(0.05)  # a client's backoff before it retries


async def test_a_sqlite_file_refusing_writes_loses_reorders_and_repeats_nothing(
    hub: RunningHub, tmp_path: Path
) -> None:
    db = tmp_path / "harness.db"
    ws = await hub.connect()
    await ws.next_of("welcome")
    acked: dict[str, int] = {}
    await publish_until_acknowledged(hub, batch("before"), acked)

    with refusing_writes(db):
        status, body = await hub.post("/api/events", batch("while-full"))
        assert status == 503, body
        assert "retry with the same id" in body["detail"]
        status, body = await hub.post("/api/events", batch("refused-at-once"))
        assert status == 503, body
        status, health = await hub.get("/api/health")  # out of a load balancer's pool
        assert status == 503 and health["code"] == "degraded", health
        assert "the store refuses writes" in health["detail"] and not health["store"]["ok"]
        async with hub.session.get(hub.url + "/metrics") as response:
            assert "harness_store_up 0.0" in await response.text()
        assert stored(db) == [(1, "before-0"), (2, "before-1"), (3, "before-2")]
        outage = asyncio.Event()
        publishers = asyncio.gather(
            publish_until_acknowledged(hub, batch("while-full"), acked, outage),
            publish_until_acknowledged(hub, batch("refused-at-once"), acked, outage),
            *(
                publish_until_acknowledged(hub, batch(f"p{p}-b{b}"), acked, outage)
                for p in range(PUBLISHERS)
                for b in range(BATCHES_EACH)
            ),
        )
        await asyncio.wait_for(outage.wait(), 10)
        assert acked.keys() == {"before-0", "before-1", "before-2"}, "acknowledged while full"
    await publishers
    with refusing_writes(db):
        status, _ = await hub.post("/api/events", batch("second-outage"))
        assert status == 503
    await publish_until_acknowledged(hub, batch("second-outage"), acked)
    await publish_until_acknowledged(hub, batch("after"), acked)
    status, health = await hub.get("/api/health")
    assert status == 200 and health["status"] == "ok" and health["store"]["ok"], health
    async with hub.session.get(hub.url + "/metrics") as response:
        assert "harness_store_up 1.0" in await response.text()

    log = stored(db)
    seqs = [seq for seq, _ in log]
    assert seqs == list(range(1, len(log) + 1)), "the file has a gap or is out of order"
    at = {ident: seq for seq, ident in log}
    assert len(at) == len(log), "an event is in the file twice"
    assert {i: at.get(i) for i in acked} == acked, "an acknowledged event moved or is gone"
    assert set(at) == set(acked), "the file holds an event nobody was acknowledged for"
    assert acked["while-full-0"] == 4, "the refused publisher's retry did not get its first seq"
    seen = await ws.events_until(seqs[-1])
    assert [m["seq"] for m in seen] == seqs, "a client did not get the log, once each, in order"
    assert hub.node.state.seq == seqs[-1]
