"""The socket's life: offline when the hub stops, back by itself, nothing missed or doubled."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard, HubProcess
from tests.browser.fleet import fleet, note, task

pytestmark = pytest.mark.browser


def _stream_seqs(dashboard: Dashboard) -> list[int]:
    seqs: list[int] = dashboard.page.eval_on_selector_all(
        "[data-testid=event-stream] [data-testid=event-row]",
        "rows => rows.map(r => +r.dataset.seq)",
    )
    return seqs


def _publish_elsewhere(hub: HubProcess, *events: dict[str, object]) -> list[int]:
    """Publishes through the same SQLite file on another port, unseen by the page."""
    elsewhere = HubProcess(hub.db, hub.log)
    elsewhere.start(0)
    try:
        return [item["seq"] for item in elsewhere.publish(*events)]
    finally:
        elsewhere.stop()


def test_offline_while_the_hub_is_down_then_back_with_exactly_the_missed_events(
    dashboard: Dashboard,
) -> None:
    hub = dashboard.hub
    events = fleet()
    published = hub.publish(*events)
    dashboard.open("#/")
    status = dashboard.page.get_by_test_id("ws-status")
    expect(status).to_have_attribute("data-state", "connected")

    hub.stop()
    expect(status).to_have_attribute("data-state", "offline")
    expect(dashboard.page.get_by_test_id("stale-banner")).to_be_visible()
    assert dashboard.script("document.body.dataset.stale") == "true"

    missed = _publish_elsewhere(
        hub,
        note("missed while down 1"),
        task("t-run", type_="task:updated", progress_percent=75),
        note("missed while down 2"),
    )
    hub.start()  # same port, same SQLite file
    expect(status).to_have_attribute("data-state", "connected", timeout=15_000)
    expect(dashboard.page.get_by_test_id("stale-banner")).to_be_hidden()

    stream = dashboard.page.get_by_test_id("event-stream")
    for text in ("missed while down 1", "missed while down 2"):
        expect(stream.get_by_text(text)).to_have_count(1)
    # Every event but heartbeats (the stream leaves them out), each exactly once.
    shown = [
        item["seq"]
        for item, e in zip(published, events, strict=True)
        if "heartbeat" not in e["type"]
    ]
    assert sorted(_stream_seqs(dashboard)) == [*shown, *missed]
    # The page resumed from its last seq (a replay), not from a fresh snapshot.
    assert dashboard.script("window.harness.socket.status.resumedFrom") == missed[0] - 1
    assert dashboard.script("window.harness.store.snapshots") == 1
    active = dashboard.page.locator("[data-testid=active-task][data-task-id=t-run]")
    expect(active).to_contain_text("75%")

    [live] = hub.publish(note("live after the restart"))
    expect(stream.locator(f"[data-seq='{live['seq']}']")).to_have_count(1)
    expect(stream.get_by_text("live after the restart")).to_have_count(1)


def test_reconnects_at_once_when_the_tab_becomes_visible(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    dashboard.open("#/")
    status = dashboard.page.get_by_test_id("ws-status")
    expect(status).to_have_attribute("data-state", "connected")
    hub.stop()
    # Wait until the backoff has grown past 2 s: only the visibility change can explain a
    # reconnect within the second that follows.
    dashboard.page.wait_for_function(
        "() => { const s = window.harness.socket.status;"
        " return s.state === 'offline' && s.nextRetryAt - Date.now() > 2000; }",
        timeout=20_000,
    )
    hub.start()
    dashboard.page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(status).to_have_attribute("data-state", "connected", timeout=1500)


def test_the_attempt_count_and_backoff_stay_within_bounds(dashboard: Dashboard) -> None:
    dashboard.open("#/")
    delays = dashboard.script(
        "import('/static/js/socket.js').then(m =>"
        " [1, 2, 3, 4, 5, 6, 12, 40].map(n => Array.from({length: 200}, () => m.backoffDelay(n))))"
    )
    assert max(delays[0]) <= 1000
    assert all(max(d) <= 10_000 for d in delays)
    assert min(delays[-1]) >= 5000  # capped, not collapsing: jitter keeps half the ceiling
    assert len({round(d) for d in delays[3]}) > 100  # jittered
    dashboard.hub.stop()
    status = dashboard.page.get_by_test_id("ws-status")
    expect(status).to_have_attribute("data-state", "offline")
    expect(dashboard.page.get_by_test_id("ws-state")).to_contain_text("attempt")
