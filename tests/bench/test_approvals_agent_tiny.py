"""The agent side's approvals benchmark still runs end to end at a tiny size and produces
both figures (that they are good is for docs/benchmarks.md, on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.tiny import ROOT


def test_the_agent_side_approvals_benchmark_measures_both_paths(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.approvals_agent", "--requests", "3",
               "--out", str(tmp_path)]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads((tmp_path / "approvals_agent.json").read_text())
    assert result["requests"] == 3
    for path in ("request to visible", "answer to agent unblocked"):
        figures = result["paths"][path]
        assert 0 <= figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
