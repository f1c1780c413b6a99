"""Workspaces: a git worktree on a branch of its own for every attempt of a task (issue 14).

:class:`Workspaces` makes them and follows them through an attempt::

    workspace = await workspaces.create(config, task, attempt, session_id, agent)
    ...  # the agent runs with workspace.path as its working directory
    await workspaces.finish(workspace)  # auto-commit, diff stats, does it still merge?

``create`` adds a worktree on a new branch (``branch`` template) from the tip of ``base``
under ``root``, copies the git-ignored files named by ``copy``, hands out a block of ports
and runs the ``setup`` commands there; a failure of any of these raises
:class:`WorkspaceFailure` with the setup's output tail, and the task fails with
``error_details.kind = "workspace"``. Each change is published as a ``workspace:*`` event
with the whole entity. Earlier attempts stay where they are until cleanup, so attempts can
be compared. What is done with a finished workspace (diff, merge, pull request, discard) is
in :mod:`.merging`.

Stacked (``base = "parent"``, issue 17): a dependent task's attempt starts from the branch
of its parent's latest completed attempt (:attr:`Workspaces.parent_attempts` finds them), so
``base``/``base_sha`` name the parent's branch and head and the diff shows only this step's
work; with several such parents the first one's branch is the start and the others are
merged into the new worktree (a conflict fails the attempt, naming the files). Either way
the attempt merges into ``merge_into``, the configured branch, taking the parents' commits
with it.

Commands that write the repository's shared state (``worktree add``, refs) run under the
repository's lock (:class:`~.git.RepoLocks`); the rest run in the worktree itself, in
parallel with other attempts.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..events.clock import iso, now_iso, parse_iso, short_id
from .git import GitError, RepoLocks, git, git_ok
from .publisher import FleetPublisher
from .workspace_config import WorkspaceConfig

SETUP_TAIL_LINES = 40
IDENTITY = ("-c", "user.name=parent-harness", "-c", "user.email=parent-harness@localhost")
"""The committer when the repository names none (auto-commits must not fail for lack of it)."""


class WorkspaceFailure(RuntimeError):
    """A workspace could not be made ready; ``output_tail``: what its setup printed."""

    def __init__(self, message: str, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail


def slug(title: str, limit: int = 40) -> str:
    """A branch-safe slug of a task's title: ``Fix the login!`` -> ``fix-the-login``."""
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return words[:limit].rstrip("-") or "task"


class PortBlocks:
    """Hands out blocks of a port range, never the same block to two live workspaces."""

    def __init__(self) -> None:
        self._taken: dict[tuple[int, int, int], set[int]] = {}

    def take(self, ports: tuple[int, int], size: int) -> int:
        """The first port of a free block; :class:`WorkspaceFailure` when all are taken."""
        taken = self._taken.setdefault((*ports, size), set())
        for start in range(ports[0], ports[1] - size + 2, size):
            if start not in taken:
                taken.add(start)
                return start
        raise WorkspaceFailure(
            f"no free block of {size} ports in {ports[0]}-{ports[1]}: every one is in use by "
            f"a live workspace; widen workspace.ports"
        )

    def give_back(self, ports: tuple[int, int], size: int, start: int) -> None:
        """Free the block starting at ``start``."""
        self._taken.get((*ports, size), set()).discard(start)


