"""The one shape of every error a REST client sees, and the helper that makes it."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def problem(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """An error answer: `{"error": {"code", "message", ...extra}}` with `status`."""
    return json_response({"error": {"code": code, "message": message, **extra}}, status)
