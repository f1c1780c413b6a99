"""Running git: real subprocesses under asyncio, argument lists, never a shell.

:func:`git` runs one command and returns its :class:`GitResult`; :func:`git_ok` raises
:class:`GitError` (with git's own message) when it fails. :class:`RepoLocks` serialises the
commands that write a repository's shared files (refs, ``worktrees/``, ``index.lock`` of the
main working copy): one :class:`asyncio.Lock` per repository.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 120.0

NEUTRAL_ENV = {
    "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
    "GIT_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
    "LC_ALL": "C",  # messages parsed here are git's English ones
}


class GitError(RuntimeError):
    """A git command failed; the message is git's own (its stderr)."""

    def __init__(self, args: tuple[str, ...], code: int | None, stderr: str) -> None:
        what = " ".join(args[:2])
        super().__init__(f"git {what} failed: {stderr.strip() or f'exit {code}'}")
        self.code = code
        self.stderr = stderr


@dataclass(frozen=True, slots=True)
class GitResult:
    """What one git command did."""

    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        """Whether it exited 0."""
        return self.code == 0


async def git(
    cwd: Path | str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout_s: float = GIT_TIMEOUT_S,
) -> GitResult:
    """Run ``git ARGS`` in ``cwd``; its exit code and output (raises only if git is missing)."""
    full_env = {**os.environ, **NEUTRAL_ENV, **(env or {})}
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=str(cwd),
        env=full_env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that comes as git finishes, and a cancelled progress count would then go on.
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise GitError(args, None, f"timed out after {timeout_s:g} s") from None
    code = proc.returncode if proc.returncode is not None else -1
    return GitResult(code, out.decode(errors="replace"), err.decode(errors="replace"))


async def git_ok(cwd: Path | str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its stdout; :class:`GitError` if it fails."""
    result = await git(cwd, *args, env=env)
    if not result.ok:
        raise GitError(args, result.code, result.err or result.out)
    return result.out


class RepoLocks:
    """One lock per repository, for git commands that write what its worktrees share."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def __call__(self, repo: Path | str) -> asyncio.Lock:
        """The lock of ``repo``."""
        return self._locks.setdefault(str(repo), asyncio.Lock())
