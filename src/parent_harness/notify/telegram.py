"""Telegram through the Bot API (aiogram): sending messages and recording them as events.

Every message that goes out, and every message that comes in from an allowed chat, becomes a
`telegram:message` event, so the dashboard's Telegram page shows the whole conversation.
The API base URL is configurable (a local Bot API server, or a fake one in tests).

Messages go out as plain text (no `parse_mode`): nothing in them is markup, so an event's text
needs no escaping here (Telegram only makes URLs clickable, and shows them as they are).
The bot token is in every Bot API URL, which the HTTP client's errors may print: every error
is redacted before it is logged or reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

from parent_harness.credentials import MASK, mask_urls, redact
from parent_harness.events.clock import Clock, to_iso
from parent_harness.events.sink import PublishResult
from parent_harness.notify.approvals import Buttons
from parent_harness.notify.config import TelegramSettings
from parent_harness.notify.control import Publisher
from parent_harness.notify.delivery import ChannelKind, Delivery, RetryPolicy
from parent_harness.notify.errors import DeliveryError
from parent_harness.notify.markup import plain

log = logging.getLogger(__name__)
MAX_TEXT = 4096
_SETTLED_KEPT = 1000
_FINAL = (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
"""Refusals a retry will not change: a wrong chat, a blocked bot, a bad token."""


def fit(text: str) -> str:
    """The text cut to what one Telegram message holds."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def as_delivery_error(exc: Exception, shown: Callable[[str], str] = mask_urls) -> DeliveryError:
    """Says whether a failed Bot API call is worth retrying (5xx, network, 429: yes); its
    message is `shown(str(exc))`, which must remove the bot token (see TelegramChannel.redact)."""
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError(
            shown(str(exc)), retryable=True, status=429, retry_after=exc.retry_after
        )
    if isinstance(exc, TelegramEntityTooLarge):
        return DeliveryError(shown(str(exc)), retryable=False, status=413)
    if isinstance(exc, _FINAL):
        return DeliveryError(shown(str(exc)), retryable=False)
    if isinstance(exc, TelegramAPIError):  # 5xx, network, or a code aiogram does not know
        return DeliveryError(shown(str(exc)), retryable=True)
    return DeliveryError(shown(f"{type(exc).__name__}: {exc}"), retryable=True)