@dataclass(slots=True)
class Workspace:
    """One attempt's worktree and what it holds so far (the ``workspace`` entity)."""

    id: str
    task_id: str
    session_id: str
    attempt: int
    repo: str
    path: str
    branch: str
    base: str
    base_sha: str
    config: WorkspaceConfig
    head_sha: str | None = None
    commits: int = 0
    files_changed: int = 0
    insertions: int = 0
    deletions: int = 0
    status: str = "active"
    conflicts: list[str] = field(default_factory=list)
    pr_url: str | None = None
    error: str | None = None
    port_base: int | None = None
    created_at: str = field(default_factory=now_iso)
    stacked_on: list[str] = field(default_factory=list)
    """The parent attempts (workspace ids) it started from, when stacked."""
    merge_into: str | None = None
    """The branch it merges into when that is not ``base`` (stacked)."""

    @property
    def target(self) -> str:
        """The branch a merge or pull request goes into."""
        return self.merge_into or self.base

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any], config: WorkspaceConfig) -> Workspace:
        """A workspace as the hub's state holds it (after a restart)."""
        return cls(
            id=str(entity["id"]),
            task_id=str(entity.get("task_id")),
            session_id=str(entity.get("session_id")),
            attempt=int(entity.get("attempt") or 0),
            repo=str(entity["repo"]),
            path=str(entity["path"]),
            branch=str(entity["branch"]),
            base=str(entity["base"]),
            base_sha=str(entity["base_sha"]),
            config=config,
            head_sha=entity.get("head_sha"),
            created_at=str(entity.get("created_at") or now_iso()),
            stacked_on=list(entity.get("stacked_on") or []),
            merge_into=entity.get("merge_into"),
        )

    def entity(self) -> dict[str, Any]:
        """The catalogue's ``workspace`` entity."""
        return {
            "id": self.id,
            "task_id": self.task_id,
            "session_id": self.session_id,
            "attempt": self.attempt,
            "repo": self.repo,
            "path": self.path,
            "branch": self.branch,
            "base": self.base,
            "base_sha": self.base_sha,
            "head_sha": self.head_sha,
            "commits": self.commits,
            "files_changed": self.files_changed,
            "insertions": self.insertions,
            "deletions": self.deletions,
            "status": self.status,
            "conflicts": list(self.conflicts),
            "pr_url": self.pr_url,
            "error": self.error,
            "port_base": self.port_base,
            "created_at": self.created_at,
            "stacked_on": list(self.stacked_on),
            "merge_into": self.merge_into,
        }

    @property
    def env(self) -> dict[str, str]:
        """What the agent and the setup commands are told about their workspace."""
        env = {
            "HARNESS_WORKSPACE": self.path,
            "HARNESS_WORKSPACE_ID": self.id,
            "HARNESS_BRANCH": self.branch,
            "HARNESS_BASE": self.base,
        }
        if self.port_base is not None:
            env |= {"PORT": str(self.port_base), "HARNESS_PORT_BASE": str(self.port_base)}
            env["HARNESS_PORT_COUNT"] = str(self.config.ports_per_workspace)
        return env


@dataclass(frozen=True, slots=True)
class DiffStats:
    """What a branch changed since the commit it started from."""

    commits: int
    files_changed: int
    insertions: int
    deletions: int
    head_sha: str


