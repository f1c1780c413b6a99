"""`harness`: serve the hub, run the fleet, publish, tail the stream, upgrade the store."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
from dataclasses import replace
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from parent_harness.cli.client_cmds import register as register_client
from parent_harness.cli.options import (
    AllowedHostOpt,
    AllowedOriginOpt,
    PublicUrlOpt,
    site_settings,
)
from parent_harness.web.auth import Tokens
from parent_harness.web.settings import Settings

EXTRAS: dict[str, str] = {
    "aiogram": "notify",
    "redis": "cluster",
    "hiredis": "cluster",
    "asyncpg": "cluster",
}
"""The optional extras of pyproject.toml, by the top-level module each one installs."""


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The optional extra that would install the module `exc` did not find, if one would."""
    return EXTRAS.get((exc.name or "").partition(".")[0])


def refuse_missing_extra(exc: ModuleNotFoundError, extra: str) -> NoReturn:
    """Exits with 2, naming the extra to install."""
    typer.echo(
        f"error: this needs the '{extra}' extra (no module {exc.name!r}): "
        f"pip install 'parent-harness[{extra}]'",
        err=True,
    )
    raise typer.Exit(2)


class HarnessGroup(TyperGroup):
    """The `harness` command: a module of an optional extra that is not installed, imported
    by whatever command runs, ends it with a message naming the extra, not a traceback."""

    def invoke(self, ctx: Any) -> Any:  # a click Context (vendored by typer)
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            refuse_missing_extra(exc, extra)


app = typer.Typer(
    cls=HarnessGroup,
    name="harness",
    help="parent-harness: the live control room for fleets of AI coding agents.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

Host = Annotated[str, typer.Option(envvar="HARNESS_HOST", help="Address to listen on.")]
Port = Annotated[int, typer.Option(envvar="HARNESS_PORT", help="Port; 0 picks a free one.")]
Store = Annotated[
    str, typer.Option(envvar="HARNESS_STORE", help="sqlite:///file.db or postgresql://...")
]
Broker = Annotated[
    str, typer.Option(envvar="HARNESS_BROKER", help="memory:// (redis:// for a cluster).")
]
TokenOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--token",
        envvar="HARNESS_TOKEN",
        help="Read+publish token (repeatable; TOKEN=room,room limits rooms).",
    ),
]
ReadTokenOpt = Annotated[
    list[str] | None,
    typer.Option("--read-token", envvar="HARNESS_READ_TOKEN", help="Read-only token (repeatable)."),
]
WorkerTokenOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--worker-token",
        envvar="HARNESS_WORKER_TOKEN",
        help="Token of workers on other machines (repeatable): docs/workers.md.",
    ),
]
LeaseOpt = Annotated[
    float,
    typer.Option(
        "--lease-s",
        envvar="HARNESS_LEASE_S",
        min=1.0,
        help="Seconds a worker's lease lasts without a renewal.",
    ),
]


def settings_from(
    host: str,
    port: int,
    store: str,
    broker: str,
    token: list[str] | None,
    read_token: list[str] | None,
) -> Settings:
    return Settings(
        host=host,
        port=port,
        store=store,
        broker=broker,
        tokens=tuple(token or ()),
        read_tokens=tuple(read_token or ()),
    )


def refuse_unsafe(settings: Settings) -> None:
    """Exits with 2 and the reason when the settings would expose the hub or its tokens
    are malformed (an empty one, say)."""
    try:
        settings.check()
        Tokens(settings.tokens, settings.read_tokens, settings.worker_tokens)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def install_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()


GC_YOUNG_THRESHOLD = 10_000
"""Net new container objects between young collections (CPython's default: 700)."""


