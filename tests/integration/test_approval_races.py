"""Two answers racing in one hub, 200 times over: exactly one accepted every time, the other
told the winner, every subscriber sees each approval decided once."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningHub
from tests.integration.approval_races import (
    RACES,
    check_resolved_once,
    race_all,
    requested,
    seen_by,
)


async def test_two_answers_race_in_one_hub(hub: RunningHub) -> None:
    subscribers = [await hub.connect("monitor=approvals") for _ in range(2)]
    for client in subscribers:
        await client.next_of("welcome")
    idents = [f"race-{n}" for n in range(RACES)]
    await hub.publish(*(requested(ident) for ident in idents))

    async def answer(ident: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await hub.post(f"/api/approvals/{ident}/answer", body)

    winners = await race_all(idents, answer, answer)
    assert len(winners) == RACES
    (last,) = await hub.publish(requested("sentinel"))
    for client in subscribers:
        # In one hub the second answer is refused before it is published: no echo in the log.
        assert check_resolved_once(await seen_by(client, last["seq"]), winners) == 0
    for ident, winner in list(winners.items())[:: RACES // 10]:
        status, stored = await hub.get(f"/api/approvals/{ident}")
        assert (status, stored["approval"]) == (200, winner)
