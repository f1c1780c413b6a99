"""Reading test counts from runner summaries and JUnit XML."""

from __future__ import annotations

from pathlib import Path

from parent_harness.orchestrator.suite import Counts, parse_junit, parse_summary


def test_pytest_summaries() -> None:
    text = "....F.s\n=========== 1 failed, 5 passed, 1 skipped, 2 errors in 0.31s ===========\n"
    assert parse_summary(text) == Counts(5, 3, 1)
    assert parse_summary("12 passed in 0.20s") == Counts(12, 0, 0)
    assert parse_summary("==== 3 passed, 1 xfailed in 1.2s ====") == Counts(3, 0, 1)


def test_other_runners() -> None:
    jest = "Tests:       1 failed, 2 skipped, 40 passed, 43 total\nTime: 3 s"
    assert parse_summary(jest) == Counts(40, 1, 2)
    cargo = (
        "test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured\n"
        "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured"
    )
    assert parse_summary(cargo) == Counts(9, 1, 1)
    unittest = "Ran 10 tests in 0.01s\n\nFAILED (failures=2, errors=1, skipped=1)"
    assert parse_summary(unittest) == Counts(6, 3, 1)
    mocha = "  14 passing (2s)\n  2 pending\n  1 failing\n"
    assert parse_summary(mocha) == Counts(14, 1, 2)
    go = "=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.01s)\n--- SKIP: TestC"
    assert parse_summary(go) == Counts(1, 1, 1)
    assert parse_summary("make: nothing to do") is None


def test_junit_xml(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(
        '<?xml version="1.0"?><testsuites>'
        '<testsuite name="a" tests="10" failures="1" errors="1" skipped="2"/>'
        '<testsuite name="b" tests="3" failures="0" errors="0" skipped="0"/></testsuites>'
    )
    assert parse_junit(report) == Counts(9, 2, 2)
    single = tmp_path / "one.xml"
    single.write_text('<testsuite tests="4" failures="0" errors="0" skipped="1"></testsuite>')
    assert parse_junit(single) == Counts(3, 0, 1)
    assert parse_junit(tmp_path / "missing.xml") is None
