"""Cross-site requests, WebSocket hijacking and DNS rebinding, replayed against a real hub.

What a page of another site can make a browser send: a POST with `Origin` set to its own
site and a body a form or a `no-cors` fetch may carry (text/plain, a form), a WebSocket
handshake with its `Origin`, and (DNS rebinding) any request with `Host` set to the
attacker's name. Each is refused with 403 (415 for a body that is not JSON), with and
without tokens; tools that send no Origin, and the dashboard's own origin, are answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, generic, settings_for

EVIL = "http://evil.example"
TASK = {"title": "planted", "test_command": "id > PWNED"}


async def _hub(tmp_path: Path, **settings: Any) -> AsyncIterator[RunningHub]:
    server = HubServer(settings_for(tmp_path, **settings))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


@pytest.fixture(params=["open", "tokens"])
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A default hub (loopback, no token) and one with a publish token: the same rules."""
    tokens = ("pub-secret",) if request.param == "tokens" else ()
    async for running in _hub(tmp_path, tokens=tokens):
        running.session.headers.update({"Authorization": "Bearer pub-secret"} if tokens else {})
        yield running


async def _raw_post(
    hub: RunningHub, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, Any]:
    async with hub.session.post(hub.url + path, data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read())


@pytest.mark.parametrize("path", ["/api/tasks", "/api/events", "/api/notify/test"])
async def test_a_text_plain_post_from_a_foreign_page_is_refused(hub: RunningHub, path: str) -> None:
    body = orjson.dumps(generic("planted") if path == "/api/events" else TASK)
    status, answer = await _raw_post(
        hub, path, body, {"Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8"}
    )
    assert status == 403, answer
    assert answer["code"] == "forbidden_site"
    assert "evil.example" in answer["detail"]
    assert hub.node.state.seq == 0


async def test_a_json_post_from_a_foreign_origin_is_refused(hub: RunningHub) -> None:
    """Even with the right type (which a page could only send after a CORS preflight)."""
    status, answer = await hub.post("/api/tasks", TASK, headers={"Origin": EVIL})
    assert status == 403, answer
    for origin in ("null", "http://127.0.0.1.evil.example", "file://"):
        assert (await hub.post("/api/events", generic("x"), headers={"Origin": origin}))[0] == 403
    assert hub.node.state.seq == 0


async def test_cancel_and_retry_from_a_foreign_page_are_refused(hub: RunningHub) -> None:
    await hub.publish({"type": "task:created", "payload": {"task": {"id": "t1", "title": "x"}}})
    for action in ("cancel", "retry"):
        async with hub.session.post(
            f"{hub.url}/api/tasks/t1/{action}", headers={"Origin": EVIL}
        ) as response:
            assert response.status == 403
    assert hub.node.state.tasks["t1"]["status"] != "cancelled"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_state_changing_bodies_must_be_json(
    hub: RunningHub, content_type: str | None
) -> None:
    """Without an Origin (a tool, or a browser that sent none) a body must still be JSON."""
    headers = {"Content-Type": content_type} if content_type else {}
    body = orjson.dumps(generic("x"))
    async with hub.session.post(hub.url + "/api/events", data=body, headers=headers) as response:
        answer = orjson.loads(await response.read())
        assert response.status == 415, answer
    assert answer["code"] == "unsupported_media_type"
    assert "application/json" in answer["detail"]
    assert hub.node.state.seq == 0


async def test_the_hub_own_origin_and_tools_are_answered(hub: RunningHub) -> None:
    own = hub.url  # http://127.0.0.1:<port>: the dashboard's origin
    assert (await hub.post("/api/events", generic("a"), headers={"Origin": own}))[0] == 200
    assert (await hub.post("/api/events", generic("b")))[0] == 200  # a tool: no Origin
    localhost = own.replace("127.0.0.1", "localhost")
    status, _ = await hub.post(
        "/api/events",
        generic("c"),
        headers={"Origin": localhost, "Host": localhost.removeprefix("http://")},
    )
    assert status == 200
    assert hub.node.state.seq == 3


