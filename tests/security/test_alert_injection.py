"""Alert text injection, replayed: a task titled with Slack markup reaches no channel as markup.

The attack: an agent (or anyone who may publish) names a task
`<!channel> … <https://evil.example/login|the dashboard>`. When it fails, the alert carried the
title into a Slack webhook unescaped: Slack pinged the whole channel and showed a link whose
text said "the dashboard" and whose target was the attacker's. Here the real notifier sends
the alert to the real local webhook receiver and fake Bot API.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.integration.notify import conftest as notify_fixtures
from tests.integration.notify.conftest import StartNotifier, settings_for
from tests.integration.notify.servers import FakeBotApi, WebhookReceiver
from tests.unit.notify.fakes import FakeHub

# The notification tests' servers and notifiers, as fixtures of this module too.
api, receiver, start_notifier = (
    notify_fixtures.api,
    notify_fixtures.receiver,
    notify_fixtures.start_notifier,
)

TITLE = "<!channel> CI is down, log in at <https://evil.example/login|the dashboard> to fix"
SLACK_MARKUP = re.compile(r"<[!@#]|<https?://")
"""Slack's special mentions (`<!channel>`, `<@U…>`, `<#C…>`) and links (`<url|text>`)."""


def hostile_failure(task_id: str = "t-1") -> dict[str, Any]:
    return {
        "task": {
            "id": task_id,
            "title": TITLE,
            "status": "failed",
            "attempts": 1,
            "max_attempts": 3,
            "agent_id": "<!here>",
            "error_details": {"message": "see <https://evil.example/logs|the logs>"},
        }
    }


async def test_a_hostile_title_reaches_slack_escaped(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    notifier = await start_notifier(settings_for(receiver=receiver), hub)
    hub.emit("task:failed", hostile_failure())
    await asyncio.wait_for(notifier.settle(), 5)

    (text,) = receiver.texts()
    assert SLACK_MARKUP.search(text) is None, text
    assert "|the dashboard>" not in text and "|the logs>" not in text
    assert "&lt;!channel&gt; CI is down" in text and "&lt;!here&gt;" in text
    assert text.endswith("\nhttp://dash.test/#/tasks/t-1"), "the alert's own link still works"
    (incident,) = receiver.received[0]["incidents"]
    assert incident["context"]["title"] == TITLE, "the facts for machines stay as they were"


async def test_a_hostile_title_reaches_telegram_as_plain_text(
    api: FakeBotApi, start_notifier: StartNotifier
) -> None:
    hub = FakeHub()
    notifier = await start_notifier(settings_for(api=api), hub)
    hub.emit("task:failed", hostile_failure())
    await asyncio.wait_for(notifier.settle(), 5)

    sent = [message for message in api.sent if message["chat_id"] == "111"]
    assert len(sent) == 1
    # No parse_mode: Telegram shows the text as it is, so nothing in it is markup.
    assert sent[0]["parse_mode"] is None
    assert sent[0]["text"].startswith(f"🔴 Task failed: {TITLE}\n")
