"""The bot's inbox: long polling for messages, obeying commands only from allowed chats.

The offset of the last handled update is stored, so a restart neither handles a command twice
nor skips one. A message from a chat not in `notify.telegram.chat_ids` is not answered and not
obeyed; it is reported as an `event` of level warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram.types import Message, Update

from parent_harness.notify.commands import Commands
from parent_harness.notify.control import Publisher
from parent_harness.notify.store import NotifyStore
from parent_harness.notify.telegram import TelegramChannel

log = logging.getLogger(__name__)
OFFSET_KEY = "telegram.offset"
Reply = Callable[[str, str, int | None], None]
_MAX_PAUSE_S = 60.0


class TelegramInbox:
    """Polls the Bot API and hands commands from allowed chats to `Commands`."""

    def __init__(
        self,
        channel: TelegramChannel,
        commands: Commands,
        store: NotifyStore,
        sink: Publisher,
        reply: Reply,
    ) -> None:
        self._channel = channel
        self._commands = commands
        self._store = store
        self._sink = sink
        self._reply = reply
        self._allowed = set(channel.chat_ids)

    async def run(self) -> None:
        """Polls until cancelled; a failing API is retried with a growing pause."""
        failures = 0
        await self._forget_webhook()
        while True:
            try:
                updates = await self._channel.updates(self._offset())
            except Exception as exc:
                failures += 1
                error = self._channel.failure(exc)
                log.warning("Telegram getUpdates failed (%d in a row): %s", failures, error)
                await asyncio.sleep(min(_MAX_PAUSE_S, self._channel.settings.backoff_s * failures))
                continue
            failures = 0
            for update in updates:
                try:
                    await self.handle(update)
                except Exception:  # one bad update must not stop the bot; skip past it
                    log.exception("Telegram update %d could not be handled", update.update_id)
                    self._store.set_meta(OFFSET_KEY, str(update.update_id + 1))

    async def handle(self, update: Update) -> None:
        """Handles one update, then stores the offset past it."""
        message = update.message
        if message is not None and message.text:
            await self._message(message)
        self._store.set_meta(OFFSET_KEY, str(update.update_id + 1))

    async def _message(self, message: Message) -> None:
        chat_id = str(message.chat.id)
        username = f"@{message.chat.username}" if message.chat.username else None
        text = message.text or ""
        if chat_id not in self._allowed and username not in self._allowed:
            await self._refuse(chat_id, message)
            return
        recorded = await self._channel.record("in", chat_id, message.message_id, text, message.date)
        try:
            answer = await self._commands.handle(text, chat_id)
        except Exception as exc:
            log.exception("Telegram command %r failed", text)
            answer = self._channel.redact(f"That failed: {type(exc).__name__}: {exc}")
        self._reply(chat_id if chat_id in self._allowed else str(username), answer, recorded.seq)

    async def _refuse(self, chat_id: str, message: Message) -> None:
        sender = message.from_user.username if message.from_user else None
        event_id = f"notify-refused-{chat_id}-{message.message_id}"
        payload = {
            "id": event_id,
            "level": "warning",
            "source": "notify.telegram",
            "message": f"ignored a Telegram message from chat {chat_id}: not an allowed chat",
            "data": {"chat_id": chat_id, "from": sender, "text": (message.text or "")[:200]},
        }
        await self._sink.publish("event", {"event": payload}, id=event_id)

    def _offset(self) -> int | None:
        stored = self._store.get_meta(OFFSET_KEY)
        return int(stored) if stored else None

    async def _forget_webhook(self) -> None:
        """Long polling and a webhook exclude each other; drop any webhook (keeping updates)."""
        try:
            await self._channel.bot.delete_webhook(drop_pending_updates=False)
        except Exception as exc:
            log.warning("Telegram deleteWebhook failed: %s", self._channel.failure(exc))
