"""The browser's state store, run in the page: seq order, dedupe, replace by id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Dashboard

pytestmark = pytest.mark.browser

FOLD = """async () => {
  const { Store } = await import('/static/js/store.js');
  const store = new Store();
  const ev = (seq, type, payload) => ({ seq, type, payload, timestamp: new Date().toISOString() });
  const task = (seq, id, status) => ev(seq, 'task:updated', { task: { id, status } });
  store.ingest([
    { type: 'welcome', payload: { epoch: 'e1', seq: 2 } },
    { type: 'snapshot', payload: { seq: 2, agents: [], sessions: [], budget: null,
                                   tasks: [{ id: 't1', status: 'queued' }] } },
  ]);
  store.ingest([task(2, 't1', 'stale'), task(3, 't1', 'running'), task(4, 't2', 'queued')]);
  // A replay that overlaps what was applied, then a doubled frame.
  store.ingest([task(3, 't1', 'stale'), task(4, 't2', 'stale'), task(5, 't1', 'completed')]);
  store.ingest([task(5, 't1', 'stale')]);
  return {
    seq: store.seq,
    position: store.position(),
    t1: store.tasks.get('t1').status,
    t2: store.tasks.get('t2').status,
    ring: store.events.items.map((m) => m.seq),
  };
}"""


def test_events_fold_in_seq_order_once_each(dashboard: Dashboard) -> None:
    dashboard.open("#/")
    folded: dict[str, Any] = dashboard.page.evaluate(FOLD)
    assert folded["seq"] == 5
    assert folded["position"] == {"seq": 5, "epoch": "e1"}
    assert folded["t1"] == "completed"
    assert folded["t2"] == "queued"
    assert folded["ring"] == [3, 4, 5]
