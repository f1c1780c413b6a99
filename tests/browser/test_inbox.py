"""The Inbox: approvals waiting for a human, counted in the header on every page, answered
from the page (buttons and keys), leaving it live when answered anywhere else; a 409 says who
won; a read-only token sees them without buttons; a phone's viewport holds it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import Dashboard, HubProcess

pytestmark = pytest.mark.browser

INERT = "<img src=x onerror=alert(1)>"


def requested(ident: str, **fields: Any) -> dict[str, Any]:
    approval = {
        "id": ident,
        "agent_id": "claude-1",
        "session_id": "s1",
        "task_id": "t1",
        "kind": "permission",
        "tool": "Bash",
        "summary": f"run {ident}",
        "detail": f"rm -rf build/{ident} && echo '{INERT}'",
        "options": ["allow", "deny", "allow_session"],
        "status": "pending",
        "requested_at": f"2026-12-01T12:00:0{len(ident) % 10}.000Z",
        **fields,
    }
    return {"type": "approval:requested", "payload": {"approval": approval}}


def row(dashboard: Dashboard, ident: str) -> Any:
    return dashboard.page.locator(f"[data-testid=approval-row][data-approval-id='{ident}']")


def test_a_request_appears_with_its_count_and_is_answered_from_the_page(
    dashboard: Dashboard,
) -> None:
    page = dashboard.page
    dashboard.open("#/tasks")
    count = page.get_by_test_id("inbox-count")
    expect(count).to_have_text("0")
    dashboard.hub.publish(requested("ap1"))
    expect(count).to_have_text("1")  # live, on a page that is not the Inbox

    dashboard.go("#/")
    waiting = page.get_by_test_id("glance-waiting")
    expect(waiting.get_by_test_id("glance-waiting-value")).to_have_text("1")
    expect(waiting).to_have_attribute("data-level", "warning")
    waiting.click()  # the tile opens the Inbox
    one = row(dashboard, "ap1")
    expect(one.get_by_test_id("approval-tool")).to_have_text("Bash")
    expect(one.get_by_test_id("approval-agent")).to_have_text("agent claude-1")
    expect(one.get_by_test_id("approval-task")).to_have_text("task t1")
    expect(one.get_by_test_id("approval-summary")).to_have_text("run ap1")
    expect(one.get_by_test_id("approval-detail")).to_have_text(
        f"rm -rf build/ap1 && echo '{INERT}'"
    )
    assert one.locator("img").count() == 0, "the detail was rendered as markup"
    buttons = one.get_by_test_id("approval-answer")
    expect(buttons).to_have_text(["Allow", "Deny", "Allow for this session"])
    expect(page.get_by_test_id("inbox-keys")).to_contain_text("j / k")

    one.locator("[data-decision=allow]").click()
    expect(one).to_have_count(0)
    expect(count).to_have_text("0")
    expect(page.get_by_test_id("inbox-empty")).to_be_visible()
    stored = dashboard.hub.get("/api/approvals/ap1")["approval"]
    assert (stored["decision"], stored["via"]) == ("allow", "dashboard")

    dashboard.go("#/events")  # the answer is on the stream like every event
    answered = page.locator("[data-testid=event-row]", has_text="approval:answered")
    expect(answered).to_have_count(1)
    expect(answered.get_by_test_id("event-text")).to_have_text(
        "claude-1 · Bash: run ap1 · allow by dashboard"
    )
    dashboard.go("#/")
    expect(page.get_by_test_id("glance-waiting-value")).to_have_text("0")
    assert dashboard.errors == []


def test_answered_elsewhere_leaves_the_list_and_keys_answer_the_selected_one(
    dashboard: Dashboard,
) -> None:
    page = dashboard.page
    dashboard.hub.publish(requested("k1"), requested("k22"), requested("k333"))
    dashboard.open("#/inbox")
    rows = page.get_by_test_id("approval-row")
    expect(rows).to_have_count(3)
    expect(row(dashboard, "k1")).to_have_attribute("aria-selected", "true")  # oldest first

    status, body = dashboard.hub.post("/api/approvals/k1/answer", {"decision": "deny"})
    assert status == 200, body
    expect(row(dashboard, "k1")).to_have_count(0)
    expect(page.get_by_test_id("inbox-count")).to_have_text("2")
    # The selection moved to the next in line; j moves down, k back up, d denies.
    expect(row(dashboard, "k22")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("j")
    expect(row(dashboard, "k333")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("d")
    expect(row(dashboard, "k333")).to_have_count(0)
    assert dashboard.hub.get("/api/approvals/k333")["approval"]["decision"] == "deny"
    expect(row(dashboard, "k22")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("s")
    expect(rows).to_have_count(0)
    assert dashboard.hub.get("/api/approvals/k22")["approval"]["decision"] == "allow_session"
    expect(page.get_by_test_id("inbox-count")).to_have_text("0")
    assert dashboard.errors == []


def test_an_answer_that_lost_the_race_says_who_won(dashboard: Dashboard) -> None:
    page = dashboard.page
    dashboard.hub.publish(requested("r1"))
    dashboard.open("#/inbox")
    hub = dashboard.hub

    def answer_first_elsewhere(route: Route) -> None:
        # Another channel answers while the page's POST is on its way: the page's comes second.
        status, body = hub.post("/api/approvals/r1/answer", {"decision": "deny", "by": "ops"})
        assert status == 200, body
        route.continue_()

    page.route("**/api/approvals/r1/answer", answer_first_elsewhere)
    row(dashboard, "r1").locator("[data-decision=allow]").click()
    message = page.get_by_test_id("inbox-message")
    expect(message).to_have_text("Already decided: Bash · run r1 was deny by ops via api.")
    expect(message).to_have_attribute("data-kind", "error")
    expect(row(dashboard, "r1")).to_have_count(0)
    assert hub.get("/api/approvals/r1")["approval"]["decision"] == "deny"


def test_a_question_offers_its_choices(dashboard: Dashboard) -> None:
    dashboard.hub.publish(
        requested("q1", kind="question", tool=None, options=["Postgres", "SQLite"], detail="DB?")
    )
    dashboard.open("#/inbox")
    one = row(dashboard, "q1")
    expect(one.get_by_test_id("approval-kind")).to_have_text("question")
    expect(one.get_by_test_id("approval-answer")).to_have_text(["Postgres", "SQLite"])
    dashboard.page.keyboard.press("2")
    expect(one).to_have_count(0)
    assert dashboard.hub.get("/api/approvals/q1")["approval"]["decision"] == "SQLite"

    # A question without choices takes free text; the keys do not act while typing.
    dashboard.hub.publish(requested("q2", kind="question", options=None, summary="Name?"))
    free = row(dashboard, "q2")
    free.get_by_test_id("approval-text").fill("add a dashboard")
    free.get_by_test_id("approval-text").press("Enter")
    expect(free).to_have_count(0)
    stored = dashboard.hub.get("/api/approvals/q2")["approval"]
    assert (stored["decision"], stored["answer"]) == ("answer", "add a dashboard")


READ = "inbox-read-only-token"
PUBLISH = "inbox-publish-token"


@pytest.fixture
def guarded_hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "harness.db", tmp_path / "hub.log", token=PUBLISH, read_token=READ)
    hub.start(0)
    yield hub
    hub.stop()


def test_a_read_only_viewer_sees_the_inbox_and_attempts_without_buttons(
    browser: Browser, guarded_hub: HubProcess
) -> None:
    task = {"id": "t1", "title": "First change", "status": "running"}
    workspace = {"id": "w1", "task_id": "t1", "attempt": 1, "branch": "harness/t1/1",
                 "status": "active", "commits": 1, "files_changed": 1}  # fmt: skip
    guarded_hub.publish(
        requested("ro1"),
        {"type": "task:created", "payload": {"task": task}},
        {"type": "workspace:created", "payload": {"workspace": workspace}},
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        viewer = Dashboard(page, guarded_hub)
        page.goto(f"{guarded_hub.url}/?token={READ}#/inbox")
        page.wait_for_selector("html[data-ready='true']")
        one = row(viewer, "ro1")
        expect(one.get_by_test_id("approval-summary")).to_have_text("run ro1")
        expect(page.get_by_test_id("inbox-read-only")).to_be_visible()
        expect(one.get_by_test_id("approval-answer")).to_have_count(0)
        page.keyboard.press("a")  # keys do not answer either
        status, body = guarded_hub.post("/api/approvals/ro1/answer", {"decision": "deny"})
        assert status == 200, body
        expect(one).to_have_count(0)
        # Nor does it see the buttons that change a repository: an attempt shows its diff only.
        page.evaluate("location.hash = '#/tasks/t1'")
        expect(page.get_by_test_id("attempt-diff")).to_have_count(1)
        expect(page.get_by_test_id("attempt-merge")).to_have_count(0)
        assert viewer.errors == []
    finally:
        context.close()


def test_the_inbox_fits_a_phone(browser: Browser, hub: HubProcess, tmp_path: Path) -> None:
    hub.publish(requested("p1"), requested("p22", detail="x" * 400 + "\n" + "y" * 50))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        phone = Dashboard(page, hub)
        phone.open("#/inbox")
        expect(page.get_by_test_id("approval-row")).to_have_count(2)
        counted = page.get_by_test_id("inbox-count").bounding_box()
        assert counted is not None and counted["x"] + counted["width"] <= 390, counted
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
        box = row(phone, "p1").locator("[data-decision=allow]").bounding_box()
        assert box is not None and box["height"] >= 36, f"a small button to tap: {box}"
        page.screenshot(path=str(tmp_path / "inbox-390x844.png"), full_page=True)
        assert phone.errors == []
    finally:
        context.close()
