"""Webhooks: a JSON POST per message, with a Slack-compatible `text` field.

The `text` is Slack mrkdwn, with what events say escaped (notify/markup.py); the document's
other fields are the same facts as JSON, unescaped, for machines.

A webhook's URL is a secret (Slack's path, a `?token=`): errors and logs name a webhook by its
`label` (its name, or scheme and host), and anything the HTTP client says is redacted first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from yarl import URL

from parent_harness.credentials import redact
from parent_harness.notify.config import WebhookSettings
from parent_harness.notify.delivery import ChannelKind, Delivery, RetryPolicy
from parent_harness.notify.errors import DeliveryError
from parent_harness.notify.markup import slack_mrkdwn

_RETRYABLE_4XX = frozenset({408, 425, 429})


def _retry_after(headers: Mapping[str, str], cap: float) -> float | None:
    value = headers.get("Retry-After", "")
    return min(float(value), cap) if value.isdigit() else None


class WebhookChannel:
    """Posts deliveries to the configured webhook URLs."""

    kind: ChannelKind = "webhook"

    def __init__(self, hooks: Sequence[WebhookSettings]) -> None:
        self._hooks = {hook.url: hook for hook in hooks}
        self._session: aiohttp.ClientSession | None = None
        # Each URL as written and as the HTTP client prints it (yarl may encode it anew).
        self._secrets = {form: hook.label for hook in hooks for form in _forms(hook.url)}

    @property
    def targets(self) -> list[str]:
        """Every configured URL."""
        return list(self._hooks)

    def hook(self, url: str) -> WebhookSettings:
        """The settings of one configured webhook."""
        return self._hooks[url]

    def policy(self, target: str) -> RetryPolicy:
        """The webhook's retry settings."""
        hook = self._hooks.get(target)
        if hook is None:
            return RetryPolicy(retries=0)
        return RetryPolicy(hook.retries, hook.backoff_s, hook.max_backoff_s)

    def label(self, target: str) -> str | None:
        """The webhook's name (or scheme and host); None when it is no longer configured."""
        hook = self._hooks.get(target)
        return hook.label if hook else None

    def escape(self, text: str) -> str:
        """Plain text as the `text` field shows it: Slack mrkdwn, control characters escaped."""
        return slack_mrkdwn(text)

    def redact(self, text: str) -> str:
        """`text` with every webhook URL replaced by its label."""
        return redact(text, self._secrets)

    async def deliver(self, delivery: Delivery) -> None:
        """Posts the delivery's JSON document to its URL."""
        hook = self._hooks.get(delivery.target)
        if hook is None:
            raise DeliveryError("webhook no longer configured", retryable=False)
        await self.post(hook, delivery.body)

    async def post(self, hook: WebhookSettings, body: Mapping[str, Any]) -> None:
        """One POST; raises DeliveryError saying whether a retry may help."""
        session = self._session_for_use()
        timeout = aiohttp.ClientTimeout(total=hook.timeout_s)
        try:
            async with session.post(
                hook.url, json=body, headers=hook.headers, timeout=timeout
            ) as response:
                if response.status < 300:
                    return
                detail = self.redact((await response.text())[:200].strip())
                raise DeliveryError(
                    f"HTTP {response.status}" + (f": {detail}" if detail else ""),
                    retryable=response.status >= 500 or response.status in _RETRYABLE_4XX,
                    status=response.status,
                    retry_after=_retry_after(response.headers, hook.max_backoff_s),
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = self.redact(str(exc)) or "timed out"
            raise DeliveryError(f"{type(exc).__name__}: {reason}", retryable=True) from None

    async def close(self) -> None:
        """Closes the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_for_use(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _forms(url: str) -> set[str]:
    """A URL as written, and as yarl (and so aiohttp's errors) renders it."""
    try:
        parsed = URL(url)
    except ValueError:
        return {url}
    return {url, str(parsed), parsed.human_repr()}
