"""`harness notify test` sends through each channel, from a config file or through a hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from typer.testing import CliRunner

from parent_harness.cli.main import app
from parent_harness.notify import routes
from tests.integration.notify.conftest import CHATS, StartNotifier, settings_for
from tests.integration.notify.servers import TOKEN, FakeBotApi, WebhookReceiver
from tests.unit.notify.fakes import FakeHub


def write_config(path: Path, api: FakeBotApi, receiver: WebhookReceiver) -> Path:
    path.write_text(
        f"""
[notify]
public_url = "http://dash.test"

[notify.telegram]
token = "{TOKEN}"
api_base_url = "{api.url}"
chat_ids = [{", ".join(CHATS)}]

[[notify.webhooks]]
url = "{receiver.hook_url}"
name = "ops-channel"
"""
    )
    return path


async def invoke(*args: str) -> tuple[int, str]:
    """Runs the CLI in a thread (it runs its own event loop) while the test's servers serve."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_test_reads_the_config_and_sends_through_each_channel(
    api: FakeBotApi, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "harness.toml", api, receiver)
    code, output = await invoke("notify", "test", "--config", str(config), "--text", "hello ops")
    assert code == 0, output
    assert api.texts(CHATS[0]) == api.texts(CHATS[1]) == ["hello ops"]
    assert receiver.texts() == ["hello ops"]
    assert "ops-channel" in output and "failed" not in output


async def test_a_failure_or_a_bad_config_sets_the_exit_code(
    api: FakeBotApi, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "harness.toml", api, receiver)
    receiver.statuses = [502]
    code, output = await invoke("notify", "test", "--config", str(config))
    assert code == 1 and "HTTP 502" in output

    config.write_text("[notify.telegram]\ntoken = '1:a'\nchat_ids = ['ops']\n")
    code, output = await invoke("notify", "test", "--config", str(config))
    assert code == 2 and "notify.telegram.chat_ids" in output


async def test_test_can_ask_a_running_hub(
    receiver: WebhookReceiver, start_notifier: StartNotifier
) -> None:
    notifier = await start_notifier(settings_for(receiver=receiver), FakeHub())
    application = web.Application()
    application.add_routes(routes(notifier))
    server = TestServer(application, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        code, output = await invoke("notify", "test", "--url", str(server.make_url("/")))
    finally:
        await server.close()
    assert code == 0, output
    assert receiver.texts()[0].startswith("✅ Test message from parent-harness")
