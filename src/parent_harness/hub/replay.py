"""The replay window: the most recent events in memory, for `since` without a query."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

ReplayItem = tuple[int, str, bytes, tuple[str, ...]]
"""(seq, type, encoded message, rooms)"""


class ReplayWindow:
    """The last `size` dispatched events, oldest first."""

    def __init__(self, size: int = 10_000) -> None:
        self._items: deque[ReplayItem] = deque(maxlen=size)

    def clear(self) -> None:
        self._items.clear()

    def extend(self, items: Iterable[ReplayItem]) -> None:
        self._items.extend(items)

    def covers(self, after: int) -> bool:
        """Whether every event with seq > after (that was dispatched) is still here."""
        return not self._items or self._items[0][0] <= after + 1

    def since(self, after: int, upto: int, limit: int | None = None) -> list[ReplayItem]:
        """Events with after < seq <= upto, in order: the first `limit` of them, if given."""
        items = self._items
        if not items or after >= items[-1][0]:
            return []
        start = max(0, after + 1 - items[0][0])
        out: list[ReplayItem] = []
        for item in islice(items, start, None):
            if item[0] > upto or len(out) == limit:
                break
            if item[0] > after:
                out.append(item)
        return out
