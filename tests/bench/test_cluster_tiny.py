"""The cluster benchmark still runs end to end, at a tiny size, and produces every figure.

One hub, then three, on a real PostgreSQL and a real Redis. It checks that each figure was
measured and that every client of every hub got every event, never that a figure is fast:
speed is for docs/benchmarks.md, on a quiet machine.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench.cluster_infra import missing

from bench import cpu_cap
from tests.bench.tiny import TIMEOUT_S, figure, run_tiny
from tests.conftest import skip_or_fail

CONFIGURATIONS = {
    "one": ("A",),
    "three": ("A", "B", "C"),
    "one_capped": ("A",),
    "three_capped": ("A", "B", "C"),
}

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(TIMEOUT_S)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One tiny benchmark run: its JSON result and its markdown tables."""
    lacking = missing() or cpu_cap.unavailable()
    if lacking is not None:
        skip_or_fail(lacking)
    return run_tiny("cluster", tmp_path_factory.mktemp("cluster"))


@pytest.mark.parametrize("block", CONFIGURATIONS)
def test_each_configuration_has_the_full_speed_figures(
    tiny: tuple[dict[str, Any], str], block: str
) -> None:
    result, _ = tiny
    full = figure(result, block, "full")
    assert full["deliveries_per_s"] > 0
    assert full["events_per_s"] > 0
    assert full["hubs_cpu_us_per_delivery"] is not None
    assert sorted(full["nodes"]) == list(CONFIGURATIONS[block])
    for node in full["nodes"].values():
        assert node["deliveries_per_s"] > 0
        assert node["cpu_us_per_delivery"] is not None
        assert node["cpu_us_per_event"] is not None
    for service in ("redis", "postgres"):
        assert full["services"][service]["cpu_us_per_event"] is not None


@pytest.mark.parametrize("block", CONFIGURATIONS)
def test_every_client_of_every_hub_got_every_event(
    tiny: tuple[dict[str, Any], str], block: str
) -> None:
    result, _ = tiny
    phases = {"one": ("full", "paced"), "three": ("full", "paced", "paced_same_total")}.get(
        block, ("full",)
    )
    for phase in phases:
        assert figure(result, block, phase, "undelivered") == 0
    assert figure(result, block, "notes") == []


def test_latency_is_split_into_same_node_and_cross_node(tiny: tuple[dict[str, Any], str]) -> None:
    result, _ = tiny
    splits = [("one", "paced", "same_node")] + [
        ("three", phase, split)
        for phase in ("paced", "paced_same_total")
        for split in ("same_node", "cross_node")
    ]
    for block, phase, split in splits:
        latency = figure(result, block, phase, split)
        assert latency["latency_samples"] > 0, (block, phase, split)
        assert None not in (latency["p50_ms"], latency["p99_ms"], latency["max_ms"])
    assert "cross_node" not in figure(result, "one", "paced")
    assert figure(result, "three", "full", "nodes", "B", "role").startswith("publishing")


def test_the_comparison_and_the_tables_are_there(tiny: tuple[dict[str, Any], str]) -> None:
    result, tables = tiny
    assert figure(result, "compare", "measured_ratio") > 0
    assert figure(result, "compare", "core_per_hub_ratio") > 0
    assert figure(result, "compare", "core_per_hub_spread_ratio") > 0
    assert figure(result, "compare", "equal_cpu_ratio") > 0
    roles = [node["role"] for node in figure(result, "three_capped", "full", "nodes").values()]
    assert roles == ["publishing 1/3, clients"] * 3  # the publishes went to every hub
    versions = result["machine"]["versions"]
    assert versions["redis-server"] != "absent" and versions["postgresql"] != "absent"
    for title in ("Full speed", "Each hub at full speed", "latency", "Redis and PostgreSQL",
                  "Target", "cross-node", "the hubs share one core",
                  "each capped at"):  # fmt: skip
        assert title in tables
