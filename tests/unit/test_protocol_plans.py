"""The order in which a /ws client joins the stream, planned without sockets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from parent_harness.protocol import plans
from parent_harness.protocol.connection import ConnectParams
from parent_harness.protocol.plans import (
    After,
    Attach,
    CatchUp,
    Join,
    Replay,
    SendError,
    SendReset,
    SendSnapshot,
    SendSubscribed,
    SendWelcome,
)

ROOMS = ("tasks", "agent:a-1")


@dataclass
class Log:
    """A stand-in for the node: gives one answer about gaps and records the questions."""

    gap: str | None = None
    asked: list[tuple[int, str | None]] = field(default_factory=list)

    def replay_gap(self, since: int, epoch: str | None) -> str | None:
        self.asked.append((since, epoch))
        return self.gap


def connect(
    *, since: int | None = None, epoch: str | None = None, snapshot: bool = False
) -> ConnectParams:
    return ConnectParams(rooms=ROOMS, since=since, epoch=epoch, snapshot=snapshot)


# --- connect -------------------------------------------------------------------------------


def test_welcome_first_then_catch_up_to_since() -> None:
    assert plans.plan_welcome(connect(since=7), 15.0) == (
        SendWelcome(ROOMS, 15.0),
        CatchUp(7),
    )


def test_without_since_the_welcome_alone() -> None:
    assert plans.plan_welcome(connect(snapshot=True), 15.0) == (SendWelcome(ROOMS, 15.0),)


@pytest.mark.parametrize("snapshot", [False, True])
def test_since_with_no_gap_replays_and_attaches(snapshot: bool) -> None:
    log = Log(gap=None)
    plan = plans.plan_start(connect(since=7, epoch="e1", snapshot=snapshot), log)
    assert plan == (Replay(ROOMS, 7, attach=True),)
    assert log.asked == [(7, "e1")]


def test_since_with_a_gap_and_snapshot_resets_then_snapshot_then_attach_after_it() -> None:
    plan = plans.plan_start(connect(since=7, snapshot=True), Log(gap="history gone"))
    assert plan == (
        SendReset("history gone"),
        SendSnapshot(),
        Attach(ROOMS, After.SNAPSHOT),
    )


def test_since_with_a_gap_without_snapshot_resets_then_attaches_now() -> None:
    plan = plans.plan_start(connect(since=7, epoch="old"), Log(gap="epoch changed"))
    assert plan == (SendReset("epoch changed"), Attach(ROOMS, After.NOW))


def test_snapshot_only_attaches_right_after_the_snapshot() -> None:
    log = Log(gap="never asked")
    assert plans.plan_start(connect(snapshot=True), log) == (
        SendSnapshot(),
        Attach(ROOMS, After.SNAPSHOT),
    )
    assert log.asked == []


def test_neither_attaches_at_the_current_seq() -> None:
    log = Log()
    assert plans.plan_start(connect(), log) == (Attach(ROOMS, After.NOW),)
    assert log.asked == []


@pytest.mark.parametrize("gap", [None, "gone"])
@pytest.mark.parametrize("since", [None, 0, 7])
@pytest.mark.parametrize("snapshot", [False, True])
def test_every_start_attaches_once_and_never_awaits_between_snapshot_and_attach(
    gap: str | None, since: int | None, snapshot: bool
) -> None:
    plan = plans.plan_start(connect(since=since, snapshot=snapshot), Log(gap=gap))
    attaches = [s for s in plan if isinstance(s, Attach) or (isinstance(s, Replay) and s.attach)]
    assert len(attaches) == 1
    assert plan[-1] == attaches[0]  # live is the last thing a start does
    for i, step in enumerate(plan):
        if isinstance(step, SendSnapshot):
            assert plan[i + 1] == Attach(ROOMS, After.SNAPSHOT)
    assert not any(isinstance(s, CatchUp) for s in plan)  # done before the gap was asked


# --- the replay's cut and its `replayed` ----------------------------------------------------


def test_replay_cuts_at_the_hub_seq_or_since_when_ahead() -> None:
    replay = Replay(ROOMS, 7, attach=True)
    assert replay.cut(12) == 12
    assert replay.cut(5) == 7
    assert replay.done(12, 3) == {"from_seq": 8, "to_seq": 12, "count": 3}


# --- subscribe -----------------------------------------------------------------------------


def subscribe(
    rooms: tuple[str, ...],
    since: int | None,
    log: Log,
    *,
    joined: tuple[str, ...] = ("tasks",),
    max_rooms: int = 10,
    allowed: bool = True,
) -> plans.Plan:
    return plans.plan_subscribe(
        rooms, since, joined=joined, max_rooms=max_rooms, allowed=allowed, history=log
    )


def test_subscribe_with_since_replays_only_the_new_rooms() -> None:
    log = Log()
    plan = subscribe(("tasks", "agents", "budget"), 4, log)
    assert plan == (
        Replay(("agents", "budget"), 4, attach=False),
        SendSubscribed(("tasks", "agents", "budget")),
    )
    assert log.asked == [(4, None)]  # a subscribe has no epoch: its connection's is current


def test_subscribe_with_since_to_rooms_already_joined_replays_nothing() -> None:
    log = Log(gap="never asked")
    assert subscribe(("tasks",), 4, log) == (SendSubscribed(("tasks",)),)
    assert log.asked == []


def test_subscribe_with_since_and_a_gap_resets_then_joins() -> None:
    plan = subscribe(("tasks", "agents"), 4, Log(gap="history gone"))
    assert plan == (
        SendReset("history gone"),
        Join(("agents",)),
        SendSubscribed(("tasks", "agents")),
    )


def test_subscribe_without_since_joins_the_new_rooms() -> None:
    log = Log()
    assert subscribe(("agents", "tasks"), None, log) == (
        Join(("agents",)),
        SendSubscribed(("agents", "tasks")),
    )
    assert log.asked == []


def test_subscribe_to_a_room_not_allowed_is_refused_before_anything() -> None:
    log = Log()
    plan = subscribe(("agents",), 4, log, allowed=False)
    assert plan == (SendError("forbidden", "a room is not allowed for this token"),)
    assert log.asked == []


def test_subscribe_past_the_room_limit_is_refused() -> None:
    plan = subscribe(("agents", "budget", "tasks"), 4, Log(), joined=("tasks",), max_rooms=2)
    assert len(plan) == 1 and isinstance(plan[0], SendError)
    assert plan[0].code == "too_many_rooms"
    assert "would be in 3" in plan[0].message