def tune_gc() -> None:
    """Once the hub has started: its start-up objects leave the collector's generations for
    good (`gc.freeze`), and young collections wait for 10,000 net new objects instead of 700.

    At full ingest (POST /api/events, 100 clients) the events in flight, each a dozen dicts
    and records, kept crossing 700: about 300 young collections a second, which promoted
    them, so middle and full collections followed (3-6% of the hub's CPU, pauses of tens of
    ms on a busy machine). At 10,000 they are freed by reference counting first: 4 young
    collections in 7 s.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def serve_until_stopped(settings: Settings) -> None:
    """Runs the hub until SIGINT or SIGTERM, then closes clients with 1001 and commits."""
    from parent_harness.web.app import HubServer

    server = HubServer(settings)
    url = await server.start()
    tune_gc()
    typer.echo(
        f"parent-harness hub serving {url} (dashboard {url}/, websocket "
        f"{url.replace('http', 'ws', 1)}/ws)",
        err=False,
    )
    await wait_for_signal()
    await server.stop()


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 3333,
    store: Store = "sqlite:///./harness.db",
    broker: Broker = "memory://",
    token: TokenOpt = None,
    read_token: ReadTokenOpt = None,
    worker_token: WorkerTokenOpt = None,
    lease_s: LeaseOpt = 30.0,
    max_client_buffer: Annotated[
        int,
        typer.Option(
            envvar="HARNESS_MAX_CLIENT_BUFFER",
            help="Bytes a client may fall behind before it is closed with 4408.",
        ),
    ] = 4 * 1024 * 1024,
    replay_window: Annotated[
        int,
        typer.Option(
            envvar="HARNESS_REPLAY_WINDOW", help="Recent events kept in memory for `since`."
        ),
    ] = 10_000,
    max_frame_bytes: Annotated[
        int,
        typer.Option(envvar="HARNESS_MAX_FRAME_BYTES", help="Largest client frame (1009 past it)."),
    ] = 65536,
    max_messages_per_s: Annotated[
        float,
        typer.Option(envvar="HARNESS_MAX_MESSAGES_PER_S", help="Client frames/s before 4429."),
    ] = 50.0,
    max_rooms: Annotated[
        int,
        typer.Option(envvar="HARNESS_MAX_ROOMS", help="Rooms one client may be in."),
    ] = 1000,
    http_timeout: Annotated[
        float,
        typer.Option(
            envvar="HARNESS_HTTP_TIMEOUT",
            help="Seconds for a request's head, then its body, to arrive (and keep-alive idle).",
        ),
    ] = 15.0,
    max_batch_events: Annotated[
        int,
        typer.Option(envvar="HARNESS_MAX_BATCH_EVENTS", help="Events in one POST (413 past it)."),
    ] = 1000,
    max_body_bytes: Annotated[
        int,
        typer.Option(envvar="HARNESS_MAX_BODY_BYTES", help="Bytes in one request body (413)."),
    ] = 4 * 1024 * 1024,
    max_import_mb: Annotated[
        float,
        typer.Option(
            envvar="HARNESS_MAX_IMPORT_MB", min=0.001, help="MB of a bundle `harness import` sends."
        ),
    ] = 256.0,
    max_parents: Annotated[
        int,
        typer.Option(envvar="HARNESS_MAX_PARENTS", min=0, help="Parents one task may depend on."),
    ] = 100,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            envvar="HARNESS_CHECKPOINT_EVERY",
            min=1,
            help="Events between checkpoints of state (GET /api/state?at= folds at most these).",
        ),
    ] = 10_000,
    keep_days: Annotated[
        float,
        typer.Option(
            envvar="HARNESS_KEEP_DAYS",
            min=0.0,
            help="Days of events kept (0: all; cut at a checkpoint).",
        ),
    ] = 0.0,
    keep_events: Annotated[
        int,
        typer.Option(
            envvar="HARNESS_KEEP_EVENTS",
            min=0,
            help="Events kept, about (0: all; cut at a checkpoint).",
        ),
    ] = 0,
    output_keep_mb: Annotated[
        float,
        typer.Option(
            envvar="HARNESS_OUTPUT_KEEP_MB",
            min=0.0625,
            help="Agent output kept per session, in MB (its oldest lines dropped past it).",
        ),
    ] = 5.0,
    output_keep_days: Annotated[
        float,
        typer.Option(
            envvar="HARNESS_OUTPUT_KEEP_DAYS", min=0.001, help="Days agent output is kept."
        ),
    ] = 7.0,
    allowed_host: AllowedHostOpt = None,
    allowed_origin: AllowedOriginOpt = None,
    public_url: PublicUrlOpt = None,
) -> None:
    """Start the hub: WebSocket /ws, REST /api, dashboard at /, OpenAPI at /docs."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = replace(
        settings_from(host, port, store, broker, token, read_token),
        worker_tokens=tuple(worker_token or ()),
        lease_s=lease_s,
        max_client_buffer=max_client_buffer,
        replay_window=replay_window,
        max_frame_bytes=max_frame_bytes,
        max_messages_per_s=max_messages_per_s,
        max_rooms_per_client=max_rooms,
        http_timeout_s=http_timeout,
        max_batch_events=max_batch_events,
        max_body_bytes=max_body_bytes,
        max_parents=max_parents,
        max_import_bytes=int(max_import_mb * 1024 * 1024),
        checkpoint_every=checkpoint_every,
        keep_days=keep_days,
        keep_events=keep_events,
        output_keep_bytes=int(output_keep_mb * 1024 * 1024),
        output_keep_days=output_keep_days,
    )
    settings = site_settings(settings, allowed_host, allowed_origin, public_url)
    refuse_unsafe(settings)
    install_uvloop()
    asyncio.run(serve_until_stopped(settings))


@db_app.command("upgrade")
def db_upgrade(store: Store = "sqlite:///./harness.db") -> None:
    """Create or migrate the store's schema to the newest revision."""
    from parent_harness.store.sql import SqlStore

    async def run() -> None:
        sql = SqlStore(store)
        loaded = await sql.open()
        await sql.close()
        typer.echo(f"{sql.description}: schema up to date (epoch {loaded.epoch}, seq {loaded.seq})")

    asyncio.run(run())


COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "parent_harness.cli.orchestrate": ("run", "demo", "task"),
    "parent_harness.cli.notify_cmd": ("notify",),
    "parent_harness.cli.plan_cmd": ("plan",),
    "parent_harness.cli.approvals_cmd": ("approvals",),
    "parent_harness.cli.worker_cmd": ("worker",),
    "parent_harness.cli.bundle_cmds": ("export", "import", "replay"),
}
"""The modules that add commands to `harness` (their `register`), and the commands each adds."""

_ANY_ARGUMENTS = {"allow_extra_args": True, "ignore_unknown_options": True}


def register_commands(target: typer.Typer, modules: dict[str, tuple[str, ...]]) -> None:
    """Adds each module's commands to `target`. A module that needs an optional extra that is
    not installed adds commands that say which, instead; any other import error is raised."""
    for name, commands in modules.items():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            for command in commands:
                target.command(
                    command, help=f"(needs the '{extra}' extra)", context_settings=_ANY_ARGUMENTS
                )(_needs_extra(exc, extra))
        else:
            module.register(target)


def _needs_extra(exc: ModuleNotFoundError, extra: str) -> Any:
    def unavailable() -> None:
        refuse_missing_extra(exc, extra)

    return unavailable


register_client(app)
register_commands(app, COMMAND_MODULES)
