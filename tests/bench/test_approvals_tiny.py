"""The approvals benchmark still runs end to end at a tiny size and produces each figure
(that the figures are good is for docs/benchmarks.md, on a quiet machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.tiny import ROOT
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.browser
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def test_the_approvals_benchmark_measures_both_legs() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    command = [sys.executable, "-m", "bench.approvals", "--requests", "3", "--gap-ms", "0",
               "--background-per-s", "20"]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(run.stdout)
    assert result["requests"] == 3
    for leg in ("request_to_visible_ms", "answer_to_subscriber_ms"):
        figures = result[leg]
        assert 0 < figures["p50"] <= figures["p99"] <= figures["max"], (leg, figures)
    assert result["answer_to_agent_unblocked"]["measured"] is False
