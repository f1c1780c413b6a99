"""Incident bundles: `harness export` from a hub, `harness import` into a fresh one (real
hubs on real SQLite files, the real `harness` command), the same state at every point;
and what a bad request, a foreign or corrupt bundle, or a hub that is not empty get."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, settings_for
from tests.contract.test_history import random_stream
from tests.integration.test_sdk_cli import run_harness

ASK = {"approval": {"id": "ap1", "session_id": "s1", "kind": "permission", "status": "pending"}}
CRASH = {"message": "exit code 137 after 12 s", "kind": "crash"}


async def harness(*args: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(run_harness, *args)
    return done.returncode, done.stdout, done.stderr


async def _hub(path: Path) -> AsyncIterator[RunningHub]:
    server = HubServer(settings_for(path, checkpoint_every=7))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[RunningHub]:
    (tmp_path / "source").mkdir()
    async for hub in _hub(tmp_path / "source"):
        yield hub


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[RunningHub]:
    (tmp_path / "fresh").mkdir()
    async for hub in _hub(tmp_path / "fresh"):
        yield hub


async def fill(hub: RunningHub) -> None:
    stream = [{"type": t, "payload": p} for t, p in random_stream(7, 60)]
    stream.insert(20, {"type": "approval:requested", "payload": ASK})
    failed = {"id": "t9", "status": "failed", "error_details": CRASH}
    stream.insert(30, {"type": "task:failed", "payload": {"task": failed}})
    for event in stream:  # one by one: each its own timestamp, checkpoints on the way
        await hub.publish(event)


def comparable(snap: dict[str, Any], with_time: bool) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k != "epoch" and (with_time or k != "at")}


def by_id(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: sorted(v, key=lambda e: str(e.get("id"))) if isinstance(v, list) else v
            for k, v in snap.items()}  # fmt: skip


async def test_a_bundle_imported_into_a_fresh_hub_gives_the_same_state_at_every_point(
    source: RunningHub, fresh: RunningHub, tmp_path: Path
) -> None:
    await fill(source)
    head = source.node.seq
    out = tmp_path / "incident.jsonl.gz"
    code, stdout, err = await harness(
        "export", "--from", "15", "--to", str(head), "-o", str(out), "--url", source.url
    )
    assert code == 0, err
    assert f"{head - 14} events" in stdout and "crash: exit code N after N s" in stdout, stdout
    lines = [orjson.loads(raw) for raw in gzip.decompress(out.read_bytes()).splitlines()]
    assert lines[0]["bundle"] == "parent-harness.bundle" and lines[0]["range"]["from_seq"] == 15
    assert lines[1]["state"]["seq"] == 14
    assert [ln["event"]["seq"] for ln in lines[2:-1]] == list(range(15, head + 1))
    asked = sum(ln["event"]["type"] == "approval:requested" for ln in lines[2:-1])
    assert asked >= 1 and f"requested: {asked}" in lines[-1]["summary"], lines[-1]["summary"]

    code, stdout, err = await harness("import", str(out), "--url", fresh.url)
    assert code == 0, err
    assert f"imported {head - 14} events" in stdout, stdout
    assert fresh.node.seq == head
    for n in range(14, head + 1):
        _, want = await source.get(f"/api/state?at={n}")
        status, got = await fresh.get(f"/api/state?at={n}")
        assert status == 200, got
        assert comparable(got, n > 14) == comparable(want, n > 14), f"state at {n} differs"
    status, body = await fresh.get("/api/state?at=13")
    assert status == 400 and "no longer kept" in body["detail"], body
    _, live = await fresh.get("/api/snapshot")
    _, was = await source.get("/api/snapshot")
    # live state is read back from the entity tables, in the order they were last changed
    # (as after any restart), so only the order of entities may differ
    assert by_id(comparable(live, True)) == by_id(comparable(was, True))
    (after,) = await fresh.publish({"type": "event", "payload": {"event": {"message": "on"}}})
    assert after["seq"] == head + 1, "the imported hub does not go on after the bundle"

    code, _, err = await harness("import", str(out), "--url", fresh.url)
    assert code == 1 and "not empty" in err and "409" in err, err


async def test_a_filtered_bundle_holds_the_events_of_that_task(
    source: RunningHub, fresh: RunningHub
) -> None:
    await fill(source)
    async with source.session.get(source.url + "/api/export?from=5&task=t9") as response:
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = [orjson.loads(raw) for raw in (await response.read()).splitlines()]
    events = [ln["event"] for ln in lines[2:-1]]
    assert [e["type"] for e in events] == ["task:failed"], events
    assert lines[-1]["events"] == 1 and lines[0]["filters"] == {"task": "t9", "session": None}

    status, body = await fresh.post("/api/import", lines)
    assert status == 200, body
    failed_at = events[0]["seq"]
    _, at_start = await source.get("/api/state?at=4")
    for n in (4, failed_at - 1):  # before the task's event: the state at the start
        status, got = await fresh.get(f"/api/state?at={n}")
        assert status == 200, got
        assert comparable(got, False) == comparable({**at_start, "seq": n}, False), n
    status, got = await fresh.get(f"/api/state?at={failed_at}")
    assert [t["status"] for t in got["tasks"] if t["id"] == "t9"] == ["failed"]
    status, body = await fresh.get("/api/state?at=3")
    assert status == 400 and "oldest state is seq 4" in body["detail"], body


async def test_bad_ranges_are_refused_naming_the_parameter(source: RunningHub) -> None:
    await fill(source)
    head = source.node.seq
    for query, param, words in [
        ("from=10&to=5", "from", "is after to"),
        (f"to={head + 1}", "to", "beyond the log"),
        ("from=yesterday", "from", "neither a seq nor an ISO 8601 time"),
        ("to=1999-01-01T00:00:00Z", "to", "before the log's first event"),
        ("from=0", "from", "1 or more"),
    ]:
        status, body = await source.get(f"/api/export?{query}")
        assert (status, body["code"], body["param"]) == (400, "bad_params", param), body
        assert words in body["detail"], (query, body)


@pytest.mark.parametrize(
    ("damage", "line", "words"),
    [
        (lambda ls: [{"bundle": "other", "version": 1}, *ls[1:]], 1, "not a parent-harness"),
        (lambda ls: ls[:-1], None, "cut short"),
        (lambda ls: [*ls[:5], {"event": {**ls[5]["event"], "seq": 2}}, *ls[6:]], 6, "seq 2"),
        (
            lambda ls: [*ls[:4], {"event": {**ls[4]["event"], "type": "task:nope"}}, *ls[5:]],
            5,
            "unknown event type",
        ),
        (lambda ls: [*ls[:-1], {**ls[-1], "events": 3}], None, "counts 3 events"),
        (
            lambda ls: [
                ls[0],
                {"state": {**ls[1]["state"], "tables": {"task": [{"id": "x"}]}}},
                *ls[2:],
            ],  # a task row no fold makes
            None,
            "cannot",
        ),
    ],
)
async def test_a_foreign_or_corrupt_bundle_is_refused_naming_the_line(
    source: RunningHub, fresh: RunningHub, damage: Any, line: int | None, words: str
) -> None:
    await fill(source)
    async with source.session.get(source.url + "/api/export?from=3") as response:
        lines = [orjson.loads(raw) for raw in (await response.read()).splitlines()]
    bad = damage(lines)
    status, body = await fresh.post("/api/import", bad)
    assert (status, body["code"]) == (400, "bad_bundle"), body
    assert words in body["detail"], body
    assert body["line"] == (line or len(bad)) or line is None, body
    assert fresh.node.seq == 0 and await fresh.node.store.is_empty(), "half imported"


async def test_a_line_that_is_not_json_is_named_by_the_command(
    fresh: RunningHub, tmp_path: Path
) -> None:
    bundle = tmp_path / "bad.jsonl"
    bundle.write_text('{"bundle": "parent-harness.bundle", "version": 1}\n{oops\n')
    code, _, err = await harness("import", str(bundle), "--url", fresh.url)
    assert code == 1 and "line 2: not JSON" in err, err


CANDIDATE = """
[budget]
limit_usd_per_task = 1.0

