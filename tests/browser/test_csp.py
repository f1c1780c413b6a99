"""The dashboard works under its Content-Security-Policy, and the policy is in force."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard
from tests.browser.fleet import fleet

pytestmark = pytest.mark.browser

PAGES = ["#/", "#/tasks", "#/tasks/t-fail", "#/sessions", "#/sessions/s-run", "#/events"]


def test_every_page_renders_with_nothing_blocked(dashboard: Dashboard) -> None:
    dashboard.hub.publish(*fleet())
    dashboard.open("#/")
    page = dashboard.page
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    expect(page.get_by_test_id("glance-budget-value")).to_have_text("25%")
    for hash_ in [*PAGES, "#/telegram"]:
        dashboard.go(hash_)
        expect(page.locator("main > section:not([hidden])")).to_have_count(1)
    dashboard.go("#/tasks")
    failed = page.locator("[data-testid=task-card][data-task-id=t-fail]")
    failed.get_by_test_id("error-badge").click()
    expect(page.get_by_test_id("error-modal").get_by_test_id("error-kind")).to_have_text(
        "test_failure"
    )
    # Styles set through the CSSOM (progress bars, the budget gauge) are allowed.
    gauge = page.get_by_test_id("budget-indicator").locator(".gauge-fill")
    assert gauge.evaluate("el => el.style.width") == "25%"
    assert dashboard.violations == []
    assert dashboard.errors == []


def test_markup_that_slipped_in_could_not_run_script(dashboard: Dashboard) -> None:
    dashboard.open("#/")
    ran = dashboard.script(
        """new Promise((resolve) => {
             const div = document.createElement('div');
             div.innerHTML = '<img src="/static/none.png" onerror="window.pwned = true">';
             // Runs after the inline handler had its chance (listeners run in order).
             div.firstChild.addEventListener('error', () => resolve(window.pwned === true));
             document.body.append(div);
           })"""
    )
    assert ran is False
    dashboard.page.wait_for_function("window.harnessViolations.length > 0")
    assert dashboard.violations == ["script-src-attr blocked inline"]
