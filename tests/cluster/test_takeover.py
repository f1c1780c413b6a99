"""An event whose origin died between its append and its commit is written by another node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parent_harness.brokers import Outgoing, Sequenced
from parent_harness.brokers.redis import RedisBroker
from parent_harness.events.sink import Event
from parent_harness.hub.node import Node
from tests.conftest import generic


class Deaf:
    """A node that hears nothing and stores nothing: all its broker needs to append."""

    def deliver(self, events: list[Sequenced]) -> None:
        pass

    def on_confirmed(self, origin: str, upto: int) -> None:
        pass

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        return {}

    async def stored_events(self, after: int, upto: int) -> list[Sequenced]:
        return []


async def test_a_dead_origins_event_is_written_by_a_survivor_and_nothing_waits_forever(
    pg_url: str, redis_server: Any
) -> None:
    survivor = Node(pg_url, broker_url=redis_server.url)
    survivor.ingest.takeover_s = 0.3
    await survivor.start()
    seen: list[int] = []

    def listen(event: Event) -> None:
        seen.append(event.seq)

    survivor.add_listener(listen)
    one = generic("before")
    try:
        first = await survivor.publish(one["type"], one["payload"])
        # A node that appends and is killed before it writes: its broker alone, never a store.
        dead = RedisBroker(redis_server.url)
        await dead.start(Deaf(), epoch=survivor.epoch, after_seq=first.seq)
        (orphan,) = await dead.append([Outgoing("event", generic("orphan")["payload"], "orphan")])
        await dead.stop()
        later = await survivor.publish(one["type"], generic("after")["payload"])

        assert [first.seq, orphan.seq, later.seq] == [1, 2, 3]
        assert seen == [1, 2, 3]  # the orphan went out, in order, before what followed it
        assert survivor.ingest.taken_over == 1
        assert survivor.ingest.written == 3
        stored = await survivor.store.replay(None, after=0, upto=3)
        assert [row[0] for row in stored] == [1, 2, 3]
        assert b'"orphan"' in stored[1][2]
    finally:
        await survivor.stop()
