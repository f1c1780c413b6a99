"""The Event Bus's export button: a bundle of the events shown, downloaded with this tab's
token (a hub that needs one), narrowed to the session the room filter names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Dashboard, HubProcess
from tests.browser.fleet import fleet

pytestmark = pytest.mark.browser

TOKEN = "export-s3cret-9Kp"


@pytest.fixture
def tokened_hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "harness.db", tmp_path / "hub.log", token=TOKEN)
    hub.start(0)
    yield hub
    hub.stop()


@pytest.fixture
def dashboard(browser: Browser, tokened_hub: HubProcess) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Dashboard(page, tokened_hub)
    context.close()


def test_the_export_button_downloads_a_bundle_of_the_events_shown(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    dashboard.hub.publish(*fleet())
    page = dashboard.page
    page.goto(f"{dashboard.hub.url}/#/events?room=session:s-run")
    page.get_by_test_id("login-token").fill(TOKEN)
    page.get_by_test_id("login-submit").click()
    listed = dashboard.hub.get("/api/events?room=session:s-run&limit=1000")["items"]
    rows = page.get_by_test_id("bus-list").get_by_test_id("event-row")
    expect(rows).to_have_count(len(listed))
    shown = sorted(int(s) for s in rows.evaluate_all("rs => rs.map(r => r.dataset.seq)"))
    with page.expect_download() as caught:
        page.get_by_test_id("bus-export").click()
    saved = tmp_path / "bundle.jsonl"
    caught.value.save_as(saved)
    lines = [orjson.loads(raw) for raw in saved.read_bytes().splitlines()]
    head = lines[0]
    assert head["bundle"] == "parent-harness.bundle"
    assert (head["range"]["from_seq"], head["range"]["to_seq"]) == (shown[0], shown[-1])
    assert head["filters"] == {"task": None, "session": "s-run"}
    assert [ln["event"]["seq"] for ln in lines[2:-1]] == shown
    assert lines[-1]["events"] == len(listed)
    # the browser notes the 401s of the requests before signing in; nothing else
    assert not [e for e in dashboard.errors if "status of 401" not in e], dashboard.errors
