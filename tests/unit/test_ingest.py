"""Ingest against a store that refuses writes: what was acknowledged is in the log, once,
at its seq, in order, and the hub carries on when the store comes back."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson
import pytest

from parent_harness.brokers import Outgoing, Sequenced
from parent_harness.brokers.memory import MemoryBroker
from parent_harness.exceptions import EventRefused, InvalidEvent, RowRefused, StoreUnavailable
from parent_harness.hub.fanout import Hub
from parent_harness.hub.ingest import Draft, Ingest
from parent_harness.hub.replay import ReplayWindow
from parent_harness.hub.state import State
from parent_harness.store.records import Loaded, Record

PUBLISHERS = 8
EVENTS_EACH = 40


class StoreDown(Exception):
    """What the fake store raises for a refused write (a full disk, a lost server)."""


@dataclass
class FakeStore:
    """A log in memory whose writes fail when `refuse(attempt)` says so, or while `down`.

    Like the SQL store, a row whose seq is already in the log is skipped; the fake also
    remembers every skipped row that was a different event at that seq.
    """

    refuse: Callable[[int], bool] = lambda attempt: False
    down: bool = False
    refuses_row: Callable[[Record], bool] = lambda record: False
    """A row this store cannot hold (as a constraint of the database the hub knows nothing of)."""
    log: list[tuple[int, str]] = field(default_factory=list)
    types: dict[int, str] = field(default_factory=dict)
    bodies: dict[int, bytes] = field(default_factory=dict)
    hidden: list[tuple[int, str, str]] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    opened: int = 0

    async def open(self) -> Loaded:
        """The log's position and its ids, as the SQL store reads them back."""
        self.opened += 1
        await asyncio.sleep(0.001)  # reading the log back takes a while, others run meanwhile
        if self.down:
            raise StoreDown("open refused")
        last = max((seq for seq, _ in self.log), default=0)
        return Loaded("epoch-1", last, 1, {}, {i: seq for seq, i in self.log}, [])

    async def write(self, batch: Sequence[Record], *, dry_run: bool = False) -> None:
        self.attempts += 1
        await asyncio.sleep(0)  # a real write lets other tasks run meanwhile
        if self.down or self.refuse(self.attempts):
            self.failures += 1
            raise StoreDown(f"write {self.attempts} refused")
        refused = [r.seq for r in batch if self.refuses_row(r)]
        if refused:
            self.failures += 1
            raise RowRefused(f"CHECK constraint failed at seq {refused[0]}")
        if dry_run:  # it would take them
            return
        at = dict(self.log)
        for r in batch:
            if r.seq not in at:
                self.log.append((r.seq, r.id))
                self.types[r.seq] = r.type
                self.bodies[r.seq] = r.body
                at[r.seq] = r.id
            elif at[r.seq] != r.id:
                self.hidden.append((r.seq, r.id, at[r.seq]))

    async def replay(
        self, conn: None, *, after: int, upto: int
    ) -> list[tuple[int, str, bytes, tuple[str, ...]]]:
        if self.down:
            raise StoreDown("read refused")
        seqs = sorted(seq for seq, _ in self.log if after < seq <= upto)
        return [(seq, self.types[seq], self.bodies[seq], ()) for seq in seqs]

    async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
        if self.down:
            raise StoreDown("read refused")
        wanted = set(ids)
        return {ident: seq for seq, ident in self.log if ident in wanted}


@dataclass
class Outcome:
    acked: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    acked_before_commit: list[str] = field(default_factory=list)


async def started(store: FakeStore) -> Ingest:
    ingest = Ingest(
        store,  # type: ignore[arg-type]  # the part of SqlStore that Ingest uses
        Hub(),
        ReplayWindow(1000),
        publish_timeout_s=10.0,
        commit_retry_max_s=0.02,
    )
    await ingest.start()
    return ingest


