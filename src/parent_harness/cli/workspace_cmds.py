"""`harness task diff|merge|pr|discard ID [--attempt N]`: a task attempt's work, from the terminal.

Each command finds the attempt (the latest, or ``--attempt N``) with
``GET /api/tasks/{id}/attempts``, then calls the workspace's route on the hub that runs the
orchestrator (``harness run``). A refusal prints the hub's problem detail (and, for a
conflict, the files) and exits 1.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

import aiohttp
import typer

Url = Annotated[str, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")]
Token = Annotated[
    str | None, typer.Option(envvar="HARNESS_TOKEN", help="A token, if the hub needs one.")
]
TaskId = Annotated[str, typer.Argument(help="The task's id.")]
Attempt = Annotated[
    int | None, typer.Option("--attempt", "-a", help="Which attempt (default: the latest).")
]
DEFAULT_URL = "http://127.0.0.1:3333"


class Refusal(Exception):
    """The hub answered with a problem."""


async def _call(
    method: str,
    url: str,
    token: str | None,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=300)  # a merge or a push may take a while
    options: dict[str, Any] = {"json": body, "headers": headers, "params": params or {}}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, url, **options) as response,
        ):
            answer = await response.json(content_type=None)
    except aiohttp.ClientConnectionError as exc:
        raise Refusal(f"no hub at {url} ({exc}); start `harness run` first") from None
    if response.status >= 400:
        detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
        conflicts = answer.get("conflicts") if isinstance(answer, dict) else None
        lines = [f"{detail} (HTTP {response.status})"]
        lines += [f"  conflict: {name}" for name in conflicts or ()]
        raise Refusal("\n".join(lines))
    return answer


async def _attempt(url: str, token: str | None, task_id: str, number: int | None) -> Any:
    answer = await _call("GET", f"{url}/api/tasks/{quote(task_id, safe='')}/attempts", token)
    attempts = answer["attempts"]
    if not attempts:
        raise Refusal(f"task {task_id} has no attempt with a workspace")
    if number is None:
        return attempts[-1]
    for attempt in attempts:
        if attempt["attempt"] == number:
            return attempt
    known = ", ".join(str(a["attempt"]) for a in attempts)
    raise Refusal(f"task {task_id} has no attempt {number} (attempts: {known})")


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except Refusal as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


async def _on_workspace(
    url: str,
    token: str | None,
    task_id: str,
    number: int | None,
    action: str,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    url = url.rstrip("/")
    attempt = await _attempt(url, token, task_id, number)
    method = "GET" if action == "diff" else "POST"
    where = f"{url}/api/workspaces/{quote(attempt['id'], safe='')}/{action}"
    return attempt, await _call(method, where, token, body, params)


def diff(
    task_id: TaskId,
    attempt: Attempt = None,
    file: Annotated[str | None, typer.Option(help="Show this file's unified diff.")] = None,
    url: Url = DEFAULT_URL,
    token: Token = None,
) -> None:
    """The files an attempt changed (+/-), or one file's unified diff."""
    params = {"file": file} if file else None
    found, answer = _run(_on_workspace(url, token, task_id, attempt, "diff", None, params))
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
    body: dict[str, Any] = {"strategy": strategy}
    if message:
        body["message"] = message
    found, answer = _run(_on_workspace(url, token, task_id, attempt, "merge", body))
    typer.echo(
        f"merged attempt {found['attempt']} ({found['branch']}) into {found['base']} "
        f"by {strategy}: {str(answer['workspace'].get('merged_sha', ''))[:12]}"
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
    fields = {key: value for key, value in {"title": title, "body": body}.items() if value}
    _, answer = _run(_on_workspace(url, token, task_id, attempt, "pr", fields))
    typer.echo(answer["pr_url"])


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
    found, _ = _run(_on_workspace(url, token, task_id, attempt, "discard", {}))
    typer.echo(f"discarded attempt {found['attempt']} ({found['branch']})")


def register(task_app: typer.Typer) -> None:
    """Add ``diff``, ``merge``, ``pr`` and ``discard`` to ``harness task``."""
    for command in (diff, merge, pr, discard):
        task_app.command()(command)
