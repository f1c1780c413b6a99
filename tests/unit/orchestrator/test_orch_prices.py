"""The price table: shipped with the package, matched by model prefix, overridable per agent."""

from __future__ import annotations

import pytest

from parent_harness.orchestrator.config import AgentConfig
from parent_harness.orchestrator.prices import Pricer, match, shipped_table
from parent_harness.orchestrator.signals import TokenUsage


def agent(**extra: object) -> AgentConfig:
    return AgentConfig.model_validate({"name": "a", "command": ["true"], **extra})


def test_the_shipped_table_prices_cache_reads_and_writes_at_their_own_rates() -> None:
    table = shipped_table()
    # A real Claude Code run (tests/fixtures/agents/claude/opus_cache_write): the CLI's
    # total_cost_usd is exactly the list price with the cache write at its own rate.
    usage = TokenUsage(21580, 25, model="claude-opus-4-5-20251101", cache_write=21570)
    rates = match(table, "claude-opus-4-5-20251101")
    assert rates is not None and rates.cost_usd(usage) == pytest.approx(0.1354875)
    # Two more real runs (claude/read_tool_same_message and the note it comes from): opus 4.6
    # is priced like opus 4.5, to the digit.
    opus46 = match(table, "claude-opus-4-6")
    simple = TokenUsage(3 + 11421 + 13930, 6, cache_read=13930, cache_write=11421)
    assert opus46 is not None and opus46.cost_usd(simple) == pytest.approx(0.07851125)
    # The longest prefix wins: opus 4.5 is not priced as opus 4.
    assert match(table, "claude-opus-4-20250514") != rates
    assert match(table, "anthropic/Claude-Sonnet-4-5") == match(table, "claude-sonnet-4-5")
    assert match(table, "Composer 2.5") is None


def test_agent_overrides_the_table() -> None:
    usage = TokenUsage(1_000_000, 0, model="gpt-5-codex", cache_read=1_000_000)
    assert Pricer(agent()).price(usage) == usage.with_cost(0.125)
    flat = Pricer(agent(price={"input_per_mtok": 2.0, "output_per_mtok": 8.0}))
    assert flat.price(usage) == usage.with_cost(2.0)  # a cache rate left out: the input rate
    own = Pricer(agent(prices={"gpt-5": {"input_per_mtok": 1.0, "cache_read_per_mtok": 0.5}}))
    assert own.price(usage) == usage.with_cost(0.5)


def test_a_model_missing_from_the_table_has_no_price() -> None:
    assert Pricer(agent()).price(TokenUsage(10, 10, model="Auto")) is None
    assert Pricer(agent()).price(TokenUsage(10, 10)) is None
    named = Pricer(agent(model="gemini-2.5-flash")).price(TokenUsage(1_000_000, 0))
    assert named is not None and named.cost_usd == pytest.approx(0.3)
