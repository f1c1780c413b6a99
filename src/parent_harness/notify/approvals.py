"""Answering approvals from a chat: the buttons of a `needs-input` alert and their callbacks.

A button's `callback_data` (at most 64 bytes, Telegram's bound) names the approval and the
decision: `ap:<index>:<approval id>`, the index being the decision's place in the approval's
options (`allow`/`deny` when it has none). An id too long for the bound is named by
`#` and the start of its SHA-256 instead, found again among the pending approvals.

The answer itself goes through an `ApprovalDesk`, the hub's one way to answer
(hub/answers.py): the first answer in the hub's order wins, a later one learns the winner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

PREFIX = "ap"
MAX_CALLBACK_BYTES = 64
_HASH_CHARS = 24
_LABEL_CHARS = 40
DEFAULT_OPTIONS = ("allow", "deny")
_LABELS = {"allow": "✅ Allow", "deny": "⛔ Deny", "allow_session": "Allow for this session"}

Buttons = list[list[dict[str, str]]]
"""Rows of buttons, each {text, data}: what a delivery's body carries (JSON, stored)."""


class Decided(Protocol):
    """The outcome of one answer (hub/answers.py `AnswerResult`)."""

    @property
    def outcome(self) -> str: ...

    @property
    def approval(self) -> Mapping[str, Any] | None: ...


class ApprovalDesk(Protocol):
    """Where the notifier reads approvals and answers them (the hub's `NodeApprovals`)."""

    @property
    def approvals(self) -> Mapping[str, Mapping[str, Any]]: ...

    async def answer(self, approval_id: str, decision: str, *, by: str, via: str) -> Decided: ...


def options_of(approval: Mapping[str, Any]) -> list[str]:
    """The decisions a button may give: the approval's options, else allow and deny."""
    return list(approval.get("options") or DEFAULT_OPTIONS)


def callback_data(approval_id: str, index: int) -> str:
    """The data of the button giving options[index] to the approval (at most 64 bytes)."""
    data = f"{PREFIX}:{index}:{approval_id}"
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    return f"{PREFIX}:{index}:#{_digest(approval_id)}"


def parse_callback(data: str | None) -> tuple[int, str] | None:
    """(index, reference) from a button's data; None when it is not one of ours."""
    prefix, _, rest = (data or "").partition(":")
    index, _, reference = rest.partition(":")
    if prefix != PREFIX or not index.isdigit() or not reference:
        return None
    return int(index), reference


def find(approvals: Mapping[str, Mapping[str, Any]], reference: str) -> Mapping[str, Any] | None:
    """The approval a button names: by id, or by the start of its id's SHA-256."""
    if not reference.startswith("#"):
        return approvals.get(reference)
    digest = reference[1:]
    return next((a for i, a in approvals.items() if _digest(i) == digest), None)


def buttons_for(approval: Mapping[str, Any]) -> Buttons:
    """The alert's buttons, two a row; none for a question that takes free text."""
    if not approval.get("options") and approval.get("kind") == "question":
        return []
    approval_id = str(approval.get("id"))
    buttons = [
        {"text": label(option), "data": callback_data(approval_id, index)}
        for index, option in enumerate(options_of(approval))
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def label(option: str) -> str:
    """A button's text for an option."""
    text = _LABELS.get(option, option)
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def resolution_text(approval: Mapping[str, Any]) -> str:
    """The line an alert gets once its request is decided, whoever decided it."""
    if approval.get("status") == "answered":
        return "✅ " + decision_text(approval)
    why = f": {approval['answer']}" if approval.get("answer") else ""
    return f"⌛ {approval.get('status') or 'decided'}{why}"


def outcome_text(decided: Decided, decision: str, by: str) -> str:
    """What the chat is told: the answer given, or who had decided first."""
    approval = decided.approval or {}
    if decided.outcome == "answered":
        return f"✅ {decision} by {by} via telegram"
    if decided.outcome == "decided":
        return "Already decided: " + decision_text(approval)
    if decided.outcome == "not_found":
        return "That request is no longer known to the hub."
    return f"{decision!r} is not an answer to this request."


def decision_text(approval: Mapping[str, Any]) -> str:
    """`deny by ops via api`, or `expired`, for an approval that is decided."""
    how = approval.get("decision") or approval.get("status") or "decided"
    parts: Sequence[str] = [
        str(how),
        f"by {approval['by']}" if approval.get("by") else "",
        f"via {approval['via']}"
        if approval.get("via") and approval["via"] != approval.get("by")
        else "",
    ]
    return " ".join(part for part in parts if part)


def _digest(approval_id: str) -> str:
    return hashlib.sha256(approval_id.encode()).hexdigest()[:_HASH_CHARS]
