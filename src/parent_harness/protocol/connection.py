"""The per-connection protocol of /ws v1, sans I/O.

`parse_connect` reads the query string of `GET /ws`; `ClientSession.receive` reads one
client frame and says what to do (an `Action`). Neither touches a socket, so both are
tested with plain values; `web/ws.py` only moves bytes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from parent_harness.events.rooms import ALL, is_valid_room

CLOSE_BAD_PARAMS = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_MANY = 4429
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009

MAX_ROOMS = 1000
MAX_TYPES = 50


class BadRequest(Exception):
    """A client frame or a connect parameter that cannot be obeyed; names what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ConnectParams:
    """What a client asked for in `GET /ws?...`."""

    rooms: tuple[str, ...] = (ALL,)
    since: int | None = None
    epoch: str | None = None
    snapshot: bool = False
    types: tuple[str, ...] | None = None
    token: str | None = None
    client: str | None = None


def parse_rooms(value: Any) -> tuple[str, ...]:
    """A list of room names (a list, or a comma list in a string); malformed names refused."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRequest("bad_rooms", "rooms must be a list of room names")
    rooms = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not rooms:
        raise BadRequest("bad_rooms", "rooms must name at least one room")
    if len(rooms) > MAX_ROOMS:
        raise BadRequest("bad_rooms", f"at most {MAX_ROOMS} rooms at once")
    bad = [r for r in rooms if not is_valid_room(r)]
    if bad:
        raise BadRequest(
            "bad_rooms",
            f"malformed room {bad[0]!r}: use *, a class room (agents, tasks, sessions, "
            "budget, tests, telegram, events) or agent:<id>, task:<id>, session:<id>",
        )
    return rooms


def _parse_seq(name: str, value: str) -> int:
    try:
        seq = int(value)
    except ValueError:
        raise BadRequest("bad_params", f"{name} must be an integer seq, got {value!r}") from None
    if seq < 0:
        raise BadRequest("bad_params", f"{name} must be >= 0, got {seq}")
    return seq


def _parse_types(value: str) -> tuple[str, ...]:
    globs = tuple(g.strip() for g in value.split(",") if g.strip())
    if not globs or len(globs) > MAX_TYPES or any(len(g) > 100 for g in globs):
        raise BadRequest("bad_params", f"types must be 1 to {MAX_TYPES} globs like task:*")
    return globs


def parse_connect(query: Mapping[str, str]) -> ConnectParams:
    """Reads the connect parameters; raises BadRequest naming the bad one."""
    known = {"monitor", "since", "epoch", "snapshot", "types", "token", "client"}
    unknown = sorted(set(query) - known)
    if unknown:
        raise BadRequest("bad_params", f"unknown parameter {unknown[0]!r}")
    snapshot = query.get("snapshot", "0")
    if snapshot not in ("0", "1", "true", "false"):
        raise BadRequest("bad_params", f"snapshot must be 0 or 1, got {snapshot!r}")
    client = query.get("client")
    if client is not None and len(client) > 100:
        raise BadRequest("bad_params", "client name is longer than 100 characters")
    return ConnectParams(
        rooms=parse_rooms(query["monitor"]) if "monitor" in query else (ALL,),
        since=_parse_seq("since", query["since"]) if "since" in query else None,
        epoch=query.get("epoch") or None,
        snapshot=snapshot in ("1", "true"),
        types=_parse_types(query["types"]) if "types" in query else None,
        token=query.get("token"),
        client=client,
    )


@dataclass(frozen=True, slots=True)
class Ping:
    id: Any
    ts: Any


@dataclass(frozen=True, slots=True)
class Subscribe:
    rooms: tuple[str, ...]
    since: int | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    rooms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListRooms:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer with an `error` frame; the connection stays up."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class AnswerPing:
    """Answer a WebSocket ping frame with a pong frame carrying the same data."""

    data: bytes


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """A frame that needs no answer (a pong)."""


@dataclass(frozen=True, slots=True)
class Overrate:
    """Close with 4429: the client sends more than its message rate allows."""

    message: str


Action = Ping | Subscribe | Unsubscribe | ListRooms | Reject | AnswerPing | NoAnswer | Overrate


@dataclass(slots=True)
class RateLimit:
    """A token bucket: `rate` messages a second on average, bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ClientSession:
    """Reads client frames of one connection and decides the answer."""

    def __init__(self, rate: float = 50.0, burst: float = 100.0) -> None:
        self.limit = RateLimit(rate, burst)

    def receive(self, text: str, now: float | None = None) -> Action:
        """The answer to one text frame."""
        if not self.limit.allow(now):
            return self._overrate()
        try:
            return _action(_frame(text))
        except BadRequest as exc:
            return Reject(exc.code, exc.message)

    def receive_binary(self, now: float | None = None) -> Reject | Overrate:
        """The answer to one binary frame: refused, and counted against the same rate as text
        (a flood of them is closed 4429 like any other)."""
        if not self.limit.allow(now):
            return self._overrate()
        return Reject("bad_frame", "binary frames are not part of protocol v1; send text")

    def receive_ping_frame(self, data: bytes, now: float | None = None) -> AnswerPing | Overrate:
        """The answer to a WebSocket ping frame, counted against the same rate."""
        return AnswerPing(data) if self.limit.allow(now) else self._overrate()

    def receive_pong_frame(self, now: float | None = None) -> NoAnswer | Overrate:
        """A WebSocket pong frame (the answer to the hub's heartbeat), counted likewise."""
        return NoAnswer() if self.limit.allow(now) else self._overrate()

    def _overrate(self) -> Overrate:
        return Overrate(f"more than {self.limit.rate:g} messages/s")


def check_room_limit(joined: int, joining: int, limit: int) -> None:
    """Raises BadRequest `too_many_rooms` when a connection in `joined` rooms would be in more
    than `limit` by joining `joining` new ones."""
    if joined + joining > limit:
        raise BadRequest(
            "too_many_rooms",
            f"at most {limit} rooms per connection; this one would be in {joined + joining}",
        )


def _frame(text: str) -> dict[str, Any]:
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("bad_json", f"frame is not JSON: {exc}") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise BadRequest("bad_frame", 'a frame is a JSON object with a string "type"')
    payload = frame.get("payload", {})
    if not isinstance(payload, dict):
        raise BadRequest("bad_frame", "payload must be a JSON object")
    return {**payload, "type": frame["type"]}  # the frame's type, not a `type` in its payload


def _action(frame: dict[str, Any]) -> Action:
    kind = frame["type"]
    if kind == "ping":
        return Ping(frame.get("id"), frame.get("ts"))
    if kind == "subscribe":
        since = frame.get("since")
        if since is not None and (not isinstance(since, int) or since < 0):
            raise BadRequest("bad_frame", "since must be a non-negative integer")
        return Subscribe(parse_rooms(frame.get("rooms")), since)
    if kind == "unsubscribe":
        return Unsubscribe(parse_rooms(frame.get("rooms")))
    if kind == "rooms":
        return ListRooms()
    raise BadRequest(
        "unknown_type", f"unknown frame type {kind!r}: use ping, subscribe, unsubscribe, rooms"
    )
