"""The store's write and read-back contract, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import sys
from typing import Any

import orjson
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from parent_harness.exceptions import RowRefused
from parent_harness.store import schema as t
from parent_harness.store.migrate import alembic_config
from parent_harness.store.queries import Queries
from parent_harness.store.records import Loaded, Record
from parent_harness.store.sql import SqlStore
from tests.contract.log import FLEET, EventLog, generic, task


async def reopened(url: str) -> Loaded:
    """What a hub starting on `url` reads back."""
    sql = SqlStore(url)
    try:
        return await sql.open()
    finally:
        await sql.close()


async def write_fleet(
    store: SqlStore, log: EventLog, sizes: tuple[int, ...] = (1, 5)
) -> list[Record]:
    """Writes FLEET in batches of `sizes`, then the rest in one batch."""
    records = [log.record(type_, payload) for type_, payload in FLEET]
    start = 0
    for size in (*sizes, len(records)):
        if start < len(records):
            await store.write(records[start : start + size])
            start += size
    return records


def by_key(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row.get("period") or row["id"]: row for row in rows}


ReplayItem = tuple[int, str, bytes, tuple[str, ...]]


def as_items(records: list[Record]) -> list[ReplayItem]:
    """What a replay of `records` gives: (seq, type, encoded message, rooms)."""
    return [(r.seq, r.type, r.body, r.rooms) for r in records]


def with_room_sets(items: list[ReplayItem]) -> list[tuple[Any, ...]]:
    return [(seq, type_, body, frozenset(rooms)) for seq, type_, body, rooms in items]


async def table_rows(store: SqlStore, table: Any) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(select(table))]


async def test_open_creates_the_schema_and_an_epoch_that_survives_reopening(store_url: str) -> None:
    first = await reopened(store_url)
    assert (first.seq, first.first_seq, first.recent_ids, first.recent) == (0, 1, {}, [])
    assert all(rows == [] for rows in first.entities.values())
    assert len(first.epoch) == 16
    sql = SqlStore(store_url)
    try:
        async with sql.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await sql.close()
    assert set(t.metadata.tables) <= tables
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert (await reopened(store_url)).epoch == first.epoch


async def test_a_log_written_at_the_first_revision_is_upgraded_with_its_rooms(
    store_url: str,
) -> None:
    log = EventLog()
    records = [log.record(type_, payload) for type_, payload in FLEET[:8]]
    columns = ("seq", "id", "type", "ts", "ts_ms")
    events = [{"body": r.body.decode(), **{c: getattr(r, c) for c in columns}} for r in records]
    rooms = [{"room": room, "seq": r.seq} for r in records for room in r.rooms]
    old = SqlStore(store_url)
    try:
        async with old.engine.begin() as conn:
            await conn.run_sync(upgrade_to, "0001")
            await conn.execute(
                text(
                    "INSERT INTO events (seq, id, type, ts, ts_ms, body)"
                    " VALUES (:seq, :id, :type, :ts, :ts_ms, :body)"
                ),
                events,
            )
            await conn.execute(text("INSERT INTO event_rooms VALUES (:room, :seq)"), rooms)
    finally:
        await old.close()
    loaded = await reopened(store_url)
    assert loaded.seq == 8
    # Rooms copied by the migration come in no particular order.
    assert with_room_sets(loaded.recent) == with_room_sets(as_items(records))


def upgrade_to(conn: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


# The one expression index (migration 0008) is beyond what alembic compares; its existence
# and use are checked in test_queries.py (test_the_plan_filter_is_the_indexed_expression).
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_tasks_plan_id"
)
async def test_the_migrations_build_the_schema_the_code_declares(store: SqlStore) -> None:
    """Alembic finds nothing to change: no table, column, index or type missing or extra."""

    def differences(conn: Connection) -> list[Any]:
        # SQLite keeps the VARCHAR(n) of 0001: it has one TEXT affinity for both.
        opts = {"compare_type": conn.dialect.name == "postgresql"}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), t.metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


@pytest.mark.postgres
async def test_hubs_opening_a_new_store_together_agree_on_one_epoch(pg_url: str) -> None:
    """Several hubs share one PostgreSQL database; a SQLite file belongs to one process."""
    stores = [SqlStore(pg_url) for _ in range(3)]
    try:
        loaded = await asyncio.gather(*(s.open() for s in stores))
    finally:
        for s in stores:
            await s.close()
    assert len({one.epoch for one in loaded}) == 1


async def test_a_written_log_reads_back_after_reopening(store: SqlStore) -> None:
    log = EventLog()
    records = await write_fleet(store, log)
    loaded = await reopened(store.url)
    assert loaded.seq == len(FLEET) and loaded.first_seq == 1
    for kind, rows in log.entities().items():
        assert by_key(loaded.entities[kind]) == by_key(rows), kind
    assert loaded.entities["budget"][-1]["spent_usd"] == 0.02
    assert loaded.recent_ids == {r.id: r.seq for r in records}
    assert loaded.recent == as_items(records)


async def test_entities_load_in_update_order(store: SqlStore) -> None:
    log = EventLog()
    first = [log.record(*task(f"t{n}")) for n in range(3)]
    await store.write(first)
    await store.write([log.record(*task("t0", status="running"))])
    loaded = await reopened(store.url)
    assert [row["id"] for row in loaded.entities["task"]] == ["t1", "t2", "t0"]


async def test_an_entity_changed_twice_in_one_batch_keeps_its_last_version(store: SqlStore) -> None:
    log = EventLog()
    batch = [
        log.record(*task("t1", title="first", priority=1)),
        log.record(*task("t1", status="running", priority=2)),
        log.record(*task("t1", status="testing", progress_percent=90)),
        log.record("budget:updated", {"budget": {"period": "day", "spent_usd": 1.0}}),
        log.record("budget:updated", {"budget": {"period": "day", "spent_usd": 2.0}}),
    ]
    await store.write(batch)
    loaded = await reopened(store.url)
    assert loaded.entities["task"] == [log.state.tasks["t1"]]
    assert loaded.entities["task"][0]["status"] == "testing"
    assert loaded.entities["budget"][0]["spent_usd"] == 2.0
    (queued,) = await table_rows(store, t.task_queue)
    assert (queued["status"], queued["priority"], queued["updated_seq"]) == ("testing", 2, 3)


async def test_side_tables_hold_queue_calls_messages_and_generic_events(store: SqlStore) -> None:
    await write_fleet(store, EventLog())
    queue = {row["task_id"]: row for row in await table_rows(store, t.task_queue)}
    assert queue["t1"]["status"] == "failed" and queue["t1"]["attempts"] == 1
    assert queue["t1"]["max_attempts"] == 2 and queue["t1"]["priority"] == 3
    assert queue["t2"]["status"] == "completed"
    (call,) = await table_rows(store, t.api_calls)
    assert (call["session_id"], call["agent_id"], call["task_id"]) == ("s1", "a1", "t1")
    assert (call["input_tokens"], call["output_tokens"], call["model"]) == (1200, 300, "m-1")
    assert call["cost_usd"] == 0.02
    (message,) = await table_rows(store, t.telegram_messages)
    assert (message["id"], message["chat_id"], message["text"]) == ("m1", "42", "t1 failed")
    (event,) = await table_rows(store, t.generic_events)
    assert (event["level"], event["source"], event["message"]) == (
        "warning",
        "health",
        "disk almost full",
    )
    assert orjson.loads(event["data"]) == {"free_gb": 2}


async def test_known_ids_finds_the_logged_ones_even_among_many(store: SqlStore) -> None:
    log = EventLog()
    records = [log.record(*generic(f"m{n}"), id=f"key-{n}") for n in range(5)]
    await store.write(records)
    assert await store.known_ids(["key-1", "nope", "key-4"]) == {"key-1": 2, "key-4": 5}
    many = [f"other-{n}" for n in range(40_000)] + ["key-3"]
    assert await store.known_ids(many) == {"key-3": 4}


async def test_replay_gives_a_range_in_order_with_rooms(store: SqlStore) -> None:
    records = await write_fleet(store, EventLog())
    upto = len(records)
    everything = await store.replay(None, after=0, upto=upto)
    assert everything == as_items(records)
    assert await store.replay(None, after=3, upto=8) == as_items(records[3:8])
    assert await store.replay(None, after=2, upto=upto, limit=4) == as_items(records[2:6])


async def test_replay_of_rooms_gives_only_their_events(store: SqlStore) -> None:
    records = await write_fleet(store, EventLog())
    upto = len(records)
    of_t2 = await store.replay(None, after=0, upto=upto, rooms=["task:t2"])
    assert of_t2 == as_items([r for r in records if "task:t2" in r.rooms])
    assert [seq for seq, *_ in of_t2] == [4, 19]
    both = await store.replay(None, after=0, upto=upto, rooms={"telegram", "budget"})
    assert [type_ for _, type_, *_ in both] == [
        "budget:updated",
        "budget:updated",
        "telegram:message",
    ]
    limited = await store.replay(None, after=4, upto=upto, rooms=["session:s1"], limit=2)
    assert [seq for seq, *_ in limited] == [6, 7]
    assert await store.replay(None, after=0, upto=upto, rooms=["task:nobody"]) == []


async def test_a_large_batch_commits_in_one_write(store: SqlStore) -> None:
    """Bigger than the ingest's largest batch (1000), with every row of a kind in one statement."""
    log = EventLog()
    batch = [log.record(*task(f"t{n}", title=f"task {n}", agent_id="a1")) for n in range(2000)]
    batch += [log.record(*generic(f"m{n}")) for n in range(1000)]
    await store.write(batch)
    loaded = await reopened(store.url)
    assert loaded.seq == 3000 and len(loaded.entities["task"]) == 2000
    assert len(await store.replay(None, after=0, upto=3000, rooms=["agent:a1"])) == 2000


