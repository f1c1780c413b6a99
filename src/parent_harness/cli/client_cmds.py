"""`harness tail` and `harness publish`: the SDK from the terminal."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.text import Text

from parent_harness.client import HttpPublisher, Subscriber, SubscribeRefused
from parent_harness.client.output import follow_output
from parent_harness.exceptions import HarnessError

Url = Annotated[str, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="HARNESS_TOKEN", help="A token, if the hub needs one.")
]

_STYLE = {
    "failed": "bold red",
    "completed": "green",
    "status": "cyan",
    "budget": "yellow",
    "reset": "bold magenta",
    "error": "red",
}


def _style(kind: str) -> str:
    return next((style for key, style in _STYLE.items() if key in kind), "white")


def summary(msg: dict[str, Any]) -> str:
    """One line about an event: the entity it is about and what it says."""
    payload = msg.get("payload", {})
    for key in ("task", "agent", "session", "test_run"):
        if isinstance(payload.get(key), dict):
            entity = payload[key]
            bits = [
                entity.get("id"),
                entity.get("status"),
                entity.get("health_status"),
                entity.get("title"),
            ]
            return " ".join(str(b) for b in bits if b)
    if "budget" in payload:
        b = payload["budget"]
        return f"{b.get('period')} ${b.get('spent_usd') or 0:.2f} of ${b.get('limit_usd') or 0:.2f}"
    if "event" in payload:
        return f"[{payload['event'].get('level')}] {payload['event'].get('message')}"
    if "message" in payload and isinstance(payload["message"], dict):
        return f"{payload['message'].get('direction')} {payload['message'].get('text')}"
    return orjson.dumps(payload).decode()[:160]


def register(app: typer.Typer) -> None:
    @app.command()
    def tail(
        url: Url = "http://127.0.0.1:3333",
        room: Annotated[list[str] | None, typer.Option(help="Room to follow (repeatable).")] = None,
        types: Annotated[
            str | None, typer.Option(help="Type globs, comma separated: task:*,*:failed")
        ] = None,
        since: Annotated[
            int | None, typer.Option(help="Replay events after this seq first.")
        ] = None,
        token: Token = None,
        json: Annotated[bool, typer.Option("--json", help="One JSON message per line.")] = False,
        session: Annotated[
            str | None,
            typer.Option(help="Follow this session's output instead (its kept lines first)."),
        ] = None,
    ) -> None:
        """Show the hub's live stream; reconnects and resumes by itself."""
        console = Console()
        if session is not None:
            _tail_output(console, url, session, token, json)
            return
        sub = Subscriber(
            url,
            rooms=room,
            types=types.split(",") if types else None,
            since=since,
            token=token,
            client="harness-tail",
        )

        async def run() -> None:
            async with sub:
                async for msg in sub:
                    if json:
                        sys.stdout.write(orjson.dumps(msg).decode() + "\n")
                        sys.stdout.flush()
                        continue
                    line = Text()
                    line.append(f"{msg.get('seq', ''):>8} ", style="dim")
                    line.append(f"{msg.get('timestamp', '')[11:23]} ", style="dim")
                    line.append(f"{msg['type']:<18} ", style=_style(msg["type"]))
                    line.append(summary(msg))
                    console.print(line)

        try:
            asyncio.run(run())
        except SubscribeRefused as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            pass

    @app.command()
    def publish(
        type: Annotated[str, typer.Argument(help="Event type, e.g. task:created.")],
        payload: Annotated[str, typer.Argument(help="The payload as JSON; '-' reads stdin.")],
        url: Url = "http://127.0.0.1:3333",
        id: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
        token: Token = None,
    ) -> None:
        """Publish one event; prints its id and seq."""
        raw = sys.stdin.read() if payload == "-" else payload
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            typer.echo(f"error: payload is not JSON: {exc}", err=True)
            raise typer.Exit(2) from None

        async def run() -> None:
            async with HttpPublisher(url, token=token) as pub:
                result = await pub.publish(type, body, id=id)
                dup = " (duplicate)" if result.duplicate else ""
                typer.echo(f"{result.id} seq={result.seq}{dup}")

        try:
            asyncio.run(run())
        except HarnessError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


def _tail_output(
    console: Console, url: str, session_id: str, token: str | None, json: bool
) -> None:
    """`harness tail --session ID`: the session's output as it printed it, colours and all,
    until it ends (stderr lines marked)."""

    async def run() -> None:
        async for line in follow_output(url, session_id, token=token):
            if json:
                sys.stdout.write(orjson.dumps(line).decode() + "\n")
                sys.stdout.flush()
                continue
            text = Text.from_ansi(line["text"])
            if line["stream"] == "stderr":
                text = Text("! ", style="red") + text
            console.print(text, highlight=False, markup=False, soft_wrap=True)

    try:
        asyncio.run(run())
    except (HarnessError, SubscribeRefused) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
