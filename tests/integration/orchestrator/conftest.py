"""Fixtures: a strict fake hub and configurations that run the scripted agent fast."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from parent_harness.orchestrator import HarnessConfig, parse_config
from parent_harness.web.app import HubServer
from parent_harness.web.settings import Settings
from tests.integration.orchestrator.support import FakeHub, MakeConfig, agent_command


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """A configuration with one agent ``bot`` running the scripted agent, fast timings."""

    def make(scenario: str = "success", **overrides: Any) -> HarnessConfig:
        data = {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {
                "bot": {
                    "command": agent_command(scenario),
                    "workdir": str(tmp_path),
                    "timeout_s": 30,
                    "stop_grace_s": 1,
                    "health": {"stale_after_s": 5, "crashed_after_s": 10, "stuck_after_s": 5},
                }
            },
            "retry": {"max_attempts": 1, "backoff_s": 0.05, "max_backoff_s": 0.2},
        }
        return parse_config(_merge(data, overrides), tmp_path)

    return make


@pytest.fixture
def fake_hub() -> FakeHub:
    """A fresh in-memory hub."""
    return FakeHub()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[HubServer]:
    """A real hub on port 0 with a real SQLite file, for the orchestrator to run against."""
    hub = HubServer(Settings(port=0, store=f"sqlite:///{tmp_path / 'harness.db'}"))
    await hub.start()
    yield hub
    await hub.stop()
