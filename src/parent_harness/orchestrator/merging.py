"""What is done with a finished workspace: its diff, a merge, a pull request, a discard.

:class:`WorkspaceActions` works on the ``workspace`` entity as the hub's state holds it, so
it serves attempts made before a restart too. It runs in the process of ``harness run``,
which owns the repositories (the REST routes reach it through the app; a hub without it
answers 503).

Merges never happen in the user's working copy: the merge (or squash, or rebase) is made
in a temporary worktree from the tip of ``base``; a conflict is refused with the files
that conflict (:class:`Refused`, status 409), and the temporary worktree is removed, so
everything is as it was. A clean result then moves ``base`` forward: with ``update-ref``
(compare-and-swap on the tip it started from) when no working copy has ``base`` checked
out, else by a fast-forward of that working copy, which git refuses (and so do we, with
its reason) when the user's uncommitted changes are in the way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, ParamSpec

from ..attempt_text import merge_message, pr_title
from ..exceptions import WorkspaceRefused
from .git import GitError, RepoLocks, git, git_ok
from .workspace_config import WorkspaceConfig
from .workspaces import IDENTITY, Workspaces, merge_conflicts, target_of

MAX_FILE_DIFF = 512 * 1024
"""Characters of one file's unified diff given whole; a longer one ends in a marker."""
TRUNCATED = "\n... diff truncated at {limit} characters ({size} in all) ...\n"

log = logging.getLogger(__name__)
P = ParamSpec("P")
Strategy = Literal["merge", "squash", "rebase"]
FINISHED = frozenset({"merged", "discarded"})


Refused = WorkspaceRefused
"""An action on a workspace cannot be done; ``status`` is the HTTP status to answer."""


