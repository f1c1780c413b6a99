"""Secrets taken out of agent output before it becomes an event or a row (issue 16).

A :class:`Redactor` is fed one line at a time, per stream, and returns the line with every
secret it recognises replaced by ``[REDACTED:<name>]``. It knows common secrets by shape
(:data:`BUILT_IN`: provider API keys, GitHub tokens, AWS keys, bearer headers, private-key
blocks) and takes more patterns from ``harness.toml`` (``[output] redact = [...]``).

Invariants:

- A secret never leaves the redactor: it is not kept, not logged, not put in an error
  message; what is counted is how many were redacted, by pattern name (:attr:`counts`).
- A private key spans lines: its ``BEGIN`` line opens a block, and every following line
  that looks like key material (base64, or an RFC 1421 header) is redacted until its
  ``END`` line. A line that is neither closes the block, so one stray ``BEGIN`` line cannot
  hide the rest of the output. A whole block on one line (a JSON string) is one match.
- The number of lines is kept: a redacted line is still a line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["BUILT_IN", "Pattern", "Redactor", "compile_pattern"]


@dataclass(frozen=True, slots=True)
class Pattern:
    """One kind of secret: its name (in the marker and the counts) and its shape.

    When the regex has a group named ``secret``, only that group is replaced (the
    ``Authorization: Bearer`` words stay readable); otherwise the whole match is.
    """

    name: str
    regex: re.Pattern[str]

    def marker(self) -> str:
        return f"[REDACTED:{self.name}]"


def _p(name: str, regex: str, flags: int = 0) -> Pattern:
    return Pattern(name, re.compile(regex, flags))


_KEY_EDGE = r"(?<![A-Za-z0-9_-])"
"""The generic `sk-` key starts a word (`risk-assessment-...` is not one); the prefixes
that cannot be words are found anywhere, even glued to other text."""

BUILT_IN: tuple[Pattern, ...] = (
    _p("private_key", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
    _p("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    _p("openai_key", _KEY_EDGE + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    _p("google_key", r"AIza[0-9A-Za-z_-]{35}"),
    _p("github_token", r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    _p("aws_access_key", r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])"),
    _p(
        "aws_secret_key",
        r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})",
    ),
    _p("bearer", r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9._~+/=-]{8,})"),
)
"""The secrets every redactor knows, in the order they are tried."""

_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_END = re.compile(r"-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_KEY_BODY = re.compile(r"^\s*(?:[A-Za-z0-9+/=]{0,100}|[A-Za-z-]+:.*)\s*$")
"""A line inside a PEM block: base64, or a header (`Proc-Type: 4,ENCRYPTED`)."""

_PRIVATE_KEY = BUILT_IN[0]


def compile_pattern(index: int, source: str) -> Pattern:
    """A pattern from the configuration, named ``custom_<index>``; raises ValueError
    (naming the pattern's place, not its text, which may hold a secret) when it is not a
    valid regex."""
    try:
        return Pattern(f"custom_{index}", re.compile(source))
    except re.error as exc:
        raise ValueError(f"pattern {index} is not a valid regular expression: {exc.msg}") from None


class Redactor:
    """Redacts the lines of one session's output; keeps per-stream private-key state."""

    def __init__(self, extra: Iterable[Pattern] = ()) -> None:
        self.patterns: tuple[Pattern, ...] = (*BUILT_IN, *extra)
        self.counts: Counter[str] = Counter()
        self._in_key: set[str] = set()

    @property
    def total(self) -> int:
        """How many secrets were redacted so far."""
        return sum(self.counts.values())

    def redact(self, line: str, stream: str = "stdout") -> str:
        """The line with every secret replaced; `stream` keeps private-key blocks apart."""
        if stream in self._in_key:
            return self._inside_key(line, stream)
        if "PRIVATE KEY" in line:
            line = self._private_keys(line, stream)
        for pattern in self.patterns[1:]:
            line = self._apply(pattern, line)
        return line

    def _private_keys(self, line: str, stream: str) -> str:
        """Blocks on this line replaced whole; a BEGIN with no END hides the rest of the
        line and opens a block that goes on below."""
        marker = _PRIVATE_KEY.marker()
        pos = 0
        while (begin := _BEGIN.search(line, pos)) is not None:
            self.counts[_PRIVATE_KEY.name] += 1
            end = _END.search(line, begin.end())
            if end is None:
                self._in_key.add(stream)
                return line[: begin.end()] + " " + marker
            line = line[: begin.start()] + marker + line[end.end() :]
            pos = begin.start() + len(marker)
        return line

    def _inside_key(self, line: str, stream: str) -> str:
        end = _END.search(line)
        if end is not None:
            self._in_key.discard(stream)
            return _PRIVATE_KEY.marker() + " " + line[end.start() :]
        if _KEY_BODY.match(line):
            return _PRIVATE_KEY.marker()
        self._in_key.discard(stream)  # not key material: the block was cut short
        return self.redact(line, stream)

    def _apply(self, pattern: Pattern, line: str) -> str:
        found = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal found
            found += 1
            return _replacement(pattern, match)

        replaced = pattern.regex.sub(replace, line)
        if found:
            self.counts[pattern.name] += found
        return replaced


def _replacement(pattern: Pattern, match: re.Match[str]) -> str:
    if "secret" in pattern.regex.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        whole_start = match.start()
        text = match.group(0)
        return text[: start - whole_start] + pattern.marker() + text[end - whole_start :]
    return pattern.marker()
