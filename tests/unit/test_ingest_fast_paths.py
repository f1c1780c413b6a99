"""The shortcuts on the ingest's path answer as the long ways do."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from parent_harness.cli.main import GC_YOUNG_THRESHOLD, tune_gc
from parent_harness.events.clock import now_ms
from parent_harness.exceptions import InvalidEvent
from parent_harness.web.rest import _checked_draft, _draft

ENVELOPES: list[Any] = [
    {"type": "event", "payload": {"event": {"message": "m"}}},
    {"type": "event", "payload": {}, "id": "k-1"},
    {"payload": {}, "type": "task:updated", "id": "x" * 200},
    {"type": "event", "payload": {}, "id": None},
    {"type": "event", "payload": {}, "id": ""},
    {"type": "event", "payload": {}, "id": "x" * 201},
    {"type": "event", "payload": {}, "id": 7},
    {"type": "event", "payload": {}, "colour": "red"},
    {"type": "event", "colour": "red"},
    {"type": "event", "payload": {}, "id": "k", "colour": "red"},
    {"type": "event"},
    {"payload": {}},
    {"type": 1, "payload": {}},
    {"type": "event", "payload": []},
    {"type": None, "payload": {}},
    {},
    [],
    "event",
    None,
]


def outcome(check: Any, item: Any) -> tuple[Any, ...]:
    try:
        draft = check(3, item)
    except InvalidEvent as exc:
        return ("refused", str(exc), exc.fields())
    return ("accepted", draft.type, draft.payload, draft.id)


@pytest.mark.parametrize("item", ENVELOPES)
def test_an_envelope_gets_the_verdict_of_the_close_look(item: Any) -> None:
    assert outcome(_draft, item) == outcome(_checked_draft, item)


def test_a_bad_envelope_names_its_index_and_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        _draft(2, {"type": "event", "payload": {}, "colour": "red"})
    assert str(caught.value) == "event[2].colour: Extra inputs are not permitted"


def test_now_is_written_as_the_protocol_writes_it() -> None:
    seen: set[int] = set()
    while len(seen) < 20:  # many calls within each millisecond, across 20 of them
        before = time.time_ns() // 1_000_000
        text, ms = now_ms()
        assert before <= ms <= time.time_ns() // 1_000_000
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        assert text == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        seen.add(ms)


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_the_hub_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    gc.set_threshold(700, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > 0