async def test_values_sqlite_takes_are_kept_everywhere(store: SqlStore) -> None:
    """Long ids and text, NUL characters, big numbers: what the catalogue accepts, stored."""
    log = EventLog()
    long_id = "t-" + "x" * 198  # the longest id the catalogue accepts
    batch = [
        log.record(
            *task(
                long_id,
                title="nul\x00in the title " + "é" * 3000,
                priority=2**40,
                created_at="2026-11-25T19:29:49.137071+00:00 (scheduler clock)",
                agent_id="agent-" + "a" * 250,
                agent_name="n" * 300,
            )
        ),
        log.record(
            "telegram:message",
            {"message": {"id": "m\x00", "direction": "in", "chat_id": "c" * 100, "text": "a\x00b"}},
        ),
        log.record(*generic("gen\x00eric", source="s" * 300, data={"k": "v\x00"})),
        log.record(
            "session:iteration",
            {"session_id": "s", "iteration": 1, "token_usage": {"model": "m" * 200, "input": 1}},
        ),
    ]
    await store.write(batch)
    loaded = await reopened(store.url)
    assert loaded.entities["task"] == [log.state.tasks[long_id]]
    assert loaded.recent == as_items(batch)
    assert len(await store.replay(None, after=0, upto=4, rooms=[f"task:{long_id}"])) == 1
    (queued,) = await table_rows(store, t.task_queue)
    assert queued["priority"] == 2**40


