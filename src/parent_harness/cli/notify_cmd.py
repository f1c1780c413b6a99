"""`harness notify …`: commands for the notifications (Telegram, webhooks).

`harness notify test` sends a test message through each configured channel and target and
prints what happened to each; it exits 1 if any failed, 2 if the configuration is wrong.
With `--url URL` it asks a running hub to do it (`POST /api/notify/test`), so the messages
also show on the dashboard; without, it reads `[notify]` from the config file and sends itself.
"""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import aiohttp
import typer
from rich.console import Console
from rich.table import Table

from parent_harness.credentials import mask_url, mask_urls
from parent_harness.notify.check import ChannelCheck, check_settings, default_test_message
from parent_harness.notify.config import NotifySettings, load_settings
from parent_harness.notify.errors import NotifyConfigError

console = Console()

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar="HARNESS_CONFIG",
        help="The config file whose notify section is read.",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="HARNESS_URL", help="Ask this running hub to send instead."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="HARNESS_TOKEN", help="A token, if the hub needs one."),
]
TextOption = Annotated[str | None, typer.Option("--text", help="The message to send.")]


def register(app: typer.Typer) -> None:
    """Adds the `notify` command group to the harness CLI."""
    group = typer.Typer(help="Notifications: Telegram and webhooks.", no_args_is_help=True)
    group.command("test")(test)
    app.add_typer(group, name="notify")


def test(
    config: ConfigOption = Path("harness.toml"),
    url: UrlOption = None,
    token: TokenOption = None,
    text: TextOption = None,
) -> None:
    """Send a test message through each notification channel."""
    if url:
        checks = asyncio.run(_ask_hub(url, token, text))
    else:
        settings = _settings(config)
        dashboard = settings.public_url or "http://127.0.0.1:3333"
        checks = asyncio.run(check_settings(settings, text or default_test_message(dashboard)))
    _print(checks)
    if not checks or not all(check.ok for check in checks):
        raise typer.Exit(1)


def _settings(config: Path) -> NotifySettings:
    try:
        settings = load_settings(tomllib.loads(config.read_text()).get("notify", {}))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        _fail(f"cannot read {config}: {exc}")
    except NotifyConfigError as exc:
        _fail(f"{config}: {exc}")
    if not settings.has_channels:
        _fail(f"{config}: no channel configured: add [notify.telegram] or [[notify.webhooks]]")
    return settings


async def _ask_hub(hub: str, token: str | None, text: str | None) -> list[ChannelCheck]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"text": text} if text else {}
    url = hub.rstrip("/") + "/api/notify/test"
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            answer: Any = await response.json(content_type=None)
            if response.status != 200:
                detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
                _fail(f"{mask_url(url)}: HTTP {response.status}: {detail}")
    except (aiohttp.ClientError, ValueError) as exc:
        _fail(mask_urls(f"{url}: {exc}"))
    if not answer.get("results"):
        _fail(str(answer.get("message") or "the hub has no notification channel"))
    return [ChannelCheck(**item) for item in answer["results"]]


def _print(checks: list[ChannelCheck]) -> None:
    table = Table("channel", "target", "result", "detail")
    for check in checks:
        result = "[green]ok[/green]" if check.ok else "[red]failed[/red]"
        table.add_row(check.channel, check.target, result, check.detail)
    console.print(table)


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)
