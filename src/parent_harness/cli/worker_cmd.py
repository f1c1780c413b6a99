"""`harness worker`: run this machine's agents for a hub elsewhere (issue 19, docs/workers.md)."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parent_harness import __version__
from parent_harness.events.catalogue import LABEL, SAFE_TASK_ID


class WorkerTable(BaseModel):
    """The `[worker]` table of worker.toml; the rest of the file is a harness.toml's agents,
    tests and orchestrator tables."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=100, pattern=SAFE_TASK_ID)
    labels: list[Annotated[str, Field(max_length=100, pattern=LABEL)]] = Field(
        default_factory=list, max_length=50
    )
    capacity: int | None = Field(default=None, ge=1)
    spool: str = ".harness-worker/{name}.spool.db"
    """The file that keeps events while the hub is unreachable (`{name}`: the worker's)."""


def register(app: typer.Typer) -> None:
    """Adds `harness worker`."""
    app.command("worker")(worker)


def worker(
    hub: Annotated[str, typer.Option("--hub", envvar="HARNESS_HUB", help="The hub's URL.")],
    config: Annotated[
        Path, typer.Option("--config", envvar="HARNESS_WORKER_CONFIG", help="worker.toml")
    ] = Path("worker.toml"),
    token: Annotated[
        str | None, typer.Option("--token", envvar="HARNESS_TOKEN", help="A worker token.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", envvar="HARNESS_WORKER_NAME", help="The worker's name (over the config's)."
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", envvar="HARNESS_WORKER_LABEL", help="A label (repeatable)."),
    ] = None,
) -> None:
    """Run this machine's agents for the hub at --hub: register, claim tasks, report."""
    from parent_harness.cli.main import install_uvloop

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    fleet, table = _load(config)
    worker_name = name or table.name
    if not worker_name:
        _fail("name the worker: --name or [worker] name in the config")
    labels = sorted({*table.labels, *(label or ())})
    install_uvloop()
    asyncio.run(_serve(hub, token, worker_name, labels, fleet, table))


def _load(path: Path) -> tuple[Any, WorkerTable]:
    from parent_harness.orchestrator import ConfigError
    from parent_harness.orchestrator.config import parse_config

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"{path}: no such file (see docs/workers.md)")
    except tomllib.TOMLDecodeError as exc:
        _fail(f"{path}: not valid TOML: {exc}")
    try:
        table = WorkerTable.model_validate(data.pop("worker", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _fail(f"{path}: [worker] {where}: {first['msg']}")
    try:
        return parse_config(data, path.resolve().parent), table
    except ConfigError as exc:
        _fail(f"{path}: {exc}")


async def _serve(
    url: str, token: str | None, name: str, labels: list[str], fleet: Any, table: WorkerTable
) -> None:
    from parent_harness.cli.main import wait_for_signal
    from parent_harness.client.spool import EventSpool
    from parent_harness.client.worker import WorkerLink, WorkerRefused
    from parent_harness.orchestrator.worker import Worker

    async with WorkerLink(url, name, token=token) as link:
        spool = EventSpool(Path(table.spool.format(name=name)), link.send_events)
        await spool.start()
        stop = asyncio.Event()
        worker = Worker(
            fleet, link, spool, labels=labels, capacity=table.capacity, version=__version__
        )
        signals = asyncio.create_task(wait_for_signal())
        signals.add_done_callback(lambda _: stop.set())
        print(f"worker {name} for {url} (labels: {', '.join(labels) or 'none'})", flush=True)
        try:
            await worker.run(stop)
        except WorkerRefused as exc:
            _fail(f"the hub refused the worker: {exc}")
        finally:
            signals.cancel()
            await spool.flush_for(10.0)
            await spool.stop()


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
