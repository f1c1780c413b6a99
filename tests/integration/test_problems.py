"""Every error a REST client sees has one shape: RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

import pytest

from parent_harness.web.keys import QUERIES
from tests.conftest import RunningHub

PROBLEM = "application/problem+json"


async def _problem(hub: RunningHub, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    async with hub.session.request(method, hub.url + path, **kwargs) as response:
        assert response.content_type == PROBLEM, (path, await response.text())
        body: dict[str, Any] = await response.json(content_type=None)
        assert body["status"] == response.status
    assert body["type"] == f"urn:parent-harness:problem:{body['code']}"
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/api/nothing-here", {}, 404, "not_found"),
        ("GET", "/api/tasks/none", {}, 404, "not_found"),
        ("DELETE", "/api/tasks", {}, 405, "method_not_allowed"),
        ("GET", "/api/tasks?limit=0", {}, 400, "invalid_params"),
        ("POST", "/api/tasks", {"json": {"title": ""}}, 400, "invalid_params"),
        ("POST", "/api/events", {"json": {"type": "nope", "payload": {}}}, 400, "invalid_event"),
        (
            "POST",
            "/api/events",
            {"data": b"x", "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ("POST", "/api/notify/test", {"json": {}}, 409, "no_channels"),
    ],
)
async def test_each_error_is_a_problem(
    hub: RunningHub, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    body = await _problem(hub, method, path, **kwargs)
    assert (body["status"], body["code"]) == (status, code)


async def test_a_validation_problem_names_every_field(hub: RunningHub) -> None:
    body = await _problem(hub, "POST", "/api/tasks", json={"title": "", "priority": "high"})
    assert {e["field"] for e in body["errors"]} == {"title", "priority"}
    assert body["field"] in {"title", "priority"}
    assert body["field"] in body["detail"]


async def test_a_wrong_method_names_the_allowed_ones(hub: RunningHub) -> None:
    body = await _problem(hub, "PUT", "/api/tasks/t1/cancel")
    assert "POST" in body["detail"]


async def test_an_unexpected_failure_is_a_problem_and_logged(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(hub.server.app[QUERIES], "tasks", broken)
    body = await _problem(hub, "GET", "/api/tasks")
    assert body["status"] == 500 and "fire" not in body["detail"]
    assert "the disk caught fire" in caplog.text
