"""What every HTTP client of a hub shares: its URL, one session with the token, and the
async context manager that closes it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp


class HubClient:
    """An aiohttp session to a hub at `url` (with its token); use as an async context
    manager, or call `close()`."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._session.close()
