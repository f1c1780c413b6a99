"""Passwords and tokens in URLs never reach what a user sees: health, errors, logs, CLI output.

The attack replayed: an operator runs the hub on `redis://:<password>@host/0` and a
PostgreSQL URL with a password, and alerts to a Slack webhook (whose path is the secret) and
a Telegram bot (whose token sits in every Bot API URL). Anyone who can read /api/health, a
503 body, a log file or the dashboard's error events must not learn any of them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from parent_harness.brokers import open_broker
from parent_harness.cli.main import app
from parent_harness.credentials import mask_url, mask_urls
from parent_harness.store.sql import SqlStore
from parent_harness.store.urls import async_url
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings
from tests.integration.notify import conftest as notify_fixtures
from tests.integration.notify.conftest import StartNotifier, settings_for
from tests.integration.notify.servers import TOKEN, FakeBotApi, WebhookReceiver
from tests.redis_server import RedisServer
from tests.unit.notify.fakes import FakeHub, failed_task

# The notification tests' servers and notifiers, as fixtures of this module too.
api, receiver, start_notifier = (
    notify_fixtures.api,
    notify_fixtures.receiver,
    notify_fixtures.start_notifier,
)

REDIS_PASSWORD = "r3dis-Pa55word"
PG_PASSWORD = "pg-Pa55word"

# ---- the one function that masks ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://default:secret@host:6380/1", "rediss://default:***@host:6380/1"),
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user:se/cr?et@host:5432/db", "postgresql://user:***@host:5432/db"),
        ("postgresql://user@host/db?password=secret", "postgresql://user@host/db?password=***"),
        ("redis://host:6379/0?db=1&password=secret", "redis://host:6379/0?db=1&password=***"),
        ("https://t.example/bot123:AbC-d_e/sendMessage", "https://t.example/bot***/sendMessage"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:///./harness.db", "sqlite:///./harness.db"),
        ("memory://", "memory://"),
        ("https://mastodon.example/@ops", "https://mastodon.example/@ops"),
        ("http://127.0.0.1:3333", "http://127.0.0.1:3333"),
    ],
)
def test_a_url_is_shown_with_its_secrets_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_urls_inside_a_message_are_masked() -> None:
    message = (
        "redis at redis://:secret@127.0.0.1:6379/0: Error 111 connecting. (url='redis://:x@h')"
    )
    assert mask_urls(message) == (
        "redis at redis://:***@127.0.0.1:6379/0: Error 111 connecting. (url='redis://:***@h')"
    )


def test_refused_urls_are_named_without_their_password() -> None:
    with pytest.raises(ValueError) as broker:
        open_broker("kafka://user:secret@host:9092")
    with pytest.raises(ValueError) as store:
        async_url("mysql://user:secret@host/db")
    assert "secret" not in str(broker.value) and "kafka://user:***@host:9092" in str(broker.value)
    assert "secret" not in str(store.value) and "mysql://user:***@host/db" in str(store.value)


# ---- a hub on a Redis with a password -------------------------------------------------------


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, password=REDIS_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis_hub(tmp_path: Path, locked_redis: RedisServer) -> AsyncIterator[HubServer]:
    store = f"sqlite:///{tmp_path / 'harness.db'}"
    server = HubServer(Settings(port=0, store=store, broker=locked_redis.url))
    await server.start()
    yield server
    await server.stop()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def _degraded_health(url: str, timeout: float = 10.0) -> str:
    """/api/health's body once the hub reports that it lost its broker."""
    async with asyncio.timeout(timeout):
        while True:
            status, text = await _get(url + "/api/health")
            if status == 503:
                return text
            await asyncio.sleep(0.05)


@pytest.mark.redis
async def test_health_shows_the_broker_url_without_its_password(
    redis_hub: HubServer, locked_redis: RedisServer
) -> None:
    _, text = await _get(redis_hub.url + "/api/health")

    assert REDIS_PASSWORD not in text
    assert f'"url":"redis://:***@127.0.0.1:{locked_redis.port}/0"' in text.replace(" ", "")


