"""Agent output kept with its session: bounded per session and by age, paged and searched.

Each `session:output` event is one row of `session_output` (a chunk of numbered lines).
The store keeps, per session, the chunks that hold its last `OutputRetention.max_bytes`
bytes (a chunk at most more: chunks are never split), and drops chunks older than
`max_age_s`. Both deletes run in the writer's own transactions, with the events: the
first with every batch that holds output, the second once a `prune_every_s`.

Reading (`read_output`): lines after a line number, in order, up to a limit; with a query,
only the lines whose text holds it (case-insensitive). The database narrows the chunks
(`LIKE` on the stored JSON, a superset, for an ASCII query); the lines are matched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Delete

from parent_harness.store import schema as t

CHUNKS_PER_READ = 64
"""Chunk rows read per query while filling a page."""
SCAN_CHUNKS_MAX = 2_000
"""Chunks a search reads at most for one page; past that, the page says where to go on."""

OUTPUT_COLUMNS = ("session_id", "from_line", "to_line", "seq", "at", "total_bytes", "dropped")
CHUNK_COLUMNS = (*OUTPUT_COLUMNS, "lines")


@dataclass(frozen=True, slots=True)
class OutputRetention:
    """How much agent output the store keeps: per session, and in age."""

    max_bytes: int = 5 * 1024 * 1024
    max_age_s: float = 7 * 86400.0
    prune_every_s: float = 60.0


def chunk_row(seq: int, row: dict[str, Any]) -> tuple[Any, ...]:
    """A `session_output` row from the fold's change (see `State._output`)."""
    return (
        row["session_id"],
        row["from_line"],
        row["to_line"],
        seq,
        row["at"],
        row["total_bytes"],
        row["dropped"],
        orjson.dumps(row["lines"]).decode(),
    )


def over_bound_rows(changes: list[tuple[int, dict[str, Any]]], max_bytes: int) -> list[Any]:
    """Per session in a batch: (session id, the total below which its chunks go)."""
    last: dict[str, int] = {}
    for _seq, row in changes:
        last[row["session_id"]] = max(last.get(row["session_id"], 0), row["total_bytes"])
    return [(sid, total - max_bytes) for sid, total in sorted(last.items()) if total > max_bytes]


def trim_statement() -> Delete:
    """Deletes a session's chunks that end at or below a total (executemany: sid, upto)."""
    out = t.session_output
    return delete(out).where(
        out.c.session_id == bindparam("sid"), out.c.total_bytes <= bindparam("upto")
    )


def age_statement() -> Delete:
    """Deletes every chunk older than a time (ISO 8601, the events' own format)."""
    return delete(t.session_output).where(t.session_output.c.at < bindparam("before"))


def age_cutoff(max_age_s: float, now: datetime | None = None) -> str:
    """The `at` before which chunks are too old, in the events' timestamp format."""
    moment = (now or datetime.now(UTC)) - timedelta(seconds=max_age_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class OutputPage:
    """A page of a session's output (see `read_output`)."""

    seq: int
    first_line: int | None
    """The oldest line still kept (older ones were dropped by retention), or None: none."""
    lines: list[dict[str, Any]]
    next_after: int | None
    """Where the next page starts (`after=`), or None when there is nothing more now."""


def _like(text: str) -> str:
    """A LIKE pattern finding `text` in the JSON the lines are stored as."""
    encoded = orjson.dumps(text).decode()[1:-1]
    escaped = encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def read_output(
    conn: AsyncConnection, session_id: str, *, after: int, limit: int, q: str | None
) -> OutputPage:
    """Lines of a session numbered after `after`, in order, at most `limit`; only those
    holding `q` (case-insensitive) when given."""
    out = t.session_output
    seq = int(await conn.scalar(select(func.coalesce(func.max(t.events.c.seq), 0))) or 0)
    first = await conn.scalar(
        select(func.min(out.c.from_line)).where(out.c.session_id == session_id)
    )
    query = select(out.c.to_line, out.c.lines).where(out.c.session_id == session_id)
    if q and q.isascii():  # SQLite folds the case of ASCII only: others are matched here
        query = query.where(out.c.lines.ilike(_like(q), escape="\\"))
    needle = q.casefold() if q else None
    found: list[dict[str, Any]] = []
    position, scanned = after, 0
    while len(found) < limit and scanned < SCAN_CHUNKS_MAX:
        rows = (
            await conn.execute(
                query.where(out.c.to_line > position)
                .order_by(out.c.from_line)
                .limit(CHUNKS_PER_READ)
            )
        ).all()
        for row in rows:
            for line in orjson.loads(row.lines):
                if line["n"] > position and (needle is None or needle in line["text"].casefold()):
                    found.append(line)
                    if len(found) == limit:
                        return OutputPage(seq, first, found, line["n"])
            position = row.to_line
        scanned += len(rows)
        if len(rows) < CHUNKS_PER_READ:
            return OutputPage(seq, first, found, None)
    return OutputPage(seq, first, found, position)