def _git_failures_refused(
    action: Callable[P, Coroutine[Any, Any, dict[str, Any]]],
) -> Callable[P, Coroutine[Any, Any, dict[str, Any]]]:
    """A git command that fails unexpectedly (a worktree deleted by hand, a full disk)
    refuses the action with git's own message, rather than failing the request."""

    @functools.wraps(action)
    async def refusing(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        try:
            return await action(*args, **kwargs)
        except (GitError, OSError) as exc:
            raise Refused(409, str(exc)) from exc

    return refusing


class WorkspaceActions:
    """Diff, merge, pull request and discard for workspace entities (module docstring)."""

    def __init__(
        self,
        workspaces: Workspaces,
        configs: Mapping[str, WorkspaceConfig],
        known: Callable[[], Iterable[Mapping[str, Any]]] = tuple,
        after_merge: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.workspaces = workspaces
        self.after_merge = after_merge
        """Run after each merge (the orchestrator's ``cleanup = N`` days sweep)."""
        self.configs = dict(configs)
        """Each repository's ``[workspace]`` table (remote, cleanup), by repo path."""
        self.known = known
        """Every workspace entity (the hub's state): after a merge moves a base, the other
        finished attempts on it are checked again (do they still merge?)."""

    @property
    def locks(self) -> RepoLocks:
        return self.workspaces.locks

    # -- diff ------------------------------------------------------------------------------

    @_git_failures_refused
    async def diff(self, entity: Mapping[str, Any], file: str | None = None) -> dict[str, Any]:
        """The files changed since the attempt began, or one file's unified diff."""
        repo, base_sha = str(entity["repo"]), str(entity["base_sha"])
        head = await self._head(entity)
        if file is None:
            return {
                "base_sha": base_sha,
                "head_sha": head,
                "files": await _files(repo, base_sha, head),
            }
        return {
            "base_sha": base_sha,
            "head_sha": head,
            **await _file_diff(repo, base_sha, head, file),
        }

    async def _head(self, entity: Mapping[str, Any]) -> str:
        found = await git(
            entity["repo"], "rev-parse", "--verify", "--quiet", f"refs/heads/{entity['branch']}"
        )
        if found.ok:
            return found.out.strip()
        if entity.get("head_sha"):
            return str(entity["head_sha"])
        raise Refused(409, f"branch {entity['branch']!r} is gone from {entity['repo']}")

    # -- merge -----------------------------------------------------------------------------

    @_git_failures_refused
    async def merge(
        self, entity: Mapping[str, Any], strategy: Strategy = "merge", message: str | None = None
    ) -> dict[str, Any]:
        """Merge the attempt's branch into ``base``; the entity as it is after (merged)."""
        self._check_finished(entity)
        repo, base, branch = str(entity["repo"]), target_of(entity), str(entity["branch"])
        message = message or merge_message(entity)
        async with self.locks(repo):
            head = await self._head(entity)
            base_tip = await _tip(repo, base)
            if (await git(repo, "merge-base", "--is-ancestor", head, base_tip)).ok:
                raise Refused(409, f"{branch} has nothing that is not already in {base}")
            merged = await self._in_scratch(repo, base_tip, head, strategy, message)
            await _advance(repo, base, base_tip, merged)
        after = {**entity, "status": "merged", "head_sha": head, "conflicts": [], "error": None}
        await self.workspaces.publish("merged", after)
        if self._cleanup(repo) == "on_merge":
            after = await self._remove(after, "merged")
        await self.recheck(repo, base, skip=str(entity["id"]))
        if self.after_merge is not None:
            try:
                await self.after_merge()
            except Exception:  # the merge is done; a cleanup that failed is tried again later
                log.exception("cleanup after the merge of %s failed", branch)
        return {**after, "merged_sha": merged, "strategy": strategy}

    async def recheck(self, repo: str, base: str, skip: str = "") -> list[str]:
        """Whether each finished attempt on ``base`` still merges into its tip; the ids whose
        status changed (``ready`` <-> ``conflict``), each published."""
        changed = []
        for entity in list(self.known()):
            if entity.get("repo") != repo or target_of(entity) != base or entity["id"] == skip:
                continue
            if entity.get("status") not in ("ready", "conflict") or not entity.get("head_sha"):
                continue
            conflicts = await merge_conflicts(repo, base, str(entity["head_sha"]))
            status = "conflict" if conflicts else "ready"
            if (status, conflicts) != (entity.get("status"), list(entity.get("conflicts") or [])):
                await self.workspaces.publish(
                    "updated", {**entity, "status": status, "conflicts": conflicts}
                )
                changed.append(str(entity["id"]))
        return changed

    async def _in_scratch(
        self, repo: str, base_tip: str, head: str, strategy: Strategy, message: str
    ) -> str:
        scratch = Path(tempfile.mkdtemp(prefix="harness-merge-"))
        start = head if strategy == "rebase" else base_tip
        await git_ok(repo, "worktree", "add", "--detach", str(scratch / "w"), start)
        work = scratch / "w"
        identity = () if (await git(repo, "config", "user.email")).ok else IDENTITY
        try:
            if strategy == "merge":
                step = await git(work, *identity, "merge", "--no-ff", "-m", message, head)
            elif strategy == "squash":
                step = await git(work, *identity, "merge", "--squash", head)
                if step.ok:
                    step = await git(
                        work, *identity, "commit", "--quiet", "--no-verify", "-m", message
                    )
            else:
                step = await git(work, *identity, "rebase", base_tip)
            if not step.ok:
                conflicts = await _unmerged(work)
                if conflicts:
                    raise Refused(
                        409,
                        f"merging would conflict in {len(conflicts)} file(s): "
                        f"{', '.join(conflicts)}; nothing was changed",
                        conflicts,
                    )
                raise Refused(409, f"git {strategy} failed: {(step.err or step.out).strip()}")
            return (await git_ok(work, "rev-parse", "HEAD")).strip()
        finally:
            await git(repo, "worktree", "remove", "--force", str(work))
            await git(repo, "worktree", "prune")
            shutil.rmtree(scratch, ignore_errors=True)

    # -- pull request ----------------------------------------------------------------------

    @_git_failures_refused
    async def pull_request(
        self, entity: Mapping[str, Any], title: str | None = None, body: str | None = None
    ) -> dict[str, Any]:
        """Push the branch and open a pull request with ``gh``; the entity with ``pr_url``."""
        self._check_finished(entity)
        repo, branch, base = str(entity["repo"]), str(entity["branch"]), target_of(entity)
        remote = self._config(repo).remote if repo in self.configs else "origin"
        gh = shutil.which("gh")
        if gh is None:
            raise Refused(
                409,
                "gh (the GitHub CLI) is not installed on the hub's PATH: install it "
                "(https://cli.github.com) and run `gh auth login`, or push the branch yourself",
            )
        if not (await _run(repo, gh, "auth", "status"))[0] == 0:
            raise Refused(409, "gh is installed but not authenticated: run `gh auth login`")
        if not (await git(repo, "remote", "get-url", remote)).ok:
            raise Refused(409, f"the repository has no remote {remote!r} (workspace.remote)")
        pushed = await git(
            repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}"
        )
        if not pushed.ok:
            raise Refused(502, f"git push to {remote} failed: {pushed.err.strip()}")
        title = title or pr_title(entity)
        body = body or _pr_body(entity)
        code, out, err = await _run(
            repo,
            gh,
            "pr",
            "create",
            "--head",
            branch,
            "--base",
            base,
            "--title",
            title,
            "--body",
            body,
        )
        if code != 0:
            raise Refused(502, f"gh pr create failed: {(err or out).strip()}")
        url = next((line for line in reversed(out.splitlines()) if "://" in line), out.strip())
        after = {**entity, "pr_url": url.strip()}
        await self.workspaces.publish("updated", after)
        return after

    # -- discard ---------------------------------------------------------------------------

    @_git_failures_refused
    async def discard(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        """Remove the worktree and delete the branch; the entity (discarded)."""
        self._check_finished(entity)
        return await self._remove({**entity, "status": "discarded"}, "discarded")

    async def _remove(self, entity: dict[str, Any], status: str) -> dict[str, Any]:
        repo, path, branch = str(entity["repo"]), str(entity["path"]), str(entity["branch"])
        async with self.locks(repo):
            if await asyncio.to_thread(Path(path).exists):
                await git_ok(repo, "worktree", "remove", "--force", path)
            await git(repo, "worktree", "prune")
            await git(repo, "branch", "-D", branch)
        after = {**entity, "status": status}
        await self.workspaces.publish("removed", after)
        return after

    # -- helpers ---------------------------------------------------------------------------

    def _check_finished(self, entity: Mapping[str, Any]) -> None:
        status = entity.get("status")
        if status == "active" or entity.get("id") in self.workspaces.live:
            raise Refused(409, "the attempt is still running; wait for its session to end")
        if status in FINISHED:
            raise Refused(409, f"the workspace is already {status}")

    def _config(self, repo: str) -> WorkspaceConfig:
        return self.configs[repo]

    def _cleanup(self, repo: str) -> str | int:
        return self.configs[repo].cleanup if repo in self.configs else "keep"


async def _tip(repo: str, branch: str) -> str:
    try:
        return (await git_ok(repo, "rev-parse", "--verify", f"refs/heads/{branch}")).strip()
    except GitError:
        raise Refused(409, f"base branch {branch!r} is gone from {repo}") from None


async def _unmerged(work: Path) -> list[str]:
    out = await git(work, "diff", "--name-only", "-z", "--diff-filter=U")
    return [name for name in out.out.split("\0") if name]


async def _advance(repo: str, base: str, old: str, new: str) -> None:
    """Move ``base`` from ``old`` to ``new``, fast-forwarding the working copy holding it."""
    holder = await _checked_out_at(repo, base)
    if holder is None:
        await git_ok(repo, "update-ref", "-m", "harness: merge", f"refs/heads/{base}", new, old)
        return
    moved = await git(holder, "merge", "--ff-only", "--quiet", new)
    if not moved.ok:
        raise Refused(
            409,
            f"{base} is checked out at {holder} and git will not move it forward there: "
            f"{moved.err.strip()}; commit or stash the changes in the way, then merge again",
        )


async def _checked_out_at(repo: str, branch: str) -> str | None:
    listing = await git_ok(repo, "worktree", "list", "--porcelain")
    path = None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            path = line.removeprefix("worktree ")
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


async def _files(repo: str, base_sha: str, head: str) -> list[dict[str, Any]]:
    statuses = (
        await git_ok(repo, "diff", "--name-status", "-z", "--no-renames", base_sha, head)
    ).split("\0")
    status_of = {statuses[i + 1]: statuses[i] for i in range(0, len(statuses) - 1, 2)}
    numstat = await git_ok(repo, "diff", "--numstat", "-z", "--no-renames", base_sha, head)
    files = []
    for record in numstat.split("\0"):
        parts = record.split("\t")
        if len(parts) < 3:
            continue
        added, deleted, name = parts[0], parts[1], parts[2]
        binary = added == "-"
        files.append(
            {
                "path": name,
                "status": {"A": "added", "D": "deleted"}.get(status_of.get(name, "M"), "modified"),
                "insertions": 0 if binary else int(added),
                "deletions": 0 if binary else int(deleted),
                "binary": binary,
            }
        )
    return files


async def _file_diff(repo: str, base_sha: str, head: str, file: str) -> dict[str, Any]:
    known = {f["path"]: f for f in await _files(repo, base_sha, head)}
    if file not in known:
        raise Refused(404, f"{file!r} is not changed by this attempt")
    entry = known[file]
    if entry["binary"]:
        return {"file": entry, "diff": None, "truncated": False}
    text = await git_ok(repo, "diff", "--no-color", "--no-renames", base_sha, head, "--", file)
    truncated = len(text) > MAX_FILE_DIFF
    if truncated:
        text = text[:MAX_FILE_DIFF] + TRUNCATED.format(limit=MAX_FILE_DIFF, size=len(text))
    return {"file": entry, "diff": text, "truncated": truncated}


async def _run(cwd: str, *argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def _pr_body(entity: Mapping[str, Any]) -> str:
    return (
        f"Task `{entity['task_id']}`, attempt {entity['attempt']} (session "
        f"`{entity.get('session_id')}`), made by parent-harness.\n\n"
        f"{entity.get('commits', 0)} commit(s), {entity.get('files_changed', 0)} file(s), "
        f"+{entity.get('insertions', 0)} -{entity.get('deletions', 0)} against `{entity['base']}` "
        f"at {str(entity.get('base_sha'))[:12]}."
    )
