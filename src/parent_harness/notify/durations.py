"""Durations as operators write them: `90`, `90s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(value: str | float) -> float:
    """Seconds in a duration: a number of seconds, or parts such as `1h30m`.

    Raises ValueError for anything else, or a negative number.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return float(value)
    text = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if not text or _PART.sub("", text):
        raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 5m, 1h30m, 2d)")
    return float(sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text)))


def format_duration(seconds: float) -> str:
    """A duration for people: `45s`, `5m 12s`, `2h 5m`, `3d 4h` (two largest units)."""
    left = max(0, round(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2]) or "0s"