async def test_a_foreign_websocket_is_refused_before_the_upgrade(hub: RunningHub) -> None:
    await hub.publish(generic("secret"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hub.connect("since=0", headers={"Origin": EVIL})
    assert refused.value.status == 403
    own = await hub.connect("since=0", headers={"Origin": hub.url})
    assert (await own.next())["type"] == "welcome"
    await own.ws.close()


@pytest.mark.parametrize("path", ["/api/snapshot", "/api/events", "/", "/metrics", "/ws"])
async def test_dns_rebinding_is_refused(hub: RunningHub, path: str) -> None:
    """A name of the attacker's resolving to 127.0.0.1: its requests say Host: that name."""
    port = hub.url.rsplit(":", 1)[1]
    async with hub.session.get(
        hub.url + path, headers={"Host": f"evil.example:{port}"}
    ) as response:
        assert response.status == 403
        answer = orjson.loads(await response.read())
    assert "--allowed-host" in answer["detail"]


async def test_dns_rebinding_cannot_publish(hub: RunningHub) -> None:
    port = hub.url.rsplit(":", 1)[1]
    own_looking = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    assert (await hub.post("/api/events", generic("x"), headers=own_looking))[0] == 403
    assert hub.node.state.seq == 0


async def test_allowed_host_and_origin_behind_a_proxy(tmp_path: Path) -> None:
    """A hub behind a proxy at https://harness.example.com answers that name and origin."""
    async for hub in _hub(
        tmp_path, allowed_hosts=("harness.example.com",), public_url="https://hub.example.org"
    ):
        proxied = {"Host": "harness.example.com", "Origin": "https://harness.example.com"}
        assert (await hub.post("/api/events", generic("a"), headers=proxied))[0] == 200
        public = {"Host": "hub.example.org", "Origin": "https://hub.example.org"}
        assert (await hub.post("/api/events", generic("b"), headers=public))[0] == 200
        other = {"Host": "harness.example.com", "Origin": "https://evil.example"}
        assert (await hub.post("/api/events", generic("c"), headers=other))[0] == 403


async def test_allowed_origin_lets_another_site_publish(tmp_path: Path) -> None:
    async for hub in _hub(tmp_path, allowed_origins=("https://ops.example.com",)):
        allowed = {"Origin": "https://ops.example.com"}
        assert (await hub.post("/api/events", generic("a"), headers=allowed))[0] == 200
        socket = await hub.connect(headers=allowed)
        assert (await socket.next())["type"] == "welcome"
        await socket.ws.close()


def test_a_malformed_allowed_origin_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowed-origin"):
        HubServer(settings_for(tmp_path, allowed_origins=("ops.example.com",)))


async def test_every_state_changing_route_refuses_a_foreign_page_and_a_reader(
    tmp_path: Path,
) -> None:
    """Every POST of the API document (the routes added since included: plans, approvals,
    task limits, workspaces), from a foreign page, and with a read-only token: 403, and
    nothing is published."""
    async for hub in _hub(tmp_path, tokens=("pub-secret",), read_tokens=("read-secret",)):
        publisher = {"Authorization": "Bearer pub-secret"}
        reader = {"Authorization": "Bearer read-secret"}
        async with hub.session.get(hub.url + "/docs/spec", headers=publisher) as response:
            spec = orjson.loads(await response.read())
        posts = [p for p, ops in spec["paths"].items() if "post" in ops]
        assert {"/api/plans", "/api/approvals/{approval_id}/answer"} <= set(posts)
        for template in posts:
            path = template.replace("{", "x").replace("}", "")  # any id: refused first
            foreign = {**publisher, "Origin": EVIL, "Content-Type": "text/plain"}
            status, answer = await _raw_post(hub, path, orjson.dumps(TASK), foreign)
            assert (status, answer["code"]) == (403, "forbidden_site"), (path, answer)
            status, answer = await hub.post(path, TASK, headers=reader)
            assert (status, answer["code"]) == (403, "forbidden"), (path, answer)
        assert hub.node.state.seq == 0
