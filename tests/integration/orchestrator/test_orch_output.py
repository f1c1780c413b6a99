"""Agent output streamed through the real hub: real subprocesses printing bad input at a
high rate; the events, the kept lines over REST, and a replay by room (issue 16)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from parent_harness.events.sink import Event
from parent_harness.hub.node import Node
from parent_harness.orchestrator import Orchestrator, parse_config
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import until

NOISY = Path(__file__).with_name("noisy_agent.py")


def fleet_config(tmp_path: Path, argv: list[str], **output: Any) -> Any:
    return parse_config(
        {
            "orchestrator": {
                "publish_interval_s": 0.05,
                "health_interval_s": 0.05,
                "output": output,
            },
            "agents": {"noisy": {"command": [sys.executable, str(NOISY), *argv]}},
        },
        tmp_path,
    )


async def all_output(http: aiohttp.ClientSession, session_id: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    after = 0
    while True:
        async with http.get(f"/api/sessions/{session_id}/output?after={after}&limit=5000") as r:
            assert r.status == 200, await r.text()
            page = await r.json()
        lines += page["lines"]
        if page["next_after"] is None:
            return lines
        after = page["next_after"]


async def room_events(http: aiohttp.ClientSession, room: str) -> list[dict[str, Any]]:
    """Every event of `room`, replayed from the start of the log (until `replayed`)."""
    found: list[dict[str, Any]] = []
    async with http.ws_connect(f"/ws?monitor={room}&since=0", max_msg_size=0) as ws:
        while True:
            data = orjson.loads((await ws.receive()).data)
            for msg in data if isinstance(data, list) else [data]:
                if msg["type"] == "replayed":
                    return found
                if "seq" in msg:
                    found.append(msg)


async def run_task(server: HubServer, config: Any, http: aiohttp.ClientSession) -> str:
    async with http.post("/api/tasks", json={"title": "noisy", "agent_name": "noisy"}) as r:
        task_id = (await r.json())["task"]["id"]
    node = server.node
    await until(node, lambda: node.committed_state.tasks[task_id]["session_id"] is not None)
    return str(node.committed_state.tasks[task_id]["session_id"])


def ended(node: Node, session_id: str) -> bool:
    status = node.committed_state.sessions.get(session_id, {}).get("status")
    return status not in (None, "running")


async def test_bad_output_is_cleaned_redacted_bounded_and_kept(
    server: HubServer, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    config = fleet_config(tmp_path, ["mixed", str(go)])
    node = server.node
    prompt_seen = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.type == "session:output" and any(
            line["text"] == "Continue? [y/n] " for line in event.payload["lines"]
        ):
            prompt_seen.set()

    node.add_listener(on_event)
    async with aiohttp.ClientSession(server.url) as http, Orchestrator(config, hub=node):
        session_id = await run_task(server, config, http)
        # The prompt has no newline: it is shown while the agent waits for an answer.
        await asyncio.wait_for(prompt_seen.wait(), 30)
        go.touch()
        await until(node, lambda: ended(node, session_id))
        lines = await all_output(http, session_id)
        everything = await room_events(http, "*")
        mine = await room_events(http, f"session:{session_id}")

    texts = [line["text"] for line in lines]
    assert [line["n"] for line in lines] == list(range(1, len(lines) + 1))
    assert texts[0] == "hello \x1b[32mgreen\x1b[0m world"
    assert texts[1] == "ANTHROPIC_API_KEY=[REDACTED:anthropic_key]"
    bearer = next(line for line in lines if "Bearer" in line["text"])
    assert bearer["stream"] == "stderr" and "[REDACTED:bearer]" in bearer["text"]
    joined = "\n".join(texts)
    assert "QQQQ" not in joined and "abcdef1234567890" not in joined
    assert "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g" not in joined  # the key's body
    begin = texts.index("-----BEGIN OPENSSH PRIVATE KEY----- [REDACTED:private_key]")
    assert texts[begin + 1] == "[REDACTED:private_key]"
    assert "bin \ufffd\ufffd\ufffd and bad utf-8 \ufffd\ufffd\ufffd end" in texts
    assert "downloading 100%" in texts and not any("downloading  90%" in t for t in texts)
    long_pieces = [t for t in texts if t.startswith("LLLL")]
    assert sum(len(t) for t in long_pieces) < 70_000  # 10 MB cut to 64 KB, in pieces
    last_piece = max(i for i, t in enumerate(texts) if t.startswith("LLLL"))
    assert texts[last_piece + 1].endswith("MB of this line not kept]")
    assert texts.index("Continue? [y/n] ") < texts.index("bye")
    assert texts[texts.index("Continue? [y/n] ") + 1] == "y"

    session = node.committed_state.sessions[session_id]
    assert session["output_lines"] == len(lines)
    # A dashboard following everything gets no output; one in the session's room gets
    # every line, the same as REST, from a replay.
    assert not [m for m in everything if m["type"] == "session:output"]
    streamed = [
        line for m in mine if m["type"] == "session:output" for line in m["payload"]["lines"]
    ]
    assert streamed == lines
    assert len([m for m in mine if m["type"] == "session:output"]) < len(lines) / 2  # coalesced
    # Nothing else the hub holds has the secrets either: the tail, the error details...
    logged = orjson.dumps(everything + mine).decode()
    assert "QQQQ" not in logged and "abcdef1234567890" not in logged
    assert "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g" not in logged
    assert "[REDACTED:bearer]" in str(node.committed_state.sessions[session_id]["output_tail"])
    notes = [
        m
        for m in everything
        if m["type"] == "event" and "redacted" in m["payload"]["event"]["message"]
    ]
    assert notes[0]["payload"]["event"]["data"]["redacted"] == {
        "anthropic_key": 1,
        "bearer": 1,
        "private_key": 1,
    }


async def test_a_flood_over_the_rate_bound_is_dropped_and_said(
    server: HubServer, tmp_path: Path
) -> None:
    config = fleet_config(tmp_path, ["flood", "100000"], lines_per_s=500)
    node = server.node
    async with aiohttp.ClientSession(server.url) as http, Orchestrator(config, hub=node):
        session_id = await run_task(server, config, http)
        await until(node, lambda: ended(node, session_id), timeout=60)
        lines = await all_output(http, session_id)
    texts = [line["text"] for line in lines]
    dropped = [t for t in texts if "lines dropped" in t]
    assert dropped, "the flood was not bounded"
    kept = [t for t in texts if t.startswith("flood line")]
    assert texts[:500] == [f"flood line {n}" for n in range(1, 501)]  # the first second's burst
    said = sum(int(t.split()[1]) for t in dropped)
    done = [t for t in texts if t.startswith("done in")]  # on stderr, after the flood
    assert len(kept) + said + len(done) == 100_001  # every line kept, or counted as dropped
