"""The graph-view benchmark still runs end to end at a tiny size and produces each figure
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


def test_the_graph_view_benchmark_draws_the_whole_plan() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}")
    command = [sys.executable, "-m", "bench.plan_graph_render", "--tasks", "40", "--runs", "1"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(run.stdout)
    assert (result["tasks"], result["nodes"]) == (40, 40)
    assert result["edges"] >= 39 and result["layers"] == result["critical_path"] > 1
    assert 0 < result["layout_and_svg_ms"] < result["link_to_graph_painted_ms"]
    assert 0 < result["cold_load_tasks_read_ms"] < result["cold_load_painted_ms"]
