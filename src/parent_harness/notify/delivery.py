"""A message on its way to one target, and what a channel must do to carry it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from uuid import uuid4

ChannelKind = Literal["telegram", "webhook"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries after the first attempt, with exponential backoff capped at `max_backoff_s`."""

    retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 300.0

    def delay(self, attempts: int) -> float:
        """The wait after `attempts` failed attempts: backoff times 1, 2, 4…, capped."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one target (a chat id, a webhook URL), persisted until it is done."""

    channel: ChannelKind
    target: str
    body: dict[str, Any]
    about_seq: int | None = None
    key: str = field(default_factory=lambda: uuid4().hex)
    attempts: int = 0
    next_at: float = 0.0
    created_at: float = 0.0
    last_error: str | None = None
    id: int | None = None

    @property
    def text(self) -> str:
        """The human-readable message."""
        return str(self.body.get("text", ""))


class Channel(Protocol):
    """Carries deliveries of one kind (Telegram, webhooks)."""

    kind: ChannelKind

    def policy(self, target: str) -> RetryPolicy:
        """How to retry deliveries to a target."""
        ...

    def label(self, target: str) -> str | None:
        """How errors name a target; None when the target is no longer configured."""
        ...

    def redact(self, text: str) -> str:
        """`text` with this channel's secrets (a bot token, webhook URLs) masked, so it may be
        logged or reported."""
        ...

    async def deliver(self, delivery: Delivery) -> None:
        """Makes one attempt; raises DeliveryError when it fails."""
        ...
