"""REST for task attempts and their workspaces (issue 14).

- `GET /api/tasks/{id}/attempts`: a task's attempts, one workspace each, from state;
- `GET /api/workspaces/{id}/defaults`: the merge message, pull request title and body the
  hub uses when none is given (the dashboard pre-fills its fields with them);
- `GET /api/workspaces/{id}/diff[?file=]`: the files an attempt changed, or one file's
  unified diff (binary files named, not dumped; a long diff truncated with a marker);
- `POST /api/workspaces/{id}/merge` {strategy, message?}, `/pr` {title?, body?},
  `/discard`: a merge (in a temporary worktree; a conflict is 409 naming the files, and
  nothing changes), a pull request (push + `gh`), or the worktree and branch removed.

Where git runs: the repositories belong to the orchestrator, so the routes that run git
are served by the hub process of `harness run`, which puts its `WorkspaceOps` in the
app's `WORKSPACES` slot. A hub without one (`harness serve` alone, or another node of a
cluster) answers 503 naming this. Reads of state (`attempts`) work on every hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from aiohttp import web
from aiohttp_pydantic.oas.typing import r200, r404, r409, r502, r503
from pydantic import BaseModel, ConfigDict, Field

from parent_harness.attempt_text import merge_message, pr_title
from parent_harness.exceptions import WorkspaceRefused
from parent_harness.problems import json_response, problem
from parent_harness.web.keys import NODE, QUERIES, WORKSPACES, Guard
from parent_harness.web.rest import Problem, acknowledged, inject, json_body
from parent_harness.web.scopes import grant_of, may_publish, sees_entity


class MergeBody(BaseModel):
    """How to merge an attempt into its base branch."""

    model_config = ConfigDict(extra="forbid")
    strategy: Literal["merge", "squash", "rebase"] = "merge"
    message: str | None = Field(default=None, min_length=1, max_length=5000)


class PullRequestBody(BaseModel):
    """The pull request's title and body (defaults name the task and the attempt)."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=60000)


NO_OPS = (
    "this hub does not run the orchestrator that owns the workspaces' repositories: "
    "diffs, merges and pull requests are served by the hub of `harness run` with a "
    "[workspace] table (docs/workspaces.md)"
)


def _not_yours(what: str) -> web.Response:
    return problem(403, "forbidden", f"{what} is outside the rooms of this token")


def _refused(exc: WorkspaceRefused) -> web.Response:
    codes = {404: "not_found", 409: "workspace_conflict", 502: "upstream_failed"}
    extra: dict[str, Any] = {"conflicts": exc.conflicts} if exc.conflicts else {}
    return problem(exc.status, codes.get(exc.status, "refused"), exc.detail, **extra)


