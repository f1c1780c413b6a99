"""The notifications' SQLite file keeps incidents, snoozes, deliveries and markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from parent_harness.notify.delivery import Delivery
from parent_harness.notify.gate import Snooze
from parent_harness.notify.incidents import Incident
from parent_harness.notify.store import NotifyStore, default_path


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    store = NotifyStore(tmp_path / "n.db")
    incident = Incident("task-failed", "t-1", 10.0, 5, 7, 2, None, True, None, 10.0, {"title": "x"})
    delivery = Delivery("webhook", "http://h/x", {"text": "hi"}, 5, attempts=1, next_at=3.0)
    store.save([incident], [], [delivery])
    store.put_snooze(Snooze("all", 99.0, "chat 1"))
    store.set_meta("telegram.offset", "17")
    store.close()

    again = NotifyStore(tmp_path / "n.db")
    assert again.incidents() == [incident]
    assert again.snoozes() == [Snooze("all", 99.0, "chat 1")]
    assert again.get_meta("telegram.offset") == "17"
    assert again.lanes() == [("webhook", "http://h/x")]
    stored = again.next_delivery("webhook", "http://h/x")
    assert stored is not None and stored.body == {"text": "hi"} and stored.key == delivery.key
    again.close()


def test_deliveries_of_a_lane_come_out_in_order_and_leave_when_finished(tmp_path: Path) -> None:
    store = NotifyStore(tmp_path / "n.db")
    store.save(deliveries=[Delivery("telegram", "1", {"text": str(n)}) for n in range(3)])
    seen = []
    while (item := store.next_delivery("telegram", "1")) is not None:
        assert item.id is not None
        seen.append(item.text)
        store.finish(item.id)
    assert seen == ["0", "1", "2"] and store.pending_count() == 0
    store.close()


def test_a_failed_save_writes_nothing(tmp_path: Path) -> None:
    store = NotifyStore(tmp_path / "n.db")
    duplicate = Delivery("telegram", "1", {"text": "x"})
    store.save(deliveries=[duplicate])
    incident = Incident("r", "s", 1.0)
    with pytest.raises(Exception, match="UNIQUE"):
        store.save([incident], [], [duplicate])
    assert store.incidents() == []
    store.close()


def test_removed_incidents_are_deleted(tmp_path: Path) -> None:
    store = NotifyStore(tmp_path / "n.db")
    store.save([Incident("r", "s", 1.0)])
    store.save(removed=[("r", "s")])
    assert store.incidents() == []
    store.close()


def test_the_file_goes_next_to_a_sqlite_hub_database() -> None:
    assert default_path("sqlite:///./data/harness.db") == Path("data/harness.notify.db")
    assert default_path("postgresql://db/harness") == Path("harness-notify.db")
    assert default_path(None) == Path("harness-notify.db")
