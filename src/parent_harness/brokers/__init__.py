"""The order of events: one `Broker` protocol (`base`), one file per backend, opened by URL.

`open_broker("memory://")` or `open_broker("redis://host:6379/0")`; see `registry`.
"""

from parent_harness.brokers.base import (
    Appended,
    Broker,
    BrokerHandler,
    Capabilities,
    Outgoing,
    Sequenced,
)
from parent_harness.brokers.registry import open_broker, schemes

__all__ = [
    "Appended",
    "Broker",
    "BrokerHandler",
    "Capabilities",
    "Outgoing",
    "Sequenced",
    "open_broker",
    "schemes",
]
