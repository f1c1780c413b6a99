"""The Python SDK: publish events to a hub and subscribe to its stream."""

from parent_harness.client.publisher import HttpPublisher, LocalPublisher
from parent_harness.client.subscriber import Subscriber, SubscribeRefused, ws_url

__all__ = ["HttpPublisher", "LocalPublisher", "SubscribeRefused", "Subscriber", "ws_url"]
