"""Where a request's token is read from: the header, the WebSocket subprotocol, the query."""

from __future__ import annotations

import base64

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from parent_harness.web.auth import presented_token, token_protocol


def _request(path: str = "/ws", *headers: tuple[str, str]) -> web.Request:
    return make_mocked_request("GET", path, headers=CIMultiDict(headers))


def _b64url(token: str) -> str:
    return base64.urlsafe_b64encode(token.encode()).rstrip(b"=").decode()


def test_bearer_header() -> None:
    assert presented_token(_request("/api/events", ("Authorization", "Bearer s3cret"))) == "s3cret"


def test_token_subprotocol_of_a_browser_websocket() -> None:
    offered = f"harness.v1, harness.token.{_b64url('s3cret')}"
    request = _request("/ws", ("Sec-WebSocket-Protocol", offered))
    assert presented_token(request) == "s3cret"


def test_subprotocol_spread_over_two_header_lines() -> None:
    request = _request(
        "/ws",
        ("Sec-WebSocket-Protocol", "harness.v1"),
        ("Sec-WebSocket-Protocol", f"harness.token.{_b64url('two lines')}"),
    )
    assert presented_token(request) == "two lines"


@pytest.mark.parametrize("token", ["s3cret", "a", "ab", "abc", "with space/+=?&", "ключ-🔑"])
def test_any_token_survives_the_subprotocol_encoding(token: str) -> None:
    item = token_protocol(token)
    assert item == f"harness.token.{_b64url(token)}"
    assert "=" not in item  # not a valid character of a subprotocol (RFC 6455, 4.1)
    assert presented_token(_request("/ws", ("Sec-WebSocket-Protocol", item))) == token


def test_query_token_is_still_accepted() -> None:
    assert presented_token(_request("/ws?token=s3cret")) == "s3cret"


def test_header_wins_over_subprotocol_and_query() -> None:
    request = _request(
        "/ws?token=from-query",
        ("Authorization", "Bearer from-header"),
        ("Sec-WebSocket-Protocol", token_protocol("from-protocol")),
    )
    assert presented_token(request) == "from-header"


def test_subprotocol_wins_over_query() -> None:
    request = _request("/ws?token=from-query", ("Sec-WebSocket-Protocol", token_protocol("p")))
    assert presented_token(request) == "p"


@pytest.mark.parametrize("item", ["harness.token.", "harness.token.***", "harness.token.gA"])
def test_malformed_subprotocol_token_is_not_a_token(item: str) -> None:
    request = _request("/ws", ("Sec-WebSocket-Protocol", f"harness.v1, {item}"))
    assert presented_token(request) is None


def test_other_subprotocols_carry_no_token() -> None:
    request = _request("/ws", ("Sec-WebSocket-Protocol", "harness.v1, chat"))
    assert presented_token(request) is None


def test_no_token_at_all() -> None:
    assert presented_token(_request("/api/events")) is None
