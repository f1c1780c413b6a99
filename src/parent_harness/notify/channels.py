"""Building the configured channels. Telegram needs aiogram (the `notify` extra), imported
only when `[notify.telegram]` is configured, so the hub runs without it otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from parent_harness.events.clock import Clock
from parent_harness.notify.config import NotifySettings
from parent_harness.notify.control import Publisher
from parent_harness.notify.delivery import Channel, ChannelKind
from parent_harness.notify.errors import NotifyConfigError
from parent_harness.notify.webhook import WebhookChannel

if TYPE_CHECKING:
    from parent_harness.notify.telegram import TelegramChannel


@dataclass(slots=True)
class Channels:
    """The channels in use; either may be absent."""

    telegram: TelegramChannel | None = None
    webhooks: WebhookChannel | None = None

    def by_kind(self) -> dict[ChannelKind, Channel]:
        """The channels, keyed as deliveries name them."""
        found: dict[ChannelKind, Channel] = {}
        if self.telegram is not None:
            found["telegram"] = self.telegram
        if self.webhooks is not None:
            found["webhook"] = self.webhooks
        return found

    async def close(self) -> None:
        """Closes their HTTP sessions."""
        if self.telegram is not None:
            await self.telegram.close()
        if self.webhooks is not None:
            await self.webhooks.close()


def build_channels(settings: NotifySettings, sink: Publisher, clock: Clock) -> Channels:
    """The channels `settings` configure; raises NotifyConfigError if aiogram is missing."""
    channels = Channels()
    if settings.telegram is not None:
        try:
            from parent_harness.notify.telegram import TelegramChannel
        except ImportError as exc:
            message = f"needs aiogram ({exc}): pip install 'parent-harness[notify]'"
            raise NotifyConfigError("notify.telegram", message) from None
        channels.telegram = TelegramChannel(settings.telegram, sink, clock)
    if settings.webhooks:
        channels.webhooks = WebhookChannel(settings.webhooks)
    return channels
