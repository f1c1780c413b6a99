"""Event Bus, Sessions, Telegram, and the layout on a phone and in dark mode."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Dashboard
from tests.browser.fleet import fleet, note, task

pytestmark = pytest.mark.browser


def test_event_bus_filters_by_type_room_level_and_text(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/events")
    page = dashboard.page
    rows = page.get_by_test_id("bus-list").get_by_test_id("event-row")
    expect(rows).to_have_count(14)

    page.get_by_test_id("bus-type").fill("task:*")
    expect(rows).to_have_count(3)
    for type_ in rows.get_by_test_id("event-type").all_text_contents():
        assert type_.startswith("task:")
    dashboard.hub.publish(note("not a task event"), task("t-new", title="Fresh"))
    expect(rows).to_have_count(4)  # the live task event joins, the note does not
    expect(rows.first.get_by_test_id("event-type")).to_have_text("task:created")

    page.get_by_test_id("bus-type").fill("")
    page.get_by_test_id("bus-room").fill("session:s-run")
    expect(rows).to_have_count(4)  # s-run started, 2 iterations, 1 heartbeat

    page.get_by_test_id("bus-room").fill("")
    page.get_by_test_id("bus-level").select_option("warning")
    expect(rows).to_have_count(2)  # the stuck agent's status and the health note
    expect(rows.first).to_contain_text("claude-2 is stuck")
    expect(rows.last.get_by_test_id("event-type")).to_have_text("agent:status")

    page.get_by_test_id("bus-level").select_option("")
    page.get_by_test_id("bus-search").fill("retry")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_test_id("event-type")).to_have_text("telegram:message")


def test_event_bus_pause_holds_new_events_until_resume(dashboard: Dashboard) -> None:
    dashboard.open("#/events")
    page = dashboard.page
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    rows = page.get_by_test_id("bus-list").get_by_test_id("event-row")
    dashboard.hub.publish(note("before the pause"))
    expect(rows).to_have_count(1)
    page.get_by_test_id("bus-pause").click()
    dashboard.hub.publish(note("during the pause 1"), note("during the pause 2"))
    expect(page.get_by_test_id("bus-pause")).to_have_text("Resume (2 new)")
    expect(rows).to_have_count(1)
    page.get_by_test_id("bus-pause").click()
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("during the pause 2")


def test_sessions_list_is_live(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/sessions")
    rows = dashboard.page.get_by_test_id("session-row")
    expect(rows).to_have_count(2)
    dashboard.hub.publish(
        {
            "type": "session:started",
            "payload": {
                "session": {
                    "id": "s-new",
                    "agent_id": "a1",
                    "task_id": "t-run",
                    "status": "running",
                    "max_iterations": 5,
                }
            },
        }
    )
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-session-id", "s-new")
    rows.first.get_by_test_id("session-link").click()
    expect(dashboard.page.get_by_test_id("session-detail-title")).to_have_text("s-new")


def test_telegram_shows_messages_in_and_out(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/telegram")
    messages = dashboard.page.get_by_test_id("telegram-message")
    expect(messages).to_have_count(2)
    expect(messages.first).to_have_attribute("data-direction", "in")
    expect(messages.first.get_by_test_id("telegram-text")).to_have_text("/retry t-fail")
    dashboard.hub.publish(
        {
            "type": "telegram:message",
            "payload": {
                "message": {
                    "id": "m3",
                    "direction": "out",
                    "chat_id": "42",
                    "text": "Retrying t-fail",
                }
            },
        }
    )
    expect(messages).to_have_count(3)
    expect(messages.first.get_by_test_id("telegram-text")).to_have_text("Retrying t-fail")


def test_readable_on_a_phone_and_dark_when_the_system_is(
    browser: Browser, dashboard: Dashboard
) -> None:
    dashboard.hub.publish(*fleet())
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True
    )
    try:
        page = context.new_page()
        for hash_ in ("#/", "#/tasks", "#/events"):
            page.goto(f"{dashboard.hub.url}/{hash_}")
            page.wait_for_selector("html[data-ready='true']")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{hash_} scrolls sideways by {overflow}px on a phone"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(c) for c in background[4:-1].split(",")[:3])
        assert red + green + blue < 150, f"not dark: {background}"
    finally:
        context.close()


def test_each_event_row_shows_the_level_the_hub_filters_it_by(dashboard: Dashboard) -> None:
    """The page applies the hub's catalogue (GET /api/catalogue): every row's level is the
    one `GET /api/events?level=` finds it under, live events and backfilled ones alike."""
    bare = {"type": "event", "payload": {"event": {"message": "a note with no level"}}}
    dashboard.hub.publish(*fleet(), bare)
    dashboard.open("#/events")
    page = dashboard.page
    rows = page.get_by_test_id("bus-list").get_by_test_id("event-row")
    expect(rows).to_have_count(15)
    shown = {
        int(row.get_attribute("data-seq") or 0): row.get_attribute("data-level")
        for row in rows.all()
    }
    hub: dict[int, str] = {}
    for level in ("debug", "info", "warning", "error"):
        for item in dashboard.hub.get(f"/api/events?level={level}&limit=1000")["items"]:
            hub[item["seq"]] = level
    assert shown == {seq: hub[seq] for seq in shown}
    assert set(shown.values()) >= {"info", "warning", "error"}, "the fleet lacks a level"
