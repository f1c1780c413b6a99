"""The hub's settings: flags of `harness serve`, each also read from `HARNESS_<FLAG>`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from parent_harness.web.origins import SitePolicy


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the hub needs to start; defaults are the embedded, loopback-only hub."""

    host: str = "127.0.0.1"
    port: int = 3333
    store: str = "sqlite:///./harness.db"
    broker: str = "memory://"
    tokens: tuple[str, ...] = ()
    read_tokens: tuple[str, ...] = ()
    worker_tokens: tuple[str, ...] = ()
    """Tokens of workers on other machines (their own role: docs/workers.md)."""
    lease_s: float = 30.0
    """How long a worker's lease on a task lasts without a renewal (and a worker without a
    heartbeat is shown online)."""
    max_poll_s: float = 30.0
    """The longest a worker's long poll (claim, commands) waits, whatever it asks."""
    max_frame_bytes: int = 64 * 1024
    max_client_buffer: int = 4 * 1024 * 1024
    max_messages_per_s: float = 50.0
    replay_window: int = 10_000
    heartbeat_s: float = 15.0
    """The hub pings each WebSocket this often and closes one that does not answer."""
    max_rooms_per_client: int = 1000
    """Rooms one connection may be in (`too_many_rooms` past it; 4400 at connect)."""
    http_timeout_s: float = 15.0
    """Seconds a connection has to send a whole request head (from its opening or from the
    last response), and then its body; also how long an idle keep-alive connection stays."""
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    """Host names answered besides IP addresses, localhost and this machine's names."""
    allowed_origins: tuple[str, ...] = ()
    """Origins of pages allowed to publish and subscribe besides the hub's own."""
    max_batch_events: int = 1000
    """Events in one POST /api/events (413 past it)."""
    max_parents: int = 100
    """Parents one task may depend on (`bad_dependencies` past it)."""
    checkpoint_every: int = 10_000
    """Events between checkpoints of folded state (what `GET /api/state?at=` folds again)."""
    keep_days: float = 0.0
    """Events (and checkpoints) older than this are pruned, at a checkpoint (0: kept)."""
    keep_events: int = 0
    """At most about this many events are kept, cut at a checkpoint (0: all)."""
    max_body_bytes: int = 4 * 1024 * 1024
    """Bytes in one request body (413 past it)."""
    max_import_bytes: int = 256 * 1024 * 1024
    """The largest bundle `POST /api/import` takes (every other body: `max_body_bytes`)."""
    output_keep_bytes: int = 5 * 1024 * 1024
    """Agent output kept per session (its oldest lines dropped past it)."""
    output_keep_days: float = 7.0
    """Agent output kept this long."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def needs_token(self) -> bool:
        return bool(self.tokens or self.read_tokens or self.worker_tokens)

    def check(self) -> None:
        """Refuses settings that would expose the hub: another address with no token."""
        if not is_loopback(self.host) and not self.needs_token:
            raise ValueError(
                f"refusing to listen on {self.host} without a token: pass --token (or "
                "--read-token), or listen on 127.0.0.1"
            )
        SitePolicy(self.allowed_hosts, self.allowed_origins, self.public_url)  # may refuse


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
