from __future__ import annotations

import sys

from parent_harness.hub.fanout import Hub, Subscriber
from parent_harness.protocol.frames import text_frame
from parent_harness.protocol.types import TypeFilter
from parent_harness.store.records import Record


class FakeTransport:
    """Records writes; `stalled` makes its buffer grow like a client that stops reading."""

    def __init__(self, stalled: bool = False) -> None:
        self.writes: list[bytes] = []
        self.stalled = stalled
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def abort(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.writes)) if self.stalled else 0


def record(seq: int, type_: str = "event", rooms: tuple[str, ...] = ("events",)) -> Record:
    return Record(
        seq=seq,
        id=str(seq),
        type=type_,
        ts="",
        ts_ms=0,
        level=None,
        body=b'{"seq":%d}' % seq,
        rooms=rooms,
        payload={},
    )


def test_pending_events_go_out_in_one_write_per_subscriber() -> None:
    hub = Hub()
    transports = [FakeTransport() for _ in range(3)]
    for t in transports:
        hub.attach(Subscriber(t), ["*"], after_seq=0)
    hub.dispatch([record(1), record(2), record(3)])
    for t in transports:
        assert t.writes == [text_frame(b'[{"seq":1},{"seq":2},{"seq":3}]')]
    assert hub.deliveries == 9


def test_an_event_reaches_its_rooms_once_and_no_other() -> None:
    hub = Hub()
    both, tasks_only, agents_only = FakeTransport(), FakeTransport(), FakeTransport()
    hub.attach(Subscriber(both), ["tasks", "task:t1"], after_seq=0)
    hub.attach(Subscriber(tasks_only), ["tasks"], after_seq=0)
    hub.attach(Subscriber(agents_only), ["agents"], after_seq=0)
    hub.dispatch([record(1, "task:created", ("tasks", "task:t1"))])
    assert [len(t.writes) for t in (both, tasks_only, agents_only)] == [1, 1, 0]
    assert both.writes[0].endswith(b'{"seq":1}')


def test_type_filter_and_after_seq() -> None:
    hub = Hub()
    t = FakeTransport()
    hub.attach(Subscriber(t, types=TypeFilter(("task:*",))), ["*"], after_seq=1)
    hub.dispatch([record(1, "task:created"), record(2, "event"), record(3, "task:failed")])
    assert t.writes == [text_frame(b'{"seq":3}')]


def test_a_client_past_its_buffer_bound_is_dropped_and_others_continue() -> None:
    hub = Hub()
    slow, fast = FakeTransport(stalled=True), FakeTransport()
    dropped: list[Subscriber] = []
    slow_sub = Subscriber(slow, max_buffer=100, on_slow=dropped.append)
    hub.attach(slow_sub, ["*"], after_seq=0)
    hub.attach(Subscriber(fast), ["*"], after_seq=0)
    for seq in range(1, 30):
        hub.dispatch([record(seq)])
    assert dropped == [slow_sub]
    assert slow_sub.closed
    assert len(slow.writes) < 15
    assert len(fast.writes) == 29
    assert slow_sub.flushed_seq == len(slow.writes)


def test_held_subscriber_gets_everything_on_release() -> None:
    hub = Hub()
    t = FakeTransport()
    sub = Subscriber(t)
    hub.attach(sub, ["*"], after_seq=0)
    hub.hold(sub)
    hub.dispatch([record(1)])
    hub.dispatch([record(2)])
    assert t.writes == []
    hub.release(sub)
    assert t.writes == [text_frame(b'[{"seq":1},{"seq":2}]')]


def test_room_counts() -> None:
    hub = Hub()
    a, b = Subscriber(FakeTransport()), Subscriber(FakeTransport())
    hub.attach(a, ["tasks", "agents"], after_seq=0)
    hub.attach(b, ["tasks"], after_seq=0)
    assert hub.room_counts() == {"agents": 1, "tasks": 2}
    assert hub.room_counts(["tasks", "task:nobody"]) == {"tasks": 2, "task:nobody": 0}
    hub.detach(a)
    assert hub.room_counts() == {"tasks": 1}


def frame_of(*seqs: int) -> bytes:
    """The frame of these events: one message alone, several as a JSON array."""
    bodies = b",".join(b'{"seq":%d}' % s for s in seqs)
    return text_frame(bodies if len(seqs) == 1 else b"[" + bodies + b"]")


def test_one_rooms_subscribers_get_the_same_frame_and_a_mixed_batch_stays_in_order() -> None:
    hub = Hub()
    tasks = [FakeTransport() for _ in range(2)]
    for t in tasks:
        hub.attach(Subscriber(t), ["tasks"], after_seq=0)
    several, everything = FakeTransport(), FakeTransport()
    hub.attach(Subscriber(several), ["tasks", "agents"], after_seq=0)
    hub.attach(Subscriber(everything), ["*"], after_seq=0)
    hub.dispatch(
        [
            record(1, "task:created", ("tasks",)),
            record(2, "agent:status", ("agents",)),
            record(3, "task:updated", ("tasks",)),
            record(4, "event", ("events",)),
        ]
    )
    assert tasks[0].writes == tasks[1].writes == [frame_of(1, 3)]
    assert tasks[0].writes[0] is tasks[1].writes[0]  # built once for the room
    assert several.writes == [frame_of(1, 2, 3)]
    assert everything.writes == [frame_of(1, 2, 3, 4)]
    assert hub.deliveries == 2 * 2 + 3 + 4


