"""Typed keys of the aiohttp application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web

from parent_harness.hub.node import Node
from parent_harness.notify.web import TestSender
from parent_harness.store.queries import Queries
from parent_harness.web.auth import Tokens
from parent_harness.web.origins import SitePolicy
from parent_harness.web.settings import Settings

NODE = web.AppKey("node", Node)
SETTINGS = web.AppKey("settings", Settings)
TOKENS = web.AppKey("tokens", Tokens)
QUERIES = web.AppKey("queries", Queries)
SITES = web.AppKey("sites", SitePolicy)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")


class NotifierSlot:
    """Where `harness run` puts its notifier once started (routes are fixed before that)."""

    def __init__(self) -> None:
        self.notifier: TestSender | None = None


NOTIFIER = web.AppKey("notifier", NotifierSlot)


class WorkspaceOps(Protocol):
    """What the routes need of the orchestrator's workspaces (orchestrator/merging.py)."""

    async def diff(self, entity: Mapping[str, Any], file: str | None = None) -> dict[str, Any]: ...

    async def merge(
        self, entity: Mapping[str, Any], strategy: Any = "merge", message: str | None = None
    ) -> dict[str, Any]: ...

    async def pull_request(
        self, entity: Mapping[str, Any], title: str | None = None, body: str | None = None
    ) -> dict[str, Any]: ...

    async def discard(self, entity: Mapping[str, Any]) -> dict[str, Any]: ...


class WorkspaceSlot:
    """Where `harness run` puts its `WorkspaceOps` (routes are fixed before that); None on a
    hub that does not own the repositories (web/workspaces.py)."""

    def __init__(self) -> None:
        self.ops: WorkspaceOps | None = None


WORKSPACES = web.AppKey("workspaces", WorkspaceSlot)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Guard = Callable[[Handler], Handler]
"""Wraps a route's handler in the hub's token check (`app.guarded`)."""
