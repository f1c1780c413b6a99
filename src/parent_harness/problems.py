"""The one shape of every error an HTTP client sees: RFC 9457 problem details.

Every 4xx and 5xx of the hub, in every route, is `application/problem+json`:

    {"type": "urn:parent-harness:problem:forbidden_site", "title": "Forbidden",
     "status": 403, "detail": "host 'evil.example' is not ...", "code": "forbidden_site"}

`code` names the problem for programs (the last part of `type`); `detail` says it for
people; validation problems add `field` (and `index` within a batch, `param` for a query
parameter, `errors` with every field at fault); bounds add `limit`. `problem()` makes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:parent-harness:problem:"


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def problem(status: int, code: str, detail: str, **extra: Any) -> web.Response:
    """An error answer in the problem shape, with `status`."""
    body = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return web.Response(body=orjson.dumps(body), status=status, content_type=MEDIA_TYPE)


def invalid(errors: Sequence[dict[str, Any]]) -> web.Response:
    """400 for request parameters or a body that do not validate; `errors` are pydantic's,
    each turned into {field, in, message}; the first one is the `detail` and the `field`."""
    listed = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "in": error.get("in", "body"),
            "message": str(error.get("msg", "invalid")),
        }
        for error in errors
    ]
    first = listed[0] if listed else {"field": "", "in": "body", "message": "invalid"}
    detail = f"{first['in']} {first['field']}: {first['message']}".replace(" :", ":")
    return problem(400, "invalid_params", detail, field=first["field"], errors=listed)
