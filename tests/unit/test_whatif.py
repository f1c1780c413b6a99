"""What-if replays (parent_harness/whatif.py) over logs built here: a candidate's health
thresholds, budget limits and alert rules, each shown to act, and a looser one not to;
against what the log says was done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parent_harness.hub.bundles import Bundle, BundleEvent
from parent_harness.hub.state import State
from parent_harness.whatif import Candidate, CandidateError, candidate_of, load_candidate, replay

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def log(*events: tuple[float, str, dict[str, Any]]) -> Bundle:
    """A bundle from (seconds after T0, type, payload), from an empty fleet."""
    out = []
    for n, (after_s, type_, payload) in enumerate(events, 1):
        moment = T0 + timedelta(seconds=after_s)
        ts = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out.append(
            BundleEvent(n, f"e{n}", type_, ts, int(moment.timestamp() * 1000), payload, n + 2)
        )
    head = {"range": {"from_seq": 1, "to_seq": len(out)}, "filters": {}}
    return Bundle(head, State(), out, "")


def session_without_progress(minutes: int) -> Bundle:
    """A session that beats every minute for `minutes` and makes no progress after the first."""
    started = {"session": {"id": "s1", "agent_id": "a1", "task_id": "t1", "status": "running"}}
    events: list[tuple[float, str, dict[str, Any]]] = [(0, "session:started", started)]
    events.append((1, "session:iteration", {"session_id": "s1", "iteration": 1}))
    events += [(60.0 * m, "session:heartbeat", {"session_id": "s1"}) for m in range(1, minutes + 1)]
    return log(*events)


def health(stuck_after_s: float, kill: bool = False) -> Candidate:
    return candidate_of(
        {
            "health": {"stuck_after_s": stuck_after_s, "kill_on_stuck": kill},
            "notify": {"default_rules": False},
        }
    )


def test_a_stuck_threshold_flags_a_session_a_looser_one_does_not() -> None:
    bundle = session_without_progress(20)
    tight = replay(bundle, health(600, kill=True))
    assert [(f.what, f.source) for f in tight.would] == [
        ("flagged", "health"),
        ("killed", "health"),
    ]
    flagged = tight.would[0]
    assert flagged.subject == "session s1 (agent a1)" and "stuck" in flagged.detail
    # no progress since 03:00:01: stuck at the first check at or after 03:10:01
    assert flagged.at == "2026-12-01T03:10:01.000Z", flagged
    assert tight.was == []

    loose = replay(bundle, health(1800))
    assert loose.would == [], loose.would


def test_silence_past_the_stale_threshold_is_flagged_at_the_check_that_sees_it() -> None:
    started = {"session": {"id": "s1", "agent_id": "a1", "status": "running"}}
    bundle = log(
        (0, "session:started", started),
        (500, "session:iteration", {"session_id": "s1", "iteration": 2}),
    )
    report = replay(bundle, candidate_of({"health": {"stale_after_s": 90, "crashed_after_s": 400}}))
    flags = [(f.at[11:19], f.detail.split(":")[0]) for f in report.would if f.source == "health"]
    assert flags == [("03:01:30", "stale"), ("03:06:40", "crashed")], flags


RULES = {
    "default_rules": False,
    "rules": [
        {"name": "fails", "on": "task:failed", "when": {"task.status": "failed"}},
        {"name": "never", "on": "task:failed", "when": {"task.error_details.kind": "oom"}},
    ],
}


def test_a_rule_that_would_have_fired_and_one_that_would_not() -> None:
    failed = {"task": {"id": "t1", "status": "failed", "error_details": {"kind": "crash"}}}
    bundle = log(
        (0, "task:created", {"task": {"id": "t1", "status": "queued"}}), (5, "task:failed", failed)
    )
    report = replay(bundle, candidate_of({"notify": RULES}))
    alerts = [(f.what, f.subject, f.seq) for f in report.would if f.source == "alert"]
    assert alerts == [("alerted", "task t1", 2)], report.would
    assert "rule fails" in report.would[0].detail


def test_budget_limits_stop_what_a_looser_budget_lets_run() -> None:
    def spend(at: float, usd: float) -> tuple[float, str, dict[str, Any]]:
        usage = {"input": 10, "output": 10, "cost_usd": usd}
        payload = {
            "session_id": "s1",
            "iteration": 1,
            "agent_id": "a1",
            "task_id": "t1",
            "token_usage": usage,
        }
        return (at, "session:iteration", payload)

    bundle = log(spend(0, 0.5), spend(10, 0.4), spend(20, 0.3))
    tight = replay(bundle, candidate_of({"budget": {"limit_usd_per_task": 1.0}}))
    assert [(f.what, f.subject, f.seq) for f in tight.would] == [
        ("warned", "task t1", 2),
        ("stopped", "task t1", 3),
    ], tight.would
    loose = replay(bundle, candidate_of({"budget": {"limit_usd_per_task": 5.0}}))
    assert loose.would == []


def test_what_was_done_comes_from_the_log() -> None:
    note = {
        "event": {
            "level": "warning",
            "source": "health",
            "message": "Agent a1 is stuck: ...",
            "data": {"agent_id": "a1", "session_id": "s1", "health_status": "stuck"},
        }
    }
    killed = {"task": {"id": "t1", "status": "failed", "error_details": {"kind": "stuck"}}}
    report = replay(log((0, "event", note), (1, "task:failed", killed)), candidate_of({}))
    assert [(f.what, f.source, f.subject) for f in report.was] == [
        ("flagged", "health", "session s1 (agent a1)"),
        ("killed", "health", "task t1"),
    ]
    table = report.table()
    assert "health flagged" in table and "Was:" in table


def test_an_agent_without_thresholds_of_its_own_takes_the_candidates() -> None:
    candidate = candidate_of(
        {
            "health": {"stuck_after_s": 100},
            "agents": {"a1": {"command": ["x"]}, "a2": {"health": {}}},
        }
    )
    assert candidate.limits("a1").stuck_after_s == 100 == candidate.limits("someone").stuck_after_s
    assert candidate.limits("a2").stuck_after_s == 900  # its own table: the defaults


def test_a_bad_candidate_names_its_key(tmp_path: Path) -> None:
    bad = tmp_path / "candidate.toml"
    for text, words in [
        ("[health]\nstuck_after_s = -1\n", "health: stuck_after_s"),
        ("[budget]\nlimit_usd_per_day = 0\n", "budget: limit_usd_per_day"),
        ('[[notify.rules]]\nname = "x"\n', "notify"),
        ("[health\n", "candidate.toml"),
    ]:
        bad.write_text(text)
        with pytest.raises(CandidateError) as caught:
            load_candidate(bad)
        assert words in str(caught.value), (text, caught.value)


def test_an_absence_rule_alerts_at_the_moment_the_silence_crosses_it() -> None:
    working = {"agent": {"id": "a1", "status": "working"}}
    bundle = log(
        (0, "agent:status", working),
        (10, "agent:heartbeat", {"agent_id": "a1", "iteration": 1}),
        (400, "event", {"event": {"message": "later", "level": "info"}}),
        (401, "event", {"event": {"message": "later still", "level": "info"}}),
    )

    def silent_after(seconds: int) -> Candidate:
        rule = {"name": "silent", "kind": "absence", "after_s": seconds,
                "when": {"agent.status": "working"}}  # fmt: skip
        return candidate_of({"notify": {"default_rules": False, "rules": [rule]}})

    report = replay(bundle, silent_after(300))
    assert [(f.what, f.subject, f.at[11:19]) for f in report.would] == [
        ("alerted", "agent a1", "03:05:10")
    ], report.would
    assert replay(bundle, silent_after(600)).would == []
