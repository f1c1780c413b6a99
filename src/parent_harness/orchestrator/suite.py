"""Running a test suite and reading how many tests passed, failed, skipped.

The suite's command is argv, started without a shell: what a shell would make of
``;``, ``$(...)`` or ``>`` never happens. Counts come from a JUnit XML report
when one is configured and written, else from the runner's summary line;
pytest, unittest, Jest/Vitest, Mocha, Go and Cargo summaries are recognised.
The exit code decides pass or fail either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Failure

TAIL_LINES = 30


@dataclass(frozen=True, slots=True)
class Counts:
    """Tests passed, failed (errors included) and skipped."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """The outcome of one test command."""

    status: str  # passed | failed | error
    counts: Counts
    exit_code: int | None
    duration_s: float
    output_tail: str
    problem: str | None = None
    """Why the run is an error (timed out, could not start)."""

    def fields(self) -> dict[str, Any]:
        """The ``test_run`` fields this result fills in."""
        return {
            "status": self.status,
            "passed": self.counts.passed,
            "failed": self.counts.failed,
            "skipped": self.counts.skipped,
            "duration_s": round(self.duration_s, 3),
            "output_tail": self.output_tail,
        }


def tests_failure(result: SuiteResult, context: Mapping[str, Any]) -> Failure:
    """Why a test run fails the attempt (kind ``tests_failed``), for error details."""
    counts = result.counts
    total = counts.passed + counts.failed + counts.skipped
    if result.status == "error":
        message = result.problem or "the test command did not run"
    elif counts.failed:
        message = f"{counts.failed} of {total} tests failed"
    else:
        message = f"the test command exited with {result.exit_code}"
    return Failure(
        "tests_failed", message, result.exit_code, output_tail=result.output_tail, context=context
    )


def _count(pattern: str, text: str) -> int:
    found = re.findall(pattern, text, re.IGNORECASE | re.MULTILINE)
    return sum(int(n) for n in found)


def _pytest(text: str) -> Counts | None:
    line = next(
        (
            m.group(0)
            for m in re.finditer(
                r"^=+ .*\b(passed|failed|skipped|error|errors)\b.* =+$", text, re.MULTILINE
            )
        ),
        None,
    ) or next(
        (m.group(0) for m in re.finditer(r"^\d+ (passed|failed|skipped)\b.*$", text, re.MULTILINE)),
        None,
    )
    if line is None:
        return None
    failed = _count(r"(\d+) failed", line) + _count(r"(\d+) errors?\b", line)
    return Counts(_count(r"(\d+) passed", line), failed, _count(r"(\d+) (?:skipped|xfailed)", line))


def _jest(text: str) -> Counts | None:
    match = re.search(r"^Tests:\s+(.*\d+ total.*)$", text, re.MULTILINE)
    if not match:
        return None
    line = match.group(1)
    skipped = _count(r"(\d+) (?:skipped|todo|pending)", line)
    return Counts(_count(r"(\d+) passed", line), _count(r"(\d+) failed", line), skipped)


def _mocha(text: str) -> Counts | None:
    if not re.search(r"^\s*\d+ passing", text, re.MULTILINE):
        return None
    return Counts(
        _count(r"^\s*(\d+) passing", text),
        _count(r"^\s*(\d+) failing", text),
        _count(r"^\s*(\d+) pending", text),
    )


def _cargo(text: str) -> Counts | None:
    if not re.search(r"^test result: ", text, re.MULTILINE):
        return None
    lines = "\n".join(re.findall(r"^test result: .*$", text, re.MULTILINE))
    return Counts(
        _count(r"(\d+) passed", lines),
        _count(r"(\d+) failed", lines),
        _count(r"(\d+) ignored", lines),
    )


def _unittest(text: str) -> Counts | None:
    ran = re.search(r"^Ran (\d+) tests? in", text, re.MULTILINE)
    if not ran:
        return None
    tail = text[ran.end() :]
    failed = _count(r"failures=(\d+)", tail) + _count(r"errors=(\d+)", tail)
    skipped = _count(r"skipped=(\d+)", tail)
    return Counts(int(ran.group(1)) - failed - skipped, failed, skipped)


def _go(text: str) -> Counts | None:
    if not re.search(r"^\s*--- (PASS|FAIL|SKIP)", text, re.MULTILINE):
        return None
    return Counts(
        len(re.findall(r"^\s*--- PASS", text, re.MULTILINE)),
        len(re.findall(r"^\s*--- FAIL", text, re.MULTILINE)),
        len(re.findall(r"^\s*--- SKIP", text, re.MULTILINE)),
    )


SUMMARY_READERS = (_pytest, _jest, _cargo, _unittest, _mocha, _go)


def parse_summary(text: str) -> Counts | None:
    """Counts from a test runner's printed summary, or None when none is recognised."""
    for reader in SUMMARY_READERS:
        counts = reader(text)
        if counts is not None:
            return counts
    return None


def parse_junit(path: Path) -> Counts | None:
    """Counts from a JUnit XML report, or None when it is missing or unreadable."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall(".//testsuite")
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return Counts(total - failed - skipped, failed, skipped)


async def run_suite(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    junit_xml: Path | None = None,
) -> SuiteResult:
    """Run ``argv`` (no shell) in ``cwd`` and read its counts."""
    _forget_report(junit_xml)
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        problem = f"the test command could not start: {argv[0]}: {exc.strerror or exc}"
        return SuiteResult("error", Counts(), None, time.monotonic() - started, "", problem)
    try:
        raw, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        raise
    except TimeoutError:
        _kill_group(proc.pid)
        raw, _ = await proc.communicate()
        text = raw.decode(errors="replace")
        problem = f"the test command timed out after {timeout_s:g} s"
        tail = _tail(text) + f"\n[{problem}]"
        return SuiteResult("error", Counts(), None, time.monotonic() - started, tail, problem)
    text = raw.decode(errors="replace")
    junit = parse_junit(junit_xml) if junit_xml is not None else None
    counts = junit or parse_summary(text) or Counts()
    status = "passed" if proc.returncode == 0 else "failed"
    return SuiteResult(status, counts, proc.returncode, time.monotonic() - started, _tail(text))


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-TAIL_LINES:])


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _forget_report(path: Path | None) -> None:
    """Remove a report left by an earlier run, so it is never read as this run's."""
    if path is not None:
        path.unlink(missing_ok=True)
