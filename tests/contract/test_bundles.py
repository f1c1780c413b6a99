"""Incident bundles on every store: a bundle exported by one node (`Node.export_bundle`,
what `GET /api/export` streams) and imported into another's empty store gives the same
state after every event of it, before and after a restart; a second import is refused."""

from __future__ import annotations

import pytest

from parent_harness.hub.bundles import bundle_lines, read_bundle
from parent_harness.hub.node import ImportRefused, Node
from tests.contract.test_history import random_stream
from tests.unit.test_ingest import tables


async def test_export_then_import_gives_the_same_state_at_every_point(
    store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = Node(f"sqlite:///{tmp_path_factory.mktemp('source') / 'h.db'}", checkpoint_every=6)
    await source.start()
    for type_, payload in random_stream(5, 50):
        await source.publish(type_, payload)
    low, high = 11, source.seq
    start = await source.state_at(low - 1)
    data = b"".join(
        [chunk async for chunk in source.export_bundle(start, low, high, task=None, session=None)]
    )
    bundle = read_bundle(bundle_lines(data))

    target = Node(store_url, checkpoint_every=6)
    await target.start()
    assert await target.import_bundle(bundle) == high - low + 1
    assert target.seq == high
    for n in range(low - 1, high + 1):
        assert tables(await target.state_at(n)) == tables(await source.state_at(n)), n
    assert tables(target.committed_state) == tables(source.committed_state)
    with pytest.raises(ImportRefused, match="not empty"):
        await target.import_bundle(bundle)
    await target.stop()

    again = Node(store_url)  # after a restart: from the store alone
    await again.start()
    assert (again.seq, again.ingest.first_seq) == (high, low)
    for n in (low - 1, low, high):
        assert tables(await again.state_at(n)) == tables(await source.state_at(n)), n
    await again.stop()
    await source.stop()
