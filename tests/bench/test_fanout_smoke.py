"""The fan-out benchmark still runs end to end, at a tiny size, and produces every figure.

It checks that each figure was measured (present, and counted over at least one delivery),
never that a figure is fast: speed is for docs/benchmarks.md, on a quiet machine.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import plot
from tests.bench.tiny import TIMEOUT_S, figure, run_tiny

SERVERS = ("hub", "hub-inproc", "floor", "socketio", "node-ws")
INGESTING = ("hub", "hub-inproc")
SIZES = ("c4", "c8")
IDLE_SIZES = (10, 20)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One tiny benchmark run: its JSON result and its markdown tables."""
    return run_tiny("fanout", tmp_path_factory.mktemp("fanout"))


@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize("server", SERVERS)
def test_each_server_has_every_fanout_figure(tiny: tuple[dict[str, Any], str], server: str) -> None:
    result, _ = tiny
    assert "error" not in result["runs"][0][server], result["runs"][0][server]
    for size in SIZES:
        full = figure(result, server, size, "full")
        assert full["deliveries_per_s"] > 0
        assert full["publish_per_s"] > 0
        assert full["server_cpu_us_per_delivery"] is not None
        paced = figure(result, server, size, "paced")
        assert paced["latency_samples"] > 0
        assert None not in (paced["p50_ms"], paced["p99_ms"], paced["p999_ms"], paced["max_ms"])
        slices = [v for v in paced["timeline"]["max_ms"] if v is not None]
        assert slices and max(slices) == paced["max_ms"]
        if server in INGESTING:  # the hub's own timing of each stage over the window
            http = ("http", "publish") if server == "hub" else ()  # the other: in process
            for stage in ("validate", "queue_wait", "sqlite", "dispatch", *http):
                assert paced["stages"][stage]["count"] > 0, (stage, paced["stages"])
    for idle in IDLE_SIZES:
        assert figure(result, server, "idle", f"kb_per_idle_{idle}") is not None


@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize("server", SERVERS)
def test_each_server_has_the_stalled_client_figures(
    tiny: tuple[dict[str, Any], str], server: str
) -> None:
    result, _ = tiny
    stalled = figure(result, server, SIZES[-1], "stall_paced")
    # Measured, or measured to have stopped: a broadcast loop may block on the stalled client.
    assert "p99_ms" in stalled
    assert stalled["latency_samples"] > 0 or stalled["publish_blocked"] or stalled["undelivered"]
    assert stalled["rss_mb"] > 0
    assert figure(result, server, SIZES[-1], "paced", "rss_mb") > 0
    assert figure(result, server, SIZES[-1], "stall_clients", "stalled_behind_events") >= 0


@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize("server", INGESTING)
def test_the_hub_has_the_ingest_figure(tiny: tuple[dict[str, Any], str], server: str) -> None:
    result, _ = tiny
    ingest = figure(result, server, SIZES[0], "ingest")
    assert ingest["accepted_per_s"] > 0
    assert ingest["deliveries_per_s"] > 0


@pytest.mark.timeout(TIMEOUT_S)
def test_the_tables_name_the_machine_and_every_server(tiny: tuple[dict[str, Any], str]) -> None:
    result, tables = tiny
    machine = result["machine"]
    assert machine["cores"] and machine["python"] and machine["versions"]["ws"] != "absent"
    for title in ("Fan-out", "Memory per idle connection", "SQLite ingest", "stops reading",
                  "Targets"):  # fmt: skip
        assert title in tables
    for label in result["targets"].values():
        assert label in tables


@pytest.mark.timeout(TIMEOUT_S)
def test_the_latency_plot_has_a_panel_per_size_and_a_line_per_server(
    tiny: tuple[dict[str, Any], str],
) -> None:
    result, _ = tiny
    svg = plot.latency_svg(result)
    for size in SIZES:
        assert f"{size[1:]} clients, run 1" in svg
    assert svg.count("<path ") == 2 * len(SERVERS) * len(SIZES)  # largest and median
