"""The ingest's fast check (`SENT`) answers exactly as the catalogue's models do."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from parent_harness.events import PAYLOADS, validate_payload
from parent_harness.events.catalogue import (
    SENT,
    Strict,
    first_error,
    model_fields_sent,
    sent_fields_validator,
)
from parent_harness.exceptions import InvalidEvent

USAGE = {"input": 10, "output": 5, "cost_usd": 0.25, "model": "m"}
DETAILS = {
    "message": "boom",
    "kind": "test",
    "exit_code": 1,
    "stack": "s",
    "output_tail": "o",
    "suggestions": ["a", "b"],
    "at": "2026-11-25T10:00:00.000Z",
    "seq": 3,
}
WHOLE: dict[str, dict[str, Any]] = {
    "agent:status": {
        "agent": {
            "id": "a1",
            "name": "n",
            "status": "working",
            "health_status": "healthy",
            "health_reason": "r",
            "running_instances": 1,
            "max_instances": 2,
            "current_task_id": "t1",
            "current_session_id": "s1",
            "current_iteration": 3,
            "last_heartbeat_at": "x",
            "last_progress_at": "y",
            "command": "c",
            "pid": 42,
        }
    },
    "agent:heartbeat": {"agent_id": "a1", "session_id": "s1", "iteration": 2, "at": "x"},
    "task:updated": {
        "task": {
            "id": "t1",
            "title": "T",
            "description": "d",
            "status": "running",
            "priority": 3,
            "agent_id": "a1",
            "session_id": "s1",
            "attempts": 1,
            "max_attempts": 3,
            "progress_percent": 40,
            "token_usage": USAGE,
            "error_details": DETAILS,
            "created_at": "x",
            "updated_at": "y",
            "not_before": None,
            "test_command": "pytest",
            "agent_name": "an",
        }
    },
    "session:started": {
        "session": {
            "id": "s1",
            "agent_id": "a1",
            "task_id": "t1",
            "status": "running",
            "iteration": 0,
            "max_iterations": 10,
            "started_at": "x",
            "ended_at": None,
            "exit_code": 0,
            "token_usage": USAGE,
            "output_tail": "o",
            "pid": 7,
            "agent_name": "an",
        }
    },
    "session:iteration": {"session_id": "s1", "iteration": 4, "summary": "s", "token_usage": USAGE},
    "session:heartbeat": {"session_id": "s1", "iteration": 4, "progress_percent": 99.5, "at": "x"},
    "test:completed": {
        "test_run": {
            "id": "r1",
            "task_id": "t1",
            "session_id": "s1",
            "command": "pytest",
            "status": "passed",
            "passed": 3,
            "failed": 0,
            "skipped": 1,
            "duration_s": 1.5,
            "output_tail": "o",
        }
    },
    "budget:updated": {
        "budget": {
            "period": "2026-11",
            "limit_usd": 100,
            "spent_usd": 1.5,
            "tokens_in": 1,
            "tokens_out": 2,
            "burn_rate_usd_per_hour": 0.5,
            "projected_exhaustion_at": "x",
            "by_agent": {"a1": 1, "a2": 0.5},
        }
    },
    "telegram:message": {
        "message": {
            "id": "m1",
            "direction": "in",
            "chat_id": "c",
            "text": "hi",
            "at": "x",
            "about_seq": 4,
        }
    },
    "event": {
        "event": {
            "id": "e1",
            "level": "warning",
            "source": "src",
            "message": "m",
            "data": {"n": 1, "f": 1.5, "ok": True, "none": None, "list": [1, {"a": "b"}]},
        }
    },
}
ODD_VALUES: list[Any] = [
    None,
    "",
    "x" * 201,
    "12",
    "1.5",
    "true",
    -1,
    0,
    1,
    True,
    1.0,
    2.5,
    150,
    [],
    ["a"],
    {},
    {"id": "z"},
    {"unknown": 1},
    ("a",),
    b"bytes",
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    1e29,
    10**30,
]


def model_verdict(type_: str, payload: Any) -> tuple[str, Any]:
    """What the model alone says: ("ok", fields sent) or ("error", first error)."""
    try:
        return "ok", model_fields_sent(PAYLOADS[type_], payload)
    except ValidationError as exc:
        field, message = first_error(exc)
        return "error", (f"payload.{field}" if field else "payload", message)


def fast_verdict(type_: str, payload: Any) -> tuple[str, Any]:
    try:
        return "ok", validate_payload(type_, payload)
    except InvalidEvent as exc:
        return "error", (exc.field, exc.message)


def same(type_: str, payload: Any) -> None:
    expected_kind, expected = model_verdict(type_, payload)
    kind, got = fast_verdict(type_, payload)
    assert kind == expected_kind, (type_, payload)
    # the same fields, types and key order; or the same field named with the same message
    assert repr(got) == repr(expected), (type_, payload)


def mutations(value: Any, rng: random.Random) -> Any:
    """A copy of a payload with one of its values replaced, or a key dropped or added."""
    if not isinstance(value, dict) or not value:
        return rng.choice(ODD_VALUES)
    out = dict(value)
    key = rng.choice(sorted(out))
    roll = rng.random()
    if roll < 0.15:
        del out[key]
    elif roll < 0.25:
        out["extra_field"] = 1
    elif roll < 0.6 and isinstance(out[key], dict):
        out[key] = mutations(out[key], rng)
    else:
        out[key] = rng.choice(ODD_VALUES)
    return out


def test_every_event_type_has_the_fast_check() -> None:
    assert set(SENT) == set(PAYLOADS)
    assert not [t for t, check in SENT.items() if isinstance(check, partial)]


@pytest.mark.parametrize("type_", sorted(WHOLE))
def test_whole_and_minimal_payloads_come_out_as_the_model_dumps_them(type_: str) -> None:
    payload = WHOLE[type_]
    same(type_, payload)
    (name, body), *rest = payload.items()
    if isinstance(body, dict) and not rest:
        key = "period" if "period" in body else "id"
        required = {k: v for k, v in body.items() if k in (key, "direction", "chat_id", "text")}
        same(type_, {name: required})


def test_sent_fields_keep_types_and_drop_defaults() -> None:
    out = validate_payload("event", {"event": {"message": "m"}})
    assert out == {"event": {"message": "m"}}  # `level` has a default: not sent, not kept
    out = validate_payload("task:updated", {"task": {"id": "t", "progress_percent": 40}})
    assert repr(out) == repr({"task": {"id": "t", "progress_percent": 40.0}})


def test_ids_longer_than_200_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_payload("task:updated", {"task": {"id": "x" * 201}})
    assert str(caught.value) == ("payload.task.id: String should have at most 200 characters")
    assert validate_payload("task:updated", {"task": {"id": "x" * 200}})["task"]["id"] == "x" * 200


def test_a_missing_field_is_named_as_the_model_names_it() -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_payload("task:updated", {"task": {"title": "t"}})
    assert (caught.value.field, caught.value.message) == ("payload.task.id", "Field required")


def test_random_payloads_get_the_models_verdict() -> None:
    rng = random.Random(20261125)
    for _ in range(3000):
        type_ = rng.choice(sorted(WHOLE))
        payload = WHOLE[type_]
        for _ in range(rng.randint(1, 3)):
            payload = mutations(payload, rng)
        same(type_, payload)


def test_values_only_the_model_takes_are_left_to_it() -> None:
    class Point(BaseModel):
        x: int

    moment = datetime(2026, 11, 25, tzinfo=UTC)
    for data in ({"at": moment}, {"p": Point(x=1)}, {"t": (1, 2)}, {1: "a"}, {"s": {"a"}}):
        payload = {"event": {"message": "m", "data": data}}
        with pytest.raises(ValidationError):
            SENT["event"](payload)
        same("event", payload)
    task = PAYLOADS["task:updated"].model_validate({"task": {"id": "t", "status": "queued"}})
    assert validate_payload("task:updated", task) == {"task": {"id": "t", "status": "queued"}}


def test_a_model_it_cannot_translate_is_checked_by_the_model() -> None:
    from pydantic import field_validator

    class Shouting(Strict):
        word: str

        @field_validator("word")
        @classmethod
        def upper(cls, value: str) -> str:
            return value.upper()

    check = sent_fields_validator(Shouting)
    assert isinstance(check, partial)
    assert check({"word": "hi"}) == {"word": "HI"}


def test_the_output_is_not_the_input() -> None:
    data = {"nested": {"a": 1}, "list": [1]}
    out = validate_payload("event", {"event": {"message": "m", "data": data}})
    data["nested"]["a"] = 2  # type: ignore[index]
    data["list"].append(2)  # type: ignore[attr-defined]
    assert out["event"]["data"] == {"nested": {"a": 1}, "list": [1]}


@pytest.mark.parametrize("value", [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 1e29, 10**30])
def test_integers_at_the_64_bit_edge_get_the_models_verdict(value: Any) -> None:
    same("task:updated", {"task": {"id": "t", "priority": value}})
    same("session:ended", {"session": {"id": "s", "exit_code": value, "pid": value}})
    same("budget:updated", {"budget": {"period": "p", "tokens_in": value}})
    same("session:iteration", {"session_id": "s", "iteration": value})
    same(
        "telegram:message",
        {"message": {**WHOLE["telegram:message"]["message"], "about_seq": value}},
    )
