"""`harness plan apply|show FILE`: a set of tasks with their dependencies, from a file.

A plan file (TOML, JSON, or YAML when PyYAML is installed) holds an `id` and its `tasks`,
each with an `id`, a `title` and what `POST /api/tasks` takes, `depends_on` included::

    id = "release-1"

    [[tasks]]
    id = "schema"
    title = "Migrate the schema"

    [[tasks]]
    id = "api"
    title = "Update the API"
    depends_on = ["schema"]

    [[tasks]]
    id = "docs"
    title = "Write the docs"
    depends_on = [{ id = "schema", when = "always" }]
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.console import Console
from rich.tree import Tree

from parent_harness.cli.hub_http import Token, Url, call, fail, request
from parent_harness.graph import edges_of

PlanFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="The plan: .toml, .json or .yaml.")
]
_STATUS_STYLE = {
    "completed": "green",
    "failed": "bold red",
    "cancelled": "red",
    "running": "cyan",
    "blocked": "yellow",
}


class PlanFileError(ValueError):
    """A plan file that cannot be read: the message says where and why."""


def read_plan(path: Path) -> dict[str, Any]:
    """The plan in `path`, by its suffix; PlanFileError when it cannot be read."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            plan: Any = tomllib.loads(text)
        elif suffix == ".json":
            plan = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml  # type: ignore[import-untyped]
            except ModuleNotFoundError:
                raise PlanFileError(
                    f"{path}: YAML plans need PyYAML (pip install pyyaml), or write it as TOML"
                ) from None
            plan = yaml.safe_load(text)
        else:
            raise PlanFileError(f"{path}: a plan is a .toml, .json or .yaml file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{path}: {exc}") from None
    except ValueError as exc:  # a YAML error is a ValueError subclass of its own
        raise PlanFileError(f"{path}: {exc}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("tasks"), list):
        raise PlanFileError(f"{path}: a plan has an `id` and a list of `tasks`")
    return plan


def plan_tree(plan: Mapping[str, Any], statuses: Mapping[str, str]) -> Tree:
    """The plan as a tree: each task under its parents in the plan (a task with several
    parents is shown under the first, and named under the others)."""
    tasks = {str(t.get("id")): t for t in plan["tasks"]}
    children: dict[str, list[str]] = {}
    roots = []
    for task_id, task in tasks.items():
        parents = [e.parent for e in edges_of(task) if e.parent in tasks]
        if not parents:
            roots.append(task_id)
        for parent in parents:
            children.setdefault(parent, []).append(task_id)
    tree = Tree(f"plan {plan.get('id')} · {len(tasks)} tasks")
    shown: set[str] = set()

    def label(task_id: str, via: str | None) -> str:
        task = tasks[task_id]
        status = statuses.get(task_id)
        state = f" [{_STATUS_STYLE.get(status or '', 'dim')}]{status}[/]" if status else ""
        edge = next((e for e in edges_of(task) if e.parent == via), None)
        when = f" [dim]({edge.when})[/]" if edge is not None and edge.when != "on_success" else ""
        return f"{task_id}{state} {task.get('title', '')}{when}"

    def add(branch: Tree, task_id: str, via: str | None) -> None:
        if task_id in shown:
            branch.add(f"[dim]{task_id} (shown above)[/]")
            return
        shown.add(task_id)
        node = branch.add(label(task_id, via))
        for child in children.get(task_id, []):
            add(node, child, task_id)

    for root in roots:
        add(tree, root, None)
    return tree


async def _statuses(url: str, token: str | None, ids: set[str]) -> dict[str, str]:
    """The hub's status of each task of the plan (GET /api/tasks, page by page)."""
    out: dict[str, str] = {}
    cursor = ""
    while True:
        query = f"?limit=500&cursor={cursor}" if cursor else "?limit=500"
        status, page = await request("GET", f"{url}/api/tasks{query}", token)
        if status != 200:
            raise PlanFileError(f"the hub answered {status}: {page.get('detail', page)}")
        out.update({t["id"]: t["status"] for t in page["items"] if t["id"] in ids})
        cursor = page.get("next_cursor") or ""
        if not cursor or len(out) == len(ids):
            return out


def apply(plan_file: PlanFile, url: Url = "http://127.0.0.1:3333", token: Token = None) -> None:
    """Create and update a plan's tasks on a running hub; applying it again changes nothing."""
    plan = _read_or_exit(plan_file)
    status, answer = asyncio.run(call("POST", url.rstrip("/") + "/api/plans", token, plan))
    if status != 200:
        fail(status, answer)
    created, updated = answer["created"], answer["updated"]
    typer.echo(
        f"plan {answer['plan_id']}: {len(created)} created, {len(updated)} updated, "
        f"{answer['unchanged']} unchanged"
    )


def show(
    plan_file: PlanFile,
    url: Url = "http://127.0.0.1:3333",
    token: Token = None,
    live: Annotated[bool, typer.Option(help="Ask the hub for each task's status.")] = True,
) -> None:
    """Print a plan as a tree, with each task's status on the hub when it answers."""
    plan = _read_or_exit(plan_file)
    statuses: dict[str, str] = {}
    console = Console()
    if live:
        ids = {str(t.get("id")) for t in plan["tasks"]}
        try:
            statuses = asyncio.run(_statuses(url.rstrip("/"), token, ids))
        except (aiohttp.ClientError, PlanFileError) as exc:
            console.print(f"[dim](no statuses: {exc})[/]")
    console.print(plan_tree(plan, statuses))


def _read_or_exit(path: Path) -> dict[str, Any]:
    try:
        return read_plan(path)
    except PlanFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add ``plan apply`` and ``plan show`` to the ``harness`` command."""
    plan_app = typer.Typer(help="Plans: tasks with their dependencies.", no_args_is_help=True)
    plan_app.command("apply")(apply)
    plan_app.command("show")(show)
    app.add_typer(plan_app, name="plan")
