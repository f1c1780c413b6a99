"""Raising a task's cap from its page: `harness run` stops a task at its cap, the operator
raises the cap behind a confirmation and retries it, and the task finishes; a read-only
token sees the spending and the cap, and no button. The system Chromium, real processes."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import HARNESS, Dashboard, HubProcess, _drain, _hub_env, _wait_for_url
from tests.browser.fleet import task
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.browser

# Spends $0.60 in one iteration. Its first run goes on working (the cap must stop it);
# any later run ends there.
AGENT = """
import json, pathlib, sys, time
mark = pathlib.Path(sys.argv[1])
first = not mark.exists()
mark.touch()
line = {"type": "iteration", "summary": "did some work", "input_tokens": 1000,
        "output_tokens": 100, "cost_usd": 0.6}
print(json.dumps(line), flush=True)
if first:
    time.sleep(120)
"""


class CappedFleet:
    """`harness run` with a $0.10 cap per task and one task for an agent that spends $0.60."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        config = self.home / "harness.toml"
        agent = self.home / "agent.py"  # a file: the command's braces are placeholders
        agent.write_text(AGENT)
        command = [sys.executable, str(agent), str(self.home / "ran-once")]
        config.write_text(
            "[orchestrator]\npublish_interval_s = 0.1\n\n"
            "[budget]\nlimit_usd_per_task = 0.10\n\n"
            f"[agents.bot]\ncommand = {json.dumps(command)}\n\n"
            '[[tasks]]\nid = "t-cap"\ntitle = "Spends past its cap"\n'
        )
        cmd = [str(HARNESS), "run", "--config", str(config), "--port", "0",
               "--store", f"sqlite:///{self.home / 'harness.db'}"]  # fmt: skip
        with (self.home / "run.log").open("a") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=_hub_env(), cwd=self.home
            )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_drain, args=(self.proc, lines), daemon=True).start()
        self.url = _wait_for_url(lines, self.proc, self.home / "run.log")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def capped_fleet(tmp_path: Path) -> Iterator[CappedFleet]:
    if not HARNESS.exists():
        skip_or_fail(f"no harness executable at {HARNESS}")
    fleet = CappedFleet(tmp_path)
    fleet.start()
    yield fleet
    fleet.stop()


