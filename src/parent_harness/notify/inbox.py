"""The bot's inbox: long polling for messages and button presses, obeyed only from allowed
chats.

The offset of the last handled update is stored, so a restart neither handles a command twice
nor skips one. A message from a chat not in `notify.telegram.chat_ids` is not answered and not
obeyed; it is reported as an `event` of level warning. So is a button pressed there (a
`needs-input` alert forwarded, or a bot added to another group): ignored, logged, reported.

A button of a `needs-input` alert answers its approval (notify/approvals.py) for the user
who pressed it, `via = "telegram"`; the press is answered (answerCallbackQuery) and the
alert edited to say what became of it: the answer given, or who had decided first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram.types import CallbackQuery, Message, Update, User

from parent_harness.notify.approvals import (
    ApprovalDesk,
    find,
    options_of,
    outcome_text,
    parse_callback,
)
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
        approvals: ApprovalDesk | None = None,
    ) -> None:
        self._approvals = approvals
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
        elif update.callback_query is not None:
            await self._button(update.callback_query)
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

    def _allows(self, chat_id: str, username: str | None) -> bool:
        return chat_id in self._allowed or (username is not None and username in self._allowed)

    async def _button(self, query: CallbackQuery) -> None:
        """A button pressed under an alert: answers its approval if the chat is allowed."""
        message = query.message
        chat = message.chat if message is not None else None
        chat_id = str(chat.id) if chat is not None else "?"
        username = f"@{chat.username}" if chat is not None and chat.username else None
        if chat is None or not self._allows(chat_id, username):
            log.warning("ignored a Telegram button from chat %s: not an allowed chat", chat_id)
            await self._report_refusal(chat_id, query.id, query.from_user, query.data)
            return
        assert message is not None  # it has a chat
        by = _who(query.from_user)
        try:
            text = await self._answer(query.data, by, chat_id, message.message_id)
        except Exception as exc:  # the hub refused (its store or broker down): say so, stay up
            log.exception("answering approval button %r failed", query.data)
            text = self._channel.redact(f"The hub did not take the answer ({type(exc).__name__}).")
            await self._channel.answer_button(query.id, text + " Try again.")
            return
        await self._channel.answer_button(query.id, text)
        await self._channel.record("in", chat_id, f"button-{query.id}", f"[{by}] {text}", None)
        shown = getattr(message, "text", None)
        if shown:
            await self._channel.edit(chat_id, message.message_id, f"{shown}\n\n{text}")

    async def _answer(self, data: str | None, by: str, chat_id: str, message_id: int) -> str:
        """Gives the decision a button names; returns what to tell the chat (this chat edits
        its own alert: the others are edited when the approval resolves)."""
        parsed = parse_callback(data)
        if parsed is None or self._approvals is None:
            return "This button answers nothing here."
        index, reference = parsed
        approval = find(self._approvals.approvals, reference)
        if approval is None:
            return "That request is no longer known to the hub."
        options = options_of(approval)
        if index >= len(options):
            return "That answer is not one of the request's options."
        decision = options[index]
        self._channel.claim_alert(str(approval["id"]), chat_id, message_id)
        decided = await self._approvals.answer(str(approval["id"]), decision, by=by, via="telegram")
        return outcome_text(decided, decision, by)

    async def _report_refusal(
        self, chat_id: str, query_id: str, user: User | None, data: str | None
    ) -> None:
        event_id = f"notify-refused-button-{chat_id}-{query_id}"
        payload = {
            "id": event_id,
            "level": "warning",
            "source": "notify.telegram",
            "message": f"ignored a Telegram button from chat {chat_id}: not an allowed chat",
            "data": {"chat_id": chat_id, "from": user.username if user else None, "button": data},
        }
        await self._sink.publish("event", {"event": payload}, id=event_id)

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


def _who(user: User | None) -> str:
    """How an answer names the person who pressed: `@username`, else their name and id."""
    if user is None:
        return "telegram"
    if user.username:
        return f"@{user.username}"
    return f"{user.full_name} ({user.id})"
