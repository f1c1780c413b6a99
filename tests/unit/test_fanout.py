from __future__ import annotations

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