@pytest.mark.redis
async def test_redis_down_tells_no_password_in_503s_or_logs(
    redis_hub: HubServer, locked_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    locked_redis.stop()

    event = {"type": "event", "payload": {"event": {"message": "while redis is down"}}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(redis_hub.url + "/api/events", json=event) as response,
    ):
        status, refusal = response.status, await response.text()
    health = await _degraded_health(redis_hub.url)

    assert status == 503 and "redis://:***@127.0.0.1" in refusal, refusal
    assert REDIS_PASSWORD not in refusal
    assert REDIS_PASSWORD not in health
    assert caplog.records, "the lost broker is logged"
    assert REDIS_PASSWORD not in caplog.text


# ---- a store URL with a password --------------------------------------------------------------


def _with_password(pg_url: str) -> str:
    # The test cluster trusts 127.0.0.1, so the password is accepted and ignored.
    return pg_url.replace("postgres@", f"postgres:{PG_PASSWORD}@", 1)


@pytest.mark.postgres
async def test_health_and_db_upgrade_show_the_store_without_its_password(
    pg_url: str, tmp_path: Path
) -> None:
    store = _with_password(pg_url)
    upgrade = await asyncio.to_thread(CliRunner().invoke, app, ["db", "upgrade", "--store", store])
    server = HubServer(Settings(port=0, store=store))
    await server.start()
    try:
        status, health = await _get(server.url + "/api/health")
    finally:
        await server.stop()

    assert upgrade.exit_code == 0, upgrade.output
    assert PG_PASSWORD not in upgrade.output and "postgres:***@127.0.0.1" in upgrade.output
    assert status == 200 and PG_PASSWORD not in health and "postgres:***@127.0.0.1" in health


def test_a_store_describes_itself_without_its_password() -> None:
    store = SqlStore(f"postgresql://user:{PG_PASSWORD}@db.internal:5432/harness")
    assert store.description == "postgresql://user:***@db.internal:5432/harness"


# ---- notification channels --------------------------------------------------------------------


def _undelivered(hub: FakeHub) -> str:
    return str([p for p in hub.of_type("event") if p["event"]["level"] == "error"])


async def test_a_webhook_error_never_shows_its_secret_path(
    receiver: WebhookReceiver, start_notifier: StartNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.redirect_forever = True  # aiohttp's TooManyRedirects names the URL it followed
    hub = FakeHub()
    notifier = await start_notifier(settings_for(receiver=receiver), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 10)

    assert receiver.redirects > 0 and receiver.received == []
    reported = _undelivered(hub)
    assert "TooManyRedirects" in reported and receiver.url.split("//")[1] in reported
    assert "s3cret" not in reported
    assert "s3cret" not in caplog.text


async def test_a_telegram_error_never_shows_the_bot_token(
    api: FakeBotApi, start_notifier: StartNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.redirect_forever = True
    hub = FakeHub()
    notifier = await start_notifier(settings_for(api=api), hub)
    hub.emit("task:failed", failed_task("t-1"))
    await asyncio.wait_for(notifier.settle(), 10)

    reported = _undelivered(hub)
    assert api.redirects > 0 and "TooManyRedirects" in reported
    secret = TOKEN.split(":", 1)[1]
    assert secret not in reported
    assert secret not in caplog.text


async def test_the_sdk_names_a_hub_without_its_password() -> None:
    """A hub URL with credentials in it, unreachable: the SDK's error shows no password."""
    from parent_harness.client import HttpPublisher
    from parent_harness.exceptions import PublishError

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://admin:s3cret-pass@127.0.0.1:{port}"
    async with HttpPublisher(url, retries=0) as pub:
        with pytest.raises(PublishError) as failed:
            await pub.publish("event", {"event": {"message": "x"}})
    assert "s3cret-pass" not in str(failed.value)
    assert "admin:***@" in str(failed.value)
