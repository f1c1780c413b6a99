"""Fixtures for the notification tests: fake Telegram, a webhook receiver, notifiers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from parent_harness.notify import ManualClock, Notifier, NotifySettings, load_settings
from parent_harness.notify.control import FleetControl
from tests.integration.notify.servers import TOKEN, FakeBotApi, WebhookReceiver
from tests.unit.notify.fakes import FakeHub

CHATS = ("111", "222")
StartNotifier = Callable[..., Awaitable[Notifier]]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


def settings_for(
    api: FakeBotApi | None = None, receiver: WebhookReceiver | None = None, **extra: Any
) -> NotifySettings:
    """Settings pointing at the test servers, with short timers."""
    section: dict[str, Any] = {"tick_s": 0.05, "public_url": "http://dash.test"}
    if api is not None:
        section["telegram"] = {
            "token": TOKEN,
            "api_base_url": api.url,
            "chat_ids": [int(chat) for chat in CHATS],
            "poll_timeout_s": 1,
            "retries": 3,
            "backoff_s": 0.01,
        }
    if receiver is not None:
        section["webhooks"] = [
            {"url": receiver.hook_url, "retries": 3, "backoff_s": 0.01, "headers": {"X-Key": "k"}}
        ]
    section.update(extra)
    return load_settings(section)


@pytest.fixture
async def start_notifier(tmp_path: Path) -> AsyncIterator[StartNotifier]:
    """Starts notifiers on a state file in tmp_path; stops those still running at the end."""
    running: list[Notifier] = []

    async def start(
        settings: NotifySettings,
        hub: FakeHub,
        control: FleetControl | None = None,
        clock: ManualClock | None = None,
    ) -> Notifier:
        notifier = Notifier(
            settings,
            hub,
            control=control,
            hub_url="http://hub.test",
            state_path=tmp_path / "harness.notify.db",
            clock=clock,
        )
        await notifier.start()
        running.append(notifier)
        return notifier

    yield start
    for notifier in running:
        if notifier.running:
            await notifier.stop()