async def pr_body(request: web.Request, entity: Mapping[str, Any]) -> str:
    """A pull request's default body: the task, its attempts, their tests and cost."""
    task_id = str(entity.get("task_id"))
    task = request.app[NODE].committed_state.tasks.get(task_id) or {}
    runs = await request.app[QUERIES].test_runs(task_id)
    lines = [
        f"**{task.get('title') or task_id}** (task `{task_id}`, made by parent-harness)",
        "",
        str(task.get("description") or "").strip(),
        "",
        "| attempt | branch | commits | files | +/- | status | tests | cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in attempts_of(request, task_id):
        tests = [r for r in runs if r.get("session_id") == a.get("session_id")]
        lines.append(
            f"| {a.get('attempt')}{' (this one)' if a['id'] == entity['id'] else ''} "
            f"| `{a.get('branch')}` | {a.get('commits') or 0} | {a.get('files_changed') or 0} "
            f"| +{a.get('insertions') or 0} -{a.get('deletions') or 0} | {a.get('status')} "
            f"| {_tests_text(tests)} | {_money(a.get('cost_usd'))} |"
        )
    total = (task.get("token_usage") or {}).get("cost_usd")
    lines += ["", f"Total cost of the task: {_money(total)}."]
    return "\n".join(line for line in lines if line is not None)


def _tests_text(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "none"
    last = runs[-1]
    counts = f"{last.get('passed') or 0} passed, {last.get('failed') or 0} failed"
    return f"{last.get('status')} ({counts})"


def _money(usd: Any) -> str:
    return f"${usd:.4f}" if isinstance(usd, int | float) else "—"


def attempts_of(request: web.Request, task_id: str) -> list[dict[str, Any]]:
    """A task's attempts: each workspace with its session's status and cost and its latest
    test run ({status, passed, failed, skipped}, or None), from the committed state."""
    state = request.app[NODE].committed_state
    runs = [r for r in state.test_runs.values() if r.get("task_id") == task_id]
    listed = []
    for workspace in state.attempts(task_id):
        session = state.sessions.get(workspace.get("session_id") or "") or {}
        usage = session.get("token_usage") or {}
        mine = [r for r in runs if r.get("session_id") == workspace.get("session_id")]
        last = mine[-1] if mine else None
        tests = (
            {k: last.get(k) for k in ("status", "passed", "failed", "skipped")} if last else None
        )
        listed.append(
            {
                **workspace,
                "session_status": session.get("status"),
                "agent_id": session.get("agent_id"),
                "cost_usd": usage.get("cost_usd"),
                "tests": tests,
            }
        )
    return listed


@inject.and_request
async def task_attempts(
    request: web.Request, task_id: str, /
) -> r200[dict[str, Any]] | r404[Problem]:
    """A task's attempts, oldest first: each one's workspace (branch, commits, files, +/-,
    status), its session's status, agent and cost, and its latest test run."""
    seq, found = await request.app[QUERIES].entity("task", task_id)
    if found is None:
        return problem(404, "not_found", f"no task {task_id!r}")
    grant = grant_of(request)
    if not sees_entity(grant, "task", found):
        return _not_yours(f"task {task_id!r}")
    listed = [a for a in attempts_of(request, task_id) if sees_entity(grant, "workspace", a)]
    return json_response({"seq": seq, "task_id": task_id, "attempts": listed})


def _workspace(request: web.Request, workspace_id: str, *, acting: bool) -> Any:
    """The workspace entity and the operations, or the problem that answers instead."""
    found = request.app[NODE].state.workspaces.get(workspace_id)
    if found is None:
        return problem(404, "not_found", f"no workspace {workspace_id!r}")
    grant = grant_of(request)
    allowed = (
        may_publish(grant, "workspace:updated", {"workspace": found})
        if acting
        else sees_entity(grant, "workspace", found)
    )
    if not allowed:
        return _not_yours(f"workspace {workspace_id!r}")
    ops = request.app[WORKSPACES].ops
    if ops is None:
        return problem(503, "no_workspaces", NO_OPS)
    return found, ops


@inject.and_request
async def workspace_defaults(
    request: web.Request, workspace_id: str, /
) -> r200[dict[str, Any]] | r404[Problem]:
    """What a merge or pull request of the attempt uses when it names nothing: the merge
    commit's message, the pull request's title and body (the task, its attempts, their
    tests and cost). Read from state: any hub answers."""
    entity = request.app[NODE].state.workspaces.get(workspace_id)
    if entity is None:
        return problem(404, "not_found", f"no workspace {workspace_id!r}")
    if not sees_entity(grant_of(request), "workspace", entity):
        return _not_yours(f"workspace {workspace_id!r}")
    return json_response(
        {
            "workspace_id": workspace_id,
            "merge_message": merge_message(entity),
            "pr_title": pr_title(entity),
            "pr_body": await pr_body(request, entity),
        }
    )


@inject.and_request
async def workspace_diff(
    request: web.Request, workspace_id: str, /, file: str = ""
) -> r200[dict[str, Any]] | r404[Problem] | r409[Problem] | r503[Problem]:
    """The files the attempt changed since it began ({path, status, insertions, deletions,
    binary}), or with `file=` that file's unified diff (`diff` null for a binary file;
    `truncated` true, and a marker at its end, past 512 KiB)."""
    found = _workspace(request, workspace_id, acting=False)
    if isinstance(found, web.Response):
        return found
    entity, ops = found
    try:
        answer = await ops.diff(entity, file or None)
    except WorkspaceRefused as exc:
        return _refused(exc)
    return json_response({"workspace_id": workspace_id, **answer})


@acknowledged
@json_body
@inject.and_request
async def workspace_merge(
    request: web.Request, workspace_id: str, /, body: MergeBody
) -> r200[dict[str, Any]] | r404[Problem] | r409[Problem]:
    """Merges the attempt's branch into its base (merge, squash or rebase), computed in a
    temporary worktree. A conflict is 409 with `conflicts` (the files), and nothing
    changes; so is a base checked out with uncommitted changes in the way."""
    found = _workspace(request, workspace_id, acting=True)
    if isinstance(found, web.Response):
        return found
    entity, ops = found
    try:
        after = await ops.merge(entity, body.strategy, body.message)
    except WorkspaceRefused as exc:
        return _refused(exc)
    return json_response({"workspace": after})


@acknowledged
@json_body
@inject.and_request
async def workspace_pr(
    request: web.Request, workspace_id: str, /, body: PullRequestBody
) -> r200[dict[str, Any]] | r404[Problem] | r409[Problem] | r502[Problem]:
    """Pushes the branch to the configured remote and opens a pull request with `gh`;
    409 names what is missing (gh, its login, the remote), 502 when the push or gh failed."""
    found = _workspace(request, workspace_id, acting=True)
    if isinstance(found, web.Response):
        return found
    entity, ops = found
    text = body.body if body.body is not None else await pr_body(request, entity)
    try:
        after = await ops.pull_request(entity, body.title, text)
    except WorkspaceRefused as exc:
        return _refused(exc)
    return json_response({"workspace": after, "pr_url": after.get("pr_url")})


@acknowledged
@inject.and_request
async def workspace_discard(
    request: web.Request, workspace_id: str, /
) -> r200[dict[str, Any]] | r404[Problem] | r409[Problem]:
    """Removes the attempt's worktree and deletes its branch (its work is gone)."""
    found = _workspace(request, workspace_id, acting=True)
    if isinstance(found, web.Response):
        return found
    entity, ops = found
    try:
        after = await ops.discard(entity)
    except WorkspaceRefused as exc:
        return _refused(exc)
    return json_response({"workspace": after})


def add_routes(app: web.Application, guard: Guard) -> None:
    """The routes of this module, each wrapped by `guard` (the hub's tokens)."""
    r = app.router
    r.add_get("/api/tasks/{task_id}/attempts", guard(task_attempts))
    r.add_get("/api/workspaces/{workspace_id}/defaults", guard(workspace_defaults))
    r.add_get("/api/workspaces/{workspace_id}/diff", guard(workspace_diff))
    r.add_post("/api/workspaces/{workspace_id}/merge", guard(workspace_merge))
    r.add_post("/api/workspaces/{workspace_id}/pr", guard(workspace_pr))
    r.add_post("/api/workspaces/{workspace_id}/discard", guard(workspace_discard))
