"""Which sites may talk to the hub: the `Host` a request names and the `Origin` it comes from.

A hub on a developer's machine listens on loopback, and every web page that developer
opens can send requests to it. Two checks keep those pages out (docs/security.md):

- **Host** (DNS rebinding): a page on `evil.example` whose name is made to resolve to
  127.0.0.1 reaches the hub as same-origin, but its requests still say
  `Host: evil.example`. A request is answered only when its Host is an IP address,
  `localhost`, this machine's own name, the host of `--public-url`, or one given with
  `--allowed-host` (`*` allows any: behind a proxy that checks names itself).
- **Origin** (cross-site requests and WebSocket hijacking): browsers name the page a
  request comes from in `Origin` on every cross-origin request and on every WebSocket
  handshake. A state-changing request or a WebSocket whose Origin is not the hub's own
  (the scheme and host:port the request was sent to), the origin of `--public-url`, or
  one given with `--allowed-origin` is refused. Requests with no Origin come from tools,
  not pages, and are answered (the token, when set, still applies).

Plain functions of header values, so they are tested without a server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit

ANY = "*"
VERDICTS_KEPT = 256
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """`name[:port]` or `[v6]:port` as (lower-case name without brackets, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        name, _, port = value.partition(":")
    else:
        name, port = value, ""
    return name.rstrip("."), int(port) if port.isdigit() else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def machine_names() -> frozenset[str]:
    """This machine's own names (`hostname`, its fully qualified name) in lower case."""
    names = {socket.gethostname(), socket.getfqdn()}
    return frozenset(n.lower().rstrip(".") for n in names if n)


def normalized_origin(value: str) -> str | None:
    """`scheme://host:port` with the default port written out, or None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port or _DEFAULT_PORTS[scheme]}"


class SitePolicy:
    """The hosts and origins one hub answers; build it once from the settings."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        public_url: str | None = None,
    ) -> None:
        hosts = {h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()}
        origins: set[str] = set()
        for origin in allowed_origins:
            normal = normalized_origin(origin)
            if normal is None:
                raise ValueError(f"--allowed-origin {origin!r} is not scheme://host[:port]")
            origins.add(normal)
        if public_url:
            public = normalized_origin(public_url)
            if public is None:
                raise ValueError(f"--public-url {public_url!r} is not an http(s) URL")
            origins.add(public)
            hosts.add(split_host(urlsplit(public).netloc)[0].strip("[]"))
        self.any_host = ANY in hosts
        self.hosts = frozenset(hosts - {ANY})
        self.origins = frozenset(origins)
        # Verdicts by header value: a hub sees a handful of Hosts and Origins, and parsing
        # one costs 5-13 µs a request. Bounded, so varied headers cannot grow it.
        self._verdicts: dict[tuple[str | None, str | None], str | None] = {}

    def refusal(self, headers: Mapping[str, str], *, state_changing: bool) -> str | None:
        """Why a request with these headers is refused: its `Host` (always), its `Origin`
        (when it changes state, and on every WebSocket); None when it is answered."""
        key = (headers.get("Host"), headers.get("Origin") if state_changing else None)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        refusal = self.host_refusal(key[0])
        if refusal is None and state_changing:
            refusal = self.origin_refusal(key[1], key[0])
        if len(self._verdicts) < VERDICTS_KEPT:
            self._verdicts[key] = refusal
        return refusal

    def host_refusal(self, host: str | None) -> str | None:
        """Why a request naming `Host: host` is refused, or None when it is answered."""
        if self.any_host or not host:
            return None  # no Host at all: HTTP/1.0 from a tool; browsers always send one
        name, _ = split_host(host)
        if (
            _is_ip(name)
            or name == "localhost"
            or name.endswith(".localhost")
            or name in self.hosts
            or name in machine_names()
        ):
            return None
        return (
            f"host {name!r} is not this hub's name or address; a hub behind a proxy or "
            "reached by another name is started with --allowed-host NAME"
        )

    def origin_refusal(self, origin: str | None, host: str | None) -> str | None:
        """Why a request from the page at `origin`, sent to `host`, is refused, or None."""
        if origin is None:
            return None
        normal = normalized_origin(origin)
        if normal is not None and (normal in self.origins or normal in _own(host)):
            return None
        return (
            f"cross-site request from origin {origin[:100]!r} refused; a dashboard served "
            "from another origin is allowed with --allowed-origin ORIGIN"
        )


def _own(host: str | None) -> tuple[str | None, ...]:
    """The origins a page served under this request's Host has: http or https (a proxy in
    front may end TLS, so the scheme the hub sees is not the page's)."""
    if not host:
        return ()
    return (normalized_origin(f"http://{host}"), normalized_origin(f"https://{host}"))
