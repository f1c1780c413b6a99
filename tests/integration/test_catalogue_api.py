"""`GET /api/catalogue`: a real hub describes every event kind, and its rules as data give
the rooms and levels the hub itself gives its events."""

from __future__ import annotations

from typing import Any

from parent_harness.events import EVENT_TYPES, KINDS
from parent_harness.events.levels import event_level
from parent_harness.events.rooms import event_rooms
from tests.conftest import RunningHub
from tests.unit.test_kinds import MERGED, SAMPLES, level_by_rule, rooms_by_rule


async def _catalogue(hub: RunningHub) -> dict[str, dict[str, Any]]:
    status, body = await hub.get("/api/catalogue")
    assert status == 200, body
    return {kind["type"]: kind for kind in body["kinds"]}


async def test_the_hub_describes_every_event_kind(hub: RunningHub) -> None:
    kinds = await _catalogue(hub)
    assert set(kinds) == EVENT_TYPES
    for type_, kind in kinds.items():
        assert kind["room"] == KINDS[type_].room
        assert kind["entity"] == KINDS[type_].entity
        assert kind["schema"] == KINDS[type_].payload.model_json_schema()
    status, body = await hub.get("/api/catalogue")
    assert set(body["class_rooms"]) == {kind["room"] for kind in kinds.values()}
    entities = ["agent", "approval", "session", "task", "worker", "workspace"]
    assert body["entities"] == entities


async def test_its_rules_give_the_rooms_and_levels_of_sample_events(hub: RunningHub) -> None:
    kinds = await _catalogue(hub)
    for type_, payload, _, _, _ in SAMPLES + MERGED:
        assert rooms_by_rule(kinds[type_], payload) == event_rooms(type_, payload), type_
        assert level_by_rule(kinds[type_], payload) == event_level(type_, payload), type_


async def test_its_rules_find_the_events_the_hub_logged(hub: RunningHub) -> None:
    """Published, merged into state and logged: each event is under the rooms and the level
    the catalogue's rules give for its (merged) payload."""
    kinds = await _catalogue(hub)
    await hub.publish(*({"type": type_, "payload": payload} for type_, payload, *_ in SAMPLES))
    # type=*: every type, agent output included (listed only when a type or room asks).
    status, page = await hub.get(f"/api/events?type=*&limit={len(SAMPLES)}")
    assert status == 200 and len(page["items"]) == len(SAMPLES)
    for item in page["items"]:
        kind, payload = kinds[item["type"]], item["payload"]
        rooms = rooms_by_rule(kind, payload)
        assert rooms == event_rooms(item["type"], payload)
        for room in rooms:
            status, found = await hub.get("/api/events", params={"room": room, "limit": 1000})
            assert item["seq"] in {e["seq"] for e in found["items"]}, (item["type"], room)
        level = level_by_rule(kind, payload)
        params = {"level": level, "type": "*", "limit": 1000}
        status, found = await hub.get("/api/events", params=params)
        assert item["seq"] in {e["seq"] for e in found["items"]}, (item["type"], level)


async def test_the_catalogue_is_in_the_api_document(hub: RunningHub) -> None:
    status, spec = await hub.get("/docs/spec")
    assert status == 200
    assert "/api/catalogue" in spec["paths"]
