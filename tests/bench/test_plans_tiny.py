"""The plan benchmark still runs end to end at a tiny size and produces each figure (that
the figures are good is for docs/benchmarks.md, on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.tiny import ROOT


def test_the_plan_benchmark_measures_applying_and_scheduling(tmp_path: Path) -> None:
    out = tmp_path / "plans.json"
    command = [sys.executable, "-m", "bench.plans", "--tiny", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    (applied,) = result["apply"]
    assert applied["tasks"] == 300 and applied["edges"] > 800
    assert 0 < applied["check_s"] < applied["apply_s"]
    assert [s["tasks"] for s in result["scheduling"]] == [100, 300]
    assert all(s["finished"] > 0 and s["us_per_finished"] > 0 for s in result["scheduling"])
    assert "POST /api/plans" in run.stdout
