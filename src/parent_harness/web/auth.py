"""Tokens and their roles: `publish` (read and publish) and `read` (dashboard, subscribe).

A token may be limited to some rooms with `TOKEN=room,room`; a client asking for a room
outside that list is refused with 4403 (REST: 403).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from parent_harness.events.rooms import ALL

READ = "read"
PUBLISH = "publish"


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    rooms: frozenset[str] | None = None

    def allows_rooms(self, rooms: Iterable[str]) -> bool:
        return self.rooms is None or all(r in self.rooms and r != ALL for r in rooms)


OPEN = Grant(PUBLISH)


class Tokens:
    """The configured tokens; with none, every request is allowed (loopback only)."""

    def __init__(self, publish: Iterable[str] = (), read: Iterable[str] = ()) -> None:
        self._grants: list[tuple[bytes, Grant]] = []
        for spec in publish:
            self._add(spec, PUBLISH)
        for spec in read:
            self._add(spec, READ)

    def _add(self, spec: str, role: str) -> None:
        token, _, rooms = spec.partition("=")
        if not token:
            raise ValueError("a token must not be empty")
        scope = frozenset(r for r in rooms.split(",") if r) if rooms else None
        self._grants.append((token.encode(), Grant(role, scope)))

    @property
    def enabled(self) -> bool:
        return bool(self._grants)

    def grant(self, token: str | None) -> Grant | None:
        """The grant of a presented token; None when it is missing or wrong."""
        if not self._grants:
            return OPEN
        if not token:
            return None
        given = token.encode()
        for known, grant in self._grants:
            if hmac.compare_digest(known, given):
                return grant
        return None


def presented_token(request: web.Request) -> str | None:
    """The token of a request: `Authorization: Bearer T`, or `?token=T`."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token")
