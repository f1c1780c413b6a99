from __future__ import annotations

import pytest

from parent_harness.protocol import connection as p
from parent_harness.protocol.frames import batch, text_frame
from parent_harness.protocol.types import TypeFilter


def test_defaults_follow_every_room() -> None:
    assert p.parse_connect({}) == p.ConnectParams()


def test_good_parameters() -> None:
    params = p.parse_connect(
        {
            "monitor": "tasks,agent:a-1",
            "since": "42",
            "epoch": "e",
            "snapshot": "1",
            "types": "task:*,*:failed",
            "client": "me",
        }
    )
    assert params.rooms == ("tasks", "agent:a-1")
    assert (params.since, params.epoch, params.snapshot) == (42, "e", True)
    assert params.types == ("task:*", "*:failed")


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"since": "abc"}, "since must be an integer"),
        ({"since": "-1"}, "since must be >= 0"),
        ({"monitor": "tasks,bad room"}, "malformed room 'bad room'"),
        ({"monitor": ","}, "at least one room"),
        ({"snapshot": "yes"}, "snapshot must be 0 or 1"),
        ({"colour": "red"}, "unknown parameter 'colour'"),
    ],
)
def test_bad_parameters_name_the_problem(query: dict[str, str], needle: str) -> None:
    with pytest.raises(p.BadRequest, match=needle):
        p.parse_connect(query)


def test_frames_become_actions() -> None:
    session = p.ClientSession()
    assert session.receive('{"type":"ping","payload":{"id":1,"ts":5}}') == p.Ping(1, 5)
    assert session.receive('{"type":"subscribe","payload":{"rooms":["tasks"],"since":3}}') == (
        p.Subscribe(("tasks",), 3)
    )
    assert session.receive('{"type":"unsubscribe","payload":{"rooms":["tasks"]}}') == (
        p.Unsubscribe(("tasks",))
    )
    assert session.receive('{"type":"rooms"}') == p.ListRooms()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_frame"),
        ('{"type":"subscribe","payload":{"rooms":"x y"}}', "bad_rooms"),
        ('{"type":"subscribe","payload":{"rooms":["tasks"],"since":-4}}', "bad_frame"),
        ('{"type":"dance"}', "unknown_type"),
    ],
)
def test_bad_frames_are_rejected_not_fatal(text: str, code: str) -> None:
    action = p.ClientSession().receive(text)
    assert isinstance(action, p.Reject)
    assert action.code == code


def test_rate_limit_allows_bursts_then_refuses() -> None:
    session = p.ClientSession(rate=10, burst=3)
    now = 100.0
    session.limit.stamp = now
    actions = [session.receive('{"type":"rooms"}', now=now) for _ in range(4)]
    assert isinstance(actions[-1], p.Overrate)
    assert isinstance(session.receive('{"type":"rooms"}', now=now + 1.0), p.ListRooms)


def test_binary_frames_count_against_the_same_rate() -> None:
    session = p.ClientSession(rate=10, burst=3)
    now = 100.0
    session.limit.stamp = now
    assert isinstance(session.receive('{"type":"rooms"}', now=now), p.ListRooms)
    answers = [session.receive_binary(now=now) for _ in range(3)]
    assert [type(a) for a in answers] == [p.Reject, p.Reject, p.Overrate]
    assert answers[0] == p.Reject("bad_frame", answers[0].message)
    assert isinstance(session.receive('{"type":"rooms"}', now=now), p.Overrate)


def test_ping_and_pong_frames_count_against_the_same_rate() -> None:
    session = p.ClientSession(rate=10, burst=3)
    now = 100.0
    session.limit.stamp = now
    assert session.receive_ping_frame(b"hi", now=now) == p.AnswerPing(b"hi")
    assert session.receive_pong_frame(now=now) == p.NoAnswer()
    assert isinstance(session.receive('{"type":"rooms"}', now=now), p.ListRooms)
    assert isinstance(session.receive_ping_frame(b"hi", now=now), p.Overrate)


def test_a_connection_in_too_many_rooms_is_told_the_limit() -> None:
    p.check_room_limit(990, 10, 1000)
    with pytest.raises(p.BadRequest) as refused:
        p.check_room_limit(990, 11, 1000)
    assert refused.value.code == "too_many_rooms"
    assert "at most 1000 rooms" in refused.value.message


def test_frames_are_rfc6455_text_frames() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70000)[:2] == b"\x81\x7f"
    assert batch([b"1"]) == b"1"
    assert batch([b"1", b"2"]) == b"[1,2]"


def test_type_globs() -> None:
    match = TypeFilter(("task:*", "*:failed"))
    assert match("task:created") and match("session:failed")
    assert not match("agent:status")