class Workspaces:
    """Makes, finishes and publishes the workspaces of one orchestrator (module docstring)."""

    def __init__(self, publisher: FleetPublisher, locks: RepoLocks | None = None) -> None:
        self._pub = publisher
        self.locks = locks or RepoLocks()
        self.ports = PortBlocks()
        self.live: dict[str, Workspace] = {}
        """Workspaces whose attempt is running, by id."""
        self.last_attempt: dict[str, int] = {}
        """Per task, the highest attempt number a workspace was made for (an interrupted
        attempt is given back to the task, but its branch stays: the next one is new)."""
        self.sweeps = 0
        """How many cleanup sweeps have run (``cleanup = N`` days)."""
        self.parent_attempts: Callable[[str], list[Mapping[str, Any]]] = lambda task_id: []
        """A stacked attempt's starting points: per parent of the task that has one, its
        latest completed attempt (the workspace entity), in the order of ``depends_on``."""

    # -- making one ------------------------------------------------------------------------

    async def create(
        self,
        config: WorkspaceConfig,
        task: Mapping[str, Any],
        attempt: int,
        session_id: str,
        agent: str,
    ) -> Workspace:
        """A ready worktree for this attempt, published; :class:`WorkspaceFailure` if not."""
        task_id = str(task["id"])
        attempt = max(attempt, self.last_attempt.get(task_id, 0) + 1)
        self.last_attempt[task_id] = attempt
        values = {
            "task_id": task_id,
            "slug": slug(str(task.get("title") or "")),
            "attempt": str(attempt),
            "agent": agent,
            "session_id": session_id,
        }
        branch = config.branch.format_map(values)
        assert config.repo and config.base and config.root  # resolve_workspace filled them
        repo, root = Path(config.repo), Path(config.root)
        path = root / task_id / f"{attempt}-{session_id}"
        parents = self.parent_attempts(task_id) if config.stacked else []
        base = str(parents[0]["branch"]) if parents else config.base
        async with self.locks(repo):
            start = await self._start_of(repo, parents[0]) if parents else None
            base_sha = await self._worktree_add(repo, base, branch, path, start)
            if parents[1:]:
                base_sha = await self._merge_parents(repo, branch, path, parents[1:])
        workspace = Workspace(
            id=short_id("w"),
            task_id=task_id,
            session_id=session_id,
            attempt=attempt,
            repo=str(repo),
            path=str(path),
            branch=branch,
            base=base,
            base_sha=base_sha,
            head_sha=base_sha,
            config=config,
            stacked_on=[str(p["id"]) for p in parents],
            merge_into=config.base if parents else None,
        )
        self.live[workspace.id] = workspace
        await self.publish("created", workspace)
        try:
            await self._prepare(workspace)
        except WorkspaceFailure as failure:
            self._release(workspace)
            workspace.status, workspace.error = "error", str(failure)
            await self.publish("updated", workspace)
            raise
        return workspace

    async def _start_of(self, repo: Path, parent: Mapping[str, Any]) -> str:
        """The commit a stacked attempt starts from: the parent's branch tip, or, when the
        branch was removed after its merge, the head it had (still a commit of ``base``)."""
        for ref in (f"refs/heads/{parent['branch']}", str(parent.get("head_sha") or "")):
            found = await git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            if ref and found.ok:
                return found.out.strip()
        raise WorkspaceFailure(
            f"the parent attempt's branch {parent['branch']!r} (task {parent.get('task_id')}) "
            f"and its head are gone from {repo}; nothing to stack on"
        )

    async def _merge_parents(
        self, repo: Path, branch: str, path: Path, parents: list[Mapping[str, Any]]
    ) -> str:
        """Merge the other parents' attempts into a new stacked worktree; its new head.

        A conflict removes the worktree and its branch (they hold nothing yet) and fails the
        attempt naming the files."""
        identity = () if (await git(path, "config", "user.email")).ok else IDENTITY
        for parent in parents:
            head = await self._start_of(repo, parent)
            message = f"harness: stack on task {parent.get('task_id')} ({parent['branch']})"
            step = await git(path, *identity, "merge", "--no-ff", "--no-edit", "-m", message, head)
            if not step.ok:
                unmerged = await git(path, "diff", "--name-only", "--diff-filter=U")
                files = ", ".join(unmerged.out.split()) or (step.err or step.out).strip()
                await git(repo, "worktree", "remove", "--force", str(path))
                await git(repo, "branch", "-D", branch)
                raise WorkspaceFailure(
                    f"stacking on several parents: merging {parent['branch']} conflicts "
                    f"in {files}; give the task one parent with a workspace, or resolve it"
                )
        return (await git_ok(path, "rev-parse", "HEAD")).strip()

    async def _worktree_add(
        self, repo: Path, base: str, branch: str, path: Path, start: str | None = None
    ) -> str:
        try:
            base_sha = (
                start or (await git_ok(repo, "rev-parse", "--verify", f"refs/heads/{base}")).strip()
            )
        except GitError as exc:
            raise WorkspaceFailure(f"base branch {base!r} is gone from {repo}: {exc}") from None
        if (await git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")).ok:
            raise WorkspaceFailure(
                f"branch {branch!r} already exists in {repo}; an earlier run left it: "
                f"merge or delete it, or change workspace.branch"
            )
        if await asyncio.to_thread(path.exists):
            raise WorkspaceFailure(f"{path} already exists; remove it or change workspace.root")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        added = await git(repo, "worktree", "add", "-b", branch, str(path), base_sha)
        if not added.ok:
            raise WorkspaceFailure(f"git worktree add failed: {added.err.strip()}")
        return base_sha

    async def _prepare(self, workspace: Workspace) -> None:
        config = workspace.config
        tail: deque[str] = deque(maxlen=SETUP_TAIL_LINES)
        self._copy(workspace, tail)
        if config.ports is not None:
            workspace.port_base = self.ports.take(config.ports, config.ports_per_workspace)
        for argv in config.setup:
            await self._setup_step(workspace, argv, tail)

    def _copy(self, workspace: Workspace, tail: deque[str]) -> None:
        for name in workspace.config.copy_files:
            source, target = Path(workspace.repo) / name, Path(workspace.path) / name
            if not source.exists():
                tail.append(f"copy: {name} is not in {workspace.repo}; skipped")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                if source.is_dir():
                    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
                else:
                    shutil.copy2(source, target)
            except OSError as exc:
                raise WorkspaceFailure(f"copy: cannot copy {name}: {exc}", "\n".join(tail)) from exc

    async def _setup_step(
        self, workspace: Workspace, argv: tuple[str, ...], tail: deque[str]
    ) -> None:
        shown = " ".join(argv)
        tail.append(f"$ {shown}")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=workspace.path,
                env={**os.environ, **workspace.env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            tail.append(str(exc))
            raise WorkspaceFailure(f"setup: cannot run {argv[0]}: {exc}", "\n".join(tail)) from exc
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), workspace.config.setup_timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            limit = workspace.config.setup_timeout_s
            raise WorkspaceFailure(
                f"setup: {shown} ran past {limit:g} s", "\n".join(tail)
            ) from None
        tail.extend(out.decode(errors="replace").splitlines())
        if proc.returncode != 0:
            raise WorkspaceFailure(f"setup: {shown} exited with {proc.returncode}", "\n".join(tail))

    # -- after a restart -------------------------------------------------------------------

    async def recover(
        self, entities: Iterable[Mapping[str, Any]], configs: Mapping[str, WorkspaceConfig]
    ) -> list[str]:
        """Find the attempts a stopped or killed run left ``active``; the ids recovered.

        Each one's worktree, if it is still there, gets what the agent left committed (with
        ``auto_commit``), its stats, and ``error`` saying it was interrupted; its status is
        ``ready`` or ``conflict`` like any finished attempt, so it can be compared, merged
        or discarded. A worktree deleted by hand is reported (status ``error``) and git's
        record of it pruned. Nothing is deleted: the branch keeps whatever work it holds.
        """
        recovered = []
        for entity in entities:
            number = int(entity.get("attempt") or 0)
            task_id = str(entity.get("task_id"))
            self.last_attempt[task_id] = max(self.last_attempt.get(task_id, 0), number)
            if entity.get("status") == "active" and entity.get("id") not in self.live:
                await self._recover_one(entity, configs.get(str(entity.get("repo"))))
                recovered.append(str(entity["id"]))
        return recovered

    async def _recover_one(self, entity: Mapping[str, Any], config: WorkspaceConfig | None) -> None:
        workspace = Workspace.from_entity(entity, config or WorkspaceConfig(mode="none"))
        session = workspace.session_id
        if not await asyncio.to_thread(Path(workspace.path).is_dir):
            async with self.locks(workspace.repo):
                await git(workspace.repo, "worktree", "prune")
            workspace.status = "error"
            workspace.error = (
                f"the worktree {workspace.path} is gone (deleted by hand?); "
                f"the branch {workspace.branch} is kept"
            )
        else:
            try:
                if config is None or config.auto_commit:
                    await self.commit_leftovers(workspace)
                await self.refresh(workspace)
                workspace.error = (
                    f"interrupted: the orchestrator stopped during session {session}; "
                    "what the agent left was committed"
                )
            except (GitError, OSError) as exc:
                workspace.status, workspace.error = "error", f"interrupted, then: {exc}"
        await self.publish("updated", workspace)

    # -- cleanup ---------------------------------------------------------------------------

    async def sweep(
        self,
        entities: Iterable[Mapping[str, Any]],
        configs: Mapping[str, WorkspaceConfig],
        now: datetime,
    ) -> list[str]:
        """Remove the worktrees that ``cleanup = N`` days says are old; the ids removed.

        The orchestrator runs it when it starts, every ``cleanup_every_s`` (an hour) and after
        each merge, with ``now`` from its wall clock (injected: tests move it by days).

        Only work that is safe: a finished attempt older than N days whose branch is
        merged (status ``merged``, or its head already in ``base``). An attempt holding
        unmerged work is never touched, whatever its age; nor is a worktree with changes
        git would lose (``git worktree remove`` without ``--force`` refuses).
        """
        removed = []
        for entity in list(entities):
            config = configs.get(str(entity.get("repo")))
            if (
                config is None
                or not isinstance(config.cleanup, int)
                or isinstance(config.cleanup, bool)
            ):
                continue
            if entity.get("status") in (None, "active", "discarded") or entity["id"] in self.live:
                continue
            born = parse_iso(str(entity.get("created_at") or iso(now)))
            if now - born < timedelta(days=config.cleanup):
                continue
            if await self._remove_if_merged(entity):
                removed.append(str(entity["id"]))
        self.sweeps += 1
        return removed

    async def _remove_if_merged(self, entity: Mapping[str, Any]) -> bool:
        repo, path, branch = str(entity["repo"]), str(entity["path"]), str(entity["branch"])
        async with self.locks(repo):
            tip = await git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}")
            merged = entity.get("status") == "merged" or (
                tip.ok
                and (
                    await git(
                        repo,
                        "merge-base",
                        "--is-ancestor",
                        tip.out.strip(),
                        f"refs/heads/{target_of(entity)}",
                    )
                ).ok
            )
            if not merged:
                return False
            there = await asyncio.to_thread(Path(path).exists)
            if not there and not tip.ok:
                return False  # removed already (on merge, or an earlier sweep)
            if there and not (await git(repo, "worktree", "remove", path)).ok:
                return False  # changes git would lose: kept
            await git(repo, "worktree", "prune")
            if tip.ok:
                await git(repo, "branch", "-D", branch)
        await self.publish("removed", {**entity, "status": "merged"})
        return True

    # -- finishing one ---------------------------------------------------------------------

    async def finish(self, workspace: Workspace, session_ok: bool = True) -> Workspace:
        """End of the attempt: commit what was left, count the diff, check it still merges."""
        self._release(workspace)
        try:
            if workspace.config.auto_commit:
                await self.commit_leftovers(workspace)
            await self.refresh(workspace)
        except (GitError, OSError) as exc:
            workspace.status, workspace.error = "error", str(exc)
        await self.publish("updated", workspace)
        return workspace

    async def commit_leftovers(self, workspace: Workspace) -> bool:
        """Commit whatever the agent left uncommitted (nothing it wrote is lost); whether any."""
        path = workspace.path
        await git_ok(path, "add", "--all")
        if (await git(path, "diff", "--cached", "--quiet")).ok:
            return False
        message = (
            f"harness: work left uncommitted by session {workspace.session_id}\n\n"
            f"Task {workspace.task_id}, attempt {workspace.attempt}, committed by parent-harness "
            f"at the end of the session."
        )
        identity = () if (await git(path, "config", "user.email")).ok else IDENTITY
        await git_ok(path, *identity, "commit", "--quiet", "--no-verify", "-m", message)
        return True

    async def refresh(self, workspace: Workspace) -> None:
        """Fill in the diff stats and whether the branch still merges into ``base``."""
        stats = await diff_stats(workspace.path, workspace.base_sha)
        workspace.head_sha = stats.head_sha
        workspace.commits, workspace.files_changed = stats.commits, stats.files_changed
        workspace.insertions, workspace.deletions = stats.insertions, stats.deletions
        workspace.conflicts = await merge_conflicts(
            workspace.repo, workspace.target, stats.head_sha
        )
        workspace.status = "conflict" if workspace.conflicts else "ready"
        workspace.error = None

    async def progress(self, workspace: Workspace) -> bool:
        """Count what a running attempt changed so far, committed or not, and publish it
        when it changed (``workspace:updated``, still ``active``); whether it did.

        Read-only git with ``GIT_OPTIONAL_LOCKS=0``, so the count never takes the index
        lock the agent's own git commands need. New files not yet added count as files,
        their lines at the end of the attempt.
        """
        path, env = workspace.path, {"GIT_OPTIONAL_LOCKS": "0"}
        try:
            head = (await git_ok(path, "rev-parse", "HEAD", env=env)).strip()
            commits = await git_ok(
                path, "rev-list", "--count", f"{workspace.base_sha}..{head}", env=env
            )
            numstat = await git_ok(
                path, "diff", "--numstat", "-z", "--no-renames", workspace.base_sha, env=env
            )
            others = await git_ok(path, "ls-files", "--others", "--exclude-standard", "-z", env=env)
        except (GitError, OSError):
            return False  # a count is an estimate: the end of the attempt gives the truth
        files, insertions, deletions = _count(numstat)
        files += sum(1 for name in others.split("\0") if name)
        counted = (head, int(commits.strip()), files, insertions, deletions)
        current = (workspace.head_sha, workspace.commits, workspace.files_changed,
                   workspace.insertions, workspace.deletions)  # fmt: skip
        if counted == current:
            return False
        (workspace.head_sha, workspace.commits, workspace.files_changed,
         workspace.insertions, workspace.deletions) = counted  # fmt: skip
        await self.publish("updated", workspace)
        return True

    def _release(self, workspace: Workspace) -> None:
        self.live.pop(workspace.id, None)
        config = workspace.config
        if config.ports is not None and workspace.port_base is not None:
            self.ports.give_back(config.ports, config.ports_per_workspace, workspace.port_base)

    async def publish(self, kind: str, workspace: Workspace | Mapping[str, Any]) -> None:
        """``workspace:<kind>`` with the whole entity."""
        entity = workspace.entity() if isinstance(workspace, Workspace) else dict(workspace)
        await self._pub.publish(f"workspace:{kind}", {"workspace": entity})


