"""The history benchmark still runs end to end at a tiny size and produces each figure (how
good they are is for docs/benchmarks.md, on a quiet machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.tiny import ROOT


def test_the_history_benchmark_measures_checkpoints_and_state_at(tmp_path: Path) -> None:
    out = tmp_path / "history.json"
    command = [sys.executable, "-m", "bench.history", "--tiny", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["events"] == 20_000
    assert result["ingest_with_checkpoints"]["checkpoints"] == 2
    assert result["ingest_without_checkpoints"]["checkpoints"] == 0
    assert 0 < result["state_at_ms"]["p50"] <= result["state_at_ms"]["max"]
