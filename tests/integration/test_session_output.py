"""`session:output` through a real hub: its room only, REST paging and search, scopes, and
a follower that reconnects getting exactly the lines it missed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parent_harness.client.output import OutputUnavailable, follow_output
from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, settings_for


def output(session_id: str, first: int, texts: list[str]) -> dict[str, Any]:
    lines = [{"n": first + i, "stream": "stdout", "text": t} for i, t in enumerate(texts)]
    return {
        "type": "session:output",
        "payload": {"session_id": session_id, "from_line": first, "lines": lines},
    }


def started(session_id: str, task_id: str = "t1") -> dict[str, Any]:
    session = {"id": session_id, "agent_id": "a1", "task_id": task_id, "status": "running"}
    return {"type": "session:started", "payload": {"session": session}}


async def test_output_is_paged_and_searched(hub: RunningHub) -> None:
    await hub.publish(started("s1"))
    for first in range(1, 301, 100):
        await hub.publish(output("s1", first, [f"step {n} ok" for n in range(first, first + 100)]))
    await hub.publish(output("s1", 301, ["FAILED tests/test_app.py::test_login"]))
    status, page = await hub.get("/api/sessions/s1/output?after=95&limit=10")
    assert status == 200
    assert [x["n"] for x in page["lines"]] == list(range(96, 106))
    assert (page["first_line"], page["last_line"], page["next_after"]) == (1, 301, 105)
    assert page["lines"][0]["at"]  # the hub stamps lines without a time
    _, found = await hub.get("/api/sessions/s1/output?q=failed")
    assert [x["n"] for x in found["lines"]] == [301] and found["next_after"] is None
    _, tail = await hub.get("/api/sessions/s1/output?after=301")
    assert tail["lines"] == [] and tail["next_after"] is None


async def test_the_event_log_lists_output_only_when_asked(hub: RunningHub) -> None:
    await hub.publish(started("s1"), output("s1", 1, ["x"]))
    _, everything = await hub.get("/api/events")
    assert [e["type"] for e in everything["items"]] == ["session:started"]
    _, by_type = await hub.get("/api/events?type=session:*")
    assert [e["type"] for e in by_type["items"]] == ["session:output", "session:started"]
    _, by_room = await hub.get("/api/events?room=session:s1")
    assert [e["type"] for e in by_room["items"]] == ["session:output", "session:started"]


async def test_bad_parameters_and_unknown_sessions(hub: RunningHub) -> None:
    await hub.publish(started("s1"))
    for query in ("after=-1", "after=1.5", "limit=0", "limit=5001", "q=" + "x" * 501):
        status, body = await hub.get(f"/api/sessions/s1/output?{query}")
        assert status == 400, query
        assert body["status"] == 400
    status, body = await hub.get("/api/sessions/nope/output")
    assert status == 404 and body["code"] == "not_found"


async def test_a_token_for_other_rooms_does_not_see_the_output(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tokens=("pub",), read_tokens=("other=task:t2",))
    server = HubServer(settings)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            hub = RunningHub(server, session)
            publisher = {"Authorization": "Bearer pub"}
            status, _ = await hub.post("/api/events", [started("s1"), output("s1", 1, ["x"])],
                                       headers=publisher)  # fmt: skip
            assert status == 200
            other = {"Authorization": "Bearer other"}
            status, body = await hub.get("/api/sessions/s1/output", headers=other)
            assert status == 403 and body["code"] == "forbidden"
            status, _ = await hub.get("/api/sessions/s1/output", headers=publisher)
            assert status == 200
    finally:
        await server.stop()


async def test_a_follower_that_reconnects_gets_exactly_the_lines_it_missed(
    hub: RunningHub,
) -> None:
    await hub.publish(started("s1"), started("s2", "t2"))
    everything = await hub.connect()
    await everything.next_of("welcome")
    follower = await hub.connect("monitor=session:s1")
    await follower.next_of("welcome")
    await hub.publish(output("s1", 1, ["one", "two"]), output("s2", 1, ["elsewhere"]))
    first = await follower.next_of("session:output")
    assert [x["text"] for x in first["payload"]["lines"]] == ["one", "two"]
    assert first["payload"]["agent_id"] == "a1" and first["payload"]["task_id"] == "t1"
    await follower.ws.close()

    await hub.publish(output("s1", 3, ["three"]), output("s1", 4, ["four", "five"]))
    marker = (await hub.publish({"type": "event", "payload": {"event": {"message": "m"}}}))[0]
    back = await hub.connect(f"monitor=session:s1&since={first['seq']}")
    missed = [m for m in await back.events_until(marker["seq"] - 1) if "seq" in m]
    lines = [x["text"] for m in missed for x in m["payload"]["lines"]]
    assert lines == ["three", "four", "five"]

    seen = await everything.events_until(marker["seq"])
    assert "session:output" not in {m.get("type") for m in seen}


def ended(session_id: str) -> dict[str, Any]:
    return {
        "type": "session:ended",
        "payload": {"session": {"id": session_id, "status": "completed"}},
    }


async def test_the_sdk_follows_kept_then_live_lines_until_the_session_ends(hub: RunningHub) -> None:
    await hub.publish(started("s1"), output("s1", 1, ["one", "two"]))
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def follow() -> None:
        async for line in follow_output(hub.url, "s1"):
            got.put_nowait(line)

    follower = asyncio.create_task(follow())
    assert [(await asyncio.wait_for(got.get(), 10))["text"] for _ in range(2)] == ["one", "two"]
    await hub.publish(output("s1", 3, ["three"]), output("s2", 1, ["not mine"]))
    assert (await asyncio.wait_for(got.get(), 10))["text"] == "three"
    await hub.publish(output("s1", 4, ["four"]), ended("s1"))
    await asyncio.wait_for(follower, 10)  # the session ended: so does the follower
    assert [got.get_nowait()["n"] for _ in range(got.qsize())] == [4]
    done = [line["n"] async for line in follow_output(hub.url, "s1")]  # ended: kept lines only
    assert done == [1, 2, 3, 4]
    with pytest.raises(OutputUnavailable, match="404"):
        [line async for line in follow_output(hub.url, "nope")]


async def test_harness_tail_session_prints_the_output(hub: RunningHub) -> None:
    red = "\x1b[31mred\x1b[0m"
    await hub.publish(started("s1"), output("s1", 1, [f"plain {red} text"]))
    err = {"n": 2, "stream": "stderr", "text": "warning: careful"}
    payload = {"session_id": "s1", "from_line": 2, "lines": [err]}
    await hub.publish({"type": "session:output", "payload": payload})
    tail = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parent_harness", "tail", "--url", hub.url, "--session", "s1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert tail.stdout is not None
    first = await asyncio.wait_for(tail.stdout.readline(), 20)
    second = await asyncio.wait_for(tail.stdout.readline(), 20)
    await hub.publish(output("s1", 3, ["last words"]), ended("s1"))
    rest = await asyncio.wait_for(tail.stdout.read(), 20)
    assert await asyncio.wait_for(tail.wait(), 20) == 0
    assert first.decode().rstrip() == "plain red text"  # not a terminal: colours rendered off
    assert second.decode().rstrip() == "! warning: careful"
    assert rest.decode() == "last words\n"
