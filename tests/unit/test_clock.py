"""events/clock.py: the protocol's time form, both ways, and the two kinds of id."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from parent_harness.events.clock import (
    ManualClock,
    from_iso,
    iso,
    new_id,
    now_iso,
    now_ms,
    parse_iso,
    read_iso,
    short_id,
    to_iso,
)

MOMENT = datetime(2026, 3, 1, 19, 30, 0, 123456, tzinfo=UTC)


def test_iso_writes_utc_milliseconds_and_z() -> None:
    assert iso(MOMENT) == "2026-03-01T19:30:00.123Z"
    assert iso(MOMENT.astimezone(timezone(timedelta(hours=2)))) == "2026-03-01T19:30:00.123Z"
    assert to_iso(MOMENT.timestamp()) == "2026-03-01T19:30:00.123Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now_iso())


def test_now_ms_agrees_with_its_text() -> None:
    text, ms = now_ms()
    assert parse_iso(text) == datetime.fromtimestamp(ms / 1000, UTC)


def test_parse_iso_reads_what_iso_writes_and_takes_naive_as_utc() -> None:
    assert parse_iso("2026-03-01T19:30:00.123Z") == MOMENT.replace(microsecond=123000)
    assert parse_iso("2026-03-01T19:30:00") == datetime(2026, 3, 1, 19, 30, tzinfo=UTC)


def test_read_iso_and_from_iso_give_none_for_absent_or_unreadable() -> None:
    for value in (None, "", "yesterday", 42):
        assert read_iso(value) is None
        assert from_iso(value) is None
    assert from_iso("2026-03-01T19:30:00.123Z") == MOMENT.replace(microsecond=123000).timestamp()


def test_event_ids_are_distinct_and_short_ids_carry_their_prefix() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert re.fullmatch(r"s-[0-9a-f]{12}", short_id("s"))


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=100.0)
    clock.advance(2.5)
    assert clock.now() == 102.5
