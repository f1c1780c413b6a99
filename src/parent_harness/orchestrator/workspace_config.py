"""``[workspace]``: where each task attempt works, validated and checked against the repo.

A workspace is a git worktree on a branch of its own, made from ``base`` for one attempt
of one task (issue 14). The table is written once at the top of ``harness.toml`` and may
be overridden per agent (``[agents.NAME.workspace]``, key by key). With ``mode = "none"``
(or no table at all) agents run in their ``workdir`` as before.

:func:`resolve_workspace` checks what only the machine can tell, when the configuration
loads: that git is installed, that ``repo`` is a git repository, and that ``base`` (by
default the repository's current branch) exists. It fills in ``repo`` (the top of the
working copy), ``base`` and ``root`` (by default ``<repo>/../.<repo-name>-worktrees``, outside
the user's working copy, so nothing the agents do shows up in ``git status`` there).

``base = "parent"`` stacks the attempts of a task graph (issue 17): a dependent task's
attempt starts from its parent's latest completed attempt, so a chain builds on each step's
result. The table then keeps ``stacked = true`` and ``base`` becomes the branch a chain's
first task starts from and every attempt merges into (the repository's current branch).
"""

from __future__ import annotations

import re
import shutil
import string
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .commands import command_argv

PARENT_BASE = "parent"
"""``base = "parent"``: start from the parent task's attempt (stacked workspaces)."""

BRANCH_FIELDS = frozenset({"task_id", "slug", "attempt", "agent", "session_id"})
"""Placeholders a branch template may use."""

DEFAULT_BRANCH = "harness/{task_id}-{slug}/{attempt}"

GIT_TIMEOUT_S = 20.0
"""How long a load-time git check may take (a repository on a dead network mount)."""

_PORTS = re.compile(r"\s*(\d{1,5})\s*-\s*(\d{1,5})\s*")


class WorkspaceError(ValueError):
    """The ``[workspace]`` table cannot work on this machine (git, repo, base branch)."""


class WorkspaceConfig(BaseModel):
    """One ``[workspace]`` table (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["worktree", "none"] = "worktree"
    repo: str | None = None
    base: str | None = None
    root: str | None = None
    branch: str = DEFAULT_BRANCH
    setup: tuple[tuple[str, ...], ...] = ()
    setup_timeout_s: float = Field(900.0, gt=0)
    copy_files: tuple[str, ...] = Field((), alias="copy")
    ports: tuple[int, int] | None = None
    ports_per_workspace: int = Field(10, ge=1, le=1000)
    auto_commit: bool = True
    stats_interval_s: float = Field(10.0, gt=0)
    """How often a running attempt's diff stats are counted and, if changed, published."""
    cleanup: Literal["on_merge", "keep"] | int = "on_merge"
    cleanup_every_s: float = Field(3600.0, gt=0)
    """How often ``cleanup = N`` (days) looks for old merged attempts (and after each merge)."""
    remote: str = "origin"
    stacked: bool = False
    """Whether a dependent task's attempt starts from its parent's (``base = "parent"``)."""

    @model_validator(mode="before")
    @classmethod
    def _parent_base(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("base") == PARENT_BASE:
            return {**data, "base": None, "stacked": True}
        return data

    @property
    def enabled(self) -> bool:
        """Whether agents get a worktree each (``mode = "worktree"``)."""
        return self.mode == "worktree"

    @field_validator("setup", mode="before")
    @classmethod
    def _setup_argvs(cls, value: Any) -> tuple[tuple[str, ...], ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("setup is a list of commands (each a string or a list of words)")
        return tuple(command_argv(command) for command in value)

    @field_validator("copy_files")
    @classmethod
    def _relative_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            pure = PurePosixPath(path)
            if not path or pure.is_absolute() or ".." in pure.parts:
                raise ValueError(f"copy: {path!r} must be a path inside the repository")
        return value

    @field_validator("ports", mode="before")
    @classmethod
    def _port_range(cls, value: Any) -> Any:
        if isinstance(value, str):
            found = _PORTS.fullmatch(value)
            if found is None:
                raise ValueError(f"ports: {value!r} is not a range such as '4000-4999'")
            value = (int(found[1]), int(found[2]))
        if isinstance(value, list | tuple) and len(value) == 2:
            low, high = value
            if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 65535):
                raise ValueError(f"ports: {value!r} must be two ports, low to high, 1-65535")
        return value

    @field_validator("cleanup")
    @classmethod
    def _days(cls, value: str | int) -> str | int:
        if isinstance(value, int) and value < 0:
            raise ValueError("cleanup: a number of days is 0 or more")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WorkspaceConfig:
        unknown = {n for _, n, _, _ in string.Formatter().parse(self.branch) if n} - BRANCH_FIELDS
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"branch: unknown placeholder(s) {names} in {self.branch!r}")
        if self.enabled and not self.repo:
            raise ValueError('repo: the repository to make worktrees of (mode = "worktree")')
        if self.ports is not None and self.ports[1] - self.ports[0] + 1 < self.ports_per_workspace:
            raise ValueError("ports: the range is smaller than ports_per_workspace")
        return self


def merged_table(top: Any, own: Any) -> Any:
    """An agent's workspace table: the top-level one with the agent's keys over it."""
    if own is None:
        return top
    if isinstance(top, dict) and isinstance(own, dict):
        return {**top, **own}
    return own


def resolve_workspace(config: WorkspaceConfig, base_dir: Path) -> WorkspaceConfig:
    """The table with ``repo``, ``base`` and ``root`` made absolute and checked.

    Raises :class:`WorkspaceError` naming what is wrong: git missing, ``repo`` not a git
    repository, a detached HEAD with no ``base``, or ``base`` not a branch.
    """
    if not config.enabled:
        return config
    git = shutil.which("git")
    if git is None:
        raise WorkspaceError('git is not installed (not on PATH); install it or set mode = "none"')
    given = Path(config.repo or ".")
    repo_dir = given if given.is_absolute() else base_dir / given
    if not repo_dir.is_dir():
        raise WorkspaceError(f"repo: {repo_dir} is not a directory")
    top = _git(git, repo_dir, "rev-parse", "--show-toplevel")
    if top is None:
        raise WorkspaceError(f"repo: {repo_dir} is not a git repository (git init it first)")
    repo = Path(top)
    base = config.base or _git(git, repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    if base is None:
        raise WorkspaceError(f"repo: {repo} has a detached HEAD; name the branch to start from")
    if _git(git, repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{base}^{{commit}}") is None:
        raise WorkspaceError(f"base: {base!r} is not a branch of {repo} (or has no commit yet)")
    root = Path(config.root) if config.root else repo.parent / f".{repo.name}-worktrees"
    if not root.is_absolute():
        root = base_dir / root
    if root.resolve().is_relative_to(repo.resolve()):
        raise WorkspaceError(
            f"root: {root} is inside the repository's working copy; put it outside"
        )
    return config.model_copy(update={"repo": str(repo), "base": base, "root": str(root)})


def _git(git: str, cwd: Path, *args: str) -> str | None:
    """One git command's output, or None when it fails."""
    try:
        done = subprocess.run(
            [git, *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