async def test_ids_with_nul_are_found_by_the_same_id(store: SqlStore) -> None:
    log = EventLog()
    await store.write([log.record(*task("t\x00a", title="first")), log.record(*task("t\x00b"))])
    seq, found = await Queries(store.engine).entity("task", "t\x00a")
    assert found == log.state.tasks["t\x00a"] and found["title"] == "first"
    assert [s for s, *_ in await store.replay(None, after=0, upto=2, rooms=["task:t\x00b"])] == [2]


@pytest.mark.postgres
async def test_libpq_style_url_options_are_understood(pg_url: str) -> None:
    for option in ("sslmode=disable", "sslmode=prefer"):
        loaded = await reopened(f"{pg_url}?{option}")
        assert loaded.seq == 0


async def test_nodes_writing_the_same_order_at_once_store_it_once(store: SqlStore) -> None:
    """Each node of a cluster writes what it folded: batches overlap, touch rows in any order."""
    log = EventLog()
    rng = random.Random(7)
    records = []
    for _ in range(400):
        n = rng.randrange(40)
        if rng.random() < 0.5:
            records.append(log.record(*task(f"t{n}", progress_percent=rng.randrange(100))))
        else:
            records.append(log.record("session:updated", {"session": {"id": f"s{n}"}}))
    nodes = [SqlStore(store.url) for _ in range(3)]
    try:
        for node in nodes:
            await node.open()

        async def write_all(node: SqlStore, size: int) -> None:
            for start in range(0, len(records), size):
                await node.write(records[start : start + size])

        sizes = (13, 29, 50)
        await asyncio.gather(*(write_all(n, size) for n, size in zip(nodes, sizes, strict=True)))
    finally:
        for node in nodes:
            await node.close()
    loaded = await reopened(store.url)
    assert loaded.seq == len(records)
    for kind, rows in log.entities().items():
        assert by_key(loaded.entities[kind]) == by_key(rows), kind
    assert loaded.recent == as_items(records)


def test_a_postgresql_store_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(ModuleNotFoundError, match=r"asyncpg .*parent-harness\[cluster\]") as err:
        SqlStore("postgresql://harness:secret@127.0.0.1:5432/harness")
    assert "secret" not in str(err.value)


async def test_a_row_the_database_refuses_for_its_content_is_told_apart_from_an_outage(
    store: SqlStore, store_url: str
) -> None:
    """A constraint the hub knows nothing of refuses a row: the store says RowRefused (what
    the ingest isolates and tombstones), and the batch leaves nothing behind."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text("ALTER TABLE events ADD CONSTRAINT no_pills CHECK (body NOT LIKE '%pill%')")
            if store_url.startswith("postgresql")
            else text(
                "CREATE TRIGGER no_pills BEFORE INSERT ON events WHEN NEW.body LIKE '%pill%' "
                "BEGIN SELECT RAISE(ABORT, 'no_pills'); END"
            )
        )
    log = EventLog()
    good, pill = log.record(*generic("good")), log.record(*generic("a pill"))
    with pytest.raises(RowRefused, match="no_pills"):
        await store.write([good, pill])
    assert (await reopened(store_url)).seq == 0, "a refused batch left rows behind"
    await store.write([good])
    assert (await reopened(store_url)).seq == 1
