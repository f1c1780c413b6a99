"""The aiohttp application: /ws, REST under /api, /metrics, /docs and the dashboard at /."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp_pydantic import oas

from parent_harness import __version__
from parent_harness.hub.history import Retention
from parent_harness.hub.node import Node
from parent_harness.notify.web import routes as notify_routes
from parent_harness.orchestrator.leasing import WorkerDesk
from parent_harness.problems import problem
from parent_harness.store.leases import LeaseBook
from parent_harness.store.output import OutputRetention
from parent_harness.store.queries import Queries
from parent_harness.web import bundles as bundle_routes
from parent_harness.web import headers, openapi, rest
from parent_harness.web import timeline as timeline_routes
from parent_harness.web import workers as worker_routes
from parent_harness.web import workspaces as workspace_routes
from parent_harness.web.auth import READ, WORKER, Tokens, presented_token
from parent_harness.web.heartbeat import Heartbeat
from parent_harness.web.keys import (
    NODE,
    NOTIFIER,
    QUERIES,
    SETTINGS,
    SITES,
    SOCKETS,
    TOKENS,
    WORKSPACES,
    Handler,
    NotifierSlot,
    WorkspaceSlot,
)
from parent_harness.web.metrics import setup_metrics
from parent_harness.web.origins import SitePolicy
from parent_harness.web.scopes import GRANT, whole_fleet
from parent_harness.web.settings import Settings
from parent_harness.web.timeouts import bound_bodies
from parent_harness.web.ws import ws_handler

log = logging.getLogger(__name__)

STATIC = Path(str(resources.files("parent_harness.web") / "static"))


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def guarded(handler: Handler) -> Handler:
    """`handler` behind the hub's checks (REST and /metrics), in this order: the site
    (`Host`, and `Origin` on a state-changing request: web/origins.py), the token (reading
    needs any token, writing a publish token; a worker token only reaches the handlers
    marked `for_workers`, web/workers.py), then a state-changing request's body (JSON
    only, within the size bound). The grant is left on the request for the room scopes
    (web/scopes.py). /ws runs the same site and token checks itself, before the upgrade.

    A wrapper on each route rather than a middleware: with any middleware at all, aiohttp
    keeps one more coroutine frame alive for every open WebSocket (0.3 KB per idle
    connection, measured with 10,000)."""

    @functools.wraps(handler)
    async def check(request: web.Request) -> web.StreamResponse:
        safe = request.method in SAFE_METHODS
        refusal = site_refusal(request, state_changing=not safe)
        if refusal is not None:
            return problem(403, "forbidden_site", refusal)
        grant = request.app[TOKENS].grant(presented_token(request))
        if grant is None:
            return problem(401, "unauthorized", "missing or wrong token")
        if grant.role == WORKER and not getattr(handler, "for_workers", False):
            return problem(403, "forbidden", "a worker token may only use the worker routes")
        if not safe:
            if grant.role == READ:
                return problem(403, "forbidden", "this token may read but not publish")
            bad_body = _body_refusal(request, large=getattr(handler, "large_body", False))
            if bad_body is not None:
                return bad_body
        request[GRANT] = grant
        try:
            return await handler(request)
        except web.HTTPException as exc:  # aiohttp's own (a body past the bound: 413)
            if exc.status < 400:
                raise
            return problem(exc.status, _code(exc), exc.text or exc.reason)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return problem(500, "internal", "the hub failed on this request (its log has why)")

    return check


def _code(exc: web.HTTPException) -> str:
    return exc.reason.lower().replace(" ", "_").replace("-", "_")


async def _no_route(request: web.Request) -> web.StreamResponse:
    """Under /api, an unknown path (404) or a method a path does not take (405), in the
    problem shape like every other answer there."""
    refusal = site_refusal(request, state_changing=False)
    if refusal is not None:
        return problem(403, "forbidden_site", refusal)
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        methods = ", ".join(sorted(allowed))
        refused = problem(
            405, "method_not_allowed", f"{request.method} is not allowed; use {methods}"
        )
        refused.headers["Allow"] = methods  # RFC 9110, 15.5.6
        return refused
    return problem(404, "not_found", f"no route {request.path}")


def site_refusal(request: web.Request, *, state_changing: bool) -> str | None:
    """Why the request's `Host` (always) or `Origin` (when it changes state) is refused."""
    refusal = request.app[SITES].refusal(request.headers, state_changing=state_changing)
    if refusal is not None:
        log.warning("refused %s %s: %s", request.method, request.path, refusal)
    return refusal


