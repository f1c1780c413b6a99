"""Picking up after a previous run: what the hub still shows as running is not.

An orchestrator that stopped (or died) may leave sessions marked ``running``,
tasks marked assigned, running or testing, and agents that are no longer
configured. :func:`recover` ends those sessions (killing an agent process a
killed orchestrator left behind), interrupts those tasks (they are requeued or
failed by ``retry.on_interrupted``) and shows those agents offline, so the queue
loses nothing across a restart and no orphan keeps working on a requeued task.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..events.clock import now_iso
from .config import TaskSpec
from .errors import Failure
from .outcomes import TaskOutcomes
from .ports import FleetState
from .publisher import FleetPublisher
from .queue import TaskQueue


async def recover(
    state: FleetState,
    queue: TaskQueue,
    agents: Collection[str],
    publisher: FleetPublisher,
    outcomes: TaskOutcomes,
) -> None:
    """End stale sessions, interrupt stale tasks, retire agents not in ``agents``."""
    on_workers = {i for i, t in state.tasks.items() if t.get("worker_id")}
    for session in list(state.sessions.values()):
        if session.get("task_id") in on_workers:  # a worker's: it reports it (issue 19)
            continue
        if session.get("status") in ("running", "waiting_input"):
            ended = {"id": session["id"], "status": "failed", "ended_at": now_iso()}
            await publisher.session("ended", ended)
            if reap_orphan(session):
                message = f"Killed agent process {session['pid']} left by session {session['id']}"
                await publisher.note("warning", message, {"session_id": session["id"]})
    for task in queue.active_unclaimed():
        if task.get("worker_id"):  # its worker's lease decides (orchestrator/leasing.py)
            continue
        failure = Failure(
            "interrupted",
            f"the orchestrator stopped while the task was {task.get('status')} "
            f"(session {task.get('session_id')})",
        )
        await outcomes.interrupted(task, failure)
    for agent_id, agent in list(state.agents.items()):
        if "@" in agent_id:  # a worker's agent (`claude@gpu-1`): its worker reports it
            continue
        if agent_id not in agents and agent.get("status") != "offline":
            await publisher.agent(
                {
                    "id": agent_id,
                    "status": "offline",
                    "running_instances": 0,
                    "current_task_id": None,
                    "current_session_id": None,
                }
            )


def reap_orphan(session: Mapping[str, Any]) -> bool:
    """Kill the process group of ``session`` if its process still runs; True if it did.

    The process is recognised by ``HARNESS_SESSION_ID`` in its environment (Linux
    ``/proc``), so a pid reused by an unrelated program is never touched.
    """
    pid = session.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    if f"HARNESS_SESSION_ID={session['id']}".encode() not in environ:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return True


def seed_id(spec: TaskSpec) -> str:
    """The id of a task listed in the configuration: its own, or one made from its title."""
    return spec.id or "cfg-" + re.sub(r"[^a-z0-9]+", "-", spec.title.lower()).strip("-")[:48]
