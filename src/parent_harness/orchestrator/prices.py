"""What tokens cost: the price table shipped with the package, and each agent's overrides.

``prices.toml`` (next to this module) gives USD per million tokens for input, output,
cache reads and cache writes, by model. An agent's ``price`` (every model it runs) or
``prices`` (by model id) in ``harness.toml`` override it. A model id matches the longest
key it starts with, after any ``provider/`` prefix and ignoring case.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .config import AgentConfig, PriceTable
from .signals import TokenUsage


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    @classmethod
    def of(cls, table: PriceTable) -> Rates:
        """An agent's price (cache rates default to its input rate)."""
        read = table.cache_read_per_mtok
        write = table.cache_write_per_mtok
        return cls(
            table.input_per_mtok,
            table.output_per_mtok,
            table.input_per_mtok if read is None else read,
            table.input_per_mtok if write is None else write,
        )

    def cost_usd(self, usage: TokenUsage) -> float:
        """What these tokens cost: uncached input, cache reads, cache writes, output."""
        uncached = max(0, usage.input - usage.cache_read - usage.cache_write)
        total = (
            uncached * self.input
            + usage.cache_read * self.cache_read
            + usage.cache_write * self.cache_write
            + usage.output * self.output
        )
        return total / 1e6


@cache
def shipped_table() -> Mapping[str, Rates]:
    """The package's ``prices.toml``: model id prefix to rates."""
    text = resources.files(__package__).joinpath("prices.toml").read_text(encoding="utf-8")
    models = tomllib.loads(text).get("models", {})
    return {
        str(name).lower(): Rates(
            float(row["input"]),
            float(row["output"]),
            float(row.get("cache_read", row["input"])),
            float(row.get("cache_write", row["input"])),
        )
        for name, row in models.items()
    }


def match(table: Mapping[str, Rates], model: str) -> Rates | None:
    """The rates of the longest key ``model`` starts with (after ``provider/``)."""
    name = model.lower().rsplit("/", 1)[-1]
    best = max((key for key in table if name.startswith(key)), key=len, default=None)
    return None if best is None else table[best]


class Pricer:
    """Prices one agent's usage: its ``price``, else its ``prices``, else the shipped table."""

    def __init__(self, agent: AgentConfig, table: Mapping[str, Rates] | None = None) -> None:
        self._flat = Rates.of(agent.price) if agent.price is not None else None
        own = {key.lower(): Rates.of(value) for key, value in agent.prices.items()}
        self._table = {**(shipped_table() if table is None else table), **own}
        self.default_model = agent.model

    def rates(self, model: str | None) -> Rates | None:
        """The rates for ``model`` (the agent's own ``model`` when the CLI names none)."""
        if self._flat is not None:
            return self._flat
        model = model or self.default_model
        return None if model is None else match(self._table, model)

    def price(self, usage: TokenUsage) -> TokenUsage | None:
        """``usage`` with its estimated cost; None when no price is known for its model."""
        rates = self.rates(usage.model)
        if rates is None:
            return None
        return usage.with_cost(rates.cost_usd(usage))
