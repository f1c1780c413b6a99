"""Incident bundles over REST: `GET /api/export` streams one, `POST /api/import` loads one.

The bundle's format is hub/bundles.py's. Both need a token for every room (the state at a
bundle's start is the whole fleet's); importing needs a publish token too.
"""

from __future__ import annotations

import re

import orjson
from aiohttp import web

from parent_harness.events.clock import parse_iso
from parent_harness.hub.bundles import BadBundle
from parent_harness.hub.bundles import read_bundle as check_bundle
from parent_harness.hub.history import OutOfRange
from parent_harness.hub.node import ImportRefused, Node
from parent_harness.problems import json_response as _json
from parent_harness.problems import problem
from parent_harness.web.keys import NODE, SETTINGS, Guard
from parent_harness.web.rest import BadParam, answers_bad_params, int64_param
from parent_harness.web.scopes import whole_fleet

_DIGITS = re.compile(r"-?[0-9]+")


async def _point(node: Node, param: str, text: str, *, start: bool) -> int:
    """A `from` (`start`) or `to` point as a seq: a seq as given; a time, for `from` the
    first event at or after it, for `to` the last at or before it."""
    if _DIGITS.fullmatch(text):
        return int64_param(param, text)
    try:
        ms = int(parse_iso(text).timestamp() * 1000)
    except ValueError:
        raise BadParam(param, f"{param}={text!r} is neither a seq nor an ISO 8601 time") from None
    found = await node.store.seq_at(ms - 1 if start else ms)
    if start:
        return (found or 0) + 1
    if found is None:
        oldest = await node.store.event_time(node.ingest.first_seq)
        since = f" ({oldest[0]})" if oldest else ""
        raise BadParam(param, f"{param}={text} is before the log's first event{since}")
    return min(found, node.seq)


async def _range(request: web.Request) -> tuple[int, int]:
    """The export's (from_seq, to_seq), checked: within the log, from not after to."""
    node, query = request.app[NODE], request.query
    head = node.seq
    low = await _point(node, "from", query["from"], start=True) if query.get("from") else None
    high = await _point(node, "to", query["to"], start=False) if query.get("to") else head
    low = node.ingest.first_seq if low is None else low
    if high > head:
        raise BadParam("to", f"to={high} is beyond the log, which ends at seq {head}", head=head)
    if low < 1:
        raise BadParam("from", "from must be a seq of 1 or more")
    if low > high + 1 or (low > high and query.get("from")):
        raise BadParam("from", f"from (seq {low}) is after to (seq {high})", head=head)
    return low, high


@answers_bad_params
async def export_route(request: web.Request) -> web.StreamResponse:
    """Streams an incident bundle (JSON lines, hub/bundles.py): `from` and `to` are seqs or
    ISO 8601 times (default: the whole log kept), `task` and `session` keep only the
    events that reach that task's or session's room."""
    node = request.app[NODE]
    low, high = await _range(request)
    try:
        start = await node.state_at(low - 1)
    except OutOfRange as exc:
        raise BadParam("from", str(exc), head=node.seq) from None
    task, session = request.query.get("task") or None, request.query.get("session") or None
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="bundle-{low}-{high}.jsonl"',
        }
    )
    await response.prepare(request)
    async for chunk in node.export_bundle(start, low, high, task=task, session=session):
        await response.write(chunk)
    await response.write_eof()
    return response


async def import_route(request: web.Request) -> web.StreamResponse:
    """Loads a bundle (its lines as one JSON array) into this hub's empty log, whole or not
    at all: 400 `bad_bundle` naming the wrong line, 409 `not_empty` when the log holds
    anything (`cluster` on a node of a cluster), 413 past --max-import-mb."""
    limit = request.app[SETTINGS].max_import_bytes
    body = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            return problem(413, "too_large", f"the body is larger than {limit} bytes", limit=limit)
    try:
        lines = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return problem(400, "bad_json", f"body is not JSON: {exc}")
    if not isinstance(lines, list):
        return problem(400, "bad_bundle", "send the bundle's lines as one JSON array")
    try:
        bundle = check_bundle(lines)
    except BadBundle as exc:
        return problem(400, "bad_bundle", str(exc), line=exc.line)
    node = request.app[NODE]
    try:
        count = await node.import_bundle(bundle)
    except ImportRefused as exc:
        return problem(409, exc.code, str(exc))
    except BadBundle as exc:
        return problem(400, "bad_bundle", str(exc), line=exc.line)
    return _json({"imported": count, "seq": node.seq, "range": bundle.header["range"]})


import_route.large_body = True  # type: ignore[attr-defined]  # see app.guarded


def add_routes(app: web.Application, guard: Guard) -> None:
    app.router.add_get("/api/export", guard(whole_fleet(export_route)))
    app.router.add_post("/api/import", guard(whole_fleet(import_route)))
