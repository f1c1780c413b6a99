"""Running a benchmark at its tiny size from a test: its JSON result and its markdown tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900


def run_tiny(module: str, out: Path) -> tuple[dict[str, Any], str]:
    """Installs the peers (bench/setup.sh), then `python -m bench.<module> --tiny --runs 1`."""
    setup = subprocess.run(
        ["bash", "bench/setup.sh"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    if setup.returncode != 0:
        skip_or_fail(f"bench/setup.sh could not install the peers:\n{setup.stderr[-2000:]}")
    command = [sys.executable, "-m", f"bench.{module}", "--tiny", "--runs", "1", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return json.loads((out / f"{module}.json").read_text()), (out / f"{module}.md").read_text()


def figure(result: dict[str, Any], *path: str) -> Any:
    """The value at ``path`` in the single run's results."""
    value: Any = result["runs"][0]
    for key in path:
        assert isinstance(value, dict) and key in value, f"missing {'/'.join(path)}"
        value = value[key]
    return value
