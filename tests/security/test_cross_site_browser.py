"""A real page of another site, in the system Chromium, tries to drive a hub on loopback.

The attacks of the security issue, as a browser makes them: a `no-cors` POST of a task and
of an event (text/plain, which needs no preflight), a WebSocket that would stream every
event to the page, and DNS rebinding (a name of the attacker's resolving to 127.0.0.1).
Chromium maps `evil.example` to 127.0.0.1 (`--host-resolver-rules`), so the page's origin
is `http://evil.example:<port>`, as it would be on the internet.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bench.dashboard_hub import CHROMIUM_ARGS
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, HARNESS, HubProcess
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><meta charset="utf-8"><title>cute cats</title><script>
const hub = new URL(location.hash.slice(1));
window.results = {ws_messages: 0};
async function attack() {
  const task = JSON.stringify({title: 'planted', test_command: 'id > PWNED'});
  const event = JSON.stringify({type: 'event', payload: {event: {id: 'e1', level: 'error',
    source: 'evil', message: 'planted'}}});
  const post = (path, body) => fetch(hub.origin + path, {method: 'POST', mode: 'no-cors',
    headers: {'Content-Type': 'text/plain'}, body}).then(() => 'answered', (e) => 'failed');
  results.task = await post('/api/tasks', task);
  results.event = await post('/api/events', event);
  results.notify = await post('/api/notify/test', '{}');
  results.ws = await new Promise((resolve) => {
    const ws = new WebSocket(hub.origin.replace('http', 'ws') + '/ws?snapshot=1');
    ws.onmessage = () => { results.ws_messages += 1; };
    ws.onclose = (e) => resolve('closed ' + e.code);
  });
  results.done = true;
}
attack();
</script>"""


class _AttackPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ATTACK.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def attacker() -> Iterator[int]:
    """A web server of another site, on loopback; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AttackPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Chromium resolving evil.example to 127.0.0.1; closed with this module (sync
    Playwright runs a loop that must not outlive these tests)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as driver:
        args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"]
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield browser
        browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[HubProcess]:
    """A default hub (`harness serve`: loopback, no token) in a subprocess."""
    if not HARNESS.exists():
        skip_or_fail(f"no harness executable at {HARNESS}")
    process = HubProcess(tmp_path / "harness.db", tmp_path / "hub.log")
    process.start(0)
    yield process
    process.stop()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def test_a_foreign_page_can_neither_publish_nor_listen(
    served: HubProcess, attacker: int, page: Page
) -> None:
    page.goto(f"http://evil.example:{attacker}/#{served.url}")
    page.wait_for_function("window.results && window.results.done", timeout=15_000)
    results = page.evaluate("window.results")
    # The requests reached the hub and were answered (with 403), not lost on the way.
    assert results["task"] == "answered" and results["event"] == "answered", results
    assert results["ws_messages"] == 0, results
    assert results["ws"].startswith("closed"), results
    state = served.get("/api/snapshot")
    assert state["seq"] == 0 and state["tasks"] == [], state
    assert served.get("/api/events")["items"] == []
    assert "cross-site request from origin 'http://evil.example" in served.log_tail(50)


def test_dns_rebinding_gets_nothing(served: HubProcess, page: Page) -> None:
    """A page at evil.example resolving to the hub's address is same-origin to the
    browser; the hub refuses its Host, so the page reads neither state nor dashboard."""
    port = served.url.rsplit(":", 1)[1]
    served.publish({"type": "task:created", "payload": {"task": {"id": "t1", "title": "x"}}})
    for path in ("/api/snapshot", "/api/tasks", "/"):
        response = page.goto(f"http://evil.example:{port}{path}")
        assert response is not None and response.status == 403, path
        assert "t1" not in page.content()


def test_the_dashboard_own_origin_still_works(served: HubProcess, page: Page) -> None:
    """Its page reads the snapshot, streams live over /ws, and the dashboard renders."""
    page.goto(served.url + "/#/tasks")
    page.wait_for_selector("html[data-ready='true']", timeout=10_000)
    served.publish({"type": "task:created", "payload": {"task": {"id": "t7", "title": "ok"}}})
    card = page.get_by_test_id("task-list").locator("[data-task-id='t7']")
    expect(card).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("ws-status")).to_have_attribute("data-state", "connected")
