"""The broker backends, found by their URL's scheme.

Each scheme names the module and class of its backend; the module is imported only when a
URL asks for it, so redis-py is needed only by a hub that uses Redis. A backend imports
`base`, never this module, and `base` imports no backend: no cycle.
"""

from __future__ import annotations

import importlib
from typing import cast

from parent_harness.brokers.base import Broker
from parent_harness.credentials import mask_url

BACKENDS: dict[str, str] = {
    "memory": "parent_harness.brokers.memory:MemoryBroker",
    "redis": "parent_harness.brokers.redis:RedisBroker",
    "rediss": "parent_harness.brokers.redis:RedisBroker",
    "unix": "parent_harness.brokers.redis:RedisBroker",
}
"""Scheme -> "module:class" of the backend; the class is called with the URL."""


def schemes() -> list[str]:
    """The URL schemes a broker can be opened with."""
    return sorted(BACKENDS)


def open_broker(url: str) -> Broker:
    """The broker for a URL: `memory://` or `redis://host:port/db` (`rediss://`, `unix://`).

    Raises ValueError, naming the URL without its password, for a scheme no backend serves.
    """
    scheme, sep, _ = url.partition("://")
    target = BACKENDS.get(scheme) if sep else None
    if target is None:
        raise ValueError(
            f"unsupported broker URL {mask_url(url)!r}: its scheme must be one of "
            f"{', '.join(s + '://' for s in schemes())}"
        )
    module, _, name = target.partition(":")
    backend = getattr(importlib.import_module(module), name)
    return cast(Broker, backend(url))
