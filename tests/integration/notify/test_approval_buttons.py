"""Telegram's answer buttons, on a real hub node (SQLite file) and the fake Bot API: a
`needs-input` alert carries them, a press from an allowed chat answers the approval (via
telegram, by the user), the press is answered and the alert edited; a late press is told who
won; a press from another chat is ignored and reported. `notify.only` keeps the messages to
needs-input, failure and completion, one per session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parent_harness.events.sink import Event
from parent_harness.hub.answers import NodeApprovals
from parent_harness.hub.node import Node
from parent_harness.notify import Notifier
from parent_harness.notify.approvals import MAX_CALLBACK_BYTES
from tests.integration.notify.conftest import CHATS, settings_for
from tests.integration.notify.servers import FakeBotApi


def requested(ident: str, **fields: Any) -> dict[str, Any]:
    approval = {
        "id": ident,
        "agent_id": "claude-1",
        "session_id": f"s-{ident[:20]}",
        "task_id": "t1",
        "kind": "permission",
        "tool": "Bash",
        "summary": f"run {ident[:20]}",
        "detail": "rm -rf build\necho done",
        "options": ["allow", "deny", "allow_session"],
        "status": "pending",
        "requested_at": "2026-12-01T12:00:00.000Z",
        **fields,
    }
    return {"approval": approval}


@dataclass
class Wired:
    node: Node
    notifier: Notifier
    seen: list[Event]

    def approval(self, ident: str) -> dict[str, Any]:
        return self.node.state.approvals[ident]


@pytest.fixture
async def wired(
    api: FakeBotApi, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Wired]:
    extra: dict[str, Any] = dict(getattr(request, "param", {}))
    desk = extra.pop("desk", NodeApprovals)
    node = Node(f"sqlite:///{tmp_path / 'harness.db'}")
    await node.start()
    seen: list[Event] = []
    node.add_listener(seen.append)
    notifier = Notifier(
        settings_for(api, **extra),
        node,
        state_path=tmp_path / "n.db",
        approvals=desk(node),
    )
    await notifier.start()
    try:
        yield Wired(node, notifier, seen)
    finally:
        await notifier.stop()
        await node.stop()


def alert(api: FakeBotApi, chat: str, summary: str) -> dict[str, Any]:
    return next(m for m in api.sent if m["chat_id"] == chat and summary in m["text"])


def data_of(message: dict[str, Any], label: str) -> str:
    return str(next(b["data"] for row in message["buttons"] for b in row if b["text"] == label))


async def test_a_button_answers_once_and_a_late_press_learns_who_won(
    api: FakeBotApi, wired: Wired
) -> None:
    await wired.node.publish("approval:requested", requested("ap1"))
    await api.until(lambda: all(api.texts(chat) for chat in CHATS))
    first, second = (alert(api, chat, "run ap1") for chat in CHATS)
    assert "Needs input: run ap1" in first["text"] and "rm -rf build" in first["text"]
    labels = [[b["text"] for b in row] for row in first["buttons"]]
    assert labels == [["✅ Allow", "⛔ Deny"], ["Allow for this session"]]
    assert data_of(first, "✅ Allow") == "ap:0:ap1"

    query = await api.press(int(CHATS[0]), first["id"], data_of(first, "✅ Allow"), "alice")
    # The pressed alert is edited by its press, the other chat's once the approval resolves.
    await api.until(lambda: len(api.answered) == 1 and len(api.edited) == 2)
    decided = wired.approval("ap1")
    assert (decided["decision"], decided["by"], decided["via"]) == ("allow", "@alice", "telegram")
    assert api.answered == [{"id": query, "text": "✅ allow by @alice via telegram"}]
    edits = {edit["chat_id"]: edit for edit in api.edited}
    for chat, alerted in zip(CHATS, (first, second), strict=True):
        edit = edits[chat]
        assert (edit["message_id"], edit["buttons"]) == (alerted["id"], [])
        assert edit["text"] == f"{alerted['text']}\n\n✅ allow by @alice via telegram"

    # A stale button (pressed before its edit arrived) is told who won and changes nothing.
    await api.press(int(CHATS[1]), second["id"], data_of(second, "⛔ Deny"), "bob")
    await api.until(lambda: len(api.answered) == 2 and len(api.edited) == 3)
    assert api.answered[1]["text"] == "Already decided: allow by @alice via telegram"
    assert wired.approval("ap1")["decision"] == "allow"
    answered = [e for e in wired.seen if e.type == "approval:answered"]
    assert len(answered) == 1, "the late press reached the log"
    presses = [
        e.payload["message"]["text"]
        for e in wired.seen
        if e.type == "telegram:message" and e.payload["message"]["direction"] == "in"
    ]
    assert presses == [
        "[@alice] ✅ allow by @alice via telegram",
        "[@bob] Already decided: allow by @alice via telegram",
    ]


async def test_answered_elsewhere_the_alerts_lose_their_buttons(
    api: FakeBotApi, wired: Wired
) -> None:
    await wired.node.publish("approval:requested", requested("ap9"))
    await api.until(lambda: all(api.texts(chat) for chat in CHATS))
    decided = await NodeApprovals(wired.node).answer("ap9", "deny", by="ops", via="api")
    assert decided.outcome == "answered"
    await api.until(lambda: len(api.edited) == 2)
    assert {e["chat_id"] for e in api.edited} == set(CHATS)
    assert all(e["text"].endswith("\n\n✅ deny by ops via api") for e in api.edited)
    assert all(e["buttons"] == [] for e in api.edited)


async def test_a_button_from_a_chat_not_allowed_is_ignored_and_reported(
    api: FakeBotApi, wired: Wired
) -> None:
    await wired.node.publish("approval:requested", requested("ap2"))
    await api.until(lambda: bool(api.texts(CHATS[0])))
    message = alert(api, CHATS[0], "run ap2")
    await api.press(999, message["id"], data_of(message, "✅ Allow"), "mallory")
    await api.say(int(CHATS[0]), "/help")  # handled after the press: the press is done with
    await api.until(lambda: len(api.texts(CHATS[0])) == 2)
    assert wired.approval("ap2")["status"] == "pending"
    assert (api.answered, api.edited) == ([], [])
    refused = [e.payload["event"] for e in wired.seen if e.type == "event"]
    assert [r["message"] for r in refused] == [
        "ignored a Telegram button from chat 999: not an allowed chat"
    ]
    assert refused[0]["level"] == "warning" and refused[0]["data"]["from"] == "mallory"


async def test_a_long_id_fits_the_callback_bound_and_choices_are_buttons(
    api: FakeBotApi, wired: Wired
) -> None:
    long_id = "approval-" + "x" * 150
    question = requested(long_id, kind="question", options=["Postgres", "SQLite"])
    await wired.node.publish("approval:requested", question)
    free = requested("free", kind="question", options=None)
    await wired.node.publish("approval:requested", free)
    await api.until(lambda: len(api.texts(CHATS[0])) == 2)
    message = alert(api, CHATS[0], f"run {long_id[:20]}")
    datas = [b["data"] for row in message["buttons"] for b in row]
    assert [len(d.encode()) <= MAX_CALLBACK_BYTES for d in datas] == [True, True]
    assert alert(api, CHATS[0], "run free")["buttons"] == []  # free text: on the dashboard
    await api.press(int(CHATS[0]), message["id"], data_of(message, "SQLite"))
    await api.until(lambda: len(api.answered) == 1)
    assert wired.approval(long_id)["decision"] == "SQLite"


class RefusingDesk(NodeApprovals):
    """The hub's approvals, but every answer fails (as when its store refuses writes)."""

    async def answer(self, approval_id: str, decision: str, *, by: str, via: str) -> Any:
        raise RuntimeError("the store refuses writes")


