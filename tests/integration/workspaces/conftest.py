"""Fixtures of the workspace tests."""

from __future__ import annotations

import pytest

from tests.integration.orchestrator.support import FakeHub


@pytest.fixture
def fake_hub() -> FakeHub:
    """A fresh in-memory hub, strict about the catalogue."""
    return FakeHub()
