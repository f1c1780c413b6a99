"""bench/workers.py at its tiny size: it runs, no task is won twice, its figures are there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_workers_benchmark_runs_tiny(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.workers", "--tiny", "--out", str(tmp_path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((tmp_path / "workers.json").read_text())
    claims = result["claims"]
    assert claims["won"] == 40 and claims["won_twice"] == 0
    assert claims["claims_per_s"] > 0
    assert result["starts"]["queued_to_started_ms"]["median"] > 0
    assert "queued to agent started" in (tmp_path / "workers.md").read_text()
