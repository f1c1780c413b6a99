"""The orchestrator's side of approvals: agents that wait for a human (or a rule).

An agent asks through its protocol (the harness protocol's ``approval_request`` line,
published by :meth:`ApprovalDesk.ask`) or through the hub (Claude Code's hook command
publishes ``approval:requested`` itself). Either way the desk learns of the request from
the hub's committed events, in their order, and for a session of this fleet:

- marks the session and its agent ``waiting_input`` (the health monitor then expects
  silence) until every request of the session is decided;
- applies ``[[approvals.rules]]``: the first rule that matches decides (``ask``, or no
  match, leaves it to people); its answer is an ``approval:answered`` by
  ``rule:<name>`` via ``rule``;
- when the approval is decided (answered, expired or cancelled, whoever decided first in
  the log's order), writes an ``approval_response`` line on the agent's stdin when the
  agent asked on its stdout;
- expires a request nobody answered in ``approvals.timeout_s`` (or the agent's own
  ``expires_in_s``) with ``approvals.default``, by ``timeout``; warns once about a request
  pending longer than ``approvals.remind_after_s``;
- cancels the requests of a session whose agent exited, died or was killed while waiting,
  and, at start, those of this fleet's agents that a previous run left pending (their
  processes did not survive it; the task's next attempt asks again).

Requests of other producers (the SDK, ``harness publish``, a hook run outside this fleet)
are not answered on anyone's stdin and no rule applies to them; one that carries a
deadline (``expires_at``) is expired at it, also after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ..events.clock import iso, now_iso, read_iso, short_id, utc_now
from ..events.sink import Event
from .config import ApprovalRule, ApprovalsConfig
from .health import seconds
from .publisher import FleetPublisher
from .signals import ApprovalRequest

log = logging.getLogger(__name__)

ACTIVE_SESSION = ("running", "waiting_input")
ENDED_KEPT = 1000
APPROVAL_TYPES = ("approval:requested", "approval:answered", "approval:expired")


class Asker(Protocol):
    """A running session as the desk needs it (a :class:`~.session.SessionRun`)."""

    id: str
    task_id: str
    waiting: set[str]

    @property
    def agent_name(self) -> str: ...

    @property
    def workspace_path(self) -> str | None: ...

    @property
    def workspace_id(self) -> str | None: ...

    def tell(self, message: Mapping[str, Any]) -> bool: ...


def inside(path_text: str | None, root: str | None) -> bool:
    """Whether ``path_text`` names a file inside ``root`` (relative paths from ``root``);
    ``..`` and symbolic links are resolved first, so neither can lead out."""
    if not path_text or not root:
        return False
    text = path_text.strip()
    if not text or "\n" in text or "\0" in text:
        return False
    base = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(os.path.join(base, os.path.expanduser(text))))
    return candidate == base or candidate.is_relative_to(base)


def matching_rule(
    rules: Iterable[ApprovalRule], approval: Mapping[str, Any], workspace: str | None
) -> ApprovalRule | None:
    """The first rule whose every condition holds for ``approval``, or None."""
    for rule in rules:
        if rule.kind is not None and approval.get("kind") != rule.kind:
            continue
        if rule.tool is not None and not fnmatch.fnmatchcase(
            str(approval.get("tool") or ""), rule.tool
        ):
            continue
        detail = str(approval.get("detail") or "")
        if rule.detail is not None and not re.search(rule.detail, detail):
            continue
        if rule.inside_workspace is not None and (
            inside(detail, workspace) is not rule.inside_workspace
        ):
            continue
        return rule
    return None


@dataclass(slots=True)
class Pending:
    """A request waiting for its decision: of a session of this fleet (``ours``), or of
    another producer that gave it a deadline (``expires_at``), which the desk keeps."""

    id: str
    session_id: str
    requested_at: datetime
    expires_at: datetime
    reminded: bool = False
    ours: bool = True
    agent_id: str | None = None
    task_id: str | None = None

    @classmethod
    def of(cls, approval: Mapping[str, Any], default_wait: float, now: datetime) -> Pending:
        requested = read_iso(approval.get("requested_at")) or now
        expires = read_iso(approval.get("expires_at")) or requested + timedelta(
            seconds=default_wait
        )
        return cls(
            str(approval["id"]),
            str(approval.get("session_id")),
            requested,
            expires,
            agent_id=approval.get("agent_id"),
            task_id=approval.get("task_id"),
        )


class ApprovalDesk:
    """See the module docstring; the orchestrator feeds it the hub's events
    (:meth:`on_event`) and calls :meth:`tick` from its watch loop."""

    def __init__(
        self,
        config: ApprovalsConfig,
        publisher: FleetPublisher,
        *,
        find_run: Callable[[str], Asker | None],
        waiting_changed: Callable[[Asker], Awaitable[None]],
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self._pub = publisher
        self._find_run, self._waiting_changed, self._now = find_run, waiting_changed, now
        self.pending: dict[str, Pending] = {}
        self._asked: dict[str, str | None] = {}
        """Requests made on an agent's stdout (answered on its stdin): the agent's own id."""
        self._ended: OrderedDict[str, str] = OrderedDict()
        """Sessions whose agent is gone (the last ENDED_KEPT), with why: a request of one
        that reaches the desk afterwards is cancelled at once."""
        self._inbox: asyncio.Queue[Event] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Begin handling the hub's approval events (in their order, one at a time)."""
        self._worker = asyncio.create_task(self._work(), name="orchestrator-approvals")

    async def stop(self) -> None:
        """Handle what is queued, then stop."""
        if self._worker is None:
            return
        await self.settle()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def settle(self) -> None:
        """Wait until every queued event is handled."""
        if self._worker is not None and not self._worker.done():
            await self._inbox.join()

    async def recover(
        self,
        approvals: Iterable[Mapping[str, Any]],
        sessions: Mapping[str, Mapping[str, Any]],
        agents: Collection[str],
    ) -> None:
        """At start: the requests whose agent's process is gone are cancelled: those of a
        session the hub shows ended (a previous run's sessions are ended by
        :func:`~.recovery.recover` first) and those of this fleet's agents with no live
        session here. Requests of other producers (no session the hub knows, an agent not
        of this fleet) stay pending; those with a deadline (``expires_at``) expire at it."""
        for approval in list(approvals):
            if approval.get("status") not in (None, "pending"):
                continue
            session_id = str(approval.get("session_id"))
            if self._find_run(session_id) is not None:
                continue
            session = sessions.get(session_id)
            ended = session is not None and session.get("status") not in ACTIVE_SESSION
            agent = approval.get("agent_id") or (session or {}).get("agent_id")
            if ended or agent in agents:
                reason = "the agent's process is gone (the orchestrator restarted)"
                await self._cancel(str(approval["id"]), reason)
            else:
                self._keep_deadline(approval)

    # -- requests --------------------------------------------------------------------------

    async def ask(self, run: Asker, request: ApprovalRequest) -> str | None:
        """Publish the request an agent made on its stdout; the approval's id, or None when
        the hub refused it (the agent is told at once: it does not wait)."""
        approval_id = short_id("ap")
        now = self._now()
        wait = self.config.timeout_s
        if request.expires_in_s is not None:
            wait = min(wait, request.expires_in_s)
        self._asked[approval_id] = request.ref
        approval = {
            "id": approval_id,
            "agent_id": run.agent_name,
            "session_id": run.id,
            "task_id": run.task_id,
            "workspace_id": run.workspace_id,
            "kind": request.kind,
            "tool": request.tool,
            "summary": request.summary,
            "detail": request.detail,
            "options": list(request.options),
            "status": "pending",
            "requested_at": iso(now),
            "expires_at": iso(now + timedelta(seconds=wait)),
        }
        result = await self._pub.publish(
            "approval:requested", {"approval": approval}, id=f"approval:requested:{approval_id}"
        )
        if result is None:  # the hub refused it: the agent must not wait for nothing
            self._asked.pop(approval_id, None)
            run.tell(
                response(
                    {**approval, "status": "cancelled", "decision": self.config.default,
                     "by": "orchestrator", "via": "hub",
                     "answer": "the request could not be published to the hub"},
                    request.ref,
                )
            )  # fmt: skip
            return None
        return approval_id

    def on_event(self, event: Event) -> None:
        """The hub's listener (synchronous, in seq order): queue approval events."""
        if event.type in APPROVAL_TYPES:
            self._inbox.put_nowait(event)

    async def _work(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._handle(event)
            except Exception:  # a bug here must not stop the desk
                log.exception("could not handle %s", event.type)
            finally:
                self._inbox.task_done()

    async def _handle(self, event: Event) -> None:
        approval = event.payload.get("approval")
        if not isinstance(approval, Mapping) or "id" not in approval:
            return
        approval_id = str(approval["id"])
        status = approval.get("status")
        if status == "pending" or (status is None and event.type == "approval:requested"):
            if event.type == "approval:requested" and approval_id not in self.pending:
                await self._requested(approval)
            return
        if approval_id in self.pending:
            await self._decided(approval)

    async def _requested(self, approval: Mapping[str, Any]) -> None:
        session_id = str(approval.get("session_id"))
        if session_id in self._ended:  # the agent went before its request came back
            self._asked.pop(str(approval["id"]), None)
            await self._cancel(str(approval["id"]), self._ended[session_id])
            return
        run = self._find_run(session_id)
        if run is None:  # another producer's: only its own deadline is kept here
            self._keep_deadline(approval)
            return
        approval_id = str(approval["id"])
        self.pending[approval_id] = Pending.of(approval, self.config.timeout_s, self._now())
        first = not run.waiting
        run.waiting.add(approval_id)
        if first:
            await self._waiting_changed(run)
        rule = matching_rule(self.config.rules, approval, run.workspace_path)
        if rule is not None and rule.decision != "ask":
            await self._publish_decision(
                "approval:answered",
                approval_id,
                status="answered",
                decision=rule.decision,
                answer=rule.answer,
                by=f"rule:{rule.name}",
                via="rule",
            )

    async def _decided(self, approval: Mapping[str, Any]) -> None:
        approval_id = str(approval["id"])
        pending = self.pending.pop(approval_id)
        on_stdout = approval_id in self._asked
        ref = self._asked.pop(approval_id, None)
        run = self._find_run(pending.session_id) if pending.ours else None
        if run is None:
            return
        if on_stdout and not run.tell(response(approval, ref)):
            log.warning("session %s takes no answers on stdin (approval %s)", run.id, approval_id)
        run.waiting.discard(approval_id)
        if not run.waiting:
            await self._waiting_changed(run)

    def _keep_deadline(self, approval: Mapping[str, Any]) -> None:
        """Expire (and remind of) another producer's request at the deadline it gave."""
        if approval.get("expires_at") and read_iso(approval.get("expires_at")) is not None:
            pending = Pending.of(approval, self.config.timeout_s, self._now())
            pending.ours = False
            self.pending[pending.id] = pending

    # -- time ------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Expire what waited too long; remind once of what waits long."""
        now = self._now()
        remind = self.config.remind_after_s
        for pending in list(self.pending.values()):
            if now >= pending.expires_at:
                waited = (now - pending.requested_at).total_seconds()
                default = self.config.default
                await self._publish_decision(
                    "approval:expired",
                    pending.id,
                    status="expired",
                    decision=default,
                    answer=f"nobody answered within {seconds(waited)}: {default} by default",
                    by="timeout",
                    via="hub",
                )
            elif remind and not pending.reminded:
                waited = (now - pending.requested_at).total_seconds()
                if waited >= remind:
                    pending.reminded = True
                    await self._remind(pending, waited)

    async def _remind(self, pending: Pending, waited: float) -> None:
        await self._pub.note(
            "warning",
            f"Approval {pending.id} has waited {seconds(waited)} for an answer "
            f"(agent {pending.agent_id or '?'}, session {pending.session_id})",
            {
                "approval_id": pending.id,
                "session_id": pending.session_id,
                "task_id": pending.task_id,
                "agent_id": pending.agent_id,
                "reminder": True,
            },
            source="approvals",
        )

    # -- the end of a session --------------------------------------------------------------

    async def session_ended(self, run: Asker, why: str) -> None:
        """The agent is gone: its pending requests are cancelled, and any that reaches the
        desk later."""
        self._ended[run.id] = why
        while len(self._ended) > ENDED_KEPT:
            self._ended.popitem(last=False)
        mine = [p.id for p in self.pending.values() if p.session_id == run.id]
        for approval_id in mine:  # forgotten first: nothing is written to a gone agent
            self.pending.pop(approval_id, None)
            self._asked.pop(approval_id, None)
        run.waiting.clear()
        for approval_id in mine:
            await self._cancel(approval_id, why)

    async def _cancel(self, approval_id: str, why: str) -> None:
        await self._publish_decision(
            "approval:expired",
            approval_id,
            status="cancelled",
            decision=None,
            answer=why,
            by="orchestrator",
            via="hub",
        )

    async def _publish_decision(self, type: str, approval_id: str, **fields: Any) -> None:
        approval = {"id": approval_id, **fields, "answered_at": now_iso()}
        await self._pub.publish(type, {"approval": approval})


def response(approval: Mapping[str, Any], ref: str | None) -> dict[str, Any]:
    """The ``approval_response`` line written on the agent's stdin."""
    return {
        "type": "approval_response",
        "id": ref if ref is not None else approval.get("id"),
        "approval_id": approval.get("id"),
        "status": approval.get("status"),
        "decision": approval.get("decision"),
        "answer": approval.get("answer"),
        "by": approval.get("by"),
        "via": approval.get("via"),
    }
