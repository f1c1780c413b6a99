"""Tasks: cards, filters, the error modal and deep links."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.conftest import Dashboard
from tests.browser.fleet import FAILURE_MESSAGE, FAILURE_SUGGESTIONS, fleet, task

pytestmark = pytest.mark.browser


def _card(dashboard: Dashboard, task_id: str) -> Locator:
    return dashboard.page.get_by_test_id("task-list").locator(f"[data-task-id='{task_id}']")


def test_error_modal_shows_a_failed_tasks_details(dashboard: Dashboard) -> None:
    items = dashboard.hub.publish(*fleet())
    failed_seq = items[4]["seq"]  # the task:failed event
    dashboard.open("#/tasks")
    card = _card(dashboard, "t-fail")
    expect(card.get_by_test_id("task-status")).to_have_text("failed")
    card.get_by_test_id("error-badge").click()
    modal = dashboard.page.get_by_test_id("error-modal")
    expect(modal).to_be_visible()
    expect(modal.get_by_test_id("error-message")).to_have_text(FAILURE_MESSAGE)
    expect(modal.get_by_test_id("error-kind")).to_have_text("test_failure")
    expect(modal.get_by_test_id("error-exit-code")).to_have_text("1")
    expect(modal.get_by_test_id("error-stack")).to_contain_text("AssertionError")
    expect(modal.get_by_test_id("error-output")).to_contain_text("1 failed, 41 passed")
    expect(modal.get_by_test_id("error-suggestions").locator("li")).to_have_text(
        FAILURE_SUGGESTIONS
    )
    link = modal.get_by_test_id("error-event-link")
    expect(link).to_have_attribute("href", f"#/events/{failed_seq}")
    link.click()
    expect(modal).to_be_hidden()
    detail = dashboard.page.get_by_test_id("event-detail-json")
    expect(detail).to_contain_text('"type": "task:failed"')
    expect(detail).to_contain_text(FAILURE_MESSAGE)


def test_task_cards_show_progress_iteration_usage_and_test_result(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/tasks")
    card = _card(dashboard, "t-run")
    expect(card.get_by_test_id("task-progress")).to_have_text("40%")
    expect(card.get_by_test_id("task-iteration")).to_have_text("iteration 2 of 10")
    expect(card.get_by_test_id("task-tokens")).to_have_text("12k in · 3.0k out")
    expect(card.get_by_test_id("task-cost")).to_have_text("$0.42")
    expect(card.get_by_test_id("error-badge")).to_be_hidden()
    dashboard.hub.publish(
        {
            "type": "test:completed",
            "payload": {
                "test_run": {
                    "id": "r1",
                    "task_id": "t-run",
                    "status": "failed",
                    "passed": 9,
                    "failed": 2,
                }
            },
        },
        task("t-run", type_="task:updated", progress_percent=80),
        {"type": "session:iteration", "payload": {"session_id": "s-run", "iteration": 3}},
    )
    expect(card.get_by_test_id("task-test")).to_have_text("tests 9 passed · 2 failed")
    expect(card.get_by_test_id("task-test")).to_have_attribute("data-result", "failed")
    expect(card.get_by_test_id("task-progress")).to_have_text("80%")
    expect(card.get_by_test_id("task-iteration")).to_have_text("iteration 3 of 10")


def test_status_filter_and_search(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    hub.publish(*fleet())
    hub.publish(*(task(f"bulk-{i}", title=f"Bulk chore {i}", status="queued") for i in range(30)))
    dashboard.open("#/tasks")
    page = dashboard.page
    cards = page.get_by_test_id("task-list").get_by_test_id("task-card")
    expect(cards).to_have_count(33)

    page.get_by_test_id("status-filter-failed").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-task-id", "t-fail")
    assert "status=failed" in page.url

    # A task that fails while the filter is on joins the list, live.
    hub.publish(
        task(
            "bulk-3",
            type_="task:failed",
            status="failed",
            error_details={"message": "boom", "kind": "crash"},
        )
    )
    expect(cards).to_have_count(2)
    expect(cards.first).to_have_attribute("data-task-id", "bulk-3")

    page.get_by_test_id("status-filter-all").click()
    page.get_by_test_id("task-search").fill("pagination")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-task-id", "t-run")
    page.get_by_test_id("task-search").fill("chore 2")
    expect(cards).to_have_count(1 + 10)  # "Bulk chore 2" and "Bulk chore 20".."29"

    # The filters survive a reload: they live in the URL.
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.get_by_test_id("task-search")).to_have_value("chore 2")
    expect(cards).to_have_count(11)


def test_tasks_page_is_paged_by_the_hub(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*(task(f"p-{i}", title=f"Paged {i}") for i in range(120)))
    dashboard.open("#/tasks")
    cards = dashboard.page.get_by_test_id("task-list").get_by_test_id("task-card")
    expect(cards).to_have_count(50)
    dashboard.page.get_by_test_id("task-load-more").click()
    expect(cards).to_have_count(100)
    dashboard.page.get_by_test_id("task-load-more").click()
    expect(cards).to_have_count(120)
    expect(dashboard.page.get_by_test_id("task-load-more")).to_be_hidden()


def test_deep_links_open_a_task_and_a_session(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/tasks/t-fail")
    page = dashboard.page
    expect(page.get_by_test_id("task-detail-title")).to_have_text("Refactor budget projection")
    expect(page.get_by_test_id("task-error")).to_contain_text(FAILURE_MESSAGE)
    page.get_by_test_id("task-error-open").click()
    expect(page.get_by_test_id("error-modal")).to_be_visible()
    page.keyboard.press("Escape")

    dashboard.open("#/sessions/s-run")
    expect(page.get_by_test_id("session-detail-title")).to_have_text("s-run")
    timeline = page.get_by_test_id("session-iteration")
    expect(timeline).to_have_count(2)
    expect(timeline.last).to_contain_text("Edited rest.py, added cursor paging")
    expect(page.get_by_test_id("session-heartbeat")).to_have_count(1)
    dashboard.hub.publish(
        {
            "type": "session:iteration",
            "payload": {"session_id": "s-run", "iteration": 3, "summary": "Ran the tests"},
        },
        {
            "type": "session:heartbeat",
            "payload": {"session_id": "s-run", "iteration": 3, "progress_percent": 60},
        },
    )
    expect(timeline).to_have_count(3)
    expect(page.get_by_test_id("session-detail-iteration")).to_have_text("3 of 10")
    expect(page.get_by_test_id("session-heartbeat")).to_have_count(2)


def test_data_is_shown_as_text_never_as_markup(dashboard: Dashboard) -> None:
    hostile = '<img src=x onerror="window.__owned=1">'
    dashboard.hub.publish(
        task(
            "t-x",
            title=hostile,
            status="failed",
            type_="task:failed",
            error_details={"message": hostile, "stack": hostile},
        )
    )
    dashboard.open("#/tasks")
    card = _card(dashboard, "t-x")
    expect(card.get_by_test_id("task-title")).to_have_text(hostile)
    card.get_by_test_id("error-badge").click()
    expect(dashboard.page.get_by_test_id("error-message")).to_have_text(hostile)
    assert dashboard.page.locator("main img, dialog img").count() == 0
    assert dashboard.script("window.__owned") is None
