"""Shared reading of JSON lines and loosely typed fields."""

from __future__ import annotations

from typing import Any

import orjson


def typed_object(line: str) -> tuple[dict[str, Any], str] | None:
    """The JSON object on ``line`` and its string ``type``; None for any other line (which
    an adapter shows as output)."""
    obj = json_object(line)
    kind = obj.get("type") if obj else None
    return (obj, kind) if obj is not None and isinstance(kind, str) else None


def json_object(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None when the line is not one."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def as_int(value: Any) -> int:
    """An integer field, zero when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def as_float(value: Any) -> float | None:
    """A number field, None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def first_line(text: Any, limit: int = 200) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    if not isinstance(text, str):
        return ""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""
