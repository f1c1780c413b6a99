"""Two answers racing for each of many approvals, and what every subscriber saw of them.

Shared by the race in one hub (tests/integration/test_approval_races.py) and across two hubs
on one Redis (tests/cluster/test_approval_races.py). Each race fires both answers at once
(no sleeps): exactly one is accepted (200), the other gets 409 `already_decided` carrying the
winning answer, and every subscriber sees each approval decided once, the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tests.conftest import WsClient

Answer = Callable[[str, dict[str, Any]], Awaitable[tuple[int, Any]]]
"""POSTs an answer to one approval on one hub: (approval id, body) -> (status, body)."""

RACES = 200
AT_ONCE = 16  # races in flight together: the loop stays short without starving the hubs


def requested(ident: str) -> dict[str, Any]:
    approval = {
        "id": ident,
        "agent_id": "claude-1",
        "session_id": f"s-{ident}",
        "task_id": "t1",
        "kind": "permission",
        "tool": "Bash",
        "summary": "run the tests",
        "options": ["allow", "deny"],
        "status": "pending",
        "requested_at": "2026-12-01T12:00:00.000Z",
    }
    return {"type": "approval:requested", "payload": {"approval": approval}, "id": f"req-{ident}"}


async def race_all(idents: Sequence[str], first: Answer, second: Answer) -> dict[str, Any]:
    """Races two answers for each approval; returns each one's winning approval by id."""
    gate = asyncio.Semaphore(AT_ONCE)
    winners: dict[str, Any] = {}

    async def race(ident: str) -> None:
        async with gate:
            (s1, b1), (s2, b2) = await asyncio.gather(
                first(ident, {"decision": "allow", "by": "first", "via": "dashboard"}),
                second(ident, {"decision": "deny", "by": "second", "via": "telegram"}),
            )
        assert sorted((s1, s2)) == [200, 409], f"{ident}: {s1} {b1} / {s2} {b2}"
        won, lost = (b1, b2) if s1 == 200 else (b2, b1)
        assert lost["code"] == "already_decided", lost
        assert lost["approval"] == won["approval"], f"{ident}: the loser was not told the winner"
        winners[ident] = won["approval"]

    await asyncio.gather(*(race(ident) for ident in idents))
    return winners


async def seen_by(client: WsClient, up_to: int) -> dict[str, list[dict[str, Any]]]:
    """The approval events a subscriber received up to seq `up_to`, by approval id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for msg in await client.events_until(up_to, timeout=30):
        if msg["type"].startswith("approval:"):
            found.setdefault(msg["payload"]["approval"]["id"], []).append(msg)
    return found


def check_resolved_once(seen: dict[str, list[dict[str, Any]]], winners: dict[str, Any]) -> int:
    """Every approval went pending -> decided once, as its winner says; a losing answer that
    reached the log carries the approval as it stands. Returns how many such echoes there
    were (answers that lost after both had passed the hub's check)."""
    echoes = 0
    for ident, winner in winners.items():
        events = seen[ident]
        assert events[0]["type"] == "approval:requested", ident
        decided = [m["payload"]["approval"] for m in events[1:]]
        assert decided and all(a == winner for a in decided), f"{ident}: {decided} vs {winner}"
        echoes += len(decided) - 1
    return echoes