def keyboard(buttons: Buttons) -> InlineKeyboardMarkup:
    """Rows of {text, data} as Telegram's inline keyboard."""
    rows = [
        [InlineKeyboardButton(text=b["text"], callback_data=b["data"]) for b in row]
        for row in buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _chat(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


class TelegramChannel:
    """Sends to the configured chats and records each message as a `telegram:message` event."""

    kind: ChannelKind = "telegram"

    def __init__(self, settings: TelegramSettings, sink: Publisher, clock: Clock) -> None:
        self.settings = settings
        self._sink = sink
        self._clock = clock
        api = TelegramAPIServer.from_base(settings.api_base_url)
        session = AiohttpSession(api=api, timeout=settings.timeout_s)
        self.bot = Bot(settings.bot_token(), session=session)
        self.chat_ids = list(settings.chat_ids)
        # The alerts of each pending approval, to take their buttons away once it is decided:
        # approval id -> [(chat id, message id, text)]. Kept in memory: after a restart a
        # stale button still answers, and is told who won.
        self.alerts: dict[str, list[tuple[str, int, str]]] = {}
        self._claimed: set[tuple[str, str, int]] = set()  # alerts edited by their own press
        self._settled: dict[str, str] = {}  # approval id -> how it ended (the newest few)

    def policy(self, target: str) -> RetryPolicy:
        """The bot's retry settings."""
        s = self.settings
        return RetryPolicy(s.retries, s.backoff_s, s.max_backoff_s)

    def label(self, target: str) -> str | None:
        """`Telegram chat <id>`; None for a chat no longer configured."""
        return f"Telegram chat {target}" if target in self.chat_ids else None

    def escape(self, text: str) -> str:
        """Plain text as this channel shows it: unchanged (messages have no parse_mode)."""
        return plain(text)

    def redact(self, text: str) -> str:
        """`text` without the bot token."""
        return redact(text, {self.bot.token: MASK})

    def failure(self, exc: Exception) -> DeliveryError:
        """A failed Bot API call as a DeliveryError that may be shown (see as_delivery_error)."""
        return as_delivery_error(exc, self.redact)

    async def deliver(self, delivery: Delivery) -> None:
        """Sends the delivery's text (and its buttons, if any) to its chat, then records it."""
        buttons = delivery.body.get("buttons") or None
        approval_id = str(delivery.body.get("approval_id") or "")
        text = delivery.text
        if approval_id in self._settled:  # decided before its alert went out: no buttons
            text, buttons = f"{text}\n\n{self._settled[approval_id]}", None
        sent = await self.send(delivery.target, text, delivery.about_seq, buttons)
        if buttons and approval_id:
            self.alerts.setdefault(approval_id, []).append((delivery.target, sent, fit(text)))
            if approval_id in self._settled:  # decided while this one was on its way
                await self.settle_alerts(approval_id, self._settled[approval_id])

    def claim_alert(self, approval_id: str, chat_id: str, message_id: int) -> None:
        """Leaves one alert out of those `settle_alerts` edits: its press edits it. (A press
        may be handled before the send that made its alert has finished recording it.)"""
        self._claimed.add((approval_id, chat_id, message_id))

    async def settle_alerts(self, approval_id: str, result: str) -> None:
        """Edits every alert of a decided approval: its text plus `result`, no buttons."""
        self._settled[approval_id] = result
        while len(self._settled) > _SETTLED_KEPT:
            del self._settled[next(iter(self._settled))]
        for chat_id, message_id, text in self.alerts.pop(approval_id, []):
            if (approval_id, chat_id, message_id) in self._claimed:
                self._claimed.discard((approval_id, chat_id, message_id))
                continue
            await self.edit(chat_id, message_id, f"{text}\n\n{result}")

    async def send(
        self,
        chat_id: str,
        text: str,
        about_seq: int | None = None,
        buttons: Buttons | None = None,
    ) -> int:
        """Sends one message (plain text, links made clickable by Telegram), with inline
        buttons when given; returns its id."""
        markup = keyboard(buttons) if buttons else None
        try:
            sent = await self.bot.send_message(
                chat_id=_chat(chat_id), text=fit(text), reply_markup=markup
            )
        except Exception as exc:
            raise self.failure(exc) from None
        await self.record("out", chat_id, sent.message_id, sent.text or text, sent.date, about_seq)
        return sent.message_id

    async def answer_button(self, query_id: str, text: str) -> None:
        """Answers a button's callback (the client stops its spinner and shows `text`)."""
        try:
            await self.bot.answer_callback_query(query_id, text=text[:200])
        except Exception as exc:
            log.warning("Telegram answerCallbackQuery failed: %s", self.failure(exc))

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        """Replaces a message's text, and takes its buttons away."""
        try:
            await self.bot.edit_message_text(
                text=fit(text), chat_id=_chat(chat_id), message_id=message_id, reply_markup=None
            )
        except Exception as exc:
            log.warning("Telegram editMessageText failed: %s", self.failure(exc))

    async def record(
        self,
        direction: str,
        chat_id: str,
        message_id: int | str,
        text: str,
        at: datetime | None,
        about_seq: int | None = None,
    ) -> PublishResult:
        """Publishes one message as a `telegram:message` event (idempotent by message id)."""
        event_id = f"telegram-{direction}-{chat_id}-{message_id}"
        when = at.timestamp() if at is not None else self._clock.now()
        message = {
            "id": event_id,
            "direction": direction,
            "chat_id": chat_id,
            "text": text,
            "at": to_iso(when),
            "about_seq": about_seq,
        }
        return await self._sink.publish("telegram:message", {"message": message}, id=event_id)

    async def updates(self, offset: int | None) -> list[Update]:
        """Long-polls the Bot API for new messages after `offset`."""
        poll = self.settings.poll_timeout_s
        return await self.bot.get_updates(
            offset=offset,
            timeout=poll,
            allowed_updates=["message", "callback_query"],
            request_timeout=int(poll + self.settings.timeout_s),
        )

    async def close(self) -> None:
        """Closes the bot's HTTP session."""
        await self.bot.session.close()
