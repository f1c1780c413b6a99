"""Test messages: one through each channel and target, reporting what happened to each."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from parent_harness.events.clock import Clock, SystemClock
from parent_harness.events.sink import PublishResult
from parent_harness.notify.config import NotifySettings
from parent_harness.notify.control import Publisher
from parent_harness.notify.errors import DeliveryError
from parent_harness.notify.webhook import WebhookChannel

if TYPE_CHECKING:
    from parent_harness.notify.telegram import TelegramChannel


@dataclass(frozen=True, slots=True)
class ChannelCheck:
    """The outcome of one test message."""

    channel: str
    target: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def default_test_message(dashboard: str) -> str:
    """The default text of a test message."""
    return f"✅ Test message from parent-harness: this channel works.\n{dashboard}"


async def send_test_messages(
    telegram: TelegramChannel | None, webhooks: WebhookChannel | None, text: str
) -> list[ChannelCheck]:
    """Sends `text` once to every chat and webhook, without retries."""
    checks: list[ChannelCheck] = []
    if telegram is not None:
        for chat_id in telegram.chat_ids:
            checks.append(await _telegram(telegram, chat_id, text))
    if webhooks is not None:
        for url in webhooks.targets:
            checks.append(await _webhook(webhooks, url, text))
    return checks


async def _telegram(channel: TelegramChannel, chat_id: str, text: str) -> ChannelCheck:
    try:
        message_id = await channel.send(chat_id, text)
    except DeliveryError as exc:
        return ChannelCheck("telegram", chat_id, False, str(exc))
    return ChannelCheck("telegram", chat_id, True, f"sent as message {message_id}")


async def _webhook(channel: WebhookChannel, url: str, text: str) -> ChannelCheck:
    label = channel.label(url) or channel.redact(url)
    try:
        await channel.post(channel.hook(url), {"text": text, "kind": "test"})
    except DeliveryError as exc:
        return ChannelCheck("webhook", label, False, str(exc))
    return ChannelCheck("webhook", label, True, "delivered")


class DiscardingSink:
    """A Publisher for use without a hub: events are not recorded anywhere."""

    async def publish(self, type: str, payload: Any, *, id: str | None = None) -> PublishResult:
        """Accepts and forgets the event."""
        return PublishResult(id or "", 0)


async def check_settings(
    settings: NotifySettings,
    text: str,
    sink: Publisher | None = None,
    clock: Clock | None = None,
) -> list[ChannelCheck]:
    """Builds the configured channels, sends one test message through each, closes them."""
    from parent_harness.notify.channels import build_channels

    channels = build_channels(settings, sink or DiscardingSink(), clock or SystemClock())
    try:
        return await send_test_messages(channels.telegram, channels.webhooks, text)
    finally:
        await channels.close()
