"""The task page's attempts: the diff viewer and Merge / Discard, on `harness run` with a real
repository, agents committing in their worktrees, and the system Chromium."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import HARNESS, Dashboard, _drain, _hub_env, _wait_for_url
from tests.conftest import skip_or_fail
from tests.integration.workspaces.repos import make_repo, run_git
from tests.integration.workspaces.test_merging import fake_gh

pytestmark = pytest.mark.browser

TESTS = "print('==== 3 passed in 0.01s ====')"
AGENT = (
    "import os, pathlib; "
    "pathlib.Path('app.py').write_text('print(' + repr(os.environ['HARNESS_TASK_ID']) + ')\\n'); "
    "pathlib.Path(os.environ['HARNESS_TASK_ID'] + '.md').write_text('notes\\n' * 3)"
)


class FleetProcess:
    """`harness run` in a subprocess: the hub, the orchestrator and its workspaces."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        config = self.home / "harness.toml"
        config.write_text(
            "[orchestrator]\npublish_interval_s = 0.1\n\n"
            f"[agents.bot]\ncommand = {json.dumps([sys.executable, '-c', AGENT])}\n"
            'adapter = "plain"\n\n'
            f"[tests]\ncommand = {json.dumps([sys.executable, '-c', TESTS])}\n\n"
            '[workspace]\nrepo = "repo"\ncleanup = "keep"\n\n'
            '[[tasks]]\nid = "t-one"\ntitle = "First change"\n\n'
            '[[tasks]]\nid = "t-two"\ntitle = "Second change"\n'
        )
        cmd = [str(HARNESS), "run", "--config", str(config), "--port", "0",
               "--store", f"sqlite:///{self.home / 'harness.db'}"]  # fmt: skip
        with (self.home / "run.log").open("a") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=self.env, cwd=self.home
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
def fleet_run(tmp_path: Path) -> Iterator[FleetProcess]:
    if not HARNESS.exists():
        skip_or_fail(f"no harness executable at {HARNESS}")
    repo = make_repo(tmp_path / "repo", {"app.py": "print(0)\n"})
    run_git(tmp_path, "init", "--quiet", "--bare", str(tmp_path / "remote.git"))
    run_git(repo, "remote", "add", "origin", str(tmp_path / "remote.git"))
    fake_gh(tmp_path / "bin", tmp_path / "gh.log")  # records its arguments, prints a PR URL
    env = {**_hub_env(), "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    process = FleetProcess(tmp_path, env)
    process.start()
    yield process
    process.stop()


def test_attempts_diff_and_merge_on_the_task_page(
    browser: Browser, fleet_run: FleetProcess, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    dashboard = Dashboard(page, fleet_run)  # type: ignore[arg-type]
    repo = tmp_path / "repo"
    try:
        dashboard.open("#/tasks")
        for task_id in ("t-one", "t-two"):  # both ran: the tasks list shows their +/-
            card = page.get_by_test_id("task-list").locator(f"[data-task-id='{task_id}']")
            expect(card.get_by_test_id("task-status")).to_have_text("completed")
            expect(card.get_by_test_id("task-diffstat")).to_have_text("+4 \u22121")

        dashboard.go("#/tasks/t-one")
        row = page.get_by_test_id("attempt-row")
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("attempt-status")).to_have_text("ready")
        expect(row.get_by_test_id("attempt-files")).to_have_text("2")
        expect(row.get_by_test_id("attempt-tests")).to_have_text("passed \u00b7 3 passed")
        row.get_by_test_id("attempt-diff").click()
        files = page.get_by_test_id("diff-file")
        expect(files).to_have_count(2)
        page.get_by_test_id("diff-files").get_by_text("app.py").click()
        lines = page.get_by_test_id("diff-lines")
        expect(lines.locator("tr.diff-del")).to_have_text(["1-print(0)"])
        expect(lines.locator("tr.diff-add")).to_have_text(["1+print('t-one')"])

        main_before = run_git(repo, "rev-parse", "main")
        row.get_by_test_id("attempt-merge").click()
        expect(page.get_by_test_id("attempt-confirm-text")).to_contain_text("into main")
        page.get_by_test_id("attempt-confirm-no").click()  # cancelled: nothing happens
        expect(page.get_by_test_id("attempt-confirm")).to_be_hidden()
        assert run_git(repo, "rev-parse", "main") == main_before
        row.get_by_test_id("attempt-merge").click()
        # The confirmation offers the strategies and the message the hub would write.
        expect(page.get_by_test_id("attempt-strategy")).to_have_value("merge")
        message = page.get_by_test_id("attempt-merge-message")
        expect(message).to_have_value(
            re.compile(r"^Merge harness/t-one-.*: task t-one, attempt 1$")
        )
        page.get_by_test_id("attempt-strategy").select_option("rebase")
        with page.expect_request(lambda r: r.url.endswith("/merge")) as sent:
            page.get_by_test_id("attempt-confirm-yes").click()
        assert sent.value.post_data_json["strategy"] == "rebase"
        expect(page.get_by_test_id("attempt-message-text")).to_contain_text("is merged")
        expect(row.get_by_test_id("attempt-status")).to_have_text("merged")
        assert (repo / "app.py").read_text() == "print('t-one')\n"
        events = page.get_by_test_id("task-events")  # the workspace's events name the task
        expect(events).to_contain_text("workspace:merged")
        expect(events).to_contain_text("attempt 1 of t-one")

        # The second attempt changed the same line: its merge is refused, naming the file.
        dashboard.go("#/tasks/t-two")
        other = page.get_by_test_id("attempt-row")
        # The merge moved main: the hub checked this attempt again and says it conflicts.
        expect(other.get_by_test_id("attempt-status")).to_have_text("conflict")
        expect(other).to_contain_text("app.py")
        other.get_by_test_id("attempt-squash").click()
        page.get_by_test_id("attempt-confirm-yes").click()
        expect(page.get_by_test_id("attempt-message-text")).to_contain_text("would conflict")
        expect(page.get_by_test_id("attempt-conflicts").locator("li")).to_have_text(["app.py"])
        assert (repo / "app.py").read_text() == "print('t-one')\n"
        other.get_by_test_id("attempt-pr").click()
        expect(page.get_by_test_id("attempt-confirm-text")).to_contain_text("open a pull request")
        title = page.get_by_test_id("attempt-pr-title")
        expect(title).to_have_value("Task t-two, attempt 1")  # what the hub would use
        expect(page.get_by_test_id("attempt-pr-body")).to_have_value(
            re.compile(r"\*\*Second change\*\* \(task `t-two`")
        )
        title.fill("Second change, for review")
        page.get_by_test_id("attempt-confirm-yes").click()
        expect(page.get_by_test_id("attempt-message-text")).to_contain_text(
            "opened https://github.com/acme/proj/pull/7"
        )
        calls = [json.loads(line) for line in (tmp_path / "gh.log").read_text().splitlines()]
        (create,) = [c for c in calls if c[:2] == ["pr", "create"]]
        assert create[create.index("--title") + 1] == "Second change, for review"
        assert "**Second change** (task `t-two`" in create[create.index("--body") + 1]
        other.get_by_test_id("attempt-discard").click()
        page.get_by_test_id("attempt-confirm-yes").click()
        expect(other.get_by_test_id("attempt-status")).to_have_text("discarded")
        assert run_git(repo, "branch", "--list", "harness/t-two*") == ""
        # On a phone: the diff viewer stacks, and nothing makes the page scroll sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        dashboard.go("#/tasks/t-one")
        page.get_by_test_id("attempt-row").get_by_test_id("attempt-diff").click()
        expect(page.get_by_test_id("diff-lines").locator("tr.diff-add")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        conflict_logged = "the server responded with a status of 409 (Conflict)"
        assert [e for e in dashboard.errors if conflict_logged not in e] == []
    finally:
        context.close()
