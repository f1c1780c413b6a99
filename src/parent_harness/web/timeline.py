"""REST for the dashboard's scrubber (issue 18): how busy the log was, and where it broke.

`GET /api/history/timeline?start=&end=&buckets=N` cuts [start, end] (ISO 8601 times; by
default the oldest event kept and the last one) into N equal stretches and counts, per
stretch, the events, the failures and the alerts, in SQL (store/queries.py `timeline`);
with the head of the log and the oldest moment still kept, so the scrubber knows where
it may go. Bad input is a 400 problem naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r400
from pydantic import Field

from parent_harness.events.clock import iso, now_ms
from parent_harness.events.levels import can_be
from parent_harness.problems import json_response
from parent_harness.web.keys import NODE, QUERIES, Guard
from parent_harness.web.rest import BadParam, IntParam, Problem, answers_bad_params, inject
from parent_harness.web.scopes import whole_fleet

FAILING = can_be("error")
"""The event types that can be an error: the only ones read for failures."""

BUCKETS: Any = Field(default=200, ge=1, le=2000)


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch (a time without a zone is UTC, as everywhere here)."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


@answers_bad_params
@inject.and_request
async def timeline(
    request: web.Request,
    start: datetime | None = None,
    end: datetime | None = None,
    buckets: IntParam = BUCKETS,
) -> r200[dict[str, Any]] | r400[Problem]:
    """Events, failures (errors, sessions that did not complete) and alerts (messages the
    notifications sent) per equal stretch of [start, end]; with the log's head and the
    oldest state kept. Times are ISO 8601; by default the oldest kept event and the last."""
    node = request.app[NODE]
    head_at = await node.store.event_time(node.seq) if node.seq else None
    first_seq = node.ingest.first_seq
    oldest_at = await node.store.event_time(first_seq) if node.seq >= first_seq else None
    fallback = now_ms()[1]
    lo = _ms(start) if start else (oldest_at[1] if oldest_at else fallback)
    hi = _ms(end) if end else (head_at[1] if head_at else fallback)
    if hi < lo:
        raise BadParam("end", f"end ({_iso_ms(hi)}) is before start ({_iso_ms(lo)})")
    seq, stretches = await request.app[QUERIES].timeline(lo, hi, buckets, sorted(FAILING))
    return json_response(
        {
            "seq": seq,
            "start": _iso_ms(lo),
            "end": _iso_ms(hi),
            "start_ms": lo,
            "end_ms": hi,
            "bucket_ms": (hi - lo + 1) / buckets,
            "head": {"seq": node.seq, "at": head_at[0] if head_at else None},
            "oldest": {"seq": first_seq - 1, "at": oldest_at[0] if oldest_at else None},
            "buckets": [
                {
                    "events": s.events,
                    "failures": s.failures,
                    "alerts": s.alerts,
                    "first_seq": s.first_seq,
                    "last_seq": s.last_seq,
                }
                for s in stretches
            ],
        }
    )


def add_routes(app: web.Application, guard: Guard) -> None:
    """The routes of this module, each wrapped by `guard` (the hub's tokens)."""
    app.router.add_get("/api/history/timeline", guard(whole_fleet(timeline)))
