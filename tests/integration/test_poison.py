"""A batch holding one event the hub cannot keep (its free-form data nested too deep) is
refused whole with a 400 naming it, and leaves no trace: no seq used, no id recorded, no
state changed; the next events get the next seqs. (What JSON text cannot carry, an integer
past 64 bits or a lone surrogate, only an in-process producer can send: tests/unit.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, generic, settings_for


def nested(depth: int) -> str:
    """A JSON object `depth` levels deep: {"a": {"a": ... 1 ...}}."""
    return '{"a":' * (depth - 1) + '{"a":1' + "}" * depth


def poison_data(depth: int) -> str:
    """A generic event whose free-form `data` is JSON text (the test client cannot encode it)."""
    return f'{{"type":"event","payload":{{"event":{{"message":"poison","data":{nested(depth)}}}}}}}'


def with_id(event: dict[str, Any], ident: str) -> str:
    return orjson.dumps({**event, "id": ident}).decode()


async def post_text(hub: RunningHub, text: str) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with hub.session.post(hub.url + "/api/events", data=text, headers=headers) as r:
        return r.status, orjson.loads(await r.read())


async def assert_no_trace(hub: RunningHub) -> None:
    """Nothing of the refused batch: no event, no id, no state; the next seq is 1."""
    status, body = await hub.get("/api/events")
    assert status == 200, body
    assert body["items"] == [], "an event of a refused batch was committed"
    status, body = await hub.get("/api/snapshot")
    assert (status, body["seq"]) == (200, 0), body
    (good,) = await hub.publish({**generic("good-2"), "id": "good-2"})
    assert (good["seq"], good["duplicate"]) == (1, False), "a seq or the id was used"
    status, body = await hub.get("/api/events/1")
    assert status == 200, body
    assert body["payload"]["event"]["message"] == "good-2"


@pytest.mark.parametrize("depth", [65, 300, 1000])
async def test_a_batch_with_data_nested_too_deep_is_refused_whole(
    hub: RunningHub, depth: int
) -> None:
    batch = [
        with_id(generic("good-1"), "good-1"),
        poison_data(depth),
        with_id(generic("good-2"), "good-2"),
    ]
    status, body = await post_text(hub, f"[{','.join(batch)}]")
    assert status == 400, body
    assert body["code"] == "invalid_event"
    assert body["index"] == 1
    assert body["field"].startswith("payload.event.data"), body
    assert "nested deeper than 64" in body["detail"]
    await assert_no_trace(hub)


async def test_a_payload_nested_64_levels_is_kept_and_read_back(hub: RunningHub) -> None:
    status, body = await post_text(hub, poison_data(62))  # payload, event, then data
    assert status == 200, body
    status, event = await hub.get("/api/events/1")
    assert status == 200, event
    data = event["payload"]["event"]["data"]
    for _ in range(61):
        data = data["a"]
    assert data == {"a": 1}


async def test_a_websocket_client_sees_nothing_of_a_refused_batch(hub: RunningHub) -> None:
    ws = await hub.connect("snapshot=1")
    await ws.next_of("welcome")
    assert (await ws.next_of("snapshot"))["payload"]["seq"] == 0
    status, _ = await post_text(hub, f"[{with_id(generic('good-1'), 'good-1')},{poison_data(300)}]")
    assert status == 400
    (good,) = await hub.publish({**generic("after"), "id": "after"})
    (event,) = await ws.events_until(good["seq"])
    assert (event["seq"], event["payload"]["event"]["message"]) == (1, "after")


async def test_the_hub_still_answers_after_a_poison_batch(hub: RunningHub) -> None:
    status, _ = await post_text(hub, poison_data(1000))
    assert status == 400
    status, body = await hub.get("/api/health")
    assert status == 200, body


async def test_an_event_sqlite_refuses_for_a_reason_the_hub_does_not_check_is_tombstoned(
    hub: RunningHub, tmp_path: Path
) -> None:
    """A constraint the hub knows nothing of (a trigger) refuses one event of a batch: the
    rest is committed, its seq holds a tombstone, its publisher gets 422, and the writer
    carries on."""
    with sqlite3.connect(tmp_path / "harness.db") as conn:
        conn.execute(
            "CREATE TRIGGER no_pills BEFORE INSERT ON events WHEN NEW.body LIKE '%poison-pill%' "
            "BEGIN SELECT RAISE(ABORT, 'no poison pills here'); END"
        )
    ws = await hub.connect()
    await ws.next_of("welcome")
    batch = [
        {**generic("good-1"), "id": "good-1"},
        {**generic("poison-pill"), "id": "pill"},
        {**generic("good-2"), "id": "good-2"},
    ]
    status, body = await hub.post("/api/events", batch)
    assert (status, body["code"]) == (422, "refused_by_store"), body
    assert [(r["index"], r["id"], r["seq"]) for r in body["refused"]] == [(1, "pill", 2)]
    assert "no poison pills here" in body["refused"][0]["reason"]
    assert [(c["id"], c["seq"]) for c in body["committed"]] == [("good-1", 1), ("good-2", 3)]

    status, stone = await hub.get("/api/events/2")
    assert (status, stone["type"]) == (200, "event"), stone
    assert stone["payload"]["event"]["level"] == "error"
    assert stone["payload"]["event"]["data"]["refused"]["id"] == "pill"
    events = await ws.events_until(3)
    assert [(e["seq"], e["type"]) for e in events] == [(1, "event"), (2, "event"), (3, "event")]
    assert "refused" in events[1]["payload"]["event"]["data"]

    (later,) = await hub.publish({**generic("later"), "id": "later"})
    assert (later["seq"], later["duplicate"]) == (4, False), "the writer stopped"
    status, again = await hub.post("/api/events", [{**generic("poison-pill"), "id": "pill"}])
    assert (status, again["refused"][0]["seq"]) == (422, 2), "a retry was acknowledged"
    status, health = await hub.get("/api/health")
    assert status == 200, health
    async with hub.session.get(hub.url + "/metrics") as response:
        assert "harness_events_refused_total 1.0" in await response.text()


async def test_a_refused_event_retried_after_a_restart_is_still_refused(tmp_path: Path) -> None:
    """The hub that refused it is gone; the retry finds the id's tombstone in the log and
    is answered 422 again (never acknowledged), while a real repeat is still a duplicate."""
    batch = [{**generic("good-1"), "id": "good-1"}, {**generic("poison-pill"), "id": "pill"}]
    for attempt in ("first", "after a restart"):
        server = HubServer(settings_for(tmp_path))
        await server.start()
        if attempt == "first":
            with sqlite3.connect(tmp_path / "harness.db") as conn:
                conn.execute(
                    "CREATE TRIGGER no_pills BEFORE INSERT ON events "
                    "WHEN NEW.body LIKE '%poison-pill%' "
                    "BEGIN SELECT RAISE(ABORT, 'no poison pills here'); END"
                )
        try:
            async with aiohttp.ClientSession() as session:
                hub = RunningHub(server, session)
                status, body = await hub.post("/api/events", batch)
                assert (status, body["code"]) == (422, "refused_by_store"), (attempt, body)
                assert [(r["id"], r["seq"]) for r in body["refused"]] == [("pill", 2)], attempt
                assert "no poison pills here" in body["refused"][0]["reason"], attempt
                assert [(c["id"], c["seq"]) for c in body["committed"]] == [("good-1", 1)]
                (again,) = await hub.publish({**generic("good-1"), "id": "good-1"})
                assert (again["seq"], again["duplicate"]) == (1, True), attempt
        finally:
            await server.stop()
