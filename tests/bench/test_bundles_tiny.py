"""The bundles benchmark still runs end to end at a tiny size and produces each figure (how
good they are is for docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.tiny import ROOT


def test_the_bundles_benchmark_measures_export_import_and_replay(tmp_path: Path) -> None:
    out = tmp_path / "bundles.json"
    command = [sys.executable, "-m", "bench.bundles", "--tiny", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())
    assert (result["events"], result["bundle_events"]) == (2_000, 1_000)
    for step in ("export", "check", "import", "replay"):
        assert result[f"{step}_s"] > 0, step
    assert "| import |" in run.stdout
