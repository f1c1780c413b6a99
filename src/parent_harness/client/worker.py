"""A worker's connection to its hub (issue 19): the worker routes over HTTP.

:class:`WorkerLink` registers, beats, claims, renews and releases leases, reads commands
(a long poll) and sends event batches for the :class:`EventSpool` (client/spool.py). A
refusal is raised as :class:`LeaseLost` (409 `lease_lost`) or :class:`WorkerRefused`
(any other 4xx, with the problem's detail); no answer, or a 5xx, as `Unreachable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from parent_harness.client._http import HubClient
from parent_harness.client.spool import Refused, Unreachable
from parent_harness.exceptions import HarnessError


class WorkerRefused(HarnessError):
    """The hub refused a worker's request (a 4xx problem)."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {problem.get('detail', problem)}")
        self.status, self.problem = status, dict(problem)


class LeaseLost(WorkerRefused):
    """The worker no longer holds the lease (409 `lease_lost`): stop the run, drop it."""


class WorkerLink(HubClient):
    """The worker routes of a hub at `url`, for the worker registered as `name`."""

    def __init__(self, url: str, name: str, *, token: str | None = None) -> None:
        super().__init__(url, token=token, timeout_s=60.0)
        self.name = name
        self.lease_s = 30.0

    async def register(
        self, agents: list[str], labels: list[str], capacity: int, version: str
    ) -> dict[str, Any]:
        body = {
            "name": self.name,
            "agents": agents,
            "labels": labels,
            "capacity": capacity,
            "version": version,
        }
        answer = await self._call("POST", "/api/workers/register", body)
        assert answer is not None
        self.lease_s = float(answer["lease_s"])
        return dict(answer["worker"])

    async def heartbeat(self, running: int) -> None:
        await self._call("POST", f"/api/workers/{self.name}/heartbeat", {"running": running})

    async def claim(self, agents: list[str], wait_s: float = 0.0) -> dict[str, Any] | None:
        """A task under a new lease, or None when nothing is ready within `wait_s`."""
        body = {"agents": agents, "wait": wait_s}
        return await self._call("POST", f"/api/workers/{self.name}/claim", body)

    async def renew(self, task_id: str, lease_id: str) -> None:
        body = {"task_id": task_id, "lease_id": lease_id}
        await self._call("POST", f"/api/workers/{self.name}/renew", body)

    async def release(
        self,
        task_id: str,
        lease_id: str,
        outcome: str,
        failure: Mapping[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {"task_id": task_id, "lease_id": lease_id, "outcome": outcome}
        if failure is not None:
            body["failure"] = dict(failure)
        await self._call("POST", f"/api/workers/{self.name}/release", body)

    async def commands(self, wait_s: float) -> dict[str, Any]:
        path = f"/api/workers/{self.name}/commands?wait={wait_s:g}"
        answer = await self._call("GET", path, None)
        return dict(answer or {})

    async def send_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Sends a batch for the spool: Unreachable (retry later) or Refused (drop)."""
        try:
            await self._call("POST", f"/api/workers/{self.name}/events", list(events))
        except WorkerRefused as exc:
            raise Refused(exc.status, str(exc.problem.get("detail"))) from exc

    async def _call(self, method: str, path: str, body: Any) -> dict[str, Any] | None:
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            async with self._session.request(
                method, self.url + path, data=data, headers=headers
            ) as resp:
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(f"{method} {path}: {exc!r}") from exc
        if resp.status == 204:
            return None
        if resp.status >= 500:
            raise Unreachable(f"{method} {path}: HTTP {resp.status}")
        answer = orjson.loads(raw) if raw else {}
        if resp.status >= 400:
            if resp.status == 409 and answer.get("code") == "lease_lost":
                raise LeaseLost(resp.status, answer)
            raise WorkerRefused(resp.status, answer)
        return dict(answer)