def draft(ident: str) -> Draft:
    return Draft("event", {"event": {"message": ident}}, ident)


async def publish_all(
    ingest: Ingest, store: FakeStore, ids: list[str], out: Outcome, *, back_off: bool = True
) -> None:
    """Publishes `ids` a few at a time, checking each acknowledgement against the log.

    Told of a failure, a publisher backs off until the hub commits again and sends the
    same events again (same ids); or, without `back_off`, gives them up.
    """
    rng = random.Random(ids[0])
    while ids:
        n = rng.randint(1, 4)
        try:
            results = await ingest.publish_many([draft(i) for i in ids[:n]])
        except StoreUnavailable:
            out.refused += ids[:n]
            if back_off:
                await ingest.flushed()
            else:
                ids = ids[n:]
            continue
        ids = ids[n:]
        logged = dict(store.log)
        for r in results:
            out.acked[r.id] = r.seq
            if logged.get(r.seq) != r.id:
                out.acked_before_commit.append(r.id)


async def run_publishers(ingest: Ingest, store: FakeStore) -> Outcome:
    """Publishers at once: half back off when told of a failure, half carry on."""
    out = Outcome()
    ids = [[f"p{p}-e{n}" for n in range(EVENTS_EACH)] for p in range(PUBLISHERS)]
    await asyncio.gather(
        *(publish_all(ingest, store, mine, out, back_off=p % 2 == 0) for p, mine in enumerate(ids))
    )
    return out


async def retry_refused(ingest: Ingest, store: FakeStore, out: Outcome) -> None:
    """The refused publishers try again, with the same ids, once the hub commits again."""
    await ingest.flushed()
    refused, out.refused = out.refused, []
    if refused:
        await publish_all(ingest, store, refused, out, back_off=True)


def assert_log_keeps_every_ack(store: FakeStore, out: Outcome, dispatched: list[int]) -> None:
    seqs = [seq for seq, _ in store.log]
    assert seqs == list(range(1, len(seqs) + 1)), "the log has a gap or is out of order"
    assert store.hidden == [], "a different event was skipped at a seq already written"
    ids = [ident for _, ident in store.log]
    assert len(ids) == len(set(ids)), "an event is in the log twice"
    at = {ident: seq for seq, ident in store.log}
    assert {i: at.get(i) for i in out.acked} == out.acked, "an acknowledged event moved or is gone"
    assert out.acked_before_commit == [], "acknowledged before it was in the log"
    assert dispatched == seqs, "clients did not get the log, once each, in order"


async def check_scenario(store: FakeStore) -> None:
    ingest = await started(store)
    dispatched: list[int] = []
    ingest.add_listener(lambda e: dispatched.append(e.seq))
    out = await run_publishers(ingest, store)
    assert store.failures > 0, "the store never refused a write: nothing was tested"
    assert out.refused, "no publisher was told of a failed write"
    await retry_refused(ingest, store, out)
    assert len(out.acked) == PUBLISHERS * EVENTS_EACH
    later = await ingest.publish("event", {"event": {"message": "later"}}, id="later")
    out.acked["later"] = later.seq
    await ingest.flushed()
    assert_log_keeps_every_ack(store, out, dispatched)
    assert ingest.state.seq == len(store.log) == later.seq
    assert store.opened == 1, "the hub restarted its store to recover"
    await ingest.stop()


async def test_a_write_that_fails_once_loses_and_reorders_nothing() -> None:
    await check_scenario(FakeStore(refuse=lambda attempt: attempt == 3))


async def test_a_store_failing_every_fifth_commit_keeps_every_ack_in_place() -> None:
    await check_scenario(FakeStore(refuse=lambda attempt: attempt % 5 == 0))


