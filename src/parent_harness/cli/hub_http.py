"""One way for the `harness` commands to call a running hub's REST API."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import aiohttp
import typer

Url = Annotated[str, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="HARNESS_TOKEN", help="A token, if the hub needs one.")
]


async def request(
    method: str, url: str, token: str | None, body: Any = None, *, timeout_s: float = 60.0
) -> tuple[int, Any]:
    """(status, decoded JSON) of one request; aiohttp.ClientError when the hub does not
    answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
        session.request(method, url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


async def call(
    method: str, url: str, token: str | None, body: Any = None, *, timeout_s: float = 60.0
) -> tuple[int, Any]:
    """`request`, where a hub that does not answer ends the command with a message."""
    try:
        return await request(method, url, token, body, timeout_s=timeout_s)
    except aiohttp.ClientConnectionError as exc:
        typer.echo(f"error: no hub at {url} ({exc})", err=True)
        raise typer.Exit(1) from None


def fail(status: int, answer: Any) -> NoReturn:
    """Ends the command with the hub's problem detail."""
    detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
    typer.echo(f"error: {detail} (HTTP {status})", err=True)
    raise typer.Exit(1)