def _body_refusal(request: web.Request, *, large: bool = False) -> web.Response | None:
    """A state-changing request's body must be JSON: a page can send text/plain or a form
    to another site without asking first, but not application/json (no CORS here). Its
    size is bounded by --max-body-bytes, or --max-import-bytes for a handler marked
    `large_body` (an import), which reads its body itself within that bound."""
    settings = request.app[SETTINGS]
    limit = settings.max_import_bytes if large else settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return problem(413, "too_large", f"the body is larger than {limit} bytes", limit=limit)
    declared = hdrs.CONTENT_TYPE in request.headers
    if (declared or request.body_exists) and not _is_json(request.content_type):
        given = request.headers.get(hdrs.CONTENT_TYPE, "none")
        return problem(
            415,
            "unsupported_media_type",
            f"send the body as Content-Type: application/json (got {given[:100]!r})",
        )
    return None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def build_app(settings: Settings, node: Node | None = None) -> web.Application:
    """The hub as an aiohttp application; it starts and stops its node with the app."""
    # No middleware: see `guarded`.
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[TOKENS] = Tokens(settings.tokens, settings.read_tokens, settings.worker_tokens)
    app[SITES] = SitePolicy(settings.allowed_hosts, settings.allowed_origins, settings.public_url)
    if node is None:
        retention = OutputRetention(
            max_bytes=settings.output_keep_bytes, max_age_s=settings.output_keep_days * 86400
        )
        node = Node(
            settings.store,
            broker_url=settings.broker,
            replay_window=settings.replay_window,
            output=retention,
            checkpoint_every=settings.checkpoint_every,
            retention=Retention(settings.keep_days, settings.keep_events),
        )
    app[NODE] = node
    app[QUERIES] = Queries(app[NODE].store.engine)
    app[SOCKETS] = set()
    app.cleanup_ctx.append(_node_lifecycle)
    app.on_shutdown.append(_close_clients)
    app.router.add_get("/ws", ws_handler)
    rest.add_routes(app, guarded)
    app[NOTIFIER] = NotifierSlot()
    app[WORKSPACES] = WorkspaceSlot()
    workspace_routes.add_routes(app, guarded)
    desk = WorkerDesk(node, LeaseBook(node.store), lease_s=settings.lease_s)
    worker_routes.add_routes(app, guarded, desk)
    bundle_routes.add_routes(app, guarded)
    timeline_routes.add_routes(app, guarded)
    app.router.add_post("/api/notify/test", guarded(whole_fleet(_notify_test)))
    setup_metrics(app, lambda handler: guarded(whole_fleet(handler)))
    # The document itself from openapi.py (the guard's answers added), ahead of oas's own.
    spec = openapi.spec_route(rest.Problem, rest.BODIES, "parent-harness", __version__)
    app.router.add_routes([spec])
    oas.setup(app, url_prefix="/docs", title_spec="parent-harness", version_spec=__version__)
    app.router.add_route("*", "/api/{tail:.*}", _no_route)  # after every /api route
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC, append_version=False)
    headers.install(app)
    return app


async def _node_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[NODE].start()
    yield
    await app[NODE].stop()


async def _close_clients(app: web.Application) -> None:
    """On shutdown, every client hears 1001 (going away) and may reconnect elsewhere."""
    for sub in list(app[NODE].hub.subscribers):
        sub.closed = True
    sockets: set[web.WebSocketResponse] = app[SOCKETS]
    closing = [ws.close(code=1001, message=b"hub shutting down") for ws in list(sockets)]
    await asyncio.gather(*closing, return_exceptions=True)


async def _notify_test(request: web.Request) -> web.StreamResponse:
    """POST /api/notify/test: a test message through every configured channel."""
    notifier = request.app[NOTIFIER].notifier
    if notifier is None:
        return problem(
            409,
            "no_channels",
            "no notification channel is configured: add [notify] to "
            "harness.toml and start the hub with `harness run` (docs/notifications.md)",
        )
    (route,) = notify_routes(notifier)
    return await route.handler(request)


async def _index(request: web.Request) -> web.StreamResponse:
    refusal = site_refusal(request, state_changing=False)
    if refusal is not None:
        return problem(403, "forbidden_site", refusal)
    index = STATIC / "index.html"
    if not index.exists():
        return web.Response(
            text="parent-harness hub: the dashboard is not installed", content_type="text/plain"
        )
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket; with port 0, the kernel picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class HubServer:
    """A running hub: start it, read its URL, stop it. Used by `harness serve` and the tests."""

    def __init__(self, settings: Settings, node: Node | None = None) -> None:
        settings.check()
        self.settings = settings
        self.app = build_app(settings, node)
        self.runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=5.0,
            keepalive_timeout=settings.http_timeout_s,  # also bounds a request head: timeouts.py
        )
        self.heartbeat = Heartbeat(self.node.hub, settings.heartbeat_s)
        self.url = ""

    @property
    def node(self) -> Node:
        return self.app[NODE]

    async def start(self) -> str:
        await self.runner.setup()
        assert self.runner.server is not None
        bound_bodies(self.runner.server, self.settings.http_timeout_s)
        self.heartbeat.start()
        sock = bound_socket(self.settings.host, self.settings.port)
        host, port = sock.getsockname()[:2]
        site = web.SockSite(self.runner, sock)
        await site.start()
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        return self.url

    async def stop(self) -> None:
        await self.heartbeat.stop()
        await self.runner.cleanup()
