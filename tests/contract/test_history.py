"""The state at any point of the log (`Node.state_at`, `GET /api/state?at=`): for every
event N of a random stream, the state rebuilt from checkpoints and the log equals the live
state a subscriber had right after N, on SQLite and on PostgreSQL, and after a restart."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from parent_harness.hub.history import OutOfRange, Retention
from parent_harness.hub.node import Node
from parent_harness.hub.state import State
from tests.unit.test_ingest import tables


def copy(state: State) -> State:
    """What the state was at this moment (entities are never changed in place)."""
    return State.restore(state.dump())


def random_stream(seed: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Agents, tasks, sessions, iterations, heartbeats, tests, budget, approvals (answered
    twice, expired after an answer), workspaces, plans and notes, in an order that merges
    partial entities over each other."""
    rng = random.Random(seed)
    agents, tasks, sessions = ["a1", "a2", "a3"], ["t1", "t2", "t3", "t4"], ["s1", "s2"]
    out: list[tuple[str, dict[str, Any]]] = []
    approvals, workspaces = ["ap1", "ap2", "ap3"], ["w1", "w2"]
    for n in range(count):
        pick = rng.randrange(13)
        if pick == 0:
            status = rng.choice(["idle", "working", "error"])
            out.append(("agent:status", {"agent": {"id": rng.choice(agents), "status": status}}))
        elif pick == 1:
            task: dict[str, Any] = {"id": rng.choice(tasks), "title": f"title {n}"}
            if rng.random() < 0.5:
                task["status"] = rng.choice(["queued", "running", "completed", "failed"])
            if rng.random() < 0.3:
                task["token_usage"] = {"input": rng.randrange(1000)}
            out.append((rng.choice(["task:created", "task:updated"]), {"task": task}))
        elif pick == 2:
            session = {"id": rng.choice(sessions), "agent_id": rng.choice(agents),
                       "task_id": rng.choice(tasks)}  # fmt: skip
            out.append(("session:started", {"session": session}))
        elif pick == 3:
            out.append(("session:iteration", {"session_id": rng.choice(sessions),
                                              "iteration": rng.randrange(1, 20)}))  # fmt: skip
        elif pick == 4:
            out.append(("agent:heartbeat", {"agent_id": rng.choice(agents),
                                            "iteration": rng.randrange(9)}))  # fmt: skip
        elif pick == 5:
            run = {"id": f"r{rng.randrange(5)}", "task_id": rng.choice(tasks),
                   "status": rng.choice(["running", "passed", "failed"])}  # fmt: skip
            out.append(("test:completed", {"test_run": run}))
        elif pick == 6:
            budget = {"period": rng.choice(["2026-11", "2026-12"]), "spent_usd": rng.random()}
            out.append(("budget:updated", {"budget": budget}))
        elif pick == 7:
            failed = {"id": rng.choice(tasks), "status": "failed"}
            failed["error_details"] = {"message": f"e{n}"}
            out.append(("task:failed", {"task": failed}))
        elif pick == 9:  # asked, then answered or expired: the first decision stands
            approval: dict[str, Any] = {"id": rng.choice(approvals), "task_id": rng.choice(tasks)}
            kind = rng.choice(["approval:requested", "approval:answered", "approval:expired"])
            if kind == "approval:requested":
                approval |= {"status": "pending", "kind": "permission", "tool": "Bash"}
            elif kind == "approval:answered":
                approval |= {"status": "answered", "decision": rng.choice(["allow", "deny"])}
            else:
                approval |= {"status": "expired", "decision": "deny"}
            out.append((kind, {"approval": approval}))
        elif pick == 10:
            workspace = {"id": rng.choice(workspaces), "task_id": rng.choice(tasks),
                         "status": rng.choice(["active", "ready", "merged"]),
                         "insertions": rng.randrange(100)}  # fmt: skip
            kind = rng.choice(["workspace:created", "workspace:updated", "workspace:merged"])
            out.append((kind, {"workspace": workspace}))
        elif pick == 11:
            parent, child = rng.sample(tasks, 2)
            plan = {"id": f"p{rng.randrange(2)}", "task_ids": [parent, child],
                    "edges": [{"parent": parent, "child": child}]}  # fmt: skip
            out.append(("plan:applied", {"plan": plan}))
        else:
            out.append(("event", {"event": {"message": f"note {n}", "level": "info"}}))
    return out


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_state_at_every_event_is_the_state_a_subscriber_had(
    store_url: str, seed: int
) -> None:
    node = Node(store_url, checkpoint_every=9)
    await node.start()
    seen = [copy(node.committed_state)]
    for type_, payload in random_stream(seed, 120):
        await node.publish(type_, payload)
        seen.append(copy(node.committed_state))
    await node.checkpoints.stop()
    assert node.checkpoints.taken >= 10, "the states were not rebuilt from checkpoints"
    for n, expected in enumerate(seen):
        at = await node.state_at(n)
        assert at.seq == n
        assert tables(at) == tables(expected), f"the state after event {n} differs"
    with pytest.raises(OutOfRange, match="beyond the log"):
        await node.state_at(len(seen))
    await node.stop()

    again = Node(store_url, checkpoint_every=9)  # after a restart: from the store alone
    await again.start()
    for n in (0, 1, 8, 9, 10, 57, len(seen) - 1):
        assert tables(await again.state_at(n)) == tables(seen[n]), n
    await again.stop()


async def test_retention_prunes_at_a_checkpoint_and_names_the_oldest_state(
    store_url: str,
) -> None:
    node = Node(store_url, checkpoint_every=5, retention=Retention(keep_events=12))
    await node.start()  # nothing to prune yet
    seen = [copy(node.committed_state)]
    for type_, payload in random_stream(3, 40):
        await node.publish(type_, payload)
        seen.append(copy(node.committed_state))
    await node.checkpoints.stop()
    first = await node.prune()
    cut = first - 1
    assert 40 - 12 - 5 < cut <= 40 - 12, "not cut at the newest checkpoint keeping 12 events"
    assert [s for s, *_ in await node.store.replay(None, after=0, upto=cut)] == []
    assert tables(await node.state_at(cut)) == tables(seen[cut])
    assert tables(await node.state_at(40)) == tables(seen[40])
    with pytest.raises(OutOfRange, match=f"the oldest state is seq {cut}"):
        await node.state_at(cut - 1)
    await node.stop()

    again = Node(store_url)  # the store says where the log starts now
    await again.start()
    assert again.ingest.first_seq == first
    assert again.replay_gap(0, None) == f"history before seq {first} is gone"
    await again.stop()


async def test_retention_by_age_keeps_what_is_younger(store_url: str) -> None:
    node = Node(store_url, checkpoint_every=4, retention=Retention(keep_days=1))
    await node.start()
    for type_, payload in random_stream(4, 20):
        await node.publish(type_, payload)
    await node.checkpoints.stop()
    now_ms = int(time.time() * 1000)
    assert await node.retention.prune(node.store, node.seq, now_ms) == 1, "pruned young events"
    later = now_ms + 2 * 86_400_000  # two days on, every checkpoint is old
    first = await node.retention.prune(node.store, node.seq, later)
    assert first == await node.store.last_checkpoint() + 1 > 1
    await node.stop()
