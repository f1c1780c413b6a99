"""Task attempts and their workspaces over HTTP: list, diff, merge, pull request, discard.

    async with AttemptsClient("http://127.0.0.1:3333", token=...) as hub:
        attempts = await hub.attempts("fix-login")          # oldest first
        files = await hub.diff(attempts[-1]["id"])           # {files: [...]}
        merged = await hub.merge(attempts[-1]["id"], strategy="squash")

A refusal raises :class:`~parent_harness.exceptions.WorkspaceRefused` with the hub's status,
detail and (for a conflict) the conflicting files; a hub that cannot be reached raises
:class:`~parent_harness.exceptions.PublishError`. See docs/workspaces.md.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import aiohttp

from parent_harness.client._http import HubClient
from parent_harness.credentials import mask_urls
from parent_harness.exceptions import PublishError, WorkspaceRefused

Strategy = Literal["merge", "squash", "rebase"]


class AttemptsClient(HubClient):
    """The workspace routes of a hub (module docstring). Use as an async context manager."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 300.0) -> None:
        super().__init__(url, token=token, timeout_s=timeout_s)

    async def attempts(self, task_id: str) -> list[dict[str, Any]]:
        """A task's attempts, oldest first (each a workspace, its session's status and cost)."""
        answer = await self._call("GET", f"/api/tasks/{quote(task_id, safe='')}/attempts")
        return list(answer["attempts"])

    async def attempt(self, task_id: str, number: int | None = None) -> dict[str, Any]:
        """One attempt of a task: number ``number``, or the latest."""
        attempts = await self.attempts(task_id)
        if not attempts:
            raise WorkspaceRefused(404, f"task {task_id} has no attempt with a workspace")
        if number is None:
            return attempts[-1]
        for found in attempts:
            if found["attempt"] == number:
                return found
        known = ", ".join(str(a["attempt"]) for a in attempts)
        raise WorkspaceRefused(404, f"task {task_id} has no attempt {number} (attempts: {known})")

    async def diff(self, workspace_id: str, file: str | None = None) -> dict[str, Any]:
        """The files changed, or (``file``) that file's unified diff."""
        params = {"file": file} if file else {}
        return dict(await self._call("GET", self._path(workspace_id, "diff"), params=params))

    async def merge(
        self, workspace_id: str, strategy: Strategy = "merge", message: str | None = None
    ) -> dict[str, Any]:
        """Merge the attempt into its base; the workspace entity after (with ``merged_sha``)."""
        body: dict[str, Any] = {"strategy": strategy}
        if message:
            body["message"] = message
        answer = await self._call("POST", self._path(workspace_id, "merge"), body=body)
        return dict(answer["workspace"])

    async def pull_request(
        self, workspace_id: str, title: str | None = None, body: str | None = None
    ) -> dict[str, Any]:
        """Push the branch and open a pull request; the workspace entity (with ``pr_url``)."""
        fields = {key: value for key, value in {"title": title, "body": body}.items() if value}
        answer = await self._call("POST", self._path(workspace_id, "pr"), body=fields)
        return dict(answer["workspace"])

    async def discard(self, workspace_id: str) -> dict[str, Any]:
        """Remove the attempt's worktree and branch; the workspace entity (discarded)."""
        answer = await self._call("POST", self._path(workspace_id, "discard"), body={})
        return dict(answer["workspace"])

    @staticmethod
    def _path(workspace_id: str, action: str) -> str:
        return f"/api/workspaces/{quote(workspace_id, safe='')}/{action}"

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        try:
            async with self._session.request(
                method, self.url + path, json=body, params=params or {}
            ) as response:
                answer = await response.json(content_type=None)
        except aiohttp.ClientConnectionError as exc:
            raise PublishError(mask_urls(f"no hub at {self.url}: {exc}")) from exc
        if response.status >= 400:
            if not isinstance(answer, dict):
                answer = {"detail": str(answer)}
            detail = str(answer.get("detail") or f"HTTP {response.status}")
            raise WorkspaceRefused(response.status, detail, answer.get("conflicts"))
        return answer
