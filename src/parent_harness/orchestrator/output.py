"""An agent's output as `session:output` batches: cleaned, redacted, bounded, numbered.

Sans I/O: :class:`LineSplitter` cuts the bytes a pipe gives into lines (and shows a line
still waiting for its newline), :class:`OutputCapture` turns lines into batches of
numbered lines. The session feeds them and publishes the batches (session.py).

What a line goes through, in order (issue 16):

1. a carriage return keeps the last state of the line (a progress bar redrawn with
   ``\\r`` is its last drawing, not every one);
2. control characters other than tab and ESC (ANSI colours are kept for the dashboard)
   become U+FFFD, as invalid UTF-8 already did when it was decoded;
3. a line longer than ``max_line_bytes`` is cut there, with a note of what was cut;
4. secrets are redacted (:mod:`parent_harness.redaction`), on the whole (cut) line, so
   that a secret is never split across two pieces that each look harmless;
5. the line is split in pieces of at most ``piece_bytes``, each a numbered line;
6. the rate bound: a token bucket of ``lines_per_s`` (a second's worth of burst); a line
   over it is dropped and counted, and the next line kept is preceded by a line saying
   how many were dropped; so is the end of a batch. A backlog past ``max_pending_bytes``
   (the hub is slow) is dropped the same way: the agent never waits on the hub.

A batch is due every ``flush_interval_s``, or as soon as ``flush_bytes`` are waiting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..redaction import Redactor

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")
"""C0 controls but tab (\\x09), newline (\\x0a, never inside a line) and ESC (\\x1b)."""


@dataclass(frozen=True, slots=True)
class OutputLimits:
    """The bounds of one session's output capture (``[orchestrator.output]``)."""

    lines_per_s: int = 2000
    flush_interval_s: float = 0.1
    flush_bytes: int = 64 * 1024
    max_line_bytes: int = 64 * 1024
    piece_bytes: int = 16 * 1024
    max_pending_bytes: int = 1024 * 1024


def clean(text: str) -> str:
    """A line's last carriage-return state, with control characters replaced."""
    if "\r" in text:
        states = [part for part in text.split("\r") if part]
        text = states[-1] if states else ""
    return _CONTROL.sub("\ufffd", text) if _CONTROL.search(text) else text


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB" if n >= 1_048_576 else f"{n / 1024:.1f} KB"


@dataclass(slots=True)
class OutputBatch:
    """One `session:output` payload's lines: numbered from `from_line`."""

    from_line: int
    lines: list[dict[str, Any]]
    dropped: int

    @property
    def to_line(self) -> int:
        return self.from_line + len(self.lines) - 1


