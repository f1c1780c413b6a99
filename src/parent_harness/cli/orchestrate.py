"""`harness run`, `harness demo` and `harness task add`: the fleet from the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import aiohttp
import typer

from parent_harness.cli import workspace_cmds
from parent_harness.cli.options import (
    AllowedHostOpt,
    AllowedOriginOpt,
    PublicUrlOpt,
    site_settings,
)
from parent_harness.orchestrator import ConfigError, HarnessConfig, Orchestrator, load_config
from parent_harness.web.settings import Settings

if TYPE_CHECKING:
    from parent_harness.notify.notifier import Notifier
    from parent_harness.web.app import HubServer

Feeder = Callable[[Orchestrator], Coroutine[Any, Any, None]]

Url = Annotated[str, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="HARNESS_TOKEN", help="A token, if the hub needs one.")
]
Host = Annotated[str | None, typer.Option(envvar="HARNESS_HOST", help="Address to listen on.")]
Port = Annotated[int | None, typer.Option(envvar="HARNESS_PORT", help="Port; 0 picks a free one.")]
Store = Annotated[
    str | None, typer.Option(envvar="HARNESS_STORE", help="sqlite:///file.db or postgresql://...")
]
Broker = Annotated[str | None, typer.Option(envvar="HARNESS_BROKER", help="memory:// or redis://")]
Tokens = Annotated[
    list[str] | None,
    typer.Option("--token", envvar="HARNESS_TOKEN", help="Read+publish token (repeatable)."),
]
ReadTokens = Annotated[
    list[str] | None,
    typer.Option("--read-token", envvar="HARNESS_READ_TOKEN", help="Read-only token (repeatable)."),
]


async def run_fleet(
    settings: Settings, config: HarnessConfig, feeder: Feeder | None = None, title: str = "fleet"
) -> None:
    """Serve the hub with the orchestrator in one process until SIGINT or SIGTERM."""
    from parent_harness.cli.main import tune_gc, wait_for_signal
    from parent_harness.orchestrator.leasing import LocalClaims
    from parent_harness.store.leases import LeaseBook
    from parent_harness.web.app import HubServer
    from parent_harness.web.keys import WORKSPACES

    server = HubServer(settings)
    url = await server.start()
    claims = LocalClaims(server.node, LeaseBook(server.node.store))  # beside any worker
    token = settings.tokens[0] if settings.tokens else None
    orchestrator = Orchestrator(
        config, hub=server.node, claims=claims, hub_url=url, hub_token=token
    )
    server.app[WORKSPACES].ops = orchestrator.workspace_actions()  # git runs in this process
    feeding: asyncio.Task[None] | None = None
    notifier = None
    try:
        await orchestrator.start()
        if config.notify:
            notifier = await _start_notifier(config, server, orchestrator, url)
        if feeder is not None:
            feeding = asyncio.create_task(feeder(orchestrator))
        tune_gc()
        agents = ", ".join(f"{a.name} x{a.max_instances}" for a in config.agents.values())
        typer.echo(f"parent-harness hub serving {url} (dashboard {url}/) with {title}: {agents}")
        await wait_for_signal()
    finally:
        if feeding is not None:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeding
        if notifier is not None:
            await notifier.stop()
        if orchestrator.started:
            await orchestrator.stop()
        await server.stop()


async def _start_notifier(
    config: HarnessConfig, server: HubServer, orchestrator: Orchestrator, url: str
) -> Notifier | None:
    """The Telegram and webhook notifications of ``[notify]``, wired to this fleet."""
    from parent_harness.hub.answers import NodeApprovals
    from parent_harness.notify.config import load_settings
    from parent_harness.notify.notifier import Notifier
    from parent_harness.web.keys import NOTIFIER

    settings = load_settings(config.notify)
    if not settings.has_channels:
        return None
    approvals = NodeApprovals(server.node)  # Telegram's buttons answer through the hub
    notifier = Notifier(
        settings, server.node, control=orchestrator, hub_url=url, approvals=approvals
    )
    await notifier.start()
    server.app[NOTIFIER].notifier = notifier  # POST /api/notify/test reaches it now
    return notifier


def _serve(settings: Settings, config: HarnessConfig, feeder: Feeder | None, title: str) -> None:
    from parent_harness.cli.main import install_uvloop, refuse_unsafe

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    refuse_unsafe(settings)
    install_uvloop()
    try:
        asyncio.run(run_fleet(settings, config, feeder, title))
    except OSError as exc:
        typer.echo(f"error: cannot listen on {settings.host}:{settings.port}: {exc}", err=True)
        typer.echo("       (--port 0 picks a free port)", err=True)
        raise typer.Exit(1) from None


def run(
    config: Annotated[
        Path, typer.Option("--config", "-c", envvar="HARNESS_CONFIG", help="The harness.toml.")
    ] = Path("harness.toml"),
    host: Host = None,
    port: Port = None,
    store: Store = None,
    broker: Broker = None,
    token: Tokens = None,
    read_token: ReadTokens = None,
    allowed_host: AllowedHostOpt = None,
    allowed_origin: AllowedOriginOpt = None,
    public_url: PublicUrlOpt = None,
) -> None:
    """Run the hub and the orchestrator over the agents and tasks of harness.toml."""
    try:
        loaded = load_config(config)
        _check_notify(loaded)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    hub = loaded.hub
    settings = Settings(
        host=host or hub.host,
        port=hub.port if port is None else port,
        store=store or hub.store or "sqlite:///./harness.db",
        broker=broker or hub.broker or "memory://",
        tokens=tuple(token or hub.token),
        read_tokens=tuple(read_token or ()),
        allowed_hosts=tuple(hub.allowed_hosts),
        allowed_origins=tuple(hub.allowed_origins),
        public_url=hub.public_url,
    )
    settings = site_settings(settings, allowed_host, allowed_origin, public_url)
    _serve(settings, loaded, None, f"the agents of {config}")


def _check_notify(config: HarnessConfig) -> None:
    """Refuse a bad ``[notify]`` table before anything starts."""
    if not config.notify:
        return
    from parent_harness.notify.config import load_settings
    from parent_harness.notify.errors import NotifyConfigError

    try:
        load_settings(config.notify)
    except NotifyConfigError as exc:
        raise ConfigError(f"notify: {exc}") from None


Speed = Annotated[
    float, typer.Option(envvar="HARNESS_SPEED", help="Agents' time scale: 0.5 is twice as fast.")
]
Every = Annotated[
    float, typer.Option(envvar="HARNESS_EVERY", help="Seconds between new tasks, on average.")
]


def demo(
    host: Host = None,
    port: Port = None,
    store: Store = None,
    token: Tokens = None,
    read_token: ReadTokens = None,
    speed: Speed = 1.0,
    every: Every = 4.0,
    allowed_host: AllowedHostOpt = None,
    allowed_origin: AllowedOriginOpt = None,
) -> None:
    """The hub, the orchestrator and a simulated fleet: open the dashboard and watch."""
    from parent_harness.orchestrator.demo import DemoFeeder, demo_config, make_demo_repo

    async def feed(orchestrator: Orchestrator) -> None:
        await DemoFeeder(orchestrator, every_s=every).run()

    with tempfile.TemporaryDirectory(prefix="harness-demo-") as scratch:
        settings = Settings(
            host=host or "127.0.0.1",
            port=3333 if port is None else port,
            store=store or f"sqlite:///{scratch}/demo.db",
            tokens=tuple(token or ()),
            read_tokens=tuple(read_token or ()),
        )
        settings = site_settings(settings, allowed_host, allowed_origin, None)
        repo = make_demo_repo(Path(scratch))
        title = f"a simulated fleet working on {repo}" if repo else "a simulated fleet"
        _serve(settings, demo_config(speed, repo), feed, title)


def task_add(
    title: Annotated[str, typer.Argument(help="What to do.")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    priority: Annotated[int, typer.Option(help="Higher runs first.")] = 0,
    max_attempts: Annotated[int | None, typer.Option(help="Runs before it fails for good.")] = None,
    agent: Annotated[str | None, typer.Option(help="The configured agent to run it.")] = None,
    suite: Annotated[
        str | None,
        typer.Option(help="The test suite that checks the work (tests.NAME in harness.toml)."),
    ] = None,
    test_command: Annotated[
        str | None,
        typer.Option(
            help="A command of the task's own, refused (the task fails) unless harness.toml "
            "sets tests.allow_task_commands = true; prefer --suite."
        ),
    ] = None,
    task_id: Annotated[
        str | None,
        typer.Option("--id", help="An id of your own: letters, digits, _ - and single dots."),
    ] = None,
    after: Annotated[
        list[str] | None,
        typer.Option(
            help="A task it depends on (repeatable): ID runs it when ID completes; "
            "ID:on_failure or ID:always for the other conditions."
        ),
    ] = None,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Queue a task on a running hub (POST /api/tasks)."""
    body: dict[str, Any] = {"title": title, "description": description, "priority": priority}
    optional = {
        "max_attempts": max_attempts,
        "agent_name": agent,
        "test_suite": suite,
        "test_command": test_command,
    }
    body.update({k: v for k, v in {**optional, "id": task_id}.items() if v is not None})
    if after:
        body["depends_on"] = [_edge(item) for item in after]
    status, answer = asyncio.run(_post(url.rstrip("/") + "/api/tasks", body, token))
    if status != 201:
        detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
        typer.echo(f"error: {detail} (HTTP {status})", err=True)
        raise typer.Exit(1)
    task = answer["task"]
    waits = f", waits for {', '.join(task['blocked_by'])}" if task.get("blocked_by") else ""
    typer.echo(
        f"{task['status']} {task['id']}: {task['title']} (priority {task['priority']}{waits})"
    )


