"""Credentials are never shown: URLs and messages with their passwords and tokens masked.

Every URL the harness renders (in /api/health, error messages, logs, CLI output, events)
goes through `mask_url` first:

- the password of the userinfo: `redis://:***@host:6379/0`, `postgresql://user:***@host/db`;
- the values of query parameters that carry secrets: `?password=***`, `?token=***`;
- a Telegram bot token in a Bot API path: `https://api.telegram.org/bot***/sendMessage`.

The rest is kept as written, so the URL still says which server and database is meant.
The password is what SQLAlchemy's URL parser takes for one (everything between the user's
`:` and the next `@`, so an unencoded `/` or `?` in it is masked too, which `urlsplit`
would read as the start of the path).

Secrets that sit elsewhere (a webhook whose path is the secret) are known to their owner,
which removes them with `redact` before a message leaves it.

This module imports nothing of ours: brokers, store, notify and cli all use it.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_url", "mask_urls", "redact"]

MASK = "***"

_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@?#]*:)(?P<password>[^@]+)(?=@)")
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;](?:password|passwd|pwd|pass|secret|token|access_token|auth|api_key|apikey"
    r"|key|sig|signature)=)(?P<value>[^&;#\s]+)",
    re.IGNORECASE,
)
_BOT_TOKEN = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")


def mask_url(url: str) -> str:
    """The URL as it may be shown: its password and secret parameters replaced by `***`."""
    url = _PASSWORD.sub(rf"\g<head>{MASK}", url, count=1)
    url = _SECRET_PARAM.sub(rf"\g<name>{MASK}", url)
    return _BOT_TOKEN.sub(f"/bot{MASK}", url)


def mask_urls(text: str) -> str:
    """A message (an exception's, a log line) with every URL in it masked by `mask_url`."""
    return _URL.sub(lambda found: mask_url(found.group()), text)


def redact(text: str, secrets: dict[str, str]) -> str:
    """`text` with each secret replaced by what stands for it, then its URLs masked.

    `secrets` maps a secret (a webhook URL, a bot token) to what may be shown instead (the
    webhook's name, `***`); longer secrets are replaced first, so one inside another is
    never half-shown.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, secrets[secret])
    return mask_urls(text)
