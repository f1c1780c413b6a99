"""The Redis broker: one order for every node, through Redis Streams.

Appending runs a Lua script that, atomically, checks the log's epoch, finds or
claims each idempotency key, takes the next seq (INCR) and XADDs the event with the
stream id `<seq>-0`, so the stream's order is the seq order. Every node reads the
stream (XREAD) from the last seq it folded and delivers it to its ingest, which
folds it and fans it out to its own clients once it is in the shared store. Each event
is written by the node that appended it (its id is in the entry), which then adds
`(node, upto)` to a second stream, `confirmed`; the other nodes read both streams in
one XREAD. A node that hears nothing from an event's origin for a while writes the
event itself (the write is idempotent), so a node killed between its append and its
commit delays its events by that while, and loses none.

If Redis loses its data (a restart without persistence), the script finds no epoch
and refuses; the node re-seeds the counter above every seq it or the store has seen,
so no seq is ever given twice. Events sequenced by the lost Redis but committed by
no node were never acknowledged: their publishers get an error and retry.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from parent_harness.brokers.base import (
    Appended,
    BrokerHandler,
    Capabilities,
    Outgoing,
    Sequenced,
)
from parent_harness.credentials import mask_url, mask_urls
from parent_harness.events.clock import new_id
from parent_harness.exceptions import BrokerUnavailable

log = logging.getLogger(__name__)

KEY_TTL_S = 7 * 24 * 3600
GENERATED_KEY_TTL_S = 300
APPEND_ATTEMPTS = 3
STREAM_MAXLEN = 1_000_000
RESEED_MARGIN = 10_000
READ_COUNT = 1000
CONFIRMED_MAXLEN = 10_000

# KEYS: epoch, seq, stream. ARGV: epoch, maxlen, node, then per event: id, key ttl (s), type,
# payload.
# Every event's id is claimed as a key (a publisher's key for days, a generated id for minutes),
# so an append retried after a lost reply finds its events instead of adding them twice.
_APPEND = """
local current = redis.call('GET', KEYS[1])
if current == false then return redis.error_reply('NOEPOCH') end
if current ~= ARGV[1] then return redis.error_reply('EPOCH ' .. current) end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 4, #ARGV, 4 do
  local id = ARGV[i]
  local known = redis.call('GET', 'harness:key:' .. id)
  if known then
    table.insert(out, {tonumber(known), 1})
  else
    local seq = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',
               'id', id, 'type', ARGV[i + 2], 'payload', ARGV[i + 3], 'ms', ms,
               'node', ARGV[3])
    redis.call('SET', 'harness:key:' .. id, seq, 'EX', ARGV[i + 1])
    table.insert(out, {seq, 0})
  end