def target_of(entity: Mapping[str, Any]) -> str:
    """The branch a workspace entity merges into: ``merge_into`` when stacked, else ``base``."""
    return str(entity.get("merge_into") or entity["base"])


async def diff_stats(path: str | Path, base_sha: str) -> DiffStats:
    """Commits since ``base_sha`` and the lines they change (binary files count as files)."""
    head = (await git_ok(path, "rev-parse", "HEAD")).strip()
    commits = int((await git_ok(path, "rev-list", "--count", f"{base_sha}..{head}")).strip())
    numstat = await git_ok(path, "diff", "--numstat", "-z", "--no-renames", base_sha, head)
    files, insertions, deletions = _count(numstat)
    return DiffStats(commits, files, insertions, deletions, head)


def _count(numstat: str) -> tuple[int, int, int]:
    """Files, insertions and deletions of ``git diff --numstat -z`` (binary: a file, 0 lines)."""
    files = insertions = deletions = 0
    for record in numstat.split("\0"):
        parts = record.split("\t")
        if len(parts) < 3:
            continue
        files += 1
        insertions += int(parts[0]) if parts[0].isdigit() else 0
        deletions += int(parts[1]) if parts[1].isdigit() else 0
    return files, insertions, deletions


async def merge_conflicts(repo: str | Path, base: str, head: str) -> list[str]:
    """The files that would conflict merging ``head`` into ``base`` now (none: it merges).

    ``git merge-tree --write-tree`` computes the merge without a working copy or an index,
    so nothing anyone sees changes (git 2.38 or later; earlier, no check: an empty list).
    """
    result = await git(repo, "merge-tree", "--write-tree", "--name-only", "-z", base, head)
    if result.code != 1:  # 0: merges cleanly; other: not supported or an error
        return []
    # Output: the tree id, then the conflicted file names, then an empty entry, then messages.
    names: list[str] = []
    for entry in result.out.split("\0")[1:]:
        if entry == "":
            break
        if entry not in names:
            names.append(entry)
    return names
