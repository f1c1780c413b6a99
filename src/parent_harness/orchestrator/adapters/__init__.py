"""Line adapters: each turns what one kind of agent prints into :mod:`signals`.

``harness`` is the project's own JSON-lines protocol (docs/agents.md);
``claude-stream-json`` reads Claude Code's ``--output-format stream-json``;
``codex-json`` reads Codex's ``exec --json``; ``gemini-stream-json`` Gemini CLI's
``--output-format stream-json``; ``cursor-stream-json`` Cursor CLI's
``cursor-agent -p --output-format stream-json``; ``amp-stream-json`` Amp's
``--stream-json``; ``opencode-json`` OpenCode's ``run --format json``; ``plain``
treats every line as output. Pick one per agent with ``adapter = "..."`` in
``harness.toml``.

An adapter may also say what its CLI's exit codes mean (``on_exit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..signals import AgentError, Output, Signal
from .claude_code import AmpStreamAdapter, ClaudeStreamAdapter
from .codex import CodexJsonAdapter
from .cursor import CursorStreamAdapter
from .gemini import GeminiStreamAdapter
from .harness import HarnessAdapter
from .opencode import OpenCodeJsonAdapter


class LineAdapter(Protocol):
    """Reads one agent's stdout, a line at a time (a fresh adapter per session)."""

    def feed(self, line: str) -> list[Signal]:
        """The signals one line holds; an unrecognised line comes back as :class:`Output`."""
        ...


def exit_error(adapter: LineAdapter, code: int) -> AgentError | None:
    """What the adapter's CLI means by exiting with ``code`` (None: nothing particular)."""
    on_exit = getattr(adapter, "on_exit", None)
    result = on_exit(code) if callable(on_exit) else None
    return result if isinstance(result, AgentError) else None


class PlainAdapter:
    """For agents that speak no protocol: every line is output (and a sign of life)."""

    def feed(self, line: str) -> list[Signal]:
        """Each line is :class:`Output`."""
        return [Output(line)]


ADAPTERS: dict[str, Callable[[], LineAdapter]] = {
    "harness": HarnessAdapter,
    "claude-stream-json": ClaudeStreamAdapter,
    "codex-json": CodexJsonAdapter,
    "gemini-stream-json": GeminiStreamAdapter,
    "cursor-stream-json": CursorStreamAdapter,
    "amp-stream-json": AmpStreamAdapter,
    "opencode-json": OpenCodeJsonAdapter,
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
    "AmpStreamAdapter",
    "ClaudeStreamAdapter",
    "CodexJsonAdapter",
    "CursorStreamAdapter",
    "GeminiStreamAdapter",
    "HarnessAdapter",
    "LineAdapter",
    "OpenCodeJsonAdapter",
    "PlainAdapter",
    "exit_error",
    "make_adapter",
]
