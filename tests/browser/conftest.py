"""Browser fixtures: a real hub (`harness serve --port 0`) in a subprocess with a fresh
SQLite file, the system Chromium driven by Playwright, and a page on the dashboard."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from bench.dashboard_hub import CHROMIUM_ARGS
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.conftest import skip_or_fail

HARNESS = Path(os.environ.get("HARNESS_BIN", Path(sys.executable).with_name("harness")))
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT_S = 20.0
URL_RE = re.compile(r"serving (http://\S+)")


class HubProcess:
    """`harness serve` as a subprocess: start, stop and restart it on the same port and file.

    With `token`, the hub needs it (`--token`) and this helper presents it as a Bearer header;
    `read_token` adds a read-only one (`--read-token`).
    """

    def __init__(
        self, db: Path, log: Path, token: str | None = None, read_token: str | None = None
    ) -> None:
        self.db = db
        self.log = log
        self.token = token
        self.read_token = read_token
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None

    def start(self, port: int | None = None) -> str:
        """Starts the hub (on `port`, else the last one, else a free one); returns its URL."""
        port = self.port if port is None else port
        cmd = [str(HARNESS), "serve", "--port", str(port), "--store", f"sqlite:///{self.db}"]
        if self.token:
            cmd += ["--token", self.token]
        if self.read_token:
            cmd += ["--read-token", self.read_token]
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=_hub_env()
            )
        lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=_drain, args=(self.proc, lines), daemon=True)
        self.reader.start()
        url = _wait_for_url(lines, self.proc, self.log)
        self.url = url
        if port == 0:
            self.port = int(url.rsplit(":", 1)[1])
        return url

    def stop(self) -> None:
        """Stops the hub as an operator would (SIGTERM: clients hear 1001, the store commits)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.reader is not None:
            self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def publish(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        """POST /api/events; returns each event's {id, seq, duplicate}."""
        body = json.dumps(list(events)).encode()
        headers = {"Content-Type": "application/json", **self.auth()}
        req = urllib.request.Request(self.url + "/api/events", data=body, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                items: list[dict[str, Any]] = json.loads(resp.read())["items"]
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            exc.close()
            raise AssertionError(
                f"publish failed: {exc.code} {detail}\n{self.log_tail()}"
            ) from None
        return items

    def log_tail(self, lines: int = 30) -> str:
        """The end of the hub's log, for failure messages."""
        text = self.log.read_text() if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST a JSON body; returns (status, the answer or the problem)."""
        headers = {"Content-Type": "application/json", **self.auth()}
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read())

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.url + path, headers=self.auth())
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _hub_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("HARNESS_PORT", "HARNESS_STORE", "HARNESS_HOST", "HARNESS_TOKEN"):
        env.pop(name, None)
    return env


def _drain(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)


def _wait_for_url(lines: queue.Queue[str], proc: subprocess.Popen[str], log: Path) -> str:
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT_S)
            found = URL_RE.search(line)
            if found:
                return found.group(1)
    except queue.Empty:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the hub printed no URL; its log:\n{log.read_text()}") from None


class HubSupply:
    """Hands out fresh hubs, starting the next one while the current test runs.

    A hub takes a few seconds to start on a busy 2-core machine; overlapping that with
    the previous test keeps the suite short while every test still gets its own hub.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-supply")
        self.spare: Future[HubProcess] | None = None

    def _start(self) -> HubProcess:
        self.count += 1
        home = self.root / f"hub-{self.count}"
        home.mkdir()
        process = HubProcess(home / "harness.db", home / "hub.log")
        process.start(0)
        return process

    def take(self) -> HubProcess:
        fresh = self.spare.result() if self.spare is not None else self._start()
        self.spare = self.pool.submit(self._start)
        return fresh

    def close(self) -> None:
        if self.spare is not None:
            self.spare.result().stop()
        self.pool.shutdown()


@pytest.fixture(scope="package")  # ends with tests/browser: sync Playwright runs a loop
def hub_supply(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubSupply]:
    if not HARNESS.exists():
        skip_or_fail(f"no harness executable at {HARNESS}")
    supply = HubSupply(tmp_path_factory.mktemp("hubs"))
    yield supply
    supply.close()


@pytest.fixture
def hub(hub_supply: HubSupply) -> Iterator[HubProcess]:
    """A running hub of its own, on a fresh SQLite file; stopped after the test."""
    process = hub_supply.take()
    yield process
    process.stop()


@pytest.fixture(scope="package")  # ends with tests/browser: sync Playwright runs a loop
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")  # ends with tests/browser: sync Playwright runs a loop
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """The system Chromium, headless. Missing Chromium skips, except under CI where it fails."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    launched = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


# Every page reports what its Content-Security-Policy blocked, across reloads.
REPORT_VIOLATIONS = """
window.harnessViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const text = `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`;
  window.harnessViolations.push(text);
  window.harnessTestViolation(text);
});
"""


class Dashboard:
    """A page on the hub's dashboard that records console errors, uncaught exceptions and
    what its Content-Security-Policy blocked."""

    def __init__(self, page: Page, hub: HubProcess) -> None:
        self.page = page
        self.hub = hub
        self.errors: list[str] = []
        self.violations: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.expose_function("harnessTestViolation", self._violation)
        page.add_init_script(REPORT_VIOLATIONS)

    def _violation(self, text: str) -> None:
        self.violations.append(text)
        self.errors.append(f"content security policy: {text}")

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console.error: {msg.text}")

    def open(self, hash_: str = "#/") -> None:
        """Loads the dashboard at `hash_` and waits for its first render from a snapshot."""
        self.page.goto(f"{self.hub.url}/{hash_}")
        self.page.wait_for_selector("html[data-ready='true']", timeout=10_000)

    def go(self, hash_: str) -> None:
        """Navigates inside the page (no reload)."""
        self.page.evaluate("h => { location.hash = h; }", hash_)

    def state(self) -> str | None:
        return self.page.get_by_test_id("ws-status").get_attribute("data-state")

    def script(self, expression: str) -> Any:
        return self.page.evaluate(expression)


@pytest.fixture
def dashboard(browser: Browser, hub: HubProcess) -> Iterator[Dashboard]:
    """A fresh browser context (1280x800) on the hub's dashboard."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield Dashboard(page, hub)
    context.close()
