"""A hub with a token: the dashboard asks for it, and no URL it loads ever carries it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, WebSocket, expect

from parent_harness.web.auth import SUBPROTOCOL, protocol_token, token_protocol
from tests.browser.conftest import Dashboard, HubProcess
from tests.browser.fleet import fleet, note

pytestmark = pytest.mark.browser

TOKEN = "browser-s3cret-7Qx"


class Traffic:
    """Every URL the page requested, its WebSockets included, and the Referer headers sent."""

    def __init__(self, page: Page) -> None:
        self.requests: list[str] = []
        self.sockets: list[str] = []
        self.referers: list[str] = []
        page.on("request", self._request)
        page.on("websocket", lambda ws: self._socket(ws))

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        referer = request.headers.get("referer")
        if referer:
            self.referers.append(referer)

    def _socket(self, ws: WebSocket) -> None:
        self.sockets.append(ws.url)

    def urls(self) -> list[str]:
        return self.requests + self.sockets


@pytest.fixture
def tokened_hub(tmp_path: Path) -> Iterator[HubProcess]:
    """A hub of its own that needs TOKEN."""
    hub = HubProcess(tmp_path / "harness.db", tmp_path / "hub.log", token=TOKEN)
    hub.start(0)
    yield hub
    hub.stop()


@pytest.fixture
def dashboard(browser: Browser, tokened_hub: HubProcess) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Dashboard(page, tokened_hub)
    context.close()


def _sign_in(page: Page, token: str) -> None:
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-submit").click()


def _refusals_only(errors: list[str]) -> list[str]:
    """Console errors other than the browser's own note of a 401 before signing in."""
    return [e for e in errors if "status of 401" not in e]


def test_without_a_token_the_dashboard_asks_for_one_then_goes_live(dashboard: Dashboard) -> None:
    hub, page = dashboard.hub, dashboard.page
    traffic = Traffic(page)
    hub.publish(*fleet())
    page.goto(f"{hub.url}/#/tasks")

    login = page.get_by_test_id("login")
    expect(login).to_be_visible()
    expect(page.get_by_test_id("login-error")).to_be_hidden()
    status = page.get_by_test_id("ws-status")
    expect(status).to_have_attribute("data-state", "unauthorized")
    expect(page.get_by_test_id("ws-state")).to_have_text("needs a token")

    _sign_in(page, TOKEN)
    expect(login).to_be_hidden()
    expect(status).to_have_attribute("data-state", "connected")
    # The page refused before signing in is loaded again: the task cards come from REST.
    expect(page.locator("[data-testid=task-card][data-task-id=t-fail]")).to_be_visible()
    hub.publish(note("live after signing in"))
    dashboard.go("#/")
    expect(page.get_by_test_id("event-stream").get_by_text("live after signing in")).to_be_visible()

    assert TOKEN not in page.url
    assert traffic.sockets, "the page opened no WebSocket"
    assert [url for url in traffic.urls() if TOKEN in url] == []
    assert page.evaluate("sessionStorage.getItem('harness.token')") == TOKEN
    assert _refusals_only(dashboard.errors) == []


def test_a_wrong_token_is_refused_and_the_form_asks_again(dashboard: Dashboard) -> None:
    hub, page = dashboard.hub, dashboard.page
    page.goto(f"{hub.url}/#/")
    login = page.get_by_test_id("login")
    expect(login).to_be_visible()

    _sign_in(page, "not-the-token")
    expect(page.get_by_test_id("login-error")).to_have_text("The hub refused that token.")
    expect(login).to_be_visible()
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "unauthorized")
    assert page.evaluate("sessionStorage.getItem('harness.token')") is None

    _sign_in(page, TOKEN)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    expect(login).to_be_hidden()


def test_a_token_in_the_url_moves_out_of_the_address_bar(dashboard: Dashboard) -> None:
    hub, page = dashboard.hub, dashboard.page
    hub.publish(*fleet())
    traffic = Traffic(page)
    page.goto(f"{hub.url}/?token={TOKEN}#/tasks")
    page.wait_for_selector("html[data-ready='true']")

    assert page.url == f"{hub.url}/#/tasks"
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    expect(page.locator("[data-testid=task-card][data-task-id=t-fail]")).to_be_visible()
    expect(page.get_by_test_id("login")).to_be_hidden()
    # Only the address the operator typed held it: no later request, and no Referer.
    first, *later = traffic.urls()
    assert TOKEN in first
    assert later and [url for url in later if TOKEN in url] == []
    assert [r for r in traffic.referers if TOKEN in r] == []

    # Kept for this tab: a reload stays signed in with nothing in the URL.
    page.reload()
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
    assert TOKEN not in page.url
    assert dashboard.errors == []


def test_the_page_encodes_a_token_as_the_hub_decodes_it(dashboard: Dashboard) -> None:
    tokens = ["a", "ab", "abc", "with space/+=?&", "ключ-🔑"]
    dashboard.page.goto(f"{dashboard.hub.url}/static/index.html#/")
    offered = dashboard.page.evaluate(
        """async (tokens) => {
             const { subprotocols } = await import('/static/js/socket.js');
             return tokens.map(subprotocols);
           }""",
        tokens,
    )
    assert offered == [[SUBPROTOCOL, token_protocol(t)] for t in tokens]
    assert [protocol_token(o) for o in offered] == tokens
