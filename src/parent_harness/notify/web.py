"""HTTP for the notifications: `POST /api/notify/test` sends a test message through each channel.

The hub mounts these routes (`app.add_routes(routes(notifier))`) behind its usual auth.
Body (optional): `{"text": "..."}`. Answer: `{"ok": bool, "results": [{channel, target, ok,
detail}]}`; `ok` is false when any target failed or no channel is configured.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from parent_harness.notify.check import ChannelCheck
from parent_harness.problems import problem

NO_CHANNEL = "no channel configured: add [notify.telegram] or [[notify.webhooks]] to harness.toml"


class TestSender(Protocol):
    """Anything that can send test messages (the Notifier)."""

    async def send_test(self, text: str | None = None) -> list[ChannelCheck]: ...


def _bad_request(message: str, field: str | None) -> web.Response:
    return problem(400, "bad_request", message, field=field)


async def _text_of(request: web.Request) -> str | None:
    """The optional `text` of the body; raises ValueError naming what is wrong."""
    if not request.can_read_body:
        return None
    body: Any = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise ValueError("text must be a non-empty string")
    return text


def routes(notifier: TestSender) -> list[web.RouteDef]:
    """The routes to mount on the hub's application."""

    async def send_test(request: web.Request) -> web.Response:
        try:
            text = await _text_of(request)
        except ValueError as exc:
            field = "text" if "text" in str(exc) else None
            return _bad_request(str(exc) if field else f"invalid JSON body: {exc}", field)
        checks = await notifier.send_test(text)
        body: dict[str, Any] = {
            "ok": bool(checks) and all(check.ok for check in checks),
            "results": [check.as_dict() for check in checks],
        }
        if not checks:
            body["message"] = NO_CHANNEL
        return web.json_response(body)

    return [web.post("/api/notify/test", send_test)]