[notify]
default_rules = false
[[notify.rules]]
name = "crashes"
on = "task:failed"
when = { "task.error_details.kind" = "crash" }
[[notify.rules]]
name = "ooms"
on = "task:failed"
when = { "task.error_details.kind" = "oom" }
"""


async def test_replay_reports_what_a_candidate_would_have_done_and_publishes_nothing(
    source: RunningHub, tmp_path: Path
) -> None:
    await fill(source)
    usage = {"input": 1, "output": 1, "cost_usd": 0.6}
    for _ in range(2):
        await source.publish(
            {"type": "session:iteration",
             "payload": {"session_id": "s1", "iteration": 3, "token_usage": usage}}
        )  # fmt: skip
    head = source.node.seq
    candidate = tmp_path / "candidate.toml"
    candidate.write_text(CANDIDATE)
    code, out, err = await harness(
        "replay", "--from", "2", "--config", str(candidate), "--json", "--url", source.url
    )
    assert code == 0, err
    report = orjson.loads(out)
    alerts = [(f["subject"], f["detail"]) for f in report["would"] if f["source"] == "alert"]
    assert alerts == [("task t9", "rule crashes (warning): Crashes")], report["would"]
    budget = [(f["what"], f["seq"]) for f in report["would"] if f["source"] == "budget"]
    assert budget[-1] == ("stopped", head), report["would"]
    assert report["events"] == head - 1
    assert source.node.seq == head, "the replay published something"

    code, out, err = await harness("replay", "--config", str(candidate), "--url", source.url)
    assert code == 0 and "alert alerted" in out and "Would have:" in out, (out, err)
    candidate.write_text("[budget]\nwarn_at = 2\n")
    code, out, err = await harness("replay", "--config", str(candidate), "--url", source.url)
    assert code == 2 and "budget: warn_at" in err, err


async def test_the_whole_log_imports_from_seq_1_and_who_may_export_and_import(
    source: RunningHub, tmp_path: Path
) -> None:
    await fill(source)
    async with source.session.get(source.url + "/api/export") as response:
        lines = [orjson.loads(raw) for raw in (await response.read()).splitlines()]
    assert lines[0]["range"]["from_seq"] == 1 and lines[1]["state"]["seq"] == 0
    (tmp_path / "guarded").mkdir()
    server = HubServer(
        settings_for(
            tmp_path / "guarded",
            tokens=("pub", "pub-t1=task:t1"),
            read_tokens=("read",),
            max_import_bytes=64 * 1024,
        )
    )
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            guarded = RunningHub(server, session)

            def bearer(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            status, body = await guarded.post("/api/import", lines, headers=bearer("read"))
            assert (status, body["code"]) == (403, "forbidden"), body
            status, body = await guarded.post("/api/import", lines, headers=bearer("pub-t1"))
            assert (status, body["code"]) == (403, "forbidden"), body
            foreign = {**bearer("pub"), "Origin": "http://evil.example"}
            status, body = await guarded.post("/api/import", lines, headers=foreign)
            assert (status, body["code"]) == (403, "forbidden_site"), body
            status, body = await guarded.get("/api/export", headers=bearer("pub-t1"))
            assert (status, body["code"]) == (403, "forbidden"), body
            padded = [*lines[:-1], {"summary": "x" * 70_000, "events": lines[-1]["events"]}]
            status, body = await guarded.post("/api/import", padded, headers=bearer("pub"))
            assert (status, body["code"]) == (413, "too_large"), body
            assert server.node.seq == 0

            status, body = await guarded.post("/api/import", lines, headers=bearer("pub"))
            assert (status, body["imported"]) == (200, source.node.seq), body
            for n in (0, 1, source.node.seq):
                _, want = await source.get(f"/api/state?at={n}")
                _, got = await guarded.get(f"/api/state?at={n}", headers=bearer("read"))
                assert comparable(got, True) == comparable(want, True), n
    finally:
        await server.stop()


async def test_the_replay_route_runs_alert_rules_over_the_log(source: RunningHub) -> None:
    await fill(source)
    head = source.node.seq
    rules = [
        {"name": "crashes", "on": "task:failed", "when": {"task.error_details.kind": "crash"}},
        {"name": "ooms", "on": "task:failed", "when": {"task.error_details.kind": "oom"}},
    ]
    candidate = {"notify": {"default_rules": False, "rules": rules}}
    status, report = await source.post("/api/replay", {"from": 2, "candidate": candidate})
    assert status == 200, report
    alerts = [(f["what"], f["subject"]) for f in report["would"] if f["source"] == "alert"]
    assert alerts == [("alerted", "task t9")], report["would"]
    assert report["counts"]["would"] == {"alert alerted": 1}
    assert source.node.seq == head, "the replay published something"

    bad = {"candidate": {"notify": {"rules": [{"name": "x"}]}}}
    status, body = await source.post("/api/replay", bad)
    assert (status, body["code"], body["field"]) == (400, "invalid_params", "candidate"), body
    status, body = await source.post("/api/replay", {"from": 9, "to": 3})
    assert (status, body["code"], body["param"]) == (400, "bad_params", "from"), body