async def test_a_store_down_for_a_while_refuses_publishers_then_takes_them_back() -> None:
    store = FakeStore()
    ingest = await started(store)
    dispatched: list[int] = []
    ingest.add_listener(lambda e: dispatched.append(e.seq))
    out = Outcome()
    await publish_all(ingest, store, ["before-1", "before-2"], out)

    store.down = True
    await publish_all(ingest, store, ["while-down-1"], out, back_off=False)
    assert out.refused == ["while-down-1"], "acknowledged while the store was down"
    await asyncio.gather(
        *(
            publish_all(ingest, store, [f"down-p{p}-{n}" for n in range(5)], out, back_off=False)
            for p in range(4)
        )
    )
    assert len(out.refused) == 21, "a publisher was acknowledged while the store was down"
    assert store.log == [(1, "before-1"), (2, "before-2")]

    store.down = False
    await ingest.flushed()
    await retry_refused(ingest, store, out)
    out.acked["later"] = (
        await ingest.publish("event", {"event": {"message": "m"}}, id="later")
    ).seq
    await ingest.flushed()
    assert_log_keeps_every_ack(store, out, dispatched)
    assert out.acked["while-down-1"] == 3, "a retry with the same id did not get its first seq"
    await ingest.stop()


async def test_a_publisher_told_of_a_failure_retries_with_its_id_and_lands_once() -> None:
    store = FakeStore(refuse=lambda attempt: attempt == 1)
    ingest = await started(store)
    dispatched: list[int] = []
    ingest.add_listener(lambda e: dispatched.append(e.seq))
    with pytest.raises(StoreUnavailable, match="retry with the same id"):
        await ingest.publish("event", {"event": {"message": "m"}}, id="t1")
    await ingest.flushed()
    again = await ingest.publish("event", {"event": {"message": "m"}}, id="t1")
    t2 = await ingest.publish("event", {"event": {"message": "m"}}, id="t2")
    t3 = await ingest.publish("event", {"event": {"message": "m"}}, id="t3")
    assert [(again.seq, again.id), (t2.seq, t2.id), (t3.seq, t3.id)] == store.log
    assert store.log == [(1, "t1"), (2, "t2"), (3, "t3")]
    assert dispatched == [1, 2, 3]
    assert ingest.state.seq == 3
    await ingest.stop()


async def test_a_log_holding_another_event_at_a_given_seq_stops_acknowledging() -> None:
    store = FakeStore(refuse=lambda attempt: attempt == 1)
    ingest = await started(store)
    store.log.append((1, "someone-else"))  # another writer on the same log
    with pytest.raises(StoreUnavailable):
        await ingest.publish("event", {"event": {"message": "m"}}, id="mine")
    with pytest.raises(StoreUnavailable, match="hold other events"):
        await asyncio.wait_for(_refused_for_good(ingest), 5.0)
    assert store.log == [(1, "someone-else")]
    await ingest.stop()


async def _refused_for_good(ingest: Ingest) -> None:
    """Publishes until the ingest refuses for the reason that does not heal."""
    while True:
        try:
            await ingest.publish("event", {"event": {"message": "m"}})
        except StoreUnavailable as exc:
            if "hold other events" in str(exc):
                raise
        await asyncio.sleep(0.01)


