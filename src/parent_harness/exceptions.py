"""Errors parent-harness raises on purpose.

HarnessError
├── InvalidEvent        an event refused at ingest (names the field)
├── StoreUnavailable    the store could not commit a batch; nothing was acknowledged
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
