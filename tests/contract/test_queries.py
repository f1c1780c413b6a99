"""The read side behind REST, the same on SQLite and PostgreSQL: filters before limits, cursors."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import text

from parent_harness.store import schema as t
from parent_harness.store.queries import EventFilter, Page, Queries, _json_text
from parent_harness.store.sql import SqlStore
from tests.contract.log import FLEET, EventLog, generic, task

PLAN_INDEX = importlib.import_module(
    "parent_harness.store.migrations.versions.0008_tasks_plan_id_index"
)


async def written(store: SqlStore, events: list[tuple[str, dict[str, Any]]]) -> EventLog:
    log = EventLog()
    await store.write([log.record(type_, payload) for type_, payload in events])
    return log


def ids(page: Page) -> list[str]:
    return [item["id"] for item in page.items]


def seqs(page: Page) -> list[int]:
    return [item["seq"] for item in page.items]


async def all_pages(fetch: Any, limit: int) -> list[list[str]]:
    """Follows next_cursor to the end; the ids of each page."""
    pages, cursor = [], None
    while True:
        page = await fetch(limit=limit, cursor=cursor)
        pages.append(ids(page))
        cursor = page.next_cursor
        if cursor is None:
            return pages


TASKS = [
    task(
        f"t{n}",
        title=f"task number {n}",
        status="failed" if n % 5 == 0 else "running",
        agent_id=f"a{n % 2}",
    )
    for n in range(25)
]


async def test_tasks_filter_by_status_before_the_limit_and_page_by_cursor(store: SqlStore) -> None:
    await written(store, TASKS)
    queries = Queries(store.engine)
    first = await queries.tasks(statuses=["failed"], limit=2)
    assert first.seq == 25 and ids(first) == ["t20", "t15"]

    async def failed(**kw: Any) -> Page:
        return await queries.tasks(statuses=["failed"], **kw)

    assert await all_pages(failed, 2) == [["t20", "t15"], ["t10", "t5"], ["t0"]]
    both = await queries.tasks(statuses=["failed", "running"], limit=100)
    assert len(both.items) == 25 and both.next_cursor is None
    assert ids(await queries.tasks(statuses=["cancelled"])) == []


async def test_tasks_filter_by_agent_and_text(store: SqlStore) -> None:
    await written(
        store,
        [
            *TASKS,
            task("x1", title="Fix the PARSER", description="the tokenizer drops 100% of tabs"),
            task("x2", title="1000 done", agent_id="a1"),
            task("x_3", title="under_score"),
        ],
    )
    queries = Queries(store.engine)
    by_agent = await queries.tasks(agent_id="a1", statuses=["failed"])
    assert ids(by_agent) == ["t15", "t5"]
    assert ids(await queries.tasks(text="number 13")) == ["t13"]
    assert ids(await queries.tasks(text="fix the parser")) == ["x1"]
    assert ids(await queries.tasks(text="TOKENIZER")) == ["x1"]
    assert ids(await queries.tasks(text="100%")) == ["x1"]
    assert ids(await queries.tasks(text="r_s")) == ["x_3"]
    assert ids(await queries.tasks(text="number 2", agent_id="a0", limit=2)) == ["t24", "t22"]


async def test_tasks_filter_by_plan_exactly(store: SqlStore) -> None:
    await written(
        store,
        [
            task("p1", title="first", plan_id="release-1", status="completed"),
            task("p2", title="second", plan_id="release-1", status="blocked"),
            task("q1", title="other plan", plan_id="Release-1"),
            task("q2", title="a prefix", plan_id="release-10"),
            task("n1", title="no plan", description='"plan_id":"release-1"'),
            task("n2", title="none", plan_id=None),
        ],
    )
    queries = Queries(store.engine)
    assert ids(await queries.tasks(plan_id="release-1")) == ["p2", "p1"]
    assert ids(await queries.tasks(plan_id="release-1", statuses=["blocked"])) == ["p2"]
    assert ids(await queries.tasks(plan_id="Release-1")) == ["q1"]
    assert ids(await queries.tasks(plan_id="nope")) == []

    async def in_plan(**kw: Any) -> Page:
        return await queries.tasks(plan_id="release-1", **kw)

    assert await all_pages(in_plan, 1) == [["p2"], ["p1"]]


async def test_sessions_filter_and_page(store: SqlStore) -> None:
    events = [
        (
            "session:started",
            {
                "session": {
                    "id": f"s{n}",
                    "agent_id": f"a{n % 3}",
                    "task_id": f"t{n % 2}",
                    "status": "running",
                }
            },
        )
        for n in range(9)
    ]
    events.append(("session:ended", {"session": {"id": "s3", "status": "completed"}}))
    await written(store, events)
    queries = Queries(store.engine)
    page = await queries.sessions(limit=4)
    assert page.seq == 10 and ids(page) == ["s3", "s8", "s7", "s6"]
    assert ids(await queries.sessions(statuses=["completed"])) == ["s3"]
    assert ids(await queries.sessions(agent_id="a0")) == ["s3", "s6", "s0"]
    assert ids(await queries.sessions(task_id="t1", agent_id="a1")) == ["s7", "s1"]

    async def running(**kw: Any) -> Page:
        return await queries.sessions(statuses=["running"], **kw)

    assert await all_pages(running, 3) == [["s8", "s7", "s6"], ["s5", "s4", "s2"], ["s1", "s0"]]


async def test_entity_and_test_runs(store: SqlStore) -> None:
    log = await written(store, FLEET)
    queries = Queries(store.engine)
    for kind, ident, table in (
        ("task", "t1", log.state.tasks),
        ("session", "s1", log.state.sessions),
        ("agent", "a1", log.state.agents),
    ):
        assert await queries.entity(kind, ident) == (len(FLEET), table[ident])
    assert await queries.entity("task", "nobody") == (len(FLEET), None)
    runs = await queries.test_runs("t1")
    assert runs == [log.state.test_runs["r1"]] and runs[0]["failed"] == 1
    assert await queries.test_runs("t2") == []


async def test_events_filter_by_each_field(store: SqlStore) -> None:
    await written(store, FLEET)
    queries = Queries(store.engine)
    newest = await queries.events(EventFilter(), limit=3)
    assert newest.seq == len(FLEET) and seqs(newest) == [19, 18, 17]
    oldest = await queries.events(EventFilter(descending=False), limit=2)
    assert seqs(oldest) == [1, 2] and oldest.next_cursor == "2"
    window = EventFilter(after=3, before=7, descending=False)
    assert seqs(await queries.events(window)) == [4, 5, 6]
    failed = EventFilter(types=("*:failed", "test:*"), descending=False)
    assert seqs(await queries.events(failed)) == [12, 13, 14]
    assert seqs(await queries.events(EventFilter(types=("Budget:Updated",)))) == [16, 2]
    assert seqs(await queries.events(EventFilter(types=("session:?nded",)))) == [15]
    # Levels as the ingest gives them: a failed test run and session, and the warning event.
    assert seqs(await queries.events(EventFilter(level="warning"))) == [18, 15, 13]
    assert seqs(await queries.events(EventFilter(level="error"))) == [14]
    assert seqs(await queries.events(EventFilter(text="DISK almost"))) == [18]
    assert seqs(await queries.events(EventFilter(text="AssertionError in test"))) == [14]
    in_room = await queries.events(EventFilter(room="task:t2"), limit=1)
    assert seqs(in_room) == [19] and in_room.next_cursor == "19"
    assert seqs(await queries.events(EventFilter(room="task:t2", before=19))) == [4]
    mixed = EventFilter(room="session:s1", types=("session:*",), after=6, descending=False)
    assert seqs(await queries.events(mixed)) == [9, 10, 15]
    assert seqs(await queries.events(EventFilter(room="nobody"))) == []


async def test_one_event_by_seq(store: SqlStore) -> None:
    await written(store, FLEET)
    queries = Queries(store.engine)
    found = await queries.event(17)
    assert found is not None and found["type"] == "telegram:message"
    assert found["payload"]["message"]["text"] == "t1 failed"
    assert await queries.event(99) is None


async def test_history_counts_events_and_spend_per_bucket(store: SqlStore) -> None:
    log = EventLog()
    width = 10_000
    base = 1_800_000_000_000  # a bucket boundary
    stamped = [
        (base + 1_000, generic("early")),
        (base + 9_000, ("budget:updated", {"budget": {"period": "day", "spent_usd": 1.5}})),
        (base + 9_999, generic("end of the first bucket")),
        (base + 10_000, generic("start of the second")),
        (base + 25_000, ("budget:updated", {"budget": {"period": "day", "spent_usd": 2.0}})),
        (base + 29_000, ("budget:updated", {"budget": {"period": "day", "spent_usd": 2.5}})),
    ]
    await store.write([log.at_ms(type_, payload, ms) for ms, (type_, payload) in stamped])
    queries = Queries(store.engine)
    first = base // width
    seq, counts, spent = await queries.history(base, width // 1000)
    assert seq == 6
    assert counts == {first: 3, first + 1: 1, first + 2: 2}
    assert spent == {first: 1.5, first + 2: 2.5}
    later = await queries.history(base + 10_000, width // 1000)
    assert later[1] == {first + 1: 1, first + 2: 2}


async def test_failures_oldest_first(store: SqlStore) -> None:
    events = [
        *FLEET,
        (
            "task:failed",
            {"task": {"id": "t2", "status": "failed", "error_details": {"message": "x"}}},
        ),
    ]
    await written(store, events)
    seq, failures = await Queries(store.engine).failures()
    assert seq == len(events)
    assert [(f["seq"], f["payload"]["task"]["id"]) for f in failures] == [(14, "t1"), (20, "t2")]
    assert failures[0]["payload"]["task"]["error_details"]["kind"] == "test"


async def test_the_plan_filter_is_the_indexed_expression(store: SqlStore) -> None:
    """On SQLite `plan_id` is read from the task's JSON with the very expression migration
    0008 indexed, and SQLite uses that index for it (no scan of every task)."""
    await written(store, [task(f"t{n}", plan_id=f"plan-{n % 3}") for n in range(30)])
    async with store.engine.connect() as conn:
        dialect = conn.dialect
        expression = str(_json_text(t.tasks.c.data, "plan_id").compile(dialect=dialect))
        if dialect.name != "sqlite":  # no index there (the migration says why)
            assert expression == "(CAST(tasks.data AS JSONB) ->> 'plan_id')"
            return
        assert expression == PLAN_INDEX.EXPRESSION.replace("data", "tasks.data")
        query = f"EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE {expression} = 'plan-1'"
        plan = (await conn.execute(text(query))).all()
    assert "USING INDEX ix_tasks_plan_id" in " ".join(str(row) for row in plan), plan
