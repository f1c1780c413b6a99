"""The Host and Origin rules (web/origins.py), on header values alone."""

from __future__ import annotations

import pytest

from parent_harness.web.origins import (
    VERDICTS_KEPT,
    SitePolicy,
    machine_names,
    normalized_origin,
    split_host,
)


@pytest.mark.parametrize(
    ("value", "split"),
    [
        ("127.0.0.1:3333", ("127.0.0.1", 3333)),
        ("[::1]:3333", ("::1", 3333)),
        ("::1", ("::1", None)),
        ("LocalHost.", ("localhost", None)),
        ("example.com:x", ("example.com", None)),
    ],
)
def test_split_host(value: str, split: tuple[str, int | None]) -> None:
    assert split_host(value) == split


@pytest.mark.parametrize(
    ("origin", "normal"),
    [
        ("http://127.0.0.1:3333", "http://127.0.0.1:3333"),
        ("https://Example.COM", "https://example.com:443"),
        ("http://[::1]", "http://[::1]:80"),
        ("null", None),
        ("file://", None),
        ("http://x:99999", None),
    ],
)
def test_normalized_origin(origin: str, normal: str | None) -> None:
    assert normalized_origin(origin) == normal


@pytest.mark.parametrize(
    "host", ["127.0.0.1:3333", "[::1]:3333", "10.1.2.3", "localhost:3333", "app.localhost"]
)
def test_addresses_and_localhost_are_answered(host: str) -> None:
    assert SitePolicy().host_refusal(host) is None


def test_a_foreign_name_is_refused_unless_allowed() -> None:
    assert "--allowed-host" in (SitePolicy().host_refusal("evil.example:3333") or "")
    assert SitePolicy(["evil.example"]).host_refusal("EVIL.example:3333") is None
    assert SitePolicy(["*"]).host_refusal("anything.example") is None
    assert SitePolicy().host_refusal(next(iter(machine_names()))) is None


def test_origins_same_site_only() -> None:
    policy = SitePolicy(allowed_origins=["https://ops.example.com"])
    assert policy.origin_refusal(None, "127.0.0.1:3333") is None  # a tool
    assert policy.origin_refusal("http://127.0.0.1:3333", "127.0.0.1:3333") is None
    assert policy.origin_refusal("https://127.0.0.1:3333", "127.0.0.1:3333") is None  # TLS proxy
    assert policy.origin_refusal("https://ops.example.com", "127.0.0.1:3333") is None
    assert policy.origin_refusal("http://127.0.0.1:4444", "127.0.0.1:3333") is not None
    assert policy.origin_refusal("null", "127.0.0.1:3333") is not None


def test_verdicts_are_kept_for_a_bounded_number_of_headers() -> None:
    policy = SitePolicy()
    for n in range(VERDICTS_KEPT * 2):
        assert policy.refusal({"Host": f"h{n}.example"}, state_changing=False) is not None
    assert len(policy._verdicts) == VERDICTS_KEPT
    assert policy.refusal({"Host": "h1.example"}, state_changing=False) is not None


def test_public_url_adds_its_host_and_origin() -> None:
    policy = SitePolicy(public_url="https://harness.example.com/base")
    assert policy.host_refusal("harness.example.com") is None
    assert policy.origin_refusal("https://harness.example.com", "10.0.0.5:3333") is None
    with pytest.raises(ValueError, match="public-url"):
        SitePolicy(public_url="harness.example.com")
