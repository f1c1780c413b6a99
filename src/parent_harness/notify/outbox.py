"""The outbox: delivers what the store holds, in order per target, retrying with backoff.

Each (channel, target) is a lane worked by one task, so the messages of one chat or one
webhook arrive in the order they were written and a dead receiver delays only its own lane.
A delivery leaves the store only once sent, or once given up on and reported as an `event`
of level error: a message is never dropped silently, and a restart resumes where it stopped.
What is logged or reported of a failure has passed through its channel's `redact`.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Mapping

from parent_harness.events.clock import Clock, to_iso
from parent_harness.notify.control import Publisher
from parent_harness.notify.delivery import Channel, ChannelKind, Delivery, RetryPolicy
from parent_harness.notify.errors import DeliveryError
from parent_harness.notify.store import NotifyStore

log = logging.getLogger(__name__)
Lane = tuple[ChannelKind, str]


class Outbox:
    """Works every lane that has deliveries waiting."""

    def __init__(
        self,
        store: NotifyStore,
        channels: Mapping[ChannelKind, Channel],
        sink: Publisher,
        clock: Clock,
    ) -> None:
        self._store = store
        self._channels = channels
        self._sink = sink
        self._clock = clock
        self._lanes: dict[Lane, asyncio.Task[None]] = {}

    def kick(self) -> None:
        """Starts a worker for every lane with deliveries and none running."""
        for lane in self._store.lanes():
            task = self._lanes.get(lane)
            if task is None or task.done():
                self._lanes[lane] = asyncio.create_task(self._work(lane), name=f"notify:{lane[0]}")

    async def wait_idle(self) -> None:
        """Returns once every lane has emptied (or stopped on an unexpected error)."""
        while running := [task for task in self._lanes.values() if not task.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        """Stops the workers; what was not delivered stays stored for the next start."""
        for task in self._lanes.values():
            task.cancel()
        await asyncio.gather(*self._lanes.values(), return_exceptions=True)
        self._lanes.clear()

    async def _work(self, lane: Lane) -> None:
        while (delivery := self._store.next_delivery(*lane)) is not None:
            await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> None:
        assert delivery.id is not None
        wait = delivery.next_at - self._clock.now()
        if wait > 0:
            await asyncio.sleep(wait)
        channel = self._channels.get(delivery.channel)
        if channel is None or channel.label(delivery.target) is None:
            reason = "its target is no longer configured"
            await self._give_up(delivery, delivery.attempts, reason, None)
            return
        try:
            await channel.deliver(delivery)
        except Exception as exc:
            error = _as_delivery_error(exc, channel)
            attempts = delivery.attempts + 1
            log.warning("%s delivery failed (attempt %d): %s", delivery.channel, attempts, error)
            if error.retryable and attempts <= channel.policy(delivery.target).retries:
                self._reschedule(channel.policy(delivery.target), delivery, error)
            else:
                await self._give_up(delivery, attempts, str(error), error.status)
            return
        self._store.finish(delivery.id)

    def _reschedule(self, policy: RetryPolicy, delivery: Delivery, error: DeliveryError) -> None:
        assert delivery.id is not None
        attempts = delivery.attempts + 1
        delay = policy.delay(attempts) if error.retry_after is None else error.retry_after
        self._store.reschedule(delivery.id, attempts, self._clock.now() + delay, str(error))

    async def _give_up(
        self, delivery: Delivery, attempts: int, reason: str, status: int | None
    ) -> None:
        """Reports a delivery that will not happen as an `event` of level error, then drops it."""
        assert delivery.id is not None
        channel = self._channels.get(delivery.channel)
        label = (channel.label(delivery.target) if channel else None) or delivery.channel
        event_id = f"notify-undelivered-{delivery.key}"
        payload = {
            "id": event_id,
            "level": "error",
            "source": f"notify.{delivery.channel}",
            "message": f"{delivery.channel} message to {label} not delivered after "
            f"{attempts} attempt(s): {reason}",
            "data": {
                "channel": delivery.channel,
                "target": label,
                "attempts": attempts,
                "status": status,
                "about_seq": delivery.about_seq,
                "queued_at": to_iso(delivery.created_at),
                "text": delivery.text[:2000],
            },
        }
        await self._sink.publish("event", {"event": payload}, id=event_id)
        self._store.finish(delivery.id)


def _as_delivery_error(exc: Exception, channel: Channel) -> DeliveryError:
    """A channel's DeliveryError as it is (already redacted); anything else logged with its
    traceback and wrapped, both through the channel's `redact` (a message may hold a URL)."""
    if isinstance(exc, DeliveryError):
        return exc
    trace = "".join(traceback.format_exception(exc))
    log.error("unexpected error while delivering:\n%s", channel.redact(trace))
    return DeliveryError(channel.redact(f"{type(exc).__name__}: {exc}"), retryable=True)
