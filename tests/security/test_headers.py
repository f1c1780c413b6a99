"""The dashboard is served with a Content-Security-Policy and the headers that go with it."""

from __future__ import annotations

import pytest

from tests.conftest import RunningHub

DASHBOARD = ["/", "/static/js/app.js", "/static/css/app.css", "/static/index.html"]


def _policy(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", DASHBOARD)
async def test_dashboard_files_carry_a_policy_without_inline_script(
    hub: RunningHub, path: str
) -> None:
    async with hub.session.get(hub.url + path) as resp:
        assert resp.status == 200
        policy = _policy(resp.headers["Content-Security-Policy"])
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]


async def test_api_responses_are_not_sniffed(hub: RunningHub) -> None:
    async with hub.session.get(hub.url + "/api/health") as resp:
        assert resp.status == 200
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_missing_static_file_is_still_answered_with_the_headers(hub: RunningHub) -> None:
    async with hub.session.get(hub.url + "/static/js/nothing-here.js") as resp:
        assert resp.status == 404
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in resp.headers
