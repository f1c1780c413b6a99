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
from sqlalchemy import ColumnElement, Select, String, Table, func, literal_column, or_, select
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
