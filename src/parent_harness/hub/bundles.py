"""Incident bundles: a stretch of the log in one file, to hand to someone else.

A bundle is JSON lines (UTF-8; gzip'd when the file name ends in `.gz`), in this order:

1. the header: `{"bundle": "parent-harness.bundle", "version": 1, "hub_version",
   "exported_at", "source": {"epoch"}, "range": {"from_seq", "to_seq", "from", "to"},
   "filters": {"task", "session"}}`;
2. the state at the start: `{"state": ...}`, the fold's own tables right after event
   `from_seq - 1` (`State.dump()`, as a checkpoint keeps them);
3. one line per event in the range, in seq order: `{"event": {"seq", "id", "type",
   "timestamp", "payload"}}`, the payload as the log holds it;
4. the trailer: `{"summary": "<Markdown>", "events": N}`. N is the number of event
   lines: a bundle cut short has no trailer, or a count that does not match.

With `task` or `session`, only the events that reach the room `task:<id>` or
`session:<id>` are in it (an event's rooms are those of the entities it names, see
events/rooms.py: a session's events reach its task's room only when they name the task).
The state at the start is the whole fleet's either way.

Everything here is pure: the web layer streams what `header`, `event_line` and
`Summary` give, and `read_bundle` checks a whole file before anything is written.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from parent_harness.brokers.base import Sequenced
from parent_harness.events.clock import parse_iso
from parent_harness.events.kinds import KINDS
from parent_harness.hub.ingest import fold_record
from parent_harness.hub.state import State
from parent_harness.store.records import Record

FORMAT = "parent-harness.bundle"
VERSION = 1

_NUMBERS = re.compile(r"\d+")


def error_signature(details: Mapping[str, Any]) -> str:
    """A failure's signature: its kind and the first line of its message, numbers masked
    (what `GET /api/errors/summary` groups by)."""
    message = (details.get("message") or "").strip().splitlines()
    first = message[0] if message else ""
    return f"{details.get('kind') or 'error'}: {_NUMBERS.sub('N', first)[:200]}"


def filter_rooms(task: str | None, session: str | None) -> list[str] | None:
    """The rooms an event must reach to be in a filtered bundle (None: every event)."""
    rooms = [f"task:{task}"] if task else []
    rooms += [f"session:{session}"] if session else []
    return rooms or None


def header(
    *,
    hub_version: str,
    exported_at: str,
    epoch: str,
    from_seq: int,
    to_seq: int,
    from_time: str | None,
    to_time: str | None,
    task: str | None,
    session: str | None,
) -> dict[str, Any]:
    """The bundle's first line."""
    return {
        "bundle": FORMAT,
        "version": VERSION,
        "hub_version": hub_version,
        "exported_at": exported_at,
        "source": {"epoch": epoch},
        "range": {"from_seq": from_seq, "to_seq": to_seq, "from": from_time, "to": to_time},
        "filters": {"task": task, "session": session},
    }


def line(value: Mapping[str, Any]) -> bytes:
    """One line of a bundle."""
    return orjson.dumps(value) + b"\n"


