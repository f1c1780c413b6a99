"""`harness export` and `harness import`: incident bundles (hub/bundles.py) to and from a hub."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import orjson
import typer

from parent_harness.cli.hub_http import Token, Url, fail
from parent_harness.hub.bundles import BadBundle, bundle_lines, read_bundle

From = Annotated[
    str | None,
    typer.Option(
        "--from", help="Start: a seq, or an ISO 8601 time (the first event at or after it; UTC)."
    ),
]
To = Annotated[
    str | None,
    typer.Option(help="End: a seq, or an ISO 8601 time (the last event at or before it; UTC)."),
]


async def _download(url: str, token: str | None, query: dict[str, str], out: Path) -> int:
    """Streams the export into `out` (gzip'd when it ends in .gz); the bytes written."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
        session.get(f"{url.rstrip('/')}/api/export", params=query) as response,
    ):
        if response.status != 200:
            fail(response.status, await response.json(content_type=None))
        partial = out.with_name(out.name + ".partial")
        opener: Any = gzip.open if out.suffix == ".gz" else open
        size = 0
        with opener(partial, "wb") as f:
            async for chunk in response.content.iter_chunked(1 << 16):
                f.write(chunk)
                size += len(chunk)
        partial.replace(out)  # a bundle cut short never takes the name
        return size


def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The bundle file (.gz: gzip'd).")],
    from_: From = None,
    to: To = None,
    task: Annotated[str | None, typer.Option(help="Only the events of this task.")] = None,
    session: Annotated[str | None, typer.Option(help="Only the events of this session.")] = None,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Write an incident bundle: the state at the start, the events (JSON lines with their
    seq) and a Markdown summary (docs/history.md)."""
    given = {"from": from_, "to": to, "task": task, "session": session}
    wanted = {k: v for k, v in given.items() if v}
    try:
        size = asyncio.run(_download(url, token, wanted, output))
    except aiohttp.ClientConnectionError as exc:
        typer.echo(f"error: no hub at {url} ({exc})", err=True)
        raise typer.Exit(1) from None
    trailer = orjson.loads(_last_line(output))
    typer.echo(f"{output}: {trailer['events']} events, {size} bytes")
    typer.echo(trailer["summary"])


def _last_line(path: Path) -> bytes:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        last = b""
        for raw in f:
            last = raw
    return last


async def _upload(url: str, token: str | None, body: bytes) -> tuple[int, Any]:
    """POSTs the bundle's lines (one JSON array, encoded once) to /api/import."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(f"{url.rstrip('/')}/api/import", data=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


def import_(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `harness export`.")],
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Load a bundle into a fresh hub (its log must be empty), whole or not at all."""
    try:
        lines = bundle_lines(bundle.read_bytes())
    except BadBundle as exc:
        typer.echo(f"error: {bundle}: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        status, body = asyncio.run(_upload(url, token, orjson.dumps(lines)))
    except aiohttp.ClientConnectionError as exc:
        typer.echo(f"error: no hub at {url} ({exc})", err=True)
        raise typer.Exit(1) from None
    if status != 200:
        fail(status, body)
    r = body["range"]
    typer.echo(f"imported {body['imported']} events (seq {r['from_seq']} to {r['to_seq']})")


async def _fetch(url: str, token: str | None, query: dict[str, str]) -> bytes:
    """The export's bytes, in memory (a replay reads them whole)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
    async with (
        aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
        session.get(f"{url.rstrip('/')}/api/export", params=query) as response,
    ):
        if response.status != 200:
            fail(response.status, await response.json(content_type=None))
        return await response.read()


def replay(
    config: Annotated[Path, typer.Option(help="The candidate: a harness.toml, or its tables.")],
    from_: From = None,
    to: To = None,
    bundle: Annotated[
        Path | None, typer.Option(help="Replay this bundle file instead of the hub's log.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """What would other health thresholds, budget limits and alert rules have done over
    this stretch of the log, against what was done? Nothing is sent, stopped or published."""
    from parent_harness.whatif import CandidateError, load_candidate
    from parent_harness.whatif import replay as run_replay

    try:
        candidate = load_candidate(config)
    except CandidateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if bundle is not None:
        data = bundle.read_bytes()
    else:
        query = {k: v for k, v in {"from": from_, "to": to}.items() if v}
        try:
            data = asyncio.run(_fetch(url, token, query))
        except aiohttp.ClientConnectionError as exc:
            typer.echo(f"error: no hub at {url} ({exc})", err=True)
            raise typer.Exit(1) from None
    try:
        checked = read_bundle(bundle_lines(data))
    except BadBundle as exc:
        typer.echo(f"error: {bundle or 'the export'}: {exc}", err=True)
        raise typer.Exit(1) from None
    report = run_replay(checked, candidate)
    if as_json:
        typer.echo(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(report.table(), nl=False)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import")(import_)
    app.command("replay")(replay)
