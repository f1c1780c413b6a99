"""`harness run`'s orchestrator beside a worker on another machine (issue 19): both claim
through the leases, so each task runs once, on one side or the other; a restart of the
orchestrator ends its own leases and leaves the worker's task alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from parent_harness.client.worker import WorkerLink
from parent_harness.orchestrator import HarnessConfig, Orchestrator, parse_config
from parent_harness.orchestrator.leasing import LOCAL, LocalClaims
from parent_harness.store.leases import LeaseBook
from parent_harness.web.app import HubServer
from tests.integration.orchestrator.support import agent_command, until


def local_config(tmp_path: Path) -> HarnessConfig:
    return parse_config(
        {
            "orchestrator": {"publish_interval_s": 0.05, "health_interval_s": 0.05},
            "agents": {"bot": {"command": agent_command("success"), "max_instances": 2}},
        },
        tmp_path,
    )


async def test_the_local_orchestrator_and_a_worker_run_each_task_once(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    book = LeaseBook(node.store)
    config = local_config(tmp_path)
    claims = LocalClaims(node, book)
    ids = [f"t{i}" for i in range(12)]
    won_by_worker: list[str] = []
    async with WorkerLink(server.url, "remote") as link:
        await link.register(["bot"], [], 2, "t")
        async with Orchestrator(config, hub=node, claims=claims):
            for task_id in ids:
                await node.publish("task:created", {"task": {"id": task_id, "title": "x"}})
                lease = await link.claim(["bot"])
                if lease is not None:
                    won_by_worker.append(lease["task"]["id"])
                    await link.release(lease["task"]["id"], lease["lease_id"], "completed")
            await until(
                node,
                lambda: all(node.committed_state.tasks[t]["status"] == "completed" for t in ids),
            )
    sessions = Counter(
        s["task_id"] for s in node.committed_state.sessions.values() if s.get("task_id")
    )
    for task_id in ids:
        task = node.committed_state.tasks[task_id]
        if task_id in won_by_worker:
            assert task["worker_id"] == "remote" and sessions[task_id] == 0
        else:
            assert task["worker_id"] is None and sessions[task_id] == 1
    assert 0 < len(won_by_worker) < len(ids), won_by_worker  # both sides ran some
    leases = await book.of_tasks(ids)
    assert {lease.state for lease in leases.values()} == {"ended"}
    assert sorted(t for t, lease in leases.items() if lease.worker_id == LOCAL) == sorted(
        set(ids) - set(won_by_worker)
    )


async def test_a_restart_ends_its_own_leases_and_leaves_the_workers(
    server: HubServer, tmp_path: Path
) -> None:
    node = server.node
    book = LeaseBook(node.store)
    async with WorkerLink(server.url, "remote") as link:
        await link.register(["bot"], [], 1, "t")
        await node.publish("task:created", {"task": {"id": "remote-1", "title": "x"}})
        held = await link.claim(["bot"])
        assert held is not None
        stale = LocalClaims(node, book)  # a previous run that held a task, then died
        await node.publish("task:created", {"task": {"id": "local-1", "title": "x"}})
        assert await stale.take("local-1", "s-old")
        await node.publish(
            "task:updated", {"task": {"id": "local-1", "status": "running", "session_id": "s-old"}}
        )
        config = local_config(tmp_path)
        async with Orchestrator(config, hub=node, claims=LocalClaims(node, book)):
            await until(
                node, lambda: node.committed_state.tasks["local-1"]["status"] == "completed"
            )
            assert node.committed_state.tasks["remote-1"]["status"] == "assigned"
        leases = await book.of_tasks(["remote-1", "local-1"])
        assert leases["remote-1"].state == "held" and leases["remote-1"].worker_id == "remote"
        assert leases["local-1"].state == "ended"
        await link.release("remote-1", held["lease_id"], "completed")
    assert node.committed_state.tasks["remote-1"]["status"] == "completed"
