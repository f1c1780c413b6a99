"""Type globs (`task:*`, `*:failed`) as a client gives them in `types`."""

from __future__ import annotations

import re
from fnmatch import translate


class TypeFilter:
    """Matches event types against a list of globs; remembers each type's answer."""

    __slots__ = ("_cache", "_pattern", "globs")

    def __init__(self, globs: tuple[str, ...]) -> None:
        self.globs = globs
        self._pattern = re.compile("|".join(f"(?:{translate(g)})" for g in globs))
        self._cache: dict[str, bool] = {}

    def __call__(self, type_: str) -> bool:
        hit = self._cache.get(type_)
        if hit is None:
            hit = self._cache[type_] = bool(self._pattern.match(type_))
        return hit
