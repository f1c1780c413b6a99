"""The in-memory broker of a single hub process: seq is a counter, delivery is a call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parent_harness.brokers.base import (
    Appended,
    BrokerHandler,
    Capabilities,
    Outgoing,
    Sequenced,
)
from parent_harness.events.clock import new_id, now_ms

RECENT_KEYS = 100_000


class MemoryBroker:
    """Orders events in arrival order and delivers them synchronously to its one node.

    A seq is given once: the counter only goes up, and a key keeps its seq.
    """

    capabilities = Capabilities(shared_order=False)

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.seq = 0
        self._handler: BrokerHandler | None = None
        self._keys: dict[str, int] = {}
        self._keys_complete = True

    async def start(
        self,
        handler: BrokerHandler,
        *,
        epoch: str,
        after_seq: int,
        recent_keys: Mapping[str, int] | None = None,
        keys_complete: bool = True,
    ) -> str:
        """Continues the order after `after_seq`; the keys recently used (read back from the
        store) keep their seqs, and when they are not all of them, the store is asked."""
        self.seq = after_seq
        self._handler = handler
        self._keys = dict(recent_keys or {})
        self._keys_complete = keys_complete
        return epoch

    async def append(self, events: Sequence[Outgoing]) -> list[Appended]:
        """Gives each event the next seq (a known key its seq) and delivers them; a key is
        remembered once its event is delivered (folded and queued for the store), so a
        delivery that fails leaves no key pointing at a seq the log will not hold."""
        handler = self._handler
        assert handler is not None, "broker not started"
        found = await self._stored_keys(handler, events)
        out: list[Appended] = []
        batch: list[Sequenced] = []
        claimed: dict[str, int] = {}
        for event in events:
            key = event.key
            seq = (self._keys.get(key) or claimed.get(key) or found.get(key)) if key else None
            if key and seq:
                out.append(Appended(key, seq, duplicate=True))
                continue
            self.seq += 1
            ident = key or new_id()
            if key:
                claimed[key] = self.seq
            ts, ts_ms = now_ms()
            batch.append(Sequenced(self.seq, ident, event.type, event.payload, ts, ts_ms))
            out.append(Appended(ident, self.seq))
        if batch:
            handler.deliver(batch)
        self._keys.update(claimed)
        self._trim()
        return out

    async def _stored_keys(
        self, handler: BrokerHandler, events: Sequence[Outgoing]
    ) -> dict[str, int]:
        if self._keys_complete:
            return {}
        unknown = [e.key for e in events if e.key and e.key not in self._keys]
        return await handler.known_ids(unknown) if unknown else {}

    def _trim(self) -> None:
        while len(self._keys) > RECENT_KEYS:
            del self._keys[next(iter(self._keys))]
            self._keys_complete = False

    async def confirm(self, upto: int) -> None:
        """Nobody else to tell: the one node wrote everything itself."""

    async def stop(self) -> None:
        self._handler = None

    def status(self) -> dict[str, Any]:
        return {"ok": True, "kind": "memory", "seq": self.seq}
