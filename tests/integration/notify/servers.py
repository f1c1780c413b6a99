"""Servers the notification tests run on 127.0.0.1: a fake Telegram Bot API, a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Recorder:
    """Something that fills up as requests arrive, and can be waited on."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(check)


class Server(Recorder):
    """An aiohttp app on 127.0.0.1, port 0.

    With `redirect_forever`, every request is answered 302 to itself (counted in `redirects`):
    the client gives up with an error naming the URL it was sent to.
    """

    def __init__(self) -> None:
        super().__init__()
        self.app = web.Application(middlewares=[self._redirecting])
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.redirect_forever = False
        self.redirects = 0

    @web.middleware
    async def _redirecting(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.redirect_forever:
            return await handler(request)
        self.redirects += 1
        raise web.HTTPFound(request.path_qs)

    async def start(self) -> str:
        # No access log: it is the remote service's (Slack's, Telegram's), not the harness's.
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class FakeBotApi(Server):
    """getMe, deleteWebhook, sendMessage, answerCallbackQuery, editMessageText and long-polled
    getUpdates, for one bot token.

    Tests fill the update queue with `say()` and `press()` (a button), script failures of
    sendMessage with `fail_next`, and read what the bot sent in `sent` (with each message's
    `buttons`), `answered` (callback answers) and `edited`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.answered: list[dict[str, str]] = []
        self.edited: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.offsets: list[int] = []
        self.fail_next: list[tuple[int, dict[str, Any]]] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1000
        self.app.router.add_post("/bot{token}/{method}", self._call)

    async def say(self, chat_id: int, text: str, username: str | None = None) -> None:
        """Queues a message from a chat, as a user would type it."""
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        if username:
            chat["username"] = username
        message = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Op", "username": "op"},
            "text": text,
        }
        self._updates.append({"update_id": self._next_update, "message": message})
        self._next_update += 1
        await self.changed()

    async def press(self, chat_id: int, message_id: int, data: str, username: str = "op") -> str:
        """Queues a press of an inline button under a message; returns the query's id."""
        query_id = f"q{self._next_update}"
        user = {"id": chat_id, "is_bot": False, "first_name": "Op", "username": username}
        query = {
            "id": query_id,
            "from": user,
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": next((m["text"] for m in self.sent if m["id"] == message_id), "?"),
            },
        }
        self._updates.append({"update_id": self._next_update, "callback_query": query})
        self._next_update += 1
        await self.changed()
        return query_id

    def texts(self, chat_id: str) -> list[str]:
        """What the bot sent to one chat, in order."""
        return [m["text"] for m in self.sent if str(m["chat_id"]) == chat_id]

    def _message_id(self) -> int:
        self._next_message += 1
        return self._next_message

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return _answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"]
        form = dict(await request.post())
        self.calls.append(method)
        handler = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "sendMessage": self._send_message,
            "getUpdates": self._get_updates,
            "answerCallbackQuery": self._answer_callback,
            "editMessageText": self._edit_message,
        }.get(method)
        if handler is None:
            return _answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return await handler({k: str(v) for k, v in form.items()})

    async def _get_me(self, form: dict[str, str]) -> web.Response:
        bot = {"id": 123456, "is_bot": True, "first_name": "harness", "username": "harness_bot"}
        return _answer(200, {"ok": True, "result": bot})

    async def _delete_webhook(self, form: dict[str, str]) -> web.Response:
        return _answer(200, {"ok": True, "result": True})

    async def _send_message(self, form: dict[str, str]) -> web.Response:
        if self.fail_next:
            status, body = self.fail_next.pop(0)
            await self.changed()
            return _answer(status, {"ok": False, "error_code": status, **body})
        message_id = self._message_id()
        self.sent.append(
            {
                "chat_id": form["chat_id"],
                "text": form["text"],
                "id": message_id,
                "parse_mode": form.get("parse_mode"),
                "buttons": _buttons(form.get("reply_markup")),
            }
        )
        await self.changed()
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(form["chat_id"]), "type": "private"},
            "text": form["text"],
        }
        return _answer(200, {"ok": True, "result": result})

    async def _answer_callback(self, form: dict[str, str]) -> web.Response:
        self.answered.append({"id": form["callback_query_id"], "text": form.get("text", "")})
        await self.changed()
        return _answer(200, {"ok": True, "result": True})

    async def _edit_message(self, form: dict[str, str]) -> web.Response:
        edit = {
            "chat_id": form["chat_id"],
            "message_id": int(form["message_id"]),
            "text": form["text"],
            "buttons": _buttons(form.get("reply_markup")),
        }
        self.edited.append(edit)
        await self.changed()
        result = {
            "message_id": edit["message_id"],
            "date": int(time.time()),
            "chat": {"id": int(form["chat_id"]), "type": "private"},
            "text": form["text"],
        }
        return _answer(200, {"ok": True, "result": result})

    async def _get_updates(self, form: dict[str, str]) -> web.Response:
        offset = int(form.get("offset") or 0)
        self.offsets.append(offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed
        with contextlib.suppress(TimeoutError):
            await self.until(lambda: bool(self._updates), float(form.get("timeout") or 0))
        return _answer(200, {"ok": True, "result": list(self._updates)})


class WebhookReceiver(Server):
    """Takes JSON POSTs; answers with scripted statuses (then 200) and records what it got."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []
        self.attempts = 0
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app.router.add_post("/hook/{secret}", self._hook)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook/s3cret"

    def texts(self) -> list[str]:
        return [body["text"] for body in self.received]

    async def _hook(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.json()
        status = self.statuses.pop(0) if self.statuses else 200
        if status < 300:
            self.received.append(body)
            self.headers.append(dict(request.headers))
        await self.changed()
        return web.Response(status=status, text="ok" if status < 300 else "try later")


def _buttons(markup: str | None) -> list[list[dict[str, str]]]:
    """An inline keyboard as rows of {text, data}; [] for none."""
    rows = json.loads(markup).get("inline_keyboard", []) if markup else []
    return [[{"text": b["text"], "data": b["callback_data"]} for b in row] for row in rows]


def _answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
