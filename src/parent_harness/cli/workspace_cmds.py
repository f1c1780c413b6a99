"""`harness task diff|merge|pr|discard ID [--attempt N]`: a task attempt's work, from the terminal.

Each command finds the attempt (the latest, or ``--attempt N``) and calls the workspace's
route on the hub that runs the orchestrator (``harness run``), through the SDK's
:class:`~parent_harness.client.AttemptsClient`. A refusal prints the hub's problem detail
(and, for a conflict, the files) and exits 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast, get_args

import typer

from parent_harness.client import AttemptsClient
from parent_harness.client.attempts import Strategy
from parent_harness.exceptions import PublishError, WorkspaceRefused

Url = Annotated[str, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="HARNESS_TOKEN", help="A token, if the hub needs one.")
]
TaskId = Annotated[str, typer.Argument(help="The task's id.")]
Attempt = Annotated[
    int | None, typer.Option("--attempt", "-a", help="Which attempt (default: the latest).")
]
DEFAULT_URL = "http://127.0.0.1:3333"
STRATEGIES: tuple[str, ...] = get_args(Strategy)

T = TypeVar("T")
Work = Callable[[AttemptsClient, dict[str, Any]], Awaitable[T]]


def _on_attempt(url: str, token: str | None, task_id: str, number: int | None, work: Work[T]) -> T:
    """Runs ``work(client, attempt)``; a refusal is printed and exits 1."""

    async def run() -> T:
        async with AttemptsClient(url, token=token) as client:
            return await work(client, await client.attempt(task_id, number))

    try:
        return asyncio.run(run())
    except WorkspaceRefused as exc:
        lines = [f"error: {exc.detail} (HTTP {exc.status})"]
        lines += [f"  conflict: {name}" for name in exc.conflicts]
        typer.echo("\n".join(lines), err=True)
        raise typer.Exit(1) from None
    except PublishError as exc:
        typer.echo(f"error: {exc}; start `harness run` first", err=True)
        raise typer.Exit(1) from None


def diff(
    task_id: TaskId,
    attempt: Attempt = None,
    file: Annotated[str | None, typer.Option(help="Show this file's unified diff.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """The files an attempt changed (+/-), or one file's unified diff."""

    async def work(client: AttemptsClient, found: dict[str, Any]) -> tuple[Any, Any]:
        return found, await client.diff(found["id"], file)

    found, answer = _on_attempt(url, token, task_id, attempt, work)
    if file:
        typer.echo(answer["diff"] if answer["diff"] is not None else f"{file}: binary file")
        return
    typer.echo(
        f"attempt {found['attempt']} on {found['branch']} ({found['status']}): "
        f"{found['commits']} commit(s), +{found['insertions']} -{found['deletions']}"
    )
    for entry in answer["files"]:
        counts = "binary" if entry["binary"] else f"+{entry['insertions']} -{entry['deletions']}"
        typer.echo(f"  {entry['status']:<8} {counts:>14}  {entry['path']}")


def merge(
    task_id: TaskId,
    attempt: Attempt = None,
    strategy: Annotated[str, typer.Option(help="merge, squash or rebase.")] = "merge",
    message: Annotated[str | None, typer.Option(help="The merge commit's message.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Merge an attempt into its base branch (in a temporary worktree; conflicts refused)."""
    if strategy not in STRATEGIES:
        typer.echo(
            f"error: --strategy is one of {', '.join(STRATEGIES)}, not {strategy!r}", err=True
        )
        raise typer.Exit(2)
    chosen = cast(Strategy, strategy)

    async def work(client: AttemptsClient, found: dict[str, Any]) -> tuple[Any, Any]:
        return found, await client.merge(found["id"], chosen, message)

    found, after = _on_attempt(url, token, task_id, attempt, work)
    typer.echo(
        f"merged attempt {found['attempt']} ({found['branch']}) into {found['base']} "
        f"by {strategy}: {str(after.get('merged_sha', ''))[:12]}"
    )


def pr(
    task_id: TaskId,
    attempt: Attempt = None,
    title: Annotated[str | None, typer.Option(help="The pull request's title.")] = None,
    body: Annotated[str | None, typer.Option(help="The pull request's body.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Push an attempt's branch and open a pull request (needs gh, logged in, on the hub)."""

    async def work(client: AttemptsClient, found: dict[str, Any]) -> dict[str, Any]:
        return await client.pull_request(found["id"], title, body)

    after = _on_attempt(url, token, task_id, attempt, work)
    typer.echo(after["pr_url"])


def discard(
    task_id: TaskId,
    attempt: Attempt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """Remove an attempt's worktree and delete its branch: its work is gone."""
    what = f"attempt {attempt}" if attempt is not None else "the latest attempt"
    if not yes:
        typer.confirm(f"Discard {what} of task {task_id} (worktree and branch)?", abort=True)

    async def work(client: AttemptsClient, found: dict[str, Any]) -> dict[str, Any]:
        await client.discard(found["id"])
        return found

    found = _on_attempt(url, token, task_id, attempt, work)
    typer.echo(f"discarded attempt {found['attempt']} ({found['branch']})")


def register(task_app: typer.Typer) -> None:
    """Add ``diff``, ``merge``, ``pr`` and ``discard`` to ``harness task``."""
    for command in (diff, merge, pr, discard):
        task_app.command()(command)
