"""The dashboard's Machines panel (issue 19): hidden without workers, then a row per worker,
live and from the snapshot."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard

pytestmark = pytest.mark.browser


def worker(status: str, **more: object) -> dict[str, object]:
    entity = {"id": "gpu-1", "name": "gpu-1", "status": status, **more}
    return {"type": "worker:status", "payload": {"worker": entity}}


def test_machines_show_each_worker_live_and_after_a_reload(dashboard: Dashboard) -> None:
    dashboard.open("#/")
    page = dashboard.page
    expect(page.get_by_test_id("panel-machines")).to_be_hidden()
    dashboard.hub.publish(
        worker(
            "online",
            labels=["gpu", "linux"],
            agents=["claude"],
            capacity=4,
            running=1,
            version="0.1.0",
        )
    )
    row = page.locator("[data-testid='machine-row'][data-worker-id='gpu-1']")
    expect(row.get_by_test_id("machine-status")).to_have_text("online")
    expect(row.get_by_test_id("machine-labels")).to_have_text("gpu, linux")
    expect(row.get_by_test_id("machine-agents")).to_have_text("claude")
    expect(row.get_by_test_id("machine-running")).to_have_text("1 / 4")
    dashboard.hub.publish(worker("offline"))
    expect(row.get_by_test_id("machine-status")).to_have_text("offline")
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(row.get_by_test_id("machine-status")).to_have_text("offline")
    expect(row.get_by_test_id("machine-version")).to_have_text("0.1.0")
    assert dashboard.errors == []
