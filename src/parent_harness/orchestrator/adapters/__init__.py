"""Line adapters: each turns what one kind of agent prints into :mod:`signals`.

``harness`` is the project's own JSON-lines protocol (docs/agents.md);
``claude-stream-json`` reads Claude Code's ``--output-format stream-json``;
``codex-json`` reads Codex's ``exec --json``; ``plain`` treats every line as
output. Pick one per agent with ``adapter = "..."`` in ``harness.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..signals import Output, Signal
from .claude_code import ClaudeStreamAdapter
from .codex import CodexJsonAdapter
from .harness import HarnessAdapter


class LineAdapter(Protocol):
    """Reads one agent's stdout, a line at a time (a fresh adapter per session)."""

    def feed(self, line: str) -> list[Signal]:
        """The signals one line holds; an unrecognised line comes back as :class:`Output`."""
        ...


class PlainAdapter:
    """For agents that speak no protocol: every line is output (and a sign of life)."""

    def feed(self, line: str) -> list[Signal]:
        """Each line is :class:`Output`."""
        return [Output(line)]


ADAPTERS: dict[str, Callable[[], LineAdapter]] = {
    "harness": HarnessAdapter,
    "claude-stream-json": ClaudeStreamAdapter,
    "codex-json": CodexJsonAdapter,
    "plain": PlainAdapter,
}


def make_adapter(name: str) -> LineAdapter:
    """A fresh adapter for one session of an agent configured with ``adapter = name``."""
    try:
        return ADAPTERS[name]()
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ValueError(f"unknown adapter {name!r} (known: {known})") from None


__all__ = [
    "ADAPTERS",
    "ClaudeStreamAdapter",
    "CodexJsonAdapter",
    "HarnessAdapter",
    "LineAdapter",
    "PlainAdapter",
    "make_adapter",
]