end
return out
"""

# KEYS: epoch, seq. ARGV: epoch, floor. Claims or checks the epoch; the counter never below floor.
_SEED = """
local current = redis.call('GET', KEYS[1])
if current ~= false and current ~= ARGV[1] then return redis.error_reply('EPOCH ' .. current) end
redis.call('SET', KEYS[1], ARGV[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if seq < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2]) end
return tonumber(redis.call('GET', KEYS[2]))
"""


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class RedisBroker:
    """Sequences through Redis and reads the whole order back from its stream."""

    capabilities = Capabilities(shared_order=True)

    def __init__(self, url: str, *, prefix: str = "harness") -> None:
        self.url = mask_url(url)
        """As shown in errors, logs and /api/health: without its password."""
        self.keys = [f"{prefix}:epoch", f"{prefix}:seq", f"{prefix}:stream"]
        self.confirmations = f"{prefix}:confirmed"
        self.node = os.urandom(6).hex()
        """This process's name in the streams: the origin of the events it appends."""
        # A connection idle for a second is checked before use, so a Redis restart costs a
        # reconnect, not a failed append (which could not be retried safely).
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=10, health_check_interval=1
        )
        self._append = self.client.register_script(_APPEND)
        self._seed = self.client.register_script(_SEED)
        self.epoch = ""
        self.last_seq = 0
        self._handler: BrokerHandler | None = None
        self._confirmed_at = "0-0"
        self._reader: asyncio.Task[None] | None = None
        self._reading = False
        self._stopping = False
        self._error: str | None = None

    async def start(
        self,
        handler: BrokerHandler,
        *,
        epoch: str,
        after_seq: int,
        recent_keys: Mapping[str, int] | None = None,
        keys_complete: bool = True,
    ) -> str:
        """Claims (or checks) the log's epoch and reads the order after `after_seq`; the
        keys are Redis's own (`harness:key:*`), so `recent_keys` is not needed."""
        self.epoch = epoch
        self.last_seq = after_seq
        self._handler = handler
        await self._reseed()
        await self._recent_confirmations()
        self._reader = asyncio.create_task(self._read_loop(), name="redis-stream-reader")
        return epoch

    async def _reseed(self, margin: int = 0) -> None:
        try:
            await self._seed(keys=self.keys[:2], args=[self.epoch, self.last_seq + margin])
        except ResponseError as exc:
            raise RuntimeError(
                f"redis at {self.url} serves another log ({exc}); this store's epoch is "
                f"{self.epoch}: point the hub at its own Redis or prefix"
            ) from None

    async def _recent_confirmations(self) -> None:
        """The latest confirmations (each node's newest is all that counts), and the
        position to read the next ones from."""
        recent: Any = await self.client.xrevrange(self.confirmations, count=1000)
        if recent:
            self._confirmed_at = recent[0][0].decode()
            self._confirm([(entry_id, fields) for entry_id, fields in reversed(recent)])

    def _confirm(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        if self._handler is None:
            return
        for _entry_id, fields in entries:
            origin = fields[b"node"].decode()
            if origin != self.node:
                self._handler.on_confirmed(origin, int(fields[b"upto"]))

    async def confirm(self, upto: int) -> None:
        """XADDs `(node, upto)` to the confirmations stream; raises BrokerUnavailable."""
        try:
            await self.client.xadd(
                self.confirmations,
                {"node": self.node, "upto": upto},
                maxlen=CONFIRMED_MAXLEN,
                approximate=True,
            )
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"redis at {self.url}: {exc}") from exc

    async def append(self, events: Sequence[Outgoing]) -> list[Appended]:
        args: list[Any] = [self.epoch, STREAM_MAXLEN, self.node]
        idents = [e.key or new_id() for e in events]
        for event, ident in zip(events, idents, strict=True):
            ttl = KEY_TTL_S if event.key else GENERATED_KEY_TTL_S
            args += [ident, ttl, event.type, orjson.dumps(event.payload)]
        rows = await self._append_retrying(args)
        return [
            Appended(ident, int(seq), bool(dup) and event.key is not None)
            for event, ident, (seq, dup) in zip(events, idents, rows, strict=True)
        ]

    async def _append_retrying(self, args: list[Any]) -> Any:
        """Appends; a connection lost on the way is retried (safe: every id is a key)."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                return await self._append_or_reseed(args)
            except (RedisError, OSError) as exc:
                if isinstance(exc, ResponseError) or attempt == APPEND_ATTEMPTS - 1:
                    raise BrokerUnavailable(
                        f"redis at {self.url}: {exc}; nothing was published"
                    ) from exc
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def _append_or_reseed(self, args: list[Any]) -> Any:
        try:
            return await self._append(keys=self.keys, args=args)
        except ResponseError as exc:
            if "NOEPOCH" not in str(exc):
                raise
        await self._lost_state()
        return await self._append(keys=self.keys, args=args)

    async def _lost_state(self) -> None:
        """Redis came back empty: seed the counter well above every seq any node may hold,
        so none is given twice; the gap is filled from the store by whoever reads it."""
        log.warning("redis lost its state; re-seeding the order above seq %d", self.last_seq)
        await self._reseed(margin=RESEED_MARGIN)

    async def _read_loop(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                await self._read_once()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._stopping:  # redis-py may turn our cancellation into a ConnectionError
                    return
                self._reading = False
                self._error = mask_urls(f"{type(exc).__name__}: {exc}")
                log.warning("redis stream reader: %s; retrying in %.2fs", self._error, delay)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    async def _read_once(self) -> None:
        stream = self.keys[2]
        positions: dict[Any, Any] = {
            stream: f"{self.last_seq}-0",
            self.confirmations: self._confirmed_at,
        }
        response: Any = await self.client.xread(positions, count=READ_COUNT, block=1000)
        if not self._reading and not await self.client.exists(self.keys[0]):
            await self._lost_state()
        self._reading, self._error = True, None
        for name, entries in response:
            if name.decode() == self.confirmations:
                self._confirmed_at = entries[-1][0].decode()
                self._confirm(entries)
                continue
            batch = [self._sequenced(entry_id, fields) for entry_id, fields in entries]
            if batch and batch[0].seq > self.last_seq + 1:
                batch = await self._fill(batch[0].seq - 1) + batch
            if batch and self._handler is not None:
                self.last_seq = batch[-1].seq
                self._handler.deliver(batch)

    async def _fill(self, upto: int) -> list[Sequenced]:
        """Events missing from the stream (trimmed, or lost with Redis): the store's copy."""
        assert self._handler is not None
        found = await self._handler.stored_events(self.last_seq, upto)
        if len(found) < upto - self.last_seq:
            log.warning(
                "%d events before seq %d are in neither the stream nor the store: "
                "they were never acknowledged",
                upto - self.last_seq - len(found),
                upto + 1,
            )
        return found

    def _sequenced(self, entry_id: bytes, fields: dict[bytes, bytes]) -> Sequenced:
        seq = int(entry_id.split(b"-", 1)[0])
        ms = int(fields[b"ms"])
        origin = fields[b"node"].decode()
        return Sequenced(
            seq,
            fields[b"id"].decode(),
            fields[b"type"].decode(),
            orjson.loads(fields[b"payload"]),
            _iso(ms),
            ms,
            origin=None if origin == self.node else origin,
        )

    async def stop(self) -> None:
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.client.aclose()

    def status(self) -> dict[str, Any]:
        return {
            "ok": self._reading,
            "kind": "redis",
            "url": self.url,
            "seq": self.last_seq,
            "node": self.node,
            "error": self._error,
        }
