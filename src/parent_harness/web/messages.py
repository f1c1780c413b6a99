"""Server messages of protocol v1 that are not events, encoded once each."""

from __future__ import annotations

from typing import Any

import orjson

from parent_harness.events.clock import now_iso


def message(type_: str, payload: dict[str, Any]) -> bytes:
    """An encoded `{type, payload, timestamp}` message."""
    return orjson.dumps({"type": type_, "payload": payload, "timestamp": now_iso()})


def error(code: str, text: str) -> bytes:
    return message("error", {"code": code, "message": text})
