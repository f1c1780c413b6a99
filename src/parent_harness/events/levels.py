"""The level of every event, so the log can be filtered by it (`/api/events?level=`).

A generic `event` has its own; for the others: failures are errors, trouble is a
warning, heartbeats are debug, the rest is info. The dashboard's `levelOf`
(web/static/js/describe.js) follows the same rules for live events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def event_level(type_: str, payload: Mapping[str, Any]) -> str:
    """The level of one (merged) event."""
    if type_ == "event":
        return str(payload["event"]["level"])
    if type_ == "task:failed":
        return "error"
    if type_ == "agent:status":
        agent = payload["agent"]
        if agent.get("health_status") == "crashed" or agent.get("status") == "error":
            return "error"
        if agent.get("health_status") in ("stuck", "stale"):
            return "warning"
    if type_ == "session:ended" and payload["session"].get("status") not in (None, "completed"):
        return "warning"
    if type_ == "test:completed" and payload["test_run"].get("status") not in (None, "passed"):
        return "warning"
    if type_.endswith(":heartbeat"):
        return "debug"
    return "info"
