"""The replay window: the most recent events in memory, for `since` without a query."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice

ReplayItem = tuple[int, str, bytes, tuple[str, ...]]
"""(seq, type, encoded message, rooms)"""


class ReplayWindow:
    """The last `size` dispatched events, oldest first, and at most `max_bytes` of them.

    The byte bound keeps the window's memory bounded whatever the events weigh: agent
    output (`session:output`, up to 64 KB an event) would make 10,000 events hundreds of
    MB. A replay older than the window reads the store (`covers`)."""

    def __init__(self, size: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._items: deque[ReplayItem] = deque()
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def extend(self, items: Iterable[ReplayItem]) -> None:
        kept = self._items
        for item in items:
            kept.append(item)
            self.bytes += len(item[2])
        while kept and (len(kept) > self.size or self.bytes > self.max_bytes):
            self.bytes -= len(kept.popleft()[2])

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