def _edge(item: str) -> str | dict[str, str]:
    """`ID` or `ID:on_failure` / `ID:always`, as an item of depends_on."""
    parent, _, when = item.partition(":")
    if when in ("", "on_success"):
        return parent
    if when not in ("on_failure", "always"):
        raise typer.BadParameter(f"{item!r}: the condition is on_success, on_failure or always")
    return {"id": parent, "when": when}


def task_retry(
    task_id: Annotated[str, typer.Argument(help="The task to run again.")],
    with_dependents: Annotated[
        bool, typer.Option(help="Also re-arm the tasks cancelled because it failed.")
    ] = False,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Put a task back in the queue (POST /api/tasks/ID/retry)."""
    query = "?with_dependents=true" if with_dependents else ""
    path = f"{url.rstrip('/')}/api/tasks/{task_id}/retry{query}"
    status, answer = asyncio.run(_post(path, {}, token))
    if status != 200:
        detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
        typer.echo(f"error: {detail} (HTTP {status})", err=True)
        raise typer.Exit(1)
    rearmed = answer.get("rearmed") or []
    also = f"; re-armed {', '.join(rearmed)}" if rearmed else ""
    typer.echo(f"queued {task_id} again{also}")


async def _post(url: str, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            return response.status, await response.json(content_type=None)
    except aiohttp.ClientConnectionError as exc:
        typer.echo(f"error: no hub at {url} ({exc}); start `harness run` first", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Add ``run``, ``demo`` and ``task add|retry|diff|merge|pr|discard`` to ``harness``."""
    app.command()(run)
    app.command()(demo)
    task_app = typer.Typer(help="The task queue.", no_args_is_help=True)
    task_app.command("add")(task_add)
    task_app.command("retry")(task_retry)
    workspace_cmds.register(task_app)
    app.add_typer(task_app, name="task")
