"""A session's output in the dashboard: opened from the agent row, a virtual list, colours,
follow mode that stops when the reader scrolls up, search, and live lines (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Dashboard
from tests.browser.fleet import agent, session, task

pytestmark = pytest.mark.browser

Event = dict[str, Any]


def output(session_id: str, first: int, count: int, text: str = "line {n}") -> Event:
    lines = [
        {"n": n, "stream": "stdout", "text": text.format(n=n)} for n in range(first, first + count)
    ]
    return {
        "type": "session:output",
        "payload": {"session_id": session_id, "from_line": first, "lines": lines},
    }


def test_follow_search_and_colours(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    hub.publish(
        task("t-out", title="Noisy task", status="running", agent_id="a-out", session_id="s-out"),
        session("s-out", agent_id="a-out", task_id="t-out", status="running"),
        agent(
            "a-out",
            name="noisy",
            status="working",
            current_task_id="t-out",
            current_session_id="s-out",
        ),
        *[output("s-out", first, 1000) for first in range(1, 3001, 1000)],
        output("s-out", 3001, 1, "\x1b[31mFAILED\x1b[0m needle in \x1b[1mbold\x1b[0m"),
    )
    dashboard.open("#/")
    page = dashboard.page
    page.get_by_test_id("agent-row").filter(has_text="noisy").get_by_test_id("agent-output").click()
    terminal = page.get_by_test_id("session-terminal")
    lines = terminal.get_by_test_id("terminal-line")
    expect(terminal.get_by_test_id("terminal-note")).to_contain_text("3,001 lines")
    last = terminal.locator(".term-line[data-n='3001']")
    expect(last).to_be_visible()  # following: at the bottom
    expect(last.locator(".ansi-red")).to_have_text("FAILED")
    expect(last.locator(".ansi-bold")).to_have_text("bold")
    assert lines.count() < 120  # a virtual list: only the rows in view and a margin

    hub.publish(output("s-out", 3002, 50))
    expect(terminal.locator(".term-line[data-n='3051']")).to_be_visible()  # followed

    viewport = terminal.get_by_test_id("terminal-viewport")
    viewport.evaluate("v => { v.scrollTop = 0; }")
    expect(terminal).to_have_attribute("data-follow", "off")
    expect(terminal.locator(".term-line[data-n='1']")).to_be_visible()
    hub.publish(output("s-out", 3052, 20))
    expect(terminal.get_by_test_id("terminal-note")).to_contain_text("3,071 lines")
    expect(terminal.locator(".term-line[data-n='1']")).to_be_visible()  # stayed where it was

    terminal.get_by_test_id("terminal-follow").click()
    expect(terminal).to_have_attribute("data-follow", "on")
    expect(terminal.locator(".term-line[data-n='3071']")).to_be_visible()

    search = terminal.get_by_test_id("terminal-search")
    search.fill("line 15")  # lines 15 and 150-159 and 1500-1599
    expect(terminal.get_by_test_id("terminal-matches")).to_have_text("111 matches")
    search.press("Enter")
    expect(terminal.get_by_test_id("terminal-matches")).to_have_text("1 of 111")
    expect(terminal).to_have_attribute("data-follow", "off")
    current = terminal.locator(".term-line[data-match='current']")
    expect(current).to_have_attribute("data-n", "15")
    expect(current).to_be_visible()
    search.press("Enter")
    expect(current).to_have_attribute("data-n", "150")
    search.fill("NEEDLE")
    expect(terminal.get_by_test_id("terminal-matches")).to_have_text("1 match")
    search.press("Enter")
    expect(current).to_have_attribute("data-n", "3001")
    assert dashboard.errors == []


def test_the_output_socket_is_closed_when_the_page_is_left(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    hub.publish(session("s-leave", status="running"), output("s-leave", 1, 3))
    dashboard.open("#/sessions/s-leave")
    terminal = dashboard.page.get_by_test_id("session-terminal")
    expect(terminal.locator(".term-line[data-n='3']")).to_be_visible()
    dashboard.go("#/sessions")
    dashboard.page.wait_for_function("() => window.harness.views.session.terminal.socket === null")
    dashboard.go("#/sessions/s-leave")
    expect(terminal.locator(".term-line[data-n='3']")).to_be_visible()
    hub.publish(output("s-leave", 4, 1, "back again"))
    expect(terminal.locator(".term-line[data-n='4']")).to_contain_text("back again")
    assert dashboard.errors == []


def test_the_agent_row_shows_its_latest_tool_call(dashboard: Dashboard) -> None:
    """`session:tool` comes from the adapters' side of the catalogue; until this hub knows
    the type, the store is fed the message the hub will send."""
    dashboard.hub.publish(
        session("s-tool", agent_id="a-tool", status="running"),
        agent("a-tool", name="tooly", status="working", current_session_id="s-tool"),
    )
    dashboard.open("#/")
    row = dashboard.page.get_by_test_id("agent-row").filter(has_text="tooly")
    tool = row.get_by_test_id("agent-tool")
    expect(tool).to_be_hidden()
    dashboard.page.evaluate(
        """() => {
          const store = window.harness.store;
          const call = (seq, tool, target, status, session_id = 's-tool') => ({
            type: 'session:tool', seq, timestamp: new Date().toISOString(),
            payload: { session_id, agent_id: 'a-tool', tool, target, status,
                       at: new Date().toISOString() },
          });
          store.ingest([call(store.seq + 1, 'Edit', 'src/app.py', 'started'),
                        call(store.seq + 2, 'Bash', 'pytest -q', 'failed')]);
        }"""
    )
    expect(tool).to_have_text("Bash pytest -q")
    expect(tool).to_have_attribute("data-status", "failed")
    dashboard.page.evaluate(
        """() => {
          const store = window.harness.store;
          store.ingest([{ type: 'session:tool', seq: store.seq + 1,
            timestamp: new Date().toISOString(),
            payload: { session_id: 's-old', agent_id: 'a-tool', tool: 'Read', target: 'x',
                       status: 'completed' } }]);
        }"""
    )
    expect(tool).to_be_hidden()  # a call of another session than the agent's current one
    assert dashboard.errors == []


def test_a_terminal_that_reconnects_gets_exactly_the_lines_it_missed(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    hub.publish(session("s-re", status="running"), output("s-re", 1, 10))
    dashboard.open("#/sessions/s-re")
    terminal = dashboard.page.get_by_test_id("session-terminal")
    expect(terminal.get_by_test_id("terminal-note")).to_contain_text("10 lines")
    numbers = "() => window.harness.views.session.terminal.lines.map((l) => l.n)"
    dashboard.page.evaluate("() => window.harness.views.session.terminal.socket.drop('test')")
    hub.publish(output("s-re", 11, 5), output("s-re", 16, 5))  # while it is away
    expect(terminal.get_by_test_id("terminal-note")).to_contain_text("20 lines")
    hub.publish(output("s-re", 21, 5))  # and live again
    expect(terminal.get_by_test_id("terminal-note")).to_contain_text("25 lines")
    assert dashboard.page.evaluate(numbers) == list(range(1, 26))
    assert dashboard.errors == []


def test_the_terminal_is_readable_on_a_phone(browser: Browser, dashboard: Dashboard) -> None:
    long = "a very long line of output " * 20
    dashboard.hub.publish(session("s-phone", status="running"), output("s-phone", 1, 30, long))
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{dashboard.hub.url}/#/sessions/s-phone")
        page.wait_for_selector("html[data-ready='true']")
        terminal = page.get_by_test_id("session-terminal")
        expect(terminal.locator(".term-line[data-n='30']")).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the session page scrolls sideways by {overflow}px on a phone"
        box = terminal.get_by_test_id("terminal-viewport").bounding_box()
        assert box is not None and box["width"] <= 390 and box["height"] >= 200
        expect(terminal.get_by_test_id("terminal-search")).to_be_visible()
    finally:
        context.close()


def tool(session_id: str, name: str, target: str, line: int) -> Event:
    return {
        "type": "session:tool",
        "payload": {
            "session_id": session_id,
            "agent_id": "a-tools",
            "tool": name,
            "target": target,
            "status": "started",
            "line": line,
        },
    }


def test_jump_to_tool_calls(dashboard: Dashboard) -> None:
    """The rows where tool calls happened are marked; ◀ tool ▶ go from one to the next,
    with the calls from the log and the live ones alike."""
    hub = dashboard.hub
    hub.publish(
        session("s-tools", agent_id="a-tools", status="running"),
        *[output("s-tools", first, 1000) for first in range(1, 3001, 1000)],
        tool("s-tools", "Edit", "src/app.py", 500),
        tool("s-tools", "Bash", "pytest -q", 2000),
    )
    dashboard.open("#/sessions/s-tools")
    terminal = dashboard.page.get_by_test_id("session-terminal")
    note = terminal.get_by_test_id("terminal-tool")
    expect(note).to_have_text("Bash pytest -q (latest of 2)")
    terminal.get_by_test_id("terminal-tool-prev").click()
    expect(note).to_have_text("Bash pytest -q (2 of 2)")
    expect(terminal).to_have_attribute("data-follow", "off")
    terminal.get_by_test_id("terminal-tool-prev").click()
    expect(note).to_have_text("Edit src/app.py (1 of 2)")
    row = terminal.locator(".term-line[data-n='500']")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-tool", "current")
    expect(row).to_have_attribute("title", "then: Edit src/app.py")

    hub.publish(output("s-tools", 3001, 10), tool("s-tools", "Read", "README.md", 3010))
    expect(note).to_have_text("Edit src/app.py (1 of 3)")
    terminal.get_by_test_id("terminal-tool-next").click()
    terminal.get_by_test_id("terminal-tool-next").click()
    expect(note).to_have_text("Read README.md (3 of 3)")
    expect(terminal.locator(".term-line[data-n='3010']")).to_have_attribute("data-tool", "current")
    assert dashboard.errors == []