def test_a_task_stopped_by_its_cap_is_raised_retried_and_finishes(
    browser: Browser, capped_fleet: CappedFleet
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    dashboard = Dashboard(page, capped_fleet)  # type: ignore[arg-type]
    try:
        dashboard.open("#/tasks/t-cap")
        panel = page.get_by_test_id("task-limit")
        expect(panel.get_by_test_id("task-cap-state")).to_have_text("stopped by its cap")
        expect(panel.get_by_test_id("task-spent")).to_have_text("$0.60")
        expect(panel.get_by_test_id("task-cap")).to_have_text(
            "cap $0.10 (the fleet\u2019s per-task cap)"
        )
        assert capped_fleet.get("/api/tasks/t-cap")["task"]["error_details"]["kind"] == (
            "budget_exceeded"
        )

        # Bad input: said so, nothing sent, the amount kept for correcting.
        panel.get_by_test_id("task-raise-limit").click()
        field = panel.get_by_test_id("task-limit-input")
        field.fill("0.5")
        panel.get_by_test_id("task-limit-next").click()
        expect(panel.get_by_test_id("task-limit-message-text")).to_contain_text(
            "more than the $0.60 this task has spent"
        )
        expect(panel.get_by_test_id("task-limit-confirm")).to_be_hidden()
        expect(field).to_have_value("0.5")
        assert capped_fleet.get("/api/tasks/t-cap")["task"].get("limit_usd") is None

        # Cancelled at the confirmation: nothing sent.
        field.fill("2")
        panel.get_by_test_id("task-limit-next").click()
        expect(panel.get_by_test_id("task-limit-confirm-text")).to_have_text(
            "Raise the cap of task t-cap from $0.10 to $2.00?"
        )
        panel.get_by_test_id("task-limit-confirm-no").click()
        expect(panel.get_by_test_id("task-limit-confirm")).to_be_hidden()
        assert capped_fleet.get("/api/tasks/t-cap")["task"].get("limit_usd") is None

        panel.get_by_test_id("task-limit-next").click()
        panel.get_by_test_id("task-limit-confirm-yes").click()
        expect(panel.get_by_test_id("task-limit-message-text")).to_have_text(
            "Cap of task t-cap raised to $2.00."
        )
        expect(panel.get_by_test_id("task-cap")).to_have_text("cap $2.00 (this task's own)")
        expect(panel.get_by_test_id("task-cap-state")).to_be_hidden()
        expect(panel.get_by_test_id("task-raise-limit")).to_be_hidden()
        assert capped_fleet.get("/api/tasks/t-cap")["task"]["limit_usd"] == 2.0

        panel.get_by_test_id("task-limit-retry").click()
        expect(panel.get_by_test_id("task-limit-message-text")).to_have_text(
            "Task t-cap is queued again."
        )
        card = page.get_by_test_id("task-detail-card")
        expect(card.get_by_test_id("task-status")).to_have_text("completed")
        expect(panel.get_by_test_id("task-spent")).to_have_text("$1.20")
        after = capped_fleet.get("/api/tasks/t-cap")["task"]
        assert after["status"] == "completed" and after["token_usage"]["cost_usd"] == 1.2
        assert dashboard.errors == []
    finally:
        context.close()


READ_TOKEN = "read-only-4Kq"
PUBLISH_TOKEN = "publish-9Zt"


@pytest.fixture
def tokened_hub(tmp_path: Path) -> Iterator[HubProcess]:
    if not HARNESS.exists():
        skip_or_fail(f"no harness executable at {HARNESS}")
    hub = HubProcess(
        tmp_path / "harness.db", tmp_path / "hub.log", token=PUBLISH_TOKEN, read_token=READ_TOKEN
    )
    hub.start(0)
    yield hub
    hub.stop()


def _stopped_task() -> list[dict[str, Any]]:
    failure = {
        "kind": "budget_exceeded",
        "message": "Spending reached 600% of the budget of task t-cap: $0.60 of $0.10; "
        "its session is stopped",
    }
    budget = {"period": "2026-12-01", "limit_usd_per_task": 0.1, "spent_usd": 0.6}
    return [
        task("t-cap", title="Spends past its cap", status="queued"),
        task(
            "t-cap",
            "task:failed",
            status="failed",
            error_details=failure,
            token_usage={"input": 1000, "output": 100, "cost_usd": 0.6},
        ),
        {"type": "budget:updated", "payload": {"budget": budget}},
    ]


def _open_with(page: Page, hub: HubProcess, token: str) -> None:
    page.goto(f"{hub.url}/#/tasks/t-cap")
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-submit").click()


@pytest.mark.parametrize(("token", "may_raise"), [(READ_TOKEN, False), (PUBLISH_TOKEN, True)])
def test_only_a_token_that_may_publish_sees_the_raise_button(
    browser: Browser, tokened_hub: HubProcess, token: str, may_raise: bool
) -> None:
    tokened_hub.publish(*_stopped_task())
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _open_with(page, tokened_hub, token)
        panel = page.get_by_test_id("task-limit")
        expect(panel.get_by_test_id("task-cap-state")).to_have_text("stopped by its cap")
        expect(panel.get_by_test_id("task-cap")).to_have_text(
            "cap $0.10 (the fleet\u2019s per-task cap)"
        )
        raise_button = expect(panel.get_by_test_id("task-raise-limit"))
        if may_raise:
            raise_button.to_be_visible()
        else:
            raise_button.to_be_hidden()
    finally:
        context.close()


def test_a_task_running_on_at_its_cap_is_raised_without_a_retry(dashboard: Dashboard) -> None:
    """With on_task_limit = "pause" a task runs on past its cap: raising it is enough."""
    hub, page = dashboard.hub, dashboard.page
    hub.publish(
        task("t-pause", title="Runs on", status="running", limit_usd=0.5),
        task("t-pause", "task:updated", token_usage={"input": 10, "output": 1, "cost_usd": 0.6}),
    )
    dashboard.open("#/tasks/t-pause")
    panel = page.get_by_test_id("task-limit")
    expect(panel.get_by_test_id("task-cap-state")).to_have_text("at its cap")
    expect(panel.get_by_test_id("task-cap")).to_have_text("cap $0.50 (this task's own)")
    panel.get_by_test_id("task-raise-limit").click()
    expect(panel.get_by_test_id("task-limit-input")).to_have_value("1.60")  # a dollar more
    panel.get_by_test_id("task-limit-next").click()
    panel.get_by_test_id("task-limit-confirm-yes").click()
    expect(panel.get_by_test_id("task-cap")).to_have_text("cap $1.60 (this task's own)")
    expect(panel.get_by_test_id("task-cap-state")).to_be_hidden()
    expect(panel.get_by_test_id("task-limit-retry")).to_be_hidden()  # it is still running
    assert hub.get("/api/tasks/t-pause")["task"]["limit_usd"] == 1.6
    assert dashboard.errors == []
