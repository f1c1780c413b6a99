"""The scrubber's density, the same on SQLite and PostgreSQL: events, failures and alerts
per stretch of time, counted in SQL."""

from __future__ import annotations

import pytest

from parent_harness.events.levels import can_be
from parent_harness.store import queries as queries_module
from parent_harness.store.queries import Density, Queries
from parent_harness.store.records import Record
from parent_harness.store.sql import SqlStore
from tests.contract.log import FLEET, EventLog, generic, task

T0 = 1_780_000_000_000
FAILING = sorted(can_be("error"))


async def test_events_failures_and_alerts_per_stretch(store: SqlStore) -> None:
    log = EventLog()
    # FLEET spread one second apart: its task:failed (level error), its failed session:ended
    # and its outgoing telegram message fall in the buckets of their times.
    records = [log.at_ms(type_, payload, T0 + 1000 * n) for n, (type_, payload) in enumerate(FLEET)]
    records.append(log.at_ms(*generic("disk full", level="error"), T0 + 30_000))
    records.append(log.at_ms(*task("t9", status="running"), T0 + 39_999))
    records.append(log.at_ms(*task("t9", status="completed"), T0 + 60_000))  # past the range
    await store.write(records)
    queries = Queries(store.engine)
    seq, stretches = await queries.timeline(T0, T0 + 39_999, 4, FAILING)
    assert seq == len(records)
    by_type = {type_: n + 1 for n, (type_, _) in enumerate(FLEET)}
    failed, ended = by_type["task:failed"], by_type["session:ended"]
    assert [(s.index, s.events) for s in stretches] == [
        (0, 10),
        (1, len(FLEET) - 10),
        (2, 0),
        (3, 2),
    ]
    assert (stretches[1].failures, stretches[1].alerts) == (2, 1), (failed, ended)
    assert (stretches[0].failures, stretches[0].alerts) == (0, 0)
    assert stretches[2] == Density(2)
    assert (stretches[3].failures, stretches[3].first_seq, stretches[3].last_seq) == (
        1,
        len(FLEET) + 1,
        len(FLEET) + 2,
    )
    assert (stretches[0].first_seq, stretches[0].last_seq) == (1, 10)


async def test_an_empty_range_and_one_bucket(store: SqlStore) -> None:
    log = EventLog()
    await store.write([log.at_ms(*task("t1", status="queued"), T0)])
    queries = Queries(store.engine)
    seq, stretches = await queries.timeline(T0 + 1, T0 + 5000, 3, FAILING)
    assert (seq, stretches) == (1, [Density(0), Density(1), Density(2)])
    seq, (whole,) = await queries.timeline(T0, T0, 1, FAILING)
    assert (whole.events, whole.first_seq, whole.last_seq) == (1, 1, 1)


def test_the_types_read_for_failures_are_those_that_can_be_errors() -> None:
    failing = can_be("error")
    assert {"task:failed", "agent:status", "workspace:updated", "event"} <= failing
    assert "task:created" not in failing and "session:heartbeat" not in failing


async def test_a_pruned_log_counts_only_what_is_kept(store: SqlStore) -> None:
    log = EventLog()
    await store.write(
        [log.at_ms(*task(f"t{n}", status="queued"), T0 + 1000 * n) for n in range(10)]
    )
    await store.prune(4)  # retention: seqs 1-4 are gone
    seq, (early, late) = await Queries(store.engine).timeline(T0, T0 + 9999, 2, FAILING)
    assert seq == 10
    assert (early.events, early.first_seq, early.last_seq) == (1, 5, 5)
    assert (late.events, late.first_seq, late.last_seq) == (5, 6, 10)


async def test_kept_blocks_of_marks_answer_as_a_fresh_read(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries_module, "MARK_BLOCK", 4)
    log = EventLog()

    def stamped(n: int) -> list[Record]:
        start = log.state.seq
        return [
            log.at_ms(
                *(
                    ("task:failed", {"task": {"id": "t", "status": "failed"}})
                    if (start + i) % 3 == 2
                    else generic("ok")
                ),
                T0 + 1000 * (start + i),
            )
            for i in range(n)
        ]

    await store.write(stamped(10))  # blocks [0-3] and [4-7] are kept, [8-11] is not whole
    kept = Queries(store.engine)
    first = await kept.timeline(T0, T0 + 19_999, 5, FAILING)
    assert sum(d.failures for d in first[1]) == 3
    await store.write(stamped(10))  # [8-11] fills; [12-15] whole; [16-19] partly
    again = await kept.timeline(T0, T0 + 19_999, 5, FAILING)
    fresh = await Queries(store.engine).timeline(T0, T0 + 19_999, 5, FAILING)
    assert again == fresh and sum(d.failures for d in again[1]) == 6
