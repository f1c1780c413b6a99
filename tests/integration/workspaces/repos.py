"""Real git repositories in temporary directories, for the workspace tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def run_git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (failing the test if git fails); its stdout, stripped."""
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(repo.parent), **IDENTITY},
    )  # fmt: skip
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository on branch ``main`` with one commit of ``files``."""
    path.mkdir(parents=True)
    run_git(path, "init", "--quiet", "--initial-branch", "main")
    run_git(path, "config", "user.name", "Test")
    run_git(path, "config", "user.email", "test@example.com")
    for name, text in (files or {"README.md": "hello\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    run_git(path, "add", "--all")
    run_git(path, "commit", "--quiet", "-m", "initial")
    return path


def commit_file(repo: Path, name: str, text: str, message: str = "change") -> str:
    """Write ``name`` in ``repo``'s working copy, commit it; the new commit's sha."""
    (repo / name).write_text(text)
    run_git(repo, "add", name)
    run_git(repo, "commit", "--quiet", "-m", message)
    return run_git(repo, "rev-parse", "HEAD")
