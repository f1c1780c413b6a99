"""Answering an approval, the one way every channel does it (REST, Telegram's buttons).

`answer_approval(node, id, decision, by=..., via=...)` publishes `approval:answered` and says
whether this answer is the one that counts. The state's fold keeps the first decision in the
log's order (hub/state.py), so the check before publishing only spares the log a useless
event: the verdict is read after the commit, from the approval as it then stands. Two
answers racing, in one hub or on two hubs sharing one order (Redis), get one `answered`
and one `decided` carrying the winning answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from parent_harness.events.clock import now_iso

if TYPE_CHECKING:
    from parent_harness.hub.node import Node

Outcome = Literal["answered", "decided", "not_found", "bad_decision"]


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """What became of one answer: `answered` (it won; `approval` is the answered one),
    `decided` (too late; `approval` carries the winning answer or the expiry), `not_found`,
    or `bad_decision` (not one of the approval's `options`)."""

    outcome: Outcome
    approval: dict[str, Any] | None = None
    seq: int | None = None
    options: list[str] = field(default_factory=list)


def decision_refused(approval: Mapping[str, Any], decision: str) -> list[str] | None:
    """The approval's options when `decision` is not one of them; None when it may be given
    (an approval without options takes any decision: a question answered in free text)."""
    options = list(approval.get("options") or [])
    return options if options and decision not in options else None


async def answer_approval(
    node: Node,
    approval_id: str,
    decision: str,
    *,
    answer: str | None = None,
    by: str | None = None,
    via: str = "api",
) -> AnswerResult:
    """Answers a pending approval; see the module docstring for who wins."""
    current = node.state.approvals.get(approval_id)
    if current is None:
        return AnswerResult("not_found")
    if current.get("status") != "pending":
        return AnswerResult("decided", current)
    refused = decision_refused(current, decision)
    if refused is not None:
        return AnswerResult("bad_decision", current, options=refused)
    answered = {
        "id": approval_id,
        "status": "answered",
        "decision": decision,
        "answer": answer,
        "by": by or via,
        "via": via,
        "answered_at": now_iso(),
    }
    result = await node.publish("approval:answered", {"approval": answered})
    after = node.committed_state.approvals[approval_id]
    if any(after.get(key) != value for key, value in answered.items()):
        return AnswerResult("decided", after)
    return AnswerResult("answered", after, result.seq)


class NodeApprovals:
    """A node's approvals as the notifier reads and answers them (notify/approvals.py
    `ApprovalDesk`): the pending ones, answered through `answer_approval`."""

    def __init__(self, node: Node) -> None:
        self._node = node

    @property
    def approvals(self) -> Mapping[str, Mapping[str, Any]]:
        """Every approval the node holds, by id."""
        return self._node.state.approvals

    async def answer(self, approval_id: str, decision: str, *, by: str, via: str) -> AnswerResult:
        """Answers for `by` through `via` (telegram); see `answer_approval`."""
        return await answer_approval(self._node, approval_id, decision, by=by, via=via)
