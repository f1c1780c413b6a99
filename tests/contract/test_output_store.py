"""Agent output kept with its session, on every store: paging, search, retention by size
and by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from parent_harness.events.clock import iso
from parent_harness.store import schema as t
from parent_harness.store.output import OutputRetention
from parent_harness.store.queries import Queries
from parent_harness.store.sql import SqlStore
from tests.contract.log import EventLog


def output(session_id: str, first: int, texts: list[str], **extra: Any) -> dict[str, Any]:
    lines = [
        {"n": first + i, "stream": "stderr" if "err" in text else "stdout", "text": text}
        for i, text in enumerate(texts)
    ]
    return {"session_id": session_id, "from_line": first, "lines": lines, **extra}


async def write_lines(
    store: SqlStore, log: EventLog, session_id: str, count: int, per_event: int, width: int = 10
) -> None:
    records = []
    for first in range(1, count + 1, per_event):
        texts = [
            f"line {n:0{width - 5}d}" for n in range(first, min(count, first + per_event - 1) + 1)
        ]
        records.append(log.record("session:output", output(session_id, first, texts)))
    await store.write(records)


async def test_pages_follow_line_numbers_across_chunks(store: SqlStore) -> None:
    log = EventLog()
    log_session = log.record(
        "session:started", {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1"}}
    )
    await store.write([log_session])
    await write_lines(store, log, "s1", 250, 7)
    queries = Queries(store.engine)
    seen: list[int] = []
    after = 0
    while True:
        page = await queries.output("s1", after=after, limit=40)
        seen += [line["n"] for line in page.lines]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == list(range(1, 251))
    assert page.first_line == 1
    session = log.state.sessions["s1"]
    assert (session["output_lines"], session["agent_id"]) == (250, "a1")


async def test_search_finds_lines_case_insensitively_with_json_special_characters(
    store: SqlStore,
) -> None:
    log = EventLog()
    texts = ['he said "Done" \\o/', "50% of tests_ok", "nothing", "ÉCHEC: tests failed", "stdout"]
    await store.write([log.record("session:output", output("s1", 1, texts))])
    queries = Queries(store.engine)
    assert [x["n"] for x in (await queries.output("s1", after=0, limit=10, q='"done"')).lines] == [
        1
    ]
    assert [x["n"] for x in (await queries.output("s1", after=0, limit=10, q="50%")).lines] == [2]
    assert [x["n"] for x in (await queries.output("s1", after=0, limit=10, q="s_o")).lines] == [2]
    assert [x["n"] for x in (await queries.output("s1", after=0, limit=10, q="échec")).lines] == [4]
    # "stdout" is also every stored line's stream: only the line whose text holds it matches.
    assert [x["n"] for x in (await queries.output("s1", after=0, limit=10, q="stdout")).lines] == [
        5
    ]
    assert (await queries.output("other", after=0, limit=10)).lines == []


async def test_a_session_keeps_its_last_bytes_and_drops_the_oldest(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'h.db'}", output=OutputRetention(max_bytes=2_000))
    await store.open()
    try:
        log = EventLog()
        await write_lines(store, log, "s1", 1000, 10)  # 10 bytes a line: 10,000 bytes
        await write_lines(store, log, "s2", 50, 10)
        queries = Queries(store.engine)
        page = await queries.output("s1", after=0, limit=5000)
        assert page.first_line == page.lines[0]["n"]
        kept = sum(len(line["text"]) for line in page.lines)
        assert 2_000 - 100 <= kept <= 2_000 + 100  # a chunk (100 bytes) at most beyond
        assert page.lines[-1]["n"] == 1000
        assert len((await queries.output("s2", after=0, limit=5000)).lines) == 50
    finally:
        await store.close()


async def test_output_older_than_the_age_bound_is_dropped(tmp_path: Path) -> None:
    retention = OutputRetention(max_age_s=3600, prune_every_s=0)
    store = SqlStore(f"sqlite:///{tmp_path / 'h.db'}", output=retention)
    await store.open()
    try:
        log = EventLog()
        old = iso(datetime.now(UTC) - timedelta(hours=2))
        await store.write([log.record("session:output", output("s1", 1, ["old"]), ts=old)])
        await store.write([log.record("session:output", output("s1", 2, ["new"]))])
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(t.session_output.c.from_line))).scalars().all()
        assert rows == [2]
    finally:
        await store.close()


@pytest.mark.parametrize("limit", [1, 3])
async def test_a_search_page_says_where_to_go_on(store: SqlStore, limit: int) -> None:
    log = EventLog()
    await write_lines(store, log, "s1", 30, 4)
    queries = Queries(store.engine)
    found: list[int] = []
    after = 0
    while True:
        page = await queries.output("s1", after=after, limit=limit, q="line 0002")
        found += [line["n"] for line in page.lines]
        if page.next_after is None:
            break
        after = page.next_after
    assert found == [*range(20, 30)]
