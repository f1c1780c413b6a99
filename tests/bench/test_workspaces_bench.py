"""bench/workspaces.py at its tiny size: it runs, and its figures are there and plausible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_workspaces_benchmark_runs_tiny(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.workspaces", "--tiny", "--runs", "1",
               "--out", str(tmp_path)]  # fmt: skip
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads((tmp_path / "workspaces.json").read_text())
    assert result["files"] == 200 and result["lines"] == 500
    assert result["diff"]["files"] == 21 and result["diff"]["changed_lines"] == 2 * 500 + 20
    for key in ("create_ms", "create_with_setup_ms"):
        assert 0 < result[key]["median"] < 60_000
    assert 0 < result["diff"]["file_ms"]["median"] < 10_000
    assert "diff?file=big.py" in (tmp_path / "workspaces.md").read_text()