def test_a_subscriber_partly_served_gets_only_what_it_has_not_had() -> None:
    hub = Hub()
    behind, ahead = FakeTransport(), FakeTransport()
    hub.attach(Subscriber(behind), ["*"], after_seq=0)
    hub.attach(Subscriber(ahead), ["*"], after_seq=2)  # e.g. attached after a snapshot at 2
    hub.dispatch([record(1), record(2), record(3)])
    assert behind.writes == [frame_of(1, 2, 3)]
    assert ahead.writes == [frame_of(3)]
    hub.dispatch([record(3), record(4)])  # a repeat is never sent twice
    assert behind.writes[-1] == ahead.writes[-1] == frame_of(4)


def test_a_held_subscriber_keeps_its_rooms_events_while_the_others_get_them() -> None:
    hub = Hub()
    held, live = FakeTransport(), FakeTransport()
    held_sub = Subscriber(held)
    hub.attach(held_sub, ["tasks"], after_seq=0)
    hub.attach(Subscriber(live), ["tasks"], after_seq=0)
    hub.hold(held_sub)
    hub.dispatch([record(1, "task:created", ("tasks",))])
    hub.dispatch([record(2, "task:updated", ("tasks",))])
    assert held.writes == [] and live.writes == [frame_of(1), frame_of(2)] != []
    hub.release(held_sub)
    assert held.writes == [frame_of(1, 2)]


class CountedRoom(str):
    """A room name that counts how often it is compared with another."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountedRoom.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_joining_rooms_costs_the_rooms_joined_not_the_rooms_held() -> None:
    hub = Hub()
    t = FakeTransport()
    sub = Subscriber(t)
    hub.attach(sub, ["tasks"], after_seq=0)
    rooms = [CountedRoom(f"task:t{n}") for n in range(2000)]
    CountedRoom.comparisons = 0
    for start in range(0, len(rooms), 100):
        hub.join(sub, rooms[start : start + 100])
    hub.join(sub, rooms[:100])  # joined already: no change
    assert CountedRoom.comparisons < 10 * len(rooms)  # one room at a time: about 2 million
    assert len(sub.rooms) == 2001
    hub.dispatch([record(1, "task:updated", ("tasks", "task:t1999"))])
    assert t.writes == [frame_of(1)]
    CountedRoom.comparisons = 0
    hub.leave(sub, rooms[:1995])
    assert CountedRoom.comparisons < 10 * len(rooms)
    assert sorted(sub.rooms) == ["task:t1995", "task:t1996", "task:t1997", "task:t1998",
                                 "task:t1999", "tasks"]  # fmt: skip
    assert hub.room_counts(["task:t0", "task:t1999"]) == {"task:t0": 0, "task:t1999": 1}


def test_a_subscriber_in_one_room_weighs_what_it_did() -> None:
    hub = Hub()
    sub = Subscriber(FakeTransport())
    hub.attach(sub, ["events"], after_seq=0)
    assert sys.getsizeof(sub.rooms) == sys.getsizeof(("events",))  # a set would be 216 bytes
    hub.join(sub, [f"task:t{n}" for n in range(20)])
    hub.leave(sub, [f"task:t{n}" for n in range(20)])
    assert sys.getsizeof(sub.rooms) == sys.getsizeof(("events",))
    hub.detach(sub)
    assert hub.room_counts() == {}


def test_agent_output_goes_only_to_who_names_its_rooms() -> None:
    hub = Hub()
    everything, watcher, both, filtered = (FakeTransport() for _ in range(4))
    hub.attach(Subscriber(everything), ["*"], after_seq=0)
    hub.attach(Subscriber(watcher), ["session:s1"], after_seq=0)
    hub.attach(Subscriber(both), ["*", "session:s1"], after_seq=0)
    hub.attach(Subscriber(filtered, types=TypeFilter(("session:*",))), ["*"], after_seq=0)
    output = ("output", "session:s1")
    hub.dispatch(
        [
            record(1, "session:iteration", ("sessions", "session:s1")),
            record(2, "session:output", output),
            record(3, "session:output", ("output", "session:s2")),
        ]
    )
    assert everything.writes == [text_frame(b'{"seq":1}')]
    assert filtered.writes == [text_frame(b'{"seq":1}')]
    assert watcher.writes == [text_frame(b'[{"seq":1},{"seq":2}]')]
    assert both.writes == [text_frame(b'[{"seq":1},{"seq":2}]')]
    hub.dispatch([record(4, "session:output", output)])
    assert len(everything.writes) == 1
