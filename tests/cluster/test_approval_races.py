"""Two answers racing across two hubs on one Redis (and one PostgreSQL), 200 times over:
exactly one accepted every time, decided in the one order of events; the loser told the
winner; subscribers on every node see each approval decided once, the same way."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from tests.conftest import HubProcess, WsClient
from tests.integration.approval_races import (
    RACES,
    check_resolved_once,
    race_all,
    requested,
    seen_by,
)


def poster(session: aiohttp.ClientSession, url: str) -> Any:
    async def answer(ident: str, body: dict[str, Any]) -> tuple[int, Any]:
        path = f"{url}/api/approvals/{ident}/answer"
        headers = {"Content-Type": "application/json"}
        async with session.post(path, data=orjson.dumps(body), headers=headers) as r:
            return r.status, orjson.loads(await r.read())

    return answer


async def publish(session: aiohttp.ClientSession, url: str, events: list[Any]) -> int:
    async with session.post(f"{url}/api/events", data=orjson.dumps(events),
                            headers={"Content-Type": "application/json"}) as r:  # fmt: skip
        body = await r.json()
        assert r.status == 200, body
    return int(body["items"][-1]["seq"])


async def test_two_answers_race_across_two_hubs_on_one_redis(nodes: list[HubProcess]) -> None:
    a, b, c = nodes
    async with aiohttp.ClientSession() as session:
        subscribers = []
        for node in (a, b, c):
            url = node.url.replace("http", "ws", 1) + "/ws?monitor=approvals"
            client = WsClient(await session.ws_connect(url))
            await client.next_of("welcome")
            subscribers.append(client)
        on_b = WsClient(await session.ws_connect(b.url.replace("http", "ws", 1) + "/ws"))
        await on_b.next_of("welcome")
        idents = [f"race-{n}" for n in range(RACES)]
        asked = await publish(session, a.url, [requested(ident) for ident in idents])
        # Both hubs hold every request before the answers start (a client of b saw them).
        await on_b.events_until(asked, timeout=30)

        winners = await race_all(idents, poster(session, a.url), poster(session, b.url))
        assert len(winners) == RACES
        sentinel = await publish(session, c.url, [requested("sentinel")])
        echoes = [check_resolved_once(await seen_by(s, sentinel), winners) for s in subscribers]
        assert len(set(echoes)) == 1, f"the nodes saw different logs: {echoes}"
        print(f"answers that lost after passing their hub's check: {echoes[0]} of {RACES}")
        for node in (a, b, c):
            for ident, winner in list(winners.items())[:: RACES // 10]:
                async with session.get(f"{node.url}/api/approvals/{ident}") as r:
                    assert (await r.json())["approval"] == winner, (node.url, ident)
