"""Errors the notifications raise on purpose.

HarnessError
└── NotifyError
    ├── NotifyConfigError   a bad `[notify]` key (the message names it, e.g. `notify.rules[1].when`)
    └── DeliveryError       one attempt to deliver a message failed; says whether a retry may help
"""

from __future__ import annotations

from parent_harness.exceptions import HarnessError


class NotifyError(HarnessError):
    """Base of every error the notifications raise on purpose."""


class NotifyConfigError(NotifyError):
    """The `[notify]` section is wrong; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


class DeliveryError(NotifyError):
    """One attempt to deliver a message failed.

    `retryable` says whether trying again may succeed (a 5xx, a timeout, a 429); `retry_after`
    is the wait the receiver asked for, if it did; `status` is the HTTP status, if there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)
