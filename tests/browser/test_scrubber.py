"""The scrubber: dragging the timeline shows the fleet as it was, play runs the log forward,
back to live (button or Esc) keeps what arrived meanwhile, `?at=` opens a moment, and a past
moment is read-only. The moments are those of events published here (their seq and time
read back from the hub)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.conftest import Dashboard, HubProcess

pytestmark = pytest.mark.browser


def _task(type_: str, task_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "payload": {"task": {"id": task_id, **fields}}}


def _history(hub: HubProcess) -> list[dict[str, Any]]:
    """A task queued, then (one HTTP call each, so at later times) running and completed,
    with an attempt; and another task failing. The events as the hub stored them."""
    for event in [
        _task("task:created", "t-scrub", title="Scrub me", status="queued"),
        {
            "type": "workspace:created",
            "payload": {"workspace": {"id": "w1", "task_id": "t-scrub", "status": "ready"}},
        },
        _task("task:updated", "t-scrub", status="running"),
        _task("task:completed", "t-scrub", status="completed"),
        _task("task:failed", "t-bad", title="Broken", status="failed"),
    ]:
        hub.publish(event)
    items: list[dict[str, Any]] = hub.get("/api/events?order=asc&limit=10")["items"]
    times = [item["timestamp"] for item in items]
    assert times[1] < times[2], f"the history needs distinct times: {times}"
    return items


def _card(dashboard: Dashboard, task_id: str) -> Locator:
    return dashboard.page.get_by_test_id("task-list").locator(f"[data-task-id='{task_id}']")


def _x_of(dashboard: Dashboard, timestamp: str) -> tuple[float, float, float]:
    """(x of `timestamp`, x of the right end, y) on the scrubber's track, in the viewport."""
    page = dashboard.page
    expect(page.get_by_test_id("scrubber")).to_have_attribute("data-loaded", "true")
    found = page.evaluate(
        """ts => {
            const root = document.querySelector('[data-testid="scrubber"]');
            const track = root.querySelector('[data-testid="scrubber-track"]');
            const box = track.getBoundingClientRect();
            const from = Number(root.dataset.fromMs), to = Number(root.dataset.toMs);
            const x = box.left + ((Date.parse(ts) - from) / Math.max(1, to - from)) * box.width;
            return [x, box.right - 1, box.top + box.height / 2];
        }""",
        timestamp,
    )
    return float(found[0]), float(found[1]), float(found[2])


def _drag_to(dashboard: Dashboard, timestamp: str, start: str | None = None) -> None:
    """Presses on the timeline at `start` (default: its live end) and drags (mouse events)
    to `timestamp`."""
    x, right, y = _x_of(dashboard, timestamp)
    mouse = dashboard.page.mouse
    mouse.move(_x_of(dashboard, start)[0] if start else right, y)
    mouse.down()
    mouse.move(x, y, steps=8)
    mouse.up()


