"""Errors parent-harness raises on purpose.

HarnessError
├── InvalidEvent        an event refused at ingest (names the field)
├── StoreUnavailable    the store could not commit a batch; nothing was acknowledged
├── RowRefused          the store refused a row for what it holds (not for being down)
├── EventRefused        a publish of which the store refused an event (the rest committed)
├── BrokerUnavailable   the broker could not order an event; nothing was acknowledged
├── PublishError        the SDK could not get an event acknowledged by a hub
└── WorkspaceRefused    an action on a task attempt's workspace cannot be done (HTTP status)
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error parent-harness raises on purpose."""


class InvalidEvent(HarnessError):
    """An event the hub refuses: an unknown type, a missing or bad field."""

    def __init__(self, field: str, message: str, *, index: int | None = None) -> None:
        self.field = field
        self.message = message
        self.index = index
        where = f"event[{index}]." if index is not None else ""
        super().__init__(f"{where}{field}: {message}")

    def fields(self) -> dict[str, object]:
        """What REST adds to its problem: the field, what is wrong with it, the index."""
        body: dict[str, object] = {"field": self.field, "reason": self.message}
        if self.index is not None:
            body["index"] = self.index
        return body


class StoreUnavailable(HarnessError):
    """The store failed to commit; the events of that batch were not acknowledged."""


class RowRefused(HarnessError):
    """The store refused a batch for a row's content (an integrity or data error of the
    database), not for being down or full: writing it again will fail again."""


class EventRefused(HarnessError):
    """Events of a publish that the store refused for their content, found only when it
    wrote them: each one's seq holds a tombstone (a hub `event` saying so), and the other
    events of the publish were committed. Not worth retrying as it is."""

    def __init__(self, refused: list[dict[str, object]], committed: list[dict[str, object]]):
        self.refused = refused
        """{index, id, seq, reason} of each refused event."""
        self.committed = committed
        """{index, id, seq} of each event of the publish that was committed."""
        first = refused[0]
        super().__init__(
            f"the store refused event {first['index']} (seq {first['seq']}): {first['reason']}"
        )


class BrokerUnavailable(HarnessError):
    """The broker (Redis) could not give the events their seq; nothing was acknowledged."""


class PublishError(HarnessError):
    """A publish was not acknowledged by the hub."""


class WorkspaceRefused(HarnessError):
    """A diff, merge, pull request or discard of a workspace cannot be done.

    `status` is the HTTP status REST answers (404 unknown file or branch, 409 a conflict or
    a state that forbids it, 502 git push or gh failed); `conflicts` names conflicting files.
    """

    def __init__(self, status: int, detail: str, conflicts: list[str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.conflicts = status, detail, conflicts or []