@pytest.mark.parametrize("wired", [{"desk": RefusingDesk}], indirect=True)
async def test_a_press_the_hub_cannot_take_is_answered_and_the_bot_keeps_going(
    api: FakeBotApi, wired: Wired
) -> None:
    await wired.node.publish("approval:requested", requested("ap5"))
    await api.until(lambda: bool(api.texts(CHATS[0])))
    message = alert(api, CHATS[0], "run ap5")
    await api.press(int(CHATS[0]), message["id"], data_of(message, "✅ Allow"))
    await api.until(lambda: len(api.answered) == 1)
    assert api.answered[0]["text"] == "The hub did not take the answer (RuntimeError). Try again."
    assert (api.edited, wired.approval("ap5")["status"]) == ([], "pending")
    await api.say(int(CHATS[0]), "/help")
    await api.until(lambda: len(api.texts(CHATS[0])) == 2)


def session(ident: str, status: str) -> dict[str, Any]:
    return {"session": {"id": ident, "agent_id": "a1", "task_id": "t1", "status": status}}


@pytest.mark.parametrize(
    "wired", [{"only": ["needs_input", "failure", "completion"]}], indirect=True
)
async def test_only_needs_input_failure_and_completion_once_per_session(
    api: FakeBotApi, wired: Wired
) -> None:
    node = wired.node
    agent = {"id": "a1", "status": "working", "health_status": "stuck"}
    await node.publish("agent:status", {"agent": agent})  # not a moment asked for
    task = {"id": "t1", "status": "failed", "error_details": {"message": "boom"}}
    await node.publish("task:failed", {"task": task})  # told by its session instead
    for ident, status in (("s1", "running"), ("s1", "failed"), ("s2", "completed")):
        await node.publish("session:ended" if status != "running" else "session:started",
                           session(ident, status))  # fmt: skip
    await node.publish("session:ended", session("s1", "failed"))  # the same session again
    await node.publish("approval:requested", requested("ap3"))
    await api.until(lambda: len(api.texts(CHATS[0])) == 3)
    await asyncio.wait_for(wired.notifier.settle(), 5)
    heads = sorted(text.splitlines()[0] for text in api.texts(CHATS[0]))
    assert heads == [
        "🔴 Session failed: session s1",
        "🔵 Session completed: session s2",
        "🟠 Needs input: run ap3",
    ]