def deep(levels: int) -> object:
    """A list nested `levels` deep, as an in-process producer might hand one in."""
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"n": 2**64}, "payload.event.data.n", "64-bit"),
        ({"n": [1, -(2**64)]}, "payload.event.data.n.1", "64-bit"),
        ({"text": "\ud800"}, "payload.event.data.text", "surrogates"),
        ({"ids": {1: "a"}}, "payload.event.data.ids", "key 1 is not a string"),
        ({"tags": {"a", "b"}}, "payload.event.data.tags", "not JSON serializable"),
        ({"deep": deep(300)}, "payload.event.data.deep.0", "nested deeper than 64"),
        ({"deep": deep(1000)}, "payload.event.data.deep.0", "nested deeper than 64"),
    ],
)
async def test_a_batch_with_a_payload_the_hub_cannot_keep_leaves_no_trace(
    data: dict[str, object], field: str, reason: str
) -> None:
    store = FakeStore()
    ingest = await started(store)
    dispatched: list[int] = []
    ingest.add_listener(lambda e: dispatched.append(e.seq))
    poison = Draft("event", {"event": {"message": "poison", "data": data}}, "poison")
    with pytest.raises(InvalidEvent) as refused:
        await ingest.publish_many([draft("good-1"), poison, draft("good-2")])
    assert refused.value.index == 1
    assert refused.value.field.startswith(field), refused.value.field
    assert reason in refused.value.message

    after = await ingest.publish_many([draft("good-2"), draft("good-1"), draft("poison")])
    assert [(r.id, r.seq, r.duplicate) for r in after] == [
        ("good-2", 1, False),
        ("good-1", 2, False),
        ("poison", 3, False),
    ], "a refused batch used a seq or recorded an id"
    assert store.log == [(1, "good-2"), (2, "good-1"), (3, "poison")]
    assert dispatched == [1, 2, 3]
    await ingest.stop()


async def test_a_payload_within_every_bound_is_kept_as_sent() -> None:
    store = FakeStore()
    ingest = await started(store)
    data = {"big": 2**64 - 1, "small": -(2**63), "deep": deep(61), "text": "é ✓"}
    sent = Draft("event", {"event": {"message": "m", "data": data}})
    (result,) = await ingest.publish_many([sent])
    assert store.log == [(1, result.id)]
    ((seq, _type, body, _rooms),) = ingest.window.since(0, 1, 10)
    assert (seq, orjson.loads(body)["payload"]["event"]["data"]) == (1, data)
    await ingest.stop()


async def test_an_id_is_recorded_only_once_its_event_is_delivered() -> None:
    delivered: list[tuple[int, str]] = []
    failures = [RuntimeError("the node could not fold it")]

    class Failing:
        """Refuses the first delivery, as a node whose fold fails."""

        def deliver(self, events: list[Sequenced]) -> None:
            if failures:
                raise failures.pop()
            delivered.extend((e.seq, e.id) for e in events)

        def on_confirmed(self, origin: str, upto: int) -> None:
            pass

        async def known_ids(self, ids: Sequence[str]) -> dict[str, int]:
            return {}

        async def stored_events(self, after: int, upto: int) -> list[Sequenced]:
            return []

    broker = MemoryBroker()
    await broker.start(Failing(), epoch="e", after_seq=0)
    payload = {"event": {"message": "m"}}
    with pytest.raises(RuntimeError):
        await broker.append([Outgoing("event", payload, "k1")])
    (again,) = await broker.append([Outgoing("event", payload, "k1")])
    assert not again.duplicate, "the id points at a seq no event holds"
    twice = await broker.append(
        [Outgoing("event", payload, "k1"), Outgoing("event", payload, "k1")]
    )
    assert [(a.seq, a.duplicate) for a in twice] == [(again.seq, True), (again.seq, True)]
    assert delivered == [(again.seq, "k1")]