def _between(first: str, second: str) -> str:
    """A time half-way between two event times, as the hub writes times."""
    middle = (_ms(first) + _ms(second)) / 2000
    return datetime.fromtimestamp(middle, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_dragging_shows_the_past_and_back_to_live_keeps_what_arrived(
    dashboard: Dashboard,
) -> None:
    items = _history(dashboard.hub)
    dashboard.open("#/tasks")
    page = dashboard.page
    scrubber = page.get_by_test_id("scrubber")
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("completed")
    expect(scrubber).to_have_attribute("data-failures", "1")

    moment = _between(items[1]["timestamp"], items[2]["timestamp"])
    _drag_to(dashboard, moment)
    expect(scrubber).to_have_attribute("data-mode", "past")
    expect(scrubber).to_have_attribute("data-seq", str(items[1]["seq"]))
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("queued")
    expect(_card(dashboard, "t-bad")).to_have_count(0)  # it did not exist yet
    expect(page.get_by_test_id("scrubber-label")).to_contain_text("viewing")
    expect(page.get_by_test_id("scrubber-live")).to_be_visible()
    assert "?at=" in page.url and page.url.index("?at=") < page.url.index("#/tasks")

    # A little forward: the events in between folded in the page, the same state.
    _drag_to(dashboard, _between(items[2]["timestamp"], items[3]["timestamp"]), start=moment)
    expect(scrubber).to_have_attribute("data-seq", str(items[2]["seq"]))
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("running")
    assert page.evaluate("window.harness.machine.trace.at(-1).how") == "fold"
    expect(_card(dashboard, "t-bad")).to_have_count(0)

    # Something happens meanwhile: the past does not change, live has it on return.
    dashboard.hub.publish(_task("task:created", "t-new", title="New", status="queued"))
    expect(page.locator("html")).to_have_attribute("data-viewing", "past")
    expect(_card(dashboard, "t-new")).to_have_count(0)
    page.get_by_test_id("scrubber-live").click()
    expect(scrubber).to_have_attribute("data-mode", "live")
    expect(_card(dashboard, "t-new").get_by_test_id("task-status")).to_have_text("queued")
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("completed")
    assert "?at=" not in page.url

    # Esc goes back to live too; the events list follows the moment viewed.
    dashboard.go("#/events")
    _drag_to(dashboard, _between(items[1]["timestamp"], items[2]["timestamp"]))
    expect(scrubber).to_have_attribute("data-seq", str(items[1]["seq"]))
    seqs = page.get_by_test_id("page-events").get_by_test_id("event-seq")
    expect(seqs).to_have_count(2)
    page.keyboard.press("Escape")
    expect(scrubber).to_have_attribute("data-mode", "live")
    expect(seqs).to_have_count(len(items) + 1)
    assert not dashboard.errors, dashboard.errors


def test_play_advances_the_past_until_the_present(dashboard: Dashboard) -> None:
    items = _history(dashboard.hub)
    dashboard.open("#/tasks")
    page = dashboard.page
    scrubber = page.get_by_test_id("scrubber")
    _drag_to(dashboard, _between(items[0]["timestamp"], items[1]["timestamp"]))
    expect(scrubber).to_have_attribute("data-seq", str(items[0]["seq"]))
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("queued")
    page.get_by_test_id("scrubber-play-60").click()
    # Played up to the head: the last state, still the past (paused at the end).
    expect(scrubber).to_have_attribute("data-seq", str(items[-1]["seq"]))
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("completed")
    expect(_card(dashboard, "t-bad").get_by_test_id("task-status")).to_have_text("failed")
    expect(scrubber).to_have_attribute("data-mode", "past")
    expect(page.get_by_test_id("scrubber-play-60")).to_have_attribute("aria-pressed", "false")
    assert not dashboard.errors, dashboard.errors


def test_a_deep_link_opens_the_moment_read_only(dashboard: Dashboard) -> None:
    items = _history(dashboard.hub)
    page = dashboard.page
    moment = _between(items[1]["timestamp"], items[2]["timestamp"])
    page.goto(f"{dashboard.hub.url}/?at={quote(moment)}#/tasks/t-scrub")
    page.wait_for_selector("html[data-ready='true']")
    scrubber = page.get_by_test_id("scrubber")
    expect(scrubber).to_have_attribute("data-mode", "past")
    expect(scrubber).to_have_attribute("data-seq", str(items[1]["seq"]))
    card = page.get_by_test_id("task-detail-card")
    expect(card.get_by_test_id("task-status")).to_have_text("queued")
    # The attempt shows, but nothing that would change the fleet is offered.
    expect(page.get_by_test_id("attempt-diff")).to_be_visible()
    expect(page.get_by_test_id("attempt-merge")).to_be_hidden()
    expect(page.get_by_test_id("attempt-discard")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(scrubber).to_have_attribute("data-mode", "live")
    expect(card.get_by_test_id("task-status")).to_have_text("completed")
    expect(page.get_by_test_id("attempt-merge")).to_be_visible()
    assert not dashboard.errors, dashboard.errors


def test_a_deep_link_outside_the_log_says_so_and_stays_live(dashboard: Dashboard) -> None:
    _history(dashboard.hub)
    page = dashboard.page
    page.goto(f"{dashboard.hub.url}/?at=2001-01-01T00:00:00Z#/tasks")
    page.wait_for_selector("html[data-ready='true']")
    scrubber = page.get_by_test_id("scrubber")
    expect(scrubber).to_have_attribute("data-error", "true")
    expect(page.get_by_test_id("scrubber-label")).to_contain_text("cannot show")
    expect(scrubber).to_have_attribute("data-mode", "live")
    expect(_card(dashboard, "t-scrub").get_by_test_id("task-status")).to_have_text("completed")