class OutputCapture:
    """Turns one session's lines into batches; see the module docstring."""

    def __init__(
        self,
        redactor: Redactor,
        limits: OutputLimits,
        clock: Callable[[], float],
        now_iso: Callable[[], str],
        *,
        streaming: bool = True,
    ) -> None:
        self.redactor = redactor
        self.streaming = streaming
        self.limits = limits
        self._clock = clock
        self._now_iso = now_iso
        self.next_line = 1
        self.dropped_total = 0
        self._pending: list[dict[str, Any]] = []
        self._pending_bytes = 0
        self._from_line = 1
        self._dropped = 0
        """Dropped since the last line kept (not yet reported by a line)."""
        self._reported = 0
        """Dropped lines reported in the pending batch."""
        self._tokens = float(limits.lines_per_s)
        self._refilled_at = clock()

    @property
    def due(self) -> bool:
        """Enough is waiting to publish now, without waiting for the interval."""
        return self._pending_bytes >= self.limits.flush_bytes

    def add(self, stream: str, text: str) -> str:
        """Takes one line the agent printed (decoded, without its newline); returns it as
        it is shown (cleaned, cut, redacted), for whatever else keeps it (the tail). With
        `streaming` off, nothing is kept here: the line is only made safe to show."""
        limits = self.limits
        text = clean(text)
        raw = text.encode()
        if len(raw) > limits.max_line_bytes:
            cut = raw[: limits.max_line_bytes].decode(errors="ignore")
            text = f"{cut} … [{_size(len(raw) - len(cut.encode()))} of this line not kept]"
        text = self.redactor.redact(text, stream)
        if self.streaming:
            for piece in _pieces(text, limits.piece_bytes):
                self._keep(stream, piece)
        return text

    def _keep(self, stream: str, text: str) -> None:
        if not self._take_token() or self._pending_bytes > self.limits.max_pending_bytes:
            self._dropped += 1
            self.dropped_total += 1
            return
        if self._dropped:
            self._report_dropped(stream)
        self._append(stream, text)

    def _take_token(self) -> bool:
        now = self._clock()
        rate = self.limits.lines_per_s
        self._tokens = min(float(rate), self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _report_dropped(self, stream: str) -> None:
        rate = self.limits.lines_per_s
        note = f"[harness: {self._dropped} lines dropped: over {rate} lines/s or a slow hub]"
        self._reported += self._dropped
        self._dropped = 0
        self._append(stream, note)

    def _append(self, stream: str, text: str) -> None:
        line = {"n": self.next_line, "stream": stream, "text": text, "at": self._now_iso()}
        self.next_line += 1
        self._pending.append(line)
        self._pending_bytes += len(text) + 64

    def take(self) -> OutputBatch | None:
        """The lines waiting (and a note of lines dropped since the last), or None."""
        if self._dropped:
            self._report_dropped("stderr")
        if not self._pending:
            return None
        batch = OutputBatch(self._from_line, self._pending, self._reported)
        self._pending, self._pending_bytes, self._reported = [], 0, 0
        self._from_line = self.next_line
        return batch


def _pieces(text: str, piece_bytes: int) -> list[str]:
    """`text` in pieces of at most `piece_bytes` bytes of UTF-8, cut between characters."""
    if len(text) * 4 <= piece_bytes or len(text.encode()) <= piece_bytes:
        return [text]
    raw = text.encode()
    pieces: list[str] = []
    start = 0
    while start < len(raw):
        end = min(len(raw), start + piece_bytes)
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # inside a character
            end -= 1
        pieces.append(raw[start:end].decode())
        start = end
    return pieces


class LineSplitter:
    """Cuts a pipe's bytes into lines; shows a line that waits for its newline.

    `feed` gives each complete line as (whole text, the part not yet shown); `partial`
    gives the part of the waiting line not yet shown (a line without a newline, a prompt,
    a progress bar), and remembers it was shown, so the line, once complete, is whole for
    the adapter and only its rest is shown again. A line past `limit` bytes is given as
    shown pieces only (the adapter never gets it, as a line too long to parse).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._shown = 0
        self._too_long = False

    @property
    def waiting(self) -> bool:
        """Bytes of a line are waiting for their newline."""
        return len(self._buf) > self._shown

    def feed(self, data: bytes) -> list[tuple[str | None, str]]:
        """Complete lines in `data` (with what came before): (whole text or None when too
        long for the adapter, the part not yet shown)."""
        out: list[tuple[str | None, str]] = []
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            self._buf += data[start:end]
            out.append(self._line())
            start = end + 1
        self._buf += data[start:]
        if len(self._buf) > self.limit:
            self._too_long = True
            shown = self.partial()
            if shown:
                out.append((None, shown))
            self._buf.clear()
            self._shown = 0
        return out

    def _line(self) -> tuple[str | None, str]:
        buf = self._buf
        if buf.endswith(b"\r"):
            del buf[-1]
        rest = bytes(buf[self._shown :]).decode(errors="replace")
        whole = None if self._too_long else buf.decode(errors="replace")
        self._buf = bytearray()
        self._shown = 0
        self._too_long = False
        return whole, rest

    def partial(self) -> str:
        """The waiting line's bytes not yet shown, up to its last whole character."""
        end = _whole_chars(self._buf, self._shown)
        piece = bytes(self._buf[self._shown : end]).decode(errors="replace")
        self._shown = end
        return piece

    def end(self) -> tuple[str | None, str] | None:
        """The last line, when the pipe closed without a final newline."""
        return self._line() if self._buf else None


def _whole_chars(buf: bytearray, start: int) -> int:
    """Where the last complete UTF-8 character of `buf` ends (not before `start`)."""
    end = len(buf)
    for back in range(1, min(4, end - start) + 1):
        byte = buf[end - back]
        if byte & 0xC0 == 0x80:  # a continuation byte: look further back
            continue
        if byte & 0x80 == 0:
            return end
        needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
        return end if back >= needed else end - back
    return end
