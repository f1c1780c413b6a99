"""The Python SDK: publish events to a hub, subscribe to its stream, act on task attempts."""

from parent_harness.client.attempts import AttemptsClient
from parent_harness.client.publisher import HttpPublisher, LocalPublisher
from parent_harness.client.subscriber import Subscriber, SubscribeRefused, ws_url

__all__ = [
    "AttemptsClient",
    "HttpPublisher",
    "LocalPublisher",
    "SubscribeRefused",
    "Subscriber",
    "ws_url",
]
