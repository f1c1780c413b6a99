"""`harness approvals [list|allow|deny|answer|hook]`: agents waiting for a human, from the
terminal (and Claude Code's hook command)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from parent_harness.cli import approvals_hook
from parent_harness.cli.hub_http import Token, Url, call, fail

By = Annotated[str | None, typer.Option(help="Who answers (shown with the answer).")]


def list_(
    all_: Annotated[bool, typer.Option("--all", help="Answered and expired ones too.")] = False,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """The approvals waiting for an answer (the newest first)."""
    query = "" if all_ else "?status=pending"
    status, body = asyncio.run(call("GET", f"{url.rstrip('/')}/api/approvals{query}", token))
    if status != 200:
        fail(status, body)
    if not body["items"]:
        typer.echo("no approvals pending" if not all_ else "no approvals")
    for a in body["items"]:
        options = "/".join(a.get("options") or [])
        where = f"{a.get('agent_id')} on {a.get('task_id')}"
        typer.echo(f"{a['id']}  {a.get('status')}  {where}  {a.get('tool') or a.get('kind')}: "
                   f"{a.get('summary') or ''}  [{options}]")  # fmt: skip
        if a.get("detail"):
            typer.echo(f"    {a['detail']}")


def _answer(approval_id: str, decision: str, answer: str | None, by: str | None, url: str,
            token: str | None) -> None:  # fmt: skip
    body = {"decision": decision, "answer": answer, "by": by, "via": "cli"}
    path = f"{url.rstrip('/')}/api/approvals/{approval_id}/answer"
    status, reply = asyncio.run(call("POST", path, token, body))
    if status != 200:
        fail(status, reply)
    typer.echo(f"{approval_id}: {decision}")


def allow(
    approval_id: str, by: By = None, url: Url = "http://127.0.0.1:3333", token: Token = None
) -> None:
    """Allow what the agent asks."""
    _answer(approval_id, "allow", None, by, url, token)


def deny(
    approval_id: str,
    reason: Annotated[str | None, typer.Option(help="Told to the agent.")] = None,
    by: By = None,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Deny what the agent asks."""
    _answer(approval_id, "deny", reason, by, url, token)


def answer(
    approval_id: str,
    decision: Annotated[str, typer.Argument(help="One of the approval's options.")],
    text: Annotated[str | None, typer.Option("--text", help="A free-text answer.")] = None,
    by: By = None,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
) -> None:
    """Answer with one of the approval's options (a question's choice), and text."""
    _answer(approval_id, decision, text, by, url, token)


def register(app: typer.Typer) -> None:
    """Add ``approvals list|allow|deny|answer`` to the ``harness`` command."""
    group = typer.Typer(help="Agents waiting for an answer.", no_args_is_help=True)
    group.command("list")(list_)
    group.command("allow")(allow)
    group.command("deny")(deny)
    group.command("answer")(answer)
    group.command("hook")(approvals_hook.hook)
    app.add_typer(group, name="approvals")
