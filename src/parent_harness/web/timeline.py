"""REST for the dashboard's scrubber (issue 18): how busy the log was, and where it broke.

`GET /api/history/timeline?from=&to=&buckets=N` cuts [from, to] (ISO 8601 times; by
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

from parent_harness.events.clock import iso, now_ms, parse_iso
from parent_harness.events.levels import can_be
from parent_harness.problems import json_response
from parent_harness.web.keys import NODE, QUERIES, Guard
from parent_harness.web.rest import BadParam, IntParam, Problem, answers_bad_params, inject
from parent_harness.web.scopes import whole_fleet

FAILING = can_be("error")
"""The event types that can be an error: the only ones read for failures."""

BUCKETS: Any = Field(default=200, ge=1, le=2000)


def _moment(param: str, text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 time; BadParam when it is not one."""
    try:
        return int(parse_iso(text).timestamp() * 1000)
    except ValueError:
        raise BadParam(param, f"{param}={text!r} is not an ISO 8601 time") from None


def _iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


@answers_bad_params
@inject.and_request
async def timeline(
    request: web.Request,
    from_: str = Field(default="", alias="from", max_length=64),
    to: str = Field(default="", max_length=64),
    buckets: IntParam = BUCKETS,
) -> r200[dict[str, Any]] | r400[Problem]:
    """Events, failures (errors, sessions that did not complete) and alerts (messages the
    notifications sent) per equal stretch of [from, to]; with the log's head and the
    oldest state kept. Times are ISO 8601; by default the oldest kept event and the last."""
    node = request.app[NODE]
    head_at = await node.store.event_time(node.seq) if node.seq else None
    first_seq = node.ingest.first_seq
    oldest_at = await node.store.event_time(first_seq) if node.seq >= first_seq else None
    fallback = now_ms()[1]
    start = _moment("from", from_) if from_ else (oldest_at[1] if oldest_at else fallback)
    end = _moment("to", to) if to else (head_at[1] if head_at else fallback)
    if end < start:
        raise BadParam("to", f"to ({_iso_ms(end)}) is before from ({_iso_ms(start)})")
    seq, stretches = await request.app[QUERIES].timeline(start, end, buckets, sorted(FAILING))
    return json_response(
        {
            "seq": seq,
            "from": _iso_ms(start),
            "to": _iso_ms(end),
            "from_ms": start,
            "to_ms": end,
            "bucket_ms": (end - start + 1) / buckets,
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
