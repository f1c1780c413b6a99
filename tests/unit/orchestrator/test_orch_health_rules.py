"""HealthMonitor verdicts, on a hand-driven clock."""

from __future__ import annotations

from parent_harness.orchestrator import HealthMonitor, HealthStatus, HealthThresholds, Vitals
from parent_harness.orchestrator.health import assess

LIMITS = HealthThresholds(stale_after_s=10, crashed_after_s=60, stuck_after_s=30)


def vitals(heartbeat: float, progress: float, testing: bool = False) -> Vitals:
    return Vitals(last_heartbeat=heartbeat, last_progress=progress, testing=testing)


def test_each_status_with_its_reason() -> None:
    assert assess(vitals(100, 100), LIMITS, 105).status is HealthStatus.HEALTHY
    stale = assess(vitals(100, 100), LIMITS, 111)
    assert stale.status is HealthStatus.STALE
    assert stale.reason == "no heartbeat for 11 s (stale after 10 s)"
    crashed = assess(vitals(100, 100), LIMITS, 170)
    assert crashed.status is HealthStatus.CRASHED and "crashed after 60 s" in crashed.reason
    stuck = assess(vitals(129, 100), LIMITS, 131)
    assert stuck.status is HealthStatus.STUCK
    assert stuck.reason.startswith("heartbeats arrive but no progress, iteration or test activity")
    gone = Vitals(100, 100, gone="killed by SIGKILL")
    assert assess(gone, LIMITS, 100).reason == "the process is gone: killed by SIGKILL"


def test_never_stuck_while_tests_run_and_stuck_can_be_disabled() -> None:
    assert assess(vitals(129, 0, testing=True), LIMITS, 131).status is HealthStatus.HEALTHY
    no_stuck = HealthThresholds(stale_after_s=10, crashed_after_s=60, stuck_after_s=0)
    assert assess(vitals(129, 0), no_stuck, 131).status is HealthStatus.HEALTHY


def test_progress_is_also_a_heartbeat() -> None:
    v = vitals(0, 0)
    v.advance(50)
    assert (v.last_heartbeat, v.last_progress) == (50, 50)
    v.beat(40)  # never goes back in time
    assert v.last_heartbeat == 50


def test_monitor_reports_changes_only() -> None:
    monitor = HealthMonitor()
    v = vitals(0, 0)
    assert monitor.check("s1", v, LIMITS, 1) is None
    verdict = monitor.check("s1", v, LIMITS, 11)
    assert verdict is not None and verdict.status is HealthStatus.STALE
    assert monitor.check("s1", v, LIMITS, 12) is None
    v.advance(13)
    recovered = monitor.check("s1", v, LIMITS, 13)
    assert recovered is not None and recovered.status is HealthStatus.HEALTHY
    monitor.forget("s1")
    assert monitor.status("s1") is HealthStatus.HEALTHY