def fleet_events() -> list[Draft]:
    """Every kind of state change: entities new and merged, heartbeats, iterations, budget
    periods, and more test runs than state keeps."""
    out = [
        Draft("agent:status", {"agent": {"id": "a1", "status": "idle"}}),
        Draft("task:created", {"task": {"id": "t1", "title": "one"}}),
        Draft("session:started", {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1"}}),
        Draft("agent:status", {"agent": {"id": "a1", "status": "working"}}),
        Draft(
            "task:updated", {"task": {"id": "t1", "status": "running", "token_usage": {"input": 5}}}
        ),
        Draft("task:updated", {"task": {"id": "t1", "token_usage": {"output": 7}}}),
        Draft("session:iteration", {"session_id": "s1", "iteration": 3}),
        Draft("agent:heartbeat", {"agent_id": "a1", "iteration": 3}),
        Draft("session:heartbeat", {"session_id": "s1", "iteration": 3}),
        Draft("budget:updated", {"budget": {"period": "2026-11", "spent_usd": 1.0}}),
        Draft("budget:updated", {"budget": {"period": "2026-12", "spent_usd": 2.0}}),
        Draft("budget:updated", {"budget": {"period": "2026-11", "limit_usd": 9.0}}),
        Draft("event", {"event": {"message": "m"}}),
    ]
    runs = [
        Draft("test:started", {"test_run": {"id": f"r{n}", "task_id": "t1"}}) for n in range(2010)
    ]
    return out + runs + [Draft("test:completed", {"test_run": {"id": "r15", "status": "passed"}})]


def tables(state: State) -> tuple[object, ...]:
    return (
        state.seq,
        state.agents,
        state.tasks,
        state.sessions,
        state.budgets,
        state.budget,
        list(state.test_runs.items()),
        state.approvals,
        state.workspaces,
    )


async def test_committed_state_is_what_folding_every_committed_event_gives() -> None:
    store = FakeStore()
    ingest = await started(store)
    for n in range(0, len(fleet_events()), 7):
        await ingest.publish_many(fleet_events()[n : n + 7])
    await ingest.flushed()
    assert ingest.committed_state.seq == len(store.log)
    assert tables(ingest.committed_state) == tables(ingest.state)
    await ingest.stop()

    again = await started(store)  # read back from the store: both start from it
    assert tables(again.committed_state) == tables(again.state)
    await again.stop()


async def test_committed_state_stays_behind_while_the_store_refuses_writes() -> None:
    store = FakeStore()
    ingest = await started(store)
    await ingest.publish("agent:status", {"agent": {"id": "a1", "status": "idle"}})
    store.down = True
    with pytest.raises(StoreUnavailable):
        await ingest.publish("agent:status", {"agent": {"id": "a1", "status": "working"}})
    assert ingest.state.agents["a1"]["status"] == "working"  # folded, not committed
    assert ingest.committed_state.seq == ingest.committed_seq == 1
    assert ingest.committed_state.agents["a1"]["status"] == "idle"
    store.down = False
    await ingest.flushed()
    assert ingest.committed_state.seq == 2
    assert ingest.committed_state.agents["a1"]["status"] == "working"
    await ingest.stop()


def poisonous(record: Record) -> bool:
    """What the fake store refuses: an event whose message is "poison"."""
    return bool(record.payload.get("event", {}).get("message") == "poison")


async def test_an_event_the_store_refuses_for_its_content_does_not_stop_the_writer() -> None:
    store = FakeStore(refuses_row=poisonous)
    ingest = await started(store)
    dispatched: list[tuple[int, str]] = []
    ingest.add_listener(lambda e: dispatched.append((e.seq, e.type)))
    out = Outcome()
    poison_of: dict[str, EventRefused] = {}

    async def poisoner(n: int) -> None:
        """Publishes [good, poison, good] batches among the other publishers."""
        batch = [draft(f"x{n}-a"), Draft("event", {"event": {"message": "poison"}}, f"bad{n}")]
        batch.append(draft(f"x{n}-b"))
        try:
            await ingest.publish_many(batch)
        except EventRefused as exc:
            poison_of[f"bad{n}"] = exc
        await asyncio.sleep(0)

    async def poisoners() -> None:
        for n in range(6):
            await poisoner(n)

    publishers = run_publishers(ingest, store)
    outcome, _ = await asyncio.gather(publishers, poisoners())
    out = outcome
    await ingest.flushed()

    assert out.refused == [], "a publisher of good events was refused: the writer stopped"
    assert ingest.store_error is None
    assert sorted(poison_of) == [f"bad{n}" for n in range(6)], "a refused event was acknowledged"
    at = {ident: seq for seq, ident in store.log}
    for ident, exc in poison_of.items():
        (refused,) = exc.refused
        assert (refused["index"], refused["id"]) == (1, ident)
        assert refused["seq"] == at[ident], "the refused event's seq holds no tombstone"
        assert "CHECK constraint failed" in str(refused["reason"])
        assert store.types[at[ident]] == "event"
        assert [c["index"] for c in exc.committed] == [0, 2]
        for c in exc.committed:
            assert at[str(c["id"])] == c["seq"], "the rest of the batch is not committed"
        (stone,) = [r for r in ingest.window.since(0, 10_000, 10_000) if r[0] == at[ident]]
        data = orjson.loads(stone[2])["payload"]["event"]
        assert (data["level"], data["source"]) == ("error", "hub")
        assert data["data"]["refused"]["id"] == ident
    assert set(ingest.refused) == {at[i] for i in poison_of}
    assert_log_keeps_every_ack(store, out, [seq for seq, _ in dispatched])

    # Retrying a refused id gets the same answer, not an acknowledgement.
    with pytest.raises(EventRefused):
        await ingest.publish("event", {"event": {"message": "poison"}}, id="bad0")
    await ingest.stop()


async def test_a_store_that_refuses_every_row_is_down_and_nothing_is_tombstoned() -> None:
    refusing = [True]
    store = FakeStore(refuses_row=lambda record: refusing[0])
    ingest = await started(store)
    with pytest.raises(StoreUnavailable):
        await ingest.publish("event", {"event": {"message": "m"}}, id="e1")
    assert ingest.store_error is not None, "health would not say the store refuses writes"
    refusing[0] = False
    await ingest.flushed()
    again = await ingest.publish("event", {"event": {"message": "m"}}, id="e1")
    assert (again.seq, again.duplicate) == (1, True)
    assert store.types == {1: "event"} and ingest.refused == {}
    ((_, _, body, _),) = ingest.window.since(0, 1, 10)
    assert orjson.loads(body)["payload"]["event"]["message"] == "m", "the event was tombstoned"
    assert ingest.store_error is None
    await ingest.stop()


def test_the_replay_window_is_bounded_in_bytes_too() -> None:
    window = ReplayWindow(size=100, max_bytes=1000)
    window.extend((seq, "session:output", b"x" * 300, ("output",)) for seq in range(1, 6))
    assert window.bytes <= 1000
    assert [item[0] for item in window.since(0, 10)] == [3, 4, 5]
    assert window.covers(2) and not window.covers(1)
    window.extend([(6, "event", b"y", ("events",))])
    assert [item[0] for item in window.since(0, 10)] == [3, 4, 5, 6]
    small = ReplayWindow(size=2)
    small.extend((seq, "event", b"z", ("events",)) for seq in range(1, 5))
    assert [item[0] for item in small.since(0, 10)] == [3, 4] and small.bytes == 2


async def test_a_store_that_comes_back_while_an_event_is_isolated_tombstones_nothing() -> None:
    """Every row is refused, then the store takes rows again just as the refused event is
    being isolated: the event is written, not replaced by a tombstone."""
    refusing = [True]
    store = FakeStore(refuses_row=lambda record: refusing[0])
    real_write = store.write
    refusals = []

    async def write(batch: Sequence[Record], *, dry_run: bool = False) -> None:
        try:
            await real_write(batch, dry_run=dry_run)
        except RowRefused:
            refusals.append(len(batch))
            if len(refusals) == 2:  # the batch, then the event alone: then it comes back
                refusing[0] = False
            raise

    store.write = write  # type: ignore[method-assign]
    ingest = await started(store)
    result = await ingest.publish("event", {"event": {"message": "m"}}, id="e1")
    assert (result.seq, ingest.refused) == (1, {})
    ((_, _, body, _),) = ingest.window.since(0, 1, 10)
    assert orjson.loads(body)["payload"]["event"]["message"] == "m", "the event was tombstoned"
    await ingest.stop()