def event_line(seq: int, id_: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """An event's line, from the message the log holds (`type`, `payload`, `timestamp`)."""
    return {
        "event": {
            "seq": seq,
            "id": id_,
            "type": message["type"],
            "timestamp": message["timestamp"],
            "payload": message["payload"],
        }
    }


@dataclass
class Summary:
    """What a bundle's events add up to, in Markdown: failures by signature, errors,
    approvals, spend, notifications. Feed it the start state, then each event."""

    start: State
    failures: dict[str, list[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    approvals: Counter[str] = field(default_factory=Counter)
    spent: dict[str, float] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    undelivered: int = 0
    events: int = 0
    first: str | None = None
    last: str | None = None

    def add(self, type_: str, payload: Mapping[str, Any], ts: str) -> None:
        self.events += 1
        self.first = self.first or ts
        self.last = ts
        if type_ == "task:failed":
            task = payload.get("task") or {}
            sig = error_signature(task.get("error_details") or {})
            self.failures.setdefault(sig, []).append(str(task.get("id")))
        elif type_.startswith("approval:"):
            self.approvals[type_.partition(":")[2]] += 1
        elif type_ == "budget:updated":
            budget = payload.get("budget") or {}
            if budget.get("spent_usd") is not None:
                self.spent[str(budget.get("period"))] = float(budget["spent_usd"])
        elif type_ == "telegram:message":
            if (payload.get("message") or {}).get("direction") == "out":
                self.sent["telegram"] += 1
        elif type_ == "event":
            self._generic(payload.get("event") or {})

    def _generic(self, event: Mapping[str, Any]) -> None:
        if str(event.get("source") or "").startswith("notify.") and event.get("level") == "error":
            self.undelivered += 1
        elif event.get("level") == "error":
            self.errors[error_signature({"message": event.get("message")})] += 1

    def spend(self) -> float:
        """Dollars spent in the range: each budget period's last figure less its first."""
        before = self.start.budgets
        return sum(
            spent - float((before.get(period) or {}).get("spent_usd") or 0.0)
            for period, spent in self.spent.items()
        )

    def markdown(self, head: Mapping[str, Any]) -> str:
        r = head["range"]
        out = [
            f"# Incident bundle: seq {r['from_seq']} to {r['to_seq']}",
            "",
            f"{self.events} events, {self.first or '-'} to {self.last or '-'}.",
        ]
        filters = {k: v for k, v in head["filters"].items() if v}
        if filters:
            out.append("Only the events of " + ", ".join(f"{k} {v}" for k, v in filters.items()))
        out += ["", "## What failed", ""]
        failed = sorted(self.failures.items(), key=lambda kv: -len(kv[1]))
        out += [f"- {len(ids)} x `{sig}` (tasks: {', '.join(ids[:10])})" for sig, ids in failed]
        out += [] if failed else ["- no task failed"]
        out += ["", "## Errors by signature", ""]
        out += [f"- {n} x `{sig}`" for sig, n in self.errors.most_common(20)]
        out += [] if self.errors else ["- none"]
        out += ["", "## Approvals", ""]
        out += [f"- {what}: {n}" for what, n in sorted(self.approvals.items())] or ["- none"]
        out += ["", "## Spend", "", f"- ${self.spend():.2f}"]
        out += ["", "## Alerts sent", ""]
        out += [f"- {channel}: {n} message(s)" for channel, n in sorted(self.sent.items())]
        out += [f"- not delivered: {self.undelivered}"] if self.undelivered else []
        out += [] if self.sent or self.undelivered else ["- none logged"]
        return "\n".join(out) + "\n"


class BadBundle(ValueError):
    """A bundle that cannot be imported: `line` (1-based) names where, `reason` why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


@dataclass(frozen=True)
class BundleEvent:
    seq: int
    id: str
    type: str
    timestamp: str
    ts_ms: int
    payload: dict[str, Any]
    line: int


@dataclass(frozen=True)
class Bundle:
    """A bundle read back and checked whole."""

    header: dict[str, Any]
    start: State
    events: list[BundleEvent]
    summary: str

    @property
    def start_seq(self) -> int:
        """The seq the state at the start is at (the event before the first in range)."""
        return int(self.header["range"]["from_seq"]) - 1


def decompressed(data: bytes) -> bytes:
    """A bundle's bytes, gunzipped when they are gzip (its magic number)."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def bundle_lines(data: bytes) -> list[Any]:
    """A bundle file's lines (plain or gzip'd), each decoded; BadBundle names a line that
    is not JSON."""
    try:
        lines = decompressed(data).split(b"\n")
    except (OSError, EOFError) as exc:
        raise BadBundle(1, f"not a gzip'd bundle ({exc})") from None
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for number, raw in enumerate(lines, 1):
        try:
            out.append(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise BadBundle(number, f"not JSON ({exc})") from None
    return out


def read_bundle(lines: list[Any]) -> Bundle:
    """Checks a whole bundle, its lines decoded (`bundle_lines`); BadBundle names the first
    wrong line (1-based)."""
    objects = _objects(lines)
    head = _header(next(objects, None))
    start = _start(next(objects, None), head)
    events: list[BundleEvent] = []
    low, high = head["range"]["from_seq"], head["range"]["to_seq"]
    ids: dict[str, int] = {}
    for number, obj in objects:
        if "summary" in obj:
            return _trailer(number, obj, head, start, events, len(lines))
        ev = _event(number, obj, events[-1].seq if events else low - 1, high)
        if ev.id in ids:  # the log keeps one event per id
            raise BadBundle(number, f"id {ev.id!r} is already the id of line {ids[ev.id]}")
        ids[ev.id] = number
        events.append(ev)
    raise BadBundle(len(lines) + 1, "the bundle ends without its summary line: it is cut short")


def _objects(lines: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, obj in enumerate(lines, 1):
        if not isinstance(obj, dict):
            raise BadBundle(number, "not a JSON object")
        yield number, obj


def _header(found: tuple[int, dict[str, Any]] | None) -> dict[str, Any]:
    if found is None:
        raise BadBundle(1, "the file is empty")
    _, head = found
    if head.get("bundle") != FORMAT:
        raise BadBundle(1, f'not a parent-harness bundle (no "bundle": "{FORMAT}")')
    if head.get("version") != VERSION:
        raise BadBundle(1, f"bundle version {head.get('version')!r}; this hub reads {VERSION}")
    r = head.get("range")
    ok = isinstance(r, dict) and all(
        isinstance(r.get(k), int) and not isinstance(r.get(k), bool) for k in ("from_seq", "to_seq")
    )
    if not ok or not 1 <= r["from_seq"] <= r["to_seq"] + 1:  # type: ignore[index]
        raise BadBundle(1, "the header's range needs integers from_seq >= 1 and to_seq")
    if not isinstance(head.get("filters"), dict):
        raise BadBundle(1, "the header has no filters object")
    return head


def _start(found: tuple[int, dict[str, Any]] | None, head: dict[str, Any]) -> State:
    if found is None:
        raise BadBundle(2, "the bundle ends before the state at its start")
    number, obj = found
    dumped = obj.get("state")
    wrong = BadBundle(number, 'not the state at the start ({"state": {seq, tables}})')
    if not isinstance(dumped, dict) or not isinstance(dumped.get("tables"), dict):
        raise wrong
    try:
        state = State.restore(dumped)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise wrong from None
    if state.seq != head["range"]["from_seq"] - 1:
        raise BadBundle(number, f"the state is at seq {state.seq}, not before the range's start")
    return state


def _event(number: int, obj: dict[str, Any], after: int, upto: int) -> BundleEvent:
    ev = obj.get("event")
    if not isinstance(ev, dict):
        raise BadBundle(number, 'neither an event ({"event": ...}) nor the summary')
    seq, id_, type_, ts = ev.get("seq"), ev.get("id"), ev.get("type"), ev.get("timestamp")
    if not isinstance(seq, int) or isinstance(seq, bool) or not after < seq <= upto:
        raise BadBundle(number, f"seq {seq!r} is not after {after} and within the range")
    if not isinstance(id_, str) or not id_ or not isinstance(type_, str):
        raise BadBundle(number, "an event needs a string id and type")
    if type_ not in KINDS:
        raise BadBundle(number, f"unknown event type {type_!r}")
    payload = ev.get("payload")
    if not isinstance(payload, dict):
        raise BadBundle(number, "an event's payload must be an object")
    try:
        ts_ms = int(parse_iso(str(ts)).timestamp() * 1000)
    except ValueError:
        raise BadBundle(number, f"timestamp {ts!r} is not an ISO 8601 time") from None
    return BundleEvent(seq, id_, type_, str(ts), ts_ms, payload, number)


def fold_bundle(bundle: Bundle) -> list[Record]:
    """A bundle's events folded from the state at its start, by the fold that built them on
    the hub they come from: the records a store writes. The payloads are as the log held
    them (entities merged, the fold's own fields added), so they are not checked against
    the catalogue as a publish is; an event the fold cannot take is a BadBundle."""
    state = State.restore(bundle.start.dump())
    out = []
    for e in bundle.events:
        try:
            out.append(
                fold_record(state, Sequenced(e.seq, e.id, e.type, e.payload, e.timestamp, e.ts_ms))
            )
        except Exception as exc:  # any shape the fold cannot read: the line is wrong
            raise BadBundle(
                e.line, f"not an event the fold can take ({type(exc).__name__}: {exc})"
            ) from None
    return out


def _trailer(
    number: int,
    obj: dict[str, Any],
    head: dict[str, Any],
    start: State,
    events: list[BundleEvent],
    total: int,
) -> Bundle:
    if obj.get("events") != len(events):
        raise BadBundle(
            number, f"the summary counts {obj.get('events')!r} events, not {len(events)}"
        )
    if number != total:
        raise BadBundle(number + 1, "lines after the summary")
    if not isinstance(obj["summary"], str):
        raise BadBundle(number, "the summary is not text")
    return Bundle(head, start, events, obj["summary"])


def summarize(start: State, head: Mapping[str, Any], events: Iterable[BundleEvent]) -> str:
    """The Markdown summary of events (as read back from a bundle)."""
    summary = Summary(start)
    for ev in events:
        summary.add(ev.type, ev.payload, ev.timestamp)
    return summary.markdown(head)
