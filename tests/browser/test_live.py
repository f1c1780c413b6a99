"""The dashboard loads cleanly and shows what is published, live."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard
from tests.browser.fleet import fleet, note

pytestmark = pytest.mark.browser

PAGES = [
    "#/",
    "#/tasks",
    "#/tasks/t-fail",
    "#/sessions",
    "#/sessions/s-run",
    "#/events",
    "#/telegram",
    "#/inbox",
]


def test_every_page_loads_without_console_errors(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/")
    expect(dashboard.page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    for hash_ in PAGES:
        dashboard.go(hash_)
        expect(dashboard.page.locator("main > section:not([hidden])")).to_have_count(1)
    dashboard.page.reload()
    dashboard.page.wait_for_selector("html[data-ready='true']")
    assert dashboard.errors == []


def test_dashboard_shows_the_fleet_at_a_glance(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/")
    page = dashboard.page
    expect(page.get_by_test_id("glance-working-value")).to_have_text("2")
    expect(page.get_by_test_id("glance-stuck-value")).to_have_text("1")
    expect(page.get_by_test_id("glance-failed-value")).to_have_text("1")
    expect(page.get_by_test_id("glance-running-value")).to_have_text("1")
    expect(page.get_by_test_id("glance-budget-value")).to_have_text("25%")
    stuck = page.locator("[data-testid=agent-row][data-agent-id=a2]")
    expect(stuck.get_by_test_id("agent-health")).to_have_text("stuck")
    expect(stuck.get_by_test_id("agent-health-reason")).to_have_text("no progress for 6 min")
    working = page.locator("[data-testid=agent-row][data-agent-id=a1]")
    expect(working.get_by_test_id("agent-instances")).to_have_text("1 / 2")
    expect(working.get_by_test_id("agent-iteration")).to_contain_text("iteration 2")
    expect(page.locator("[data-testid=active-task][data-task-id=t-run]")).to_be_visible()
    failure = page.locator("[data-testid=recent-failure][data-task-id=t-fail]")
    failure.get_by_test_id("error-badge").click()
    expect(page.get_by_test_id("error-modal").get_by_test_id("error-kind")).to_have_text(
        "test_failure"
    )
    page.get_by_test_id("error-close").click()
    # The stream of a fresh page is filled from the hub's history, not empty; heartbeats
    # are left out unless asked for.
    rows = page.get_by_test_id("event-stream").get_by_test_id("event-row")
    expect(rows).to_have_count(13)
    page.get_by_test_id("stream-heartbeats").check()
    expect(rows).to_have_count(14)
    # The charts' history comes from the server: this hour already has events.
    expect(page.get_by_test_id("chart-events-value")).not_to_contain_text("peak 0/s")


def test_an_event_published_over_rest_shows_within_a_second(dashboard: Dashboard) -> None:
    dashboard.open("#/")
    expect(dashboard.page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    stream = dashboard.page.get_by_test_id("event-stream")
    [published] = dashboard.hub.publish(note("deploy finished on node-7"))
    started = time.monotonic()
    row = stream.locator(f"[data-testid=event-row][data-seq='{published['seq']}']")
    expect(row).to_contain_text("deploy finished on node-7", timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(dashboard.page.get_by_test_id("ws-last-event")).to_contain_text("ago")


def test_header_budget_indicator_warns_at_80_and_is_critical_at_100(
    dashboard: Dashboard,
) -> None:
    dashboard.open("#/")
    indicator = dashboard.page.get_by_test_id("budget-indicator")
    dashboard.hub.publish(fleet()[10])  # 12.5 of 50
    expect(indicator).to_have_attribute("data-level", "ok")
    dashboard.hub.publish(
        {
            "type": "budget:updated",
            "payload": {
                "budget": {
                    "period": "2026-11",
                    "spent_usd": 41.0,
                    "burn_rate_usd_per_hour": 3.0,
                    "projected_exhaustion_at": "2099-01-01T00:00:00.000Z",
                }
            },
        }
    )
    expect(indicator).to_have_attribute("data-level", "warning")
    expect(dashboard.page.get_by_test_id("budget-percent")).to_have_text("82%")
    expect(dashboard.page.get_by_test_id("budget-burn")).to_have_text("$3.00/h")
    expect(dashboard.page.get_by_test_id("budget-runout")).to_contain_text("out in")
    dashboard.hub.publish(
        {"type": "budget:updated", "payload": {"budget": {"period": "2026-11", "spent_usd": 50.0}}}
    )
    expect(indicator).to_have_attribute("data-level", "critical")
    expect(dashboard.page.get_by_test_id("budget-runout")).to_have_text("exhausted")


def test_a_burst_keeps_the_dom_bounded_and_ends_on_the_last_event(
    dashboard: Dashboard,
) -> None:
    dashboard.open("#/events")
    expect(dashboard.page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    last = 0
    for batch in range(6):
        items = dashboard.hub.publish(*(note(f"burst {batch}-{i}") for i in range(200)))
        last = items[-1]["seq"]
    bus = dashboard.page.get_by_test_id("bus-list")
    expect(bus.get_by_test_id("event-row").first).to_have_attribute("data-seq", str(last))
    assert bus.get_by_test_id("event-row").count() <= 100  # only the rows in view
    expect(dashboard.page.get_by_test_id("bus-count")).to_have_text("1.2k shown")

    dashboard.go("#/")
    stream = dashboard.page.get_by_test_id("event-stream")
    rows = stream.get_by_test_id("event-row")
    expect(rows.first).to_have_attribute("data-seq", str(last))
    assert rows.count() < 50
    # Scrolled to its end, the stream holds exactly the last 50 events.
    stream.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(rows.last).to_have_attribute("data-seq", str(last - 49))
    assert dashboard.errors == []
