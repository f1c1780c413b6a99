"""Read queries behind REST: lists with filters before limits and seq-cursor paging.

Every answer carries `seq`, the last event the rows reflect, read in the same
transaction as the rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from parent_harness.store import schema as t
from parent_harness.store.engine import snapshot_reader
from parent_harness.store.output import OutputPage, read_output


@dataclass(frozen=True, slots=True)
class Page:
    seq: int
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Density:
    """One stretch of a timeline: its events, and how many of them were failures or alerts;
    `first_seq`/`last_seq` bound its events (None: it has none)."""

    index: int
    events: int = 0
    failures: int = 0
    alerts: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


@dataclass(frozen=True, slots=True)
class EventFilter:
    after: int | None = None
    before: int | None = None
    types: Sequence[str] = ()
    room: str | None = None
    level: str | None = None
    text: str | None = None
    descending: bool = True
    within: Sequence[str] | None = None
    """Only events in at least one of these rooms (a token limited to some rooms)."""
    hidden: Sequence[str] = ()
    """Types left out (agent output, unless a type or room asks for it)."""


def _like_glob(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


class _JsonText(FunctionElement[str]):
    """A top-level string field of an entity's JSON `data` (NULL when absent), the same on
    SQLite (`json_extract`) and PostgreSQL (`->>`, the text column cast to JSONB).

    The key is written into the SQL, not bound: an index on the same expression (migration
    0008: `plan_id` of tasks) is used only when the query's expression is the index's."""

    type = String()
    inherit_cache = True
    name = "json_text"


def _parts(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, key = list(element.clauses)
    return compiler.process(column, **kw), str(key.name)


@compiles(_JsonText, "sqlite")
def _json_text_sqlite(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element, compiler, **kw)
    return f"json_extract({column}, '$.{key}')"


@compiles(_JsonText, "postgresql")
def _json_text_postgresql(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _parts(element, compiler, **kw)
    return f"(CAST({column} AS JSONB) ->> '{key}')"


_KEY = re.compile(r"[a-z_][a-z0-9_]*")


def _json_text(column: ColumnElement[Any], key: str) -> ColumnElement[str]:
    if not _KEY.fullmatch(key):  # written into the SQL: only a plain name of ours
        raise ValueError(f"not a JSON key this store queries: {key!r}")
    return _JsonText(column, literal_column(key))


async def _watermark(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.coalesce(func.max(t.events.c.seq), 0))) or 0)


class Queries:
    """The read side of the store."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = snapshot_reader(engine)
        self._marks = MarkBlocks()

    async def _entity_page(
        self, table: Table, query: Select[Any], limit: int, cursor: str | None
    ) -> Page:
        if cursor:
            query = query.where(table.c.updated_seq < int(cursor))
        query = query.order_by(table.c.updated_seq.desc()).limit(limit + 1)
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            rows = (await conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [orjson.loads(r.data) for r in rows]
        return Page(seq, items, str(rows[-1].updated_seq) if more and rows else None)

    async def tasks(
        self,
        *,
        statuses: Sequence[str] = (),
        text: str | None = None,
        agent_id: str | None = None,
        plan_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        query = select(t.tasks.c.data, t.tasks.c.updated_seq)
        if statuses:
            query = query.where(t.tasks.c.status.in_(list(statuses)))
        if agent_id:
            query = query.where(t.tasks.c.agent_id == agent_id)
        if plan_id:
            query = query.where(_json_text(t.tasks.c.data, "plan_id") == plan_id)
        if text:
            pattern = f"%{_like_glob(text)}%"
            query = query.where(
                or_(
                    t.tasks.c.title.ilike(pattern, escape="\\"),
                    t.tasks.c.id.ilike(pattern, escape="\\"),
                    t.tasks.c.data.ilike(pattern, escape="\\"),
                )
            )
        return await self._entity_page(t.tasks, query, limit, cursor)

    async def sessions(
        self,
        *,
        statuses: Sequence[str] = (),
        agent_id: str | None = None,
        task_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        query = select(t.sessions.c.data, t.sessions.c.updated_seq)
        if statuses:
            query = query.where(t.sessions.c.status.in_(list(statuses)))
        if agent_id:
            query = query.where(t.sessions.c.agent_id == agent_id)
        if task_id:
            query = query.where(t.sessions.c.task_id == task_id)
        return await self._entity_page(t.sessions, query, limit, cursor)

    async def entity(self, kind: str, ident: str) -> tuple[int, dict[str, Any] | None]:
        table = {"task": t.tasks, "session": t.sessions, "agent": t.agents}[kind]
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            data = await conn.scalar(select(table.c.data).where(table.c.id == ident))
        return seq, orjson.loads(data) if data else None

    async def output(
        self, session_id: str, *, after: int, limit: int, q: str | None = None
    ) -> OutputPage:
        """A page of a session's kept output (see store/output.py)."""
        async with self.engine.connect() as conn:
            return await read_output(conn, session_id, after=after, limit=limit, q=q)

    async def test_runs(self, task_id: str) -> list[dict[str, Any]]:
        query = (
            select(t.test_runs.c.data)
            .where(t.test_runs.c.task_id == task_id)
            .order_by(t.test_runs.c.updated_seq)
        )
        async with self.engine.connect() as conn:
            return [orjson.loads(d) for d in await conn.scalars(query)]

    async def events(self, flt: EventFilter, limit: int = 100) -> Page:
        ev = t.events
        query = select(ev.c.seq, ev.c.body)
        if flt.after is not None:
            query = query.where(ev.c.seq > flt.after)
        if flt.before is not None:
            query = query.where(ev.c.seq < flt.before)
        if flt.types:
            # Types are lower case; PostgreSQL's LIKE is case-sensitive where SQLite's is not.
            globs = (_like_glob(g.lower()) for g in flt.types)
            query = query.where(or_(*(ev.c.type.like(g, escape="\\") for g in globs)))
        if flt.hidden:
            query = query.where(ev.c.type.not_in(list(flt.hidden)))
        if flt.level:
            query = query.where(ev.c.level == flt.level)
        if flt.text:
            query = query.where(ev.c.body.ilike(f"%{_like_glob(flt.text)}%", escape="\\"))
        if flt.room:
            in_room = select(t.event_rooms.c.seq).where(t.event_rooms.c.room == flt.room)
            query = query.where(ev.c.seq.in_(in_room))
        if flt.within is not None:
            in_any = select(t.event_rooms.c.seq).where(t.event_rooms.c.room.in_(list(flt.within)))
            query = query.where(ev.c.seq.in_(in_any))
        order = ev.c.seq.desc() if flt.descending else ev.c.seq.asc()
        query = query.order_by(order).limit(limit + 1)
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            rows = (await conn.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            seq, [orjson.loads(r.body) for r in rows], str(rows[-1].seq) if more and rows else None
        )

    async def event(self, seq: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            body = await conn.scalar(select(t.events.c.body).where(t.events.c.seq == seq))
        return orjson.loads(body) if body else None

    async def history(
        self, since_ms: int, bucket_s: int
    ) -> tuple[int, dict[int, int], dict[int, float]]:
        """Events per time bucket, and the budget's spend at each bucket's end (bucket -> value)."""
        ev = t.events
        width = bucket_s * 1000
        bucket = ev.c.ts_ms // width  # integer division on both (a cast would round on PG)
        counts = (
            select(bucket.label("b"), func.count().label("n"))
            .where(ev.c.ts_ms >= since_ms)
            .group_by("b")
        )
        spend = (
            select(ev.c.ts_ms, ev.c.body)
            .where(ev.c.ts_ms >= since_ms, ev.c.type == "budget:updated")
            .order_by(ev.c.seq)
        )
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            count_rows = (await conn.execute(counts)).all()
            spend_rows = (await conn.execute(spend)).all()
        spent = {
            row.ts_ms // width: orjson.loads(row.body)["payload"]["budget"].get("spent_usd") or 0.0
            for row in spend_rows
        }
        return seq, {int(r.b): int(r.n) for r in count_rows}, spent

    async def failures(self) -> tuple[int, list[dict[str, Any]]]:
        """Every `task:failed` event, oldest first (wire messages)."""
        query = (
            select(t.events.c.body).where(t.events.c.type == "task:failed").order_by(t.events.c.seq)
        )
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            return seq, [orjson.loads(d) for d in await conn.scalars(query)]

    async def timeline(
        self, from_ms: int, to_ms: int, buckets: int, failing: Sequence[str]
    ) -> tuple[int, list[Density]]:
        """Events per equal stretch of [from_ms, to_ms], with failures and alerts.

        A failure is an event of level error (`failing`: the types that can be one), or a
        session that ended other than completed; an alert is a message the notifications
        sent out (an outgoing `telegram:message`).

        The counts read no events: the log is gapless and its times follow its seqs, so the
        events of a stretch are the seqs between the last event before its start and the
        last before its end, each found by one probe of the `ts_ms` index (a scan and a
        GROUP BY took half a second on a million events). The marks then read only the
        types that can be one, on `(type, seq)` within the seqs found.
        """
        ev = t.events
        span = to_ms - from_ms + 1
        probes = _EDGE_PROBES.bindparams(start=from_ms, span=span, n=buckets)
        async with self.engine.connect() as conn:
            seq = await _watermark(conn)
            first = int(await conn.scalar(select(func.coalesce(func.min(ev.c.seq), 1))) or 1)
            found = {int(r.i): r.s for r in (await conn.execute(probes)).all()}
            assert len(found) == buckets + 1, found
            # Before the first event kept (retention): the seq before it, not 0.
            last = [first - 1 if found[i] is None else int(found[i]) for i in range(buckets + 1)]
            out = [
                Density(i, n, 0, 0, last[i] + 1, last[i + 1])
                if (n := last[i + 1] - last[i]) > 0
                else Density(i)
                for i in range(buckets)
            ]
            marks = await self._marks.between(conn, last[0] + 1, last[-1], seq, failing)
        failures, alerts = [0] * buckets, [0] * buckets
        for _, ts_ms, failure in marks:
            b = (ts_ms - from_ms) * buckets // span
            if 0 <= b < buckets:  # else a time out of its seq's order
                if failure:
                    failures[b] += 1
                else:
                    alerts[b] += 1
        for i, d in enumerate(out):
            if failures[i] or alerts[i]:
                out[i] = Density(i, d.events, failures[i], alerts[i], d.first_seq, d.last_seq)
        return seq, out


_EDGE_PROBES = text(
    """
    WITH RECURSIVE edges(i, b) AS (
        SELECT 0, CAST(:start AS BIGINT)
        UNION ALL
        SELECT i + 1, CAST(:start AS BIGINT) + ((i + 1) * CAST(:span AS BIGINT) + :n - 1) / :n
        FROM edges WHERE i < :n
    )
    SELECT i, (
        SELECT seq FROM events WHERE ts_ms < edges.b ORDER BY ts_ms DESC, seq DESC LIMIT 1
    ) AS s
    FROM edges
    """
)
"""Stretch i of n of [start, start + span) starts at start + ceil(i * span / n) (integer
division on both stores); for each edge, the last event before it, by one probe of the
`ts_ms` index. Written out: the edges come from a recursive CTE, four parameters, where a
VALUES list took one per edge and PostgreSQL then planned it slowly."""


MARK_BLOCK = 10_000
"""Seqs per block of marks kept by `MarkBlocks`."""


class MarkBlocks:
    """The failures and alerts of the log, read once per block of MARK_BLOCK seqs.

    Reading them means reading every event of the types that can be one (a generic `event`
    can be an error; without an index on the level, 0.7 s for the 100,000 of a
    million-event log). A committed event never changes, so a block wholly below the
    watermark is read once and kept (its marks only: a few per thousand events); the block
    still filling is read each time.
    """

    def __init__(self) -> None:
        self.blocks: dict[int, list[tuple[int, int, bool]]] = {}

    async def between(
        self, conn: AsyncConnection, lo: int, hi: int, watermark: int, failing: Sequence[str]
    ) -> list[tuple[int, int, bool]]:
        """(seq, ts_ms, failure: else alert) of every mark with lo <= seq <= hi."""
        if hi < lo:
            return []
        out: list[tuple[int, int, bool]] = []
        for block in range(lo // MARK_BLOCK, hi // MARK_BLOCK + 1):
            start, end = block * MARK_BLOCK, block * MARK_BLOCK + MARK_BLOCK - 1
            found = self.blocks.get(block)
            if found is None:
                found = await _read_marks(conn, start, min(end, watermark), failing)
                if end <= watermark:
                    self.blocks[block] = found
            out.extend(m for m in found if lo <= m[0] <= hi)
        return out


async def _read_marks(
    conn: AsyncConnection, lo: int, hi: int, failing: Sequence[str]
) -> list[tuple[int, int, bool]]:
    """Failures and alerts with lo <= seq <= hi, reading only the types that can be one."""
    ev = t.events
    failure = or_(
        ev.c.level == "error",
        and_(ev.c.type == "session:ended", ev.c.level == "warning"),
    )
    # The body is the stored wire message: compact JSON, so the field reads as written here
    # (a quote inside a text is escaped, so a message cannot fake it).
    alert = and_(ev.c.type == "telegram:message", ev.c.body.like('%"direction":"out"%'))
    types = sorted({*failing, "session:ended", "telegram:message"})
    query = (
        select(ev.c.seq, ev.c.ts_ms, failure.label("f"))
        # By seq alone, so that both stores read `(type, seq)` (a time range beside it led
        # PostgreSQL to scan every event of the range).
        .where(ev.c.type.in_(types), ev.c.seq.between(lo, hi), or_(failure, alert))
        .order_by(ev.c.seq)
    )
    return [(int(r.seq), int(r.ts_ms), bool(r.f)) for r in (await conn.execute(query)).all()]
