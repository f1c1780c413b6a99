"""Incident bundles over REST: `GET /api/export` streams one, `POST /api/import` loads one;
`POST /api/replay` runs a stretch of the log through candidate rules (a what-if).

The bundle's format is hub/bundles.py's. Both need a token for every room (the state at a
bundle's start is the whole fleet's); importing needs a publish token too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from parent_harness.events.clock import parse_iso
from parent_harness.hub.bundles import BadBundle, bundle_lines
from parent_harness.hub.bundles import read_bundle as check_bundle
from parent_harness.hub.history import OutOfRange
from parent_harness.hub.node import ImportRefused, Node
from parent_harness.hub.state import State
from parent_harness.problems import json_response as _json
from parent_harness.problems import problem
from parent_harness.web.keys import NODE, SETTINGS, Guard
from parent_harness.web.rest import BadParam, answers_bad_params, int64_param
from parent_harness.web.scopes import whole_fleet
from parent_harness.whatif import CandidateError, candidate_of, replay

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


async def _range(node: Node, given: Mapping[str, Any]) -> tuple[int, int]:
    """The (from_seq, to_seq) of `given`'s `from` and `to` (seqs or times; default: the
    whole log kept), checked: within the log, from not after to."""
    head = node.seq
    low_text, high_text = str(given.get("from") or ""), str(given.get("to") or "")
    low = await _point(node, "from", low_text, start=True) if low_text else node.ingest.first_seq
    high = await _point(node, "to", high_text, start=False) if high_text else head
    if high > head:
        raise BadParam("to", f"to={high} is beyond the log, which ends at seq {head}", head=head)
    if low < 1:
        raise BadParam("from", "from must be a seq of 1 or more")
    if low > high + 1 or (low > high and low_text):
        raise BadParam("from", f"from (seq {low}) is after to (seq {high})", head=head)
    return low, high


async def _start(node: Node, low: int) -> State:
    """The state before `low`; BadParam `from` when the log no longer keeps it."""
    try:
        return await node.state_at(low - 1)
    except OutOfRange as exc:
        raise BadParam("from", str(exc), head=node.seq) from None


@answers_bad_params
async def export_route(request: web.Request) -> web.StreamResponse:
    """Streams an incident bundle (JSON lines, hub/bundles.py): `from` and `to` are seqs or
    ISO 8601 times (default: the whole log kept), `task` and `session` keep only the
    events that reach that task's or session's room."""
    node = request.app[NODE]
    low, high = await _range(node, request.query)
    start = await _start(node, low)
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


MAX_REPLAY_EVENTS = 200_000
"""Events `POST /api/replay` runs through at most (more: `harness replay`, which runs on the
operator's machine)."""


@answers_bad_params
async def replay_route(request: web.Request) -> web.StreamResponse:
    """What-if over the log, with no side effect (parent_harness/whatif.py): the body is
    `{"from", "to", "candidate"}`, the candidate as `harness replay --config` reads it
    (`health`, `agents.NAME.health`, `budget`, `notify.rules`, `notify.default_rules`), as
    JSON. Answers the report (`Report.as_json`)."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        return problem(400, "bad_json", f"body is not JSON: {exc}")
    if not isinstance(body, dict) or not isinstance(body.get("candidate", {}), dict):
        return problem(400, "invalid_params", "the body is {from, to, candidate: {...}}")
    try:
        candidate = candidate_of(body.get("candidate") or {})
    except CandidateError as exc:
        return problem(400, "invalid_params", f"candidate: {exc}", field="candidate")
    node = request.app[NODE]
    low, high = await _range(node, body)
    if high - low + 1 > MAX_REPLAY_EVENTS:
        message = f"at most {MAX_REPLAY_EVENTS} events at once here; harness replay takes more"
        raise BadParam("to", message, limit=MAX_REPLAY_EVENTS)
    start = await _start(node, low)
    chunks = [c async for c in node.export_bundle(start, low, high, task=None, session=None)]
    bundle = check_bundle(bundle_lines(b"".join(chunks)))
    report = await asyncio.to_thread(replay, bundle, candidate)
    return _json(report.as_json())


import_route.large_body = True  # type: ignore[attr-defined]  # see app.guarded


def add_routes(app: web.Application, guard: Guard) -> None:
    app.router.add_get("/api/export", guard(whole_fleet(export_route)))
    app.router.add_post("/api/import", guard(whole_fleet(import_route)))
    app.router.add_post("/api/replay", guard(whole_fleet(replay_route)))
