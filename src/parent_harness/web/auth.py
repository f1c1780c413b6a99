"""Tokens and their roles: `publish` (read and publish), `read` (dashboard, subscribe) and
`worker` (a worker on another machine: register, claim, renew and release leases, publish the
events of the tasks it holds, read its commands; nothing else, see web/workers.py).

A token may be limited to some rooms with `TOKEN=room,room`; a client asking for a room
outside that list is refused with 4403 (REST: 403).

A client presents its token, best first: `Authorization: Bearer T`; on a browser's
WebSocket, which cannot set headers, the subprotocol `harness.token.<base64url T>` next to
`harness.v1`; or `?token=T`, still accepted but the weakest, since proxies and browser
history keep URLs.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import hdrs, web

from parent_harness.events.rooms import ALL

READ = "read"
PUBLISH = "publish"
WORKER = "worker"


@dataclass(frozen=True, slots=True)
class Grant:
    role: str
    rooms: frozenset[str] | None = None

    def allows_rooms(self, rooms: Iterable[str]) -> bool:
        return self.rooms is None or all(r in self.rooms and r != ALL for r in rooms)


OPEN = Grant(PUBLISH)


class Tokens:
    """The configured tokens; with none, every request is allowed (loopback only)."""

    def __init__(
        self, publish: Iterable[str] = (), read: Iterable[str] = (), worker: Iterable[str] = ()
    ) -> None:
        self._grants: list[tuple[bytes, Grant]] = []
        for spec in publish:
            self._add(spec, PUBLISH)
        for spec in read:
            self._add(spec, READ)
        for spec in worker:
            if "=" in spec:
                raise ValueError("a worker token takes no rooms: its leases are its scope")
            self._add(spec, WORKER)

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


SUBPROTOCOL = "harness.v1"  # what /ws answers a client that offers it (web/ws.py)
TOKEN_PROTOCOL = "harness.token."


def presented_token(request: web.Request) -> str | None:
    """The token of a request: the Bearer header, else the token subprotocol, else `?token=`."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    offered = request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, ())
    return protocol_token(offered) or request.query.get("token")


def token_protocol(token: str) -> str:
    """The subprotocol item that carries `token`: base64url without padding, since `=` is
    not allowed in a subprotocol name (RFC 6455, 4.1)."""
    encoded = base64.urlsafe_b64encode(token.encode()).rstrip(b"=")
    return TOKEN_PROTOCOL + encoded.decode("ascii")


def protocol_token(headers: Iterable[str]) -> str | None:
    """The token in `Sec-WebSocket-Protocol` header values; None without a well-formed one."""
    for value in headers:
        for item in value.split(","):
            item = item.strip()
            if item.startswith(TOKEN_PROTOCOL):
                return _base64url_text(item[len(TOKEN_PROTOCOL) :])
    return None


def _base64url_text(encoded: str) -> str | None:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        text = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text or None
