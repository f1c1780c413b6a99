"""The scrubber benchmark still runs end to end at a tiny size and produces each figure (how
good they are is for docs/benchmarks.md, on a quiet machine)."""

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


def test_the_scrubber_benchmark_drags_and_measures(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    out = tmp_path / "scrubber.json"
    command = [sys.executable, "-m", "bench.scrubber", "--tiny", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["events"] == 20_000
    drag = result["drag"]
    # Many pointer moves, fewer moments asked (one in flight, the latest wins), each shown.
    assert 0 < drag["moments_shown"] <= drag["moves"] == 120
    latency = drag["move_to_page_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert drag["last_move_to_page_ms"] > 0 and drag["long_tasks"]["count"] >= 0
    assert result["density"]["whole_log_p50_ms"] > 0
