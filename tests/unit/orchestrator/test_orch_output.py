"""Output capture without I/O: lines cut, cleaned, redacted, bounded, rate-limited, numbered."""

from __future__ import annotations

from pathlib import Path

import pytest

from parent_harness.orchestrator.config import ConfigError, parse_config
from parent_harness.orchestrator.output import (
    LineSplitter,
    OutputCapture,
    OutputLimits,
    clean,
)
from parent_harness.redaction import Redactor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def capture(clock: Clock | None = None, **limits: int) -> OutputCapture:
    return OutputCapture(Redactor(), OutputLimits(**limits), clock or Clock(), lambda: "T")


def texts(cap: OutputCapture) -> list[str]:
    batch = cap.take()
    return [line["text"] for line in batch.lines] if batch else []


def test_lines_are_numbered_without_gaps_across_batches() -> None:
    cap = capture()
    cap.add("stdout", "one")
    cap.add("stderr", "two")
    first = cap.take()
    cap.add("stdout", "three")
    second = cap.take()
    assert first is not None and second is not None
    assert [(x["n"], x["stream"]) for x in first.lines] == [(1, "stdout"), (2, "stderr")]
    assert (second.from_line, second.lines[0]["n"]) == (3, 3)
    assert cap.take() is None


def test_a_progress_bar_keeps_its_last_state() -> None:
    assert clean("  0%\r 50%\r100% done\r") == "100% done"
    assert clean("\r\r") == ""


def test_control_characters_are_replaced_but_colours_and_tabs_kept() -> None:
    assert clean("\x1b[31mred\x1b[0m\tok\x00\x07\x08") == "\x1b[31mred\x1b[0m\tok\ufffd\ufffd\ufffd"


def test_a_huge_line_is_cut_and_split_in_pieces() -> None:
    cap = capture(max_line_bytes=64 * 1024, piece_bytes=16 * 1024)
    cap.add("stdout", "é" * 5_000_000)  # 10 MB of UTF-8
    lines = texts(cap)
    assert len(lines) == 5
    assert all(len(line.encode()) <= 16 * 1024 for line in lines)
    assert lines[-1].endswith("MB of this line not kept]")
    assert "".join(lines[:4]) == "é" * (16 * 1024 * 4 // 2)


def test_secrets_are_redacted_before_a_line_is_split() -> None:
    key = "sk-ant-api03-" + "A" * 95
    cap = capture(max_line_bytes=64 * 1024, piece_bytes=1024)
    cap.add("stdout", "x" * 1000 + key + "y" * 1000)
    joined = "".join(texts(cap))
    assert "AAAAAAAAAAAAAAAAAAAAAAAA" not in joined and "[REDACTED:anthropic_key]" in joined
    assert cap.redactor.counts["anthropic_key"] == 1


def test_over_the_rate_lines_are_dropped_and_the_drop_said() -> None:
    clock = Clock()
    cap = capture(clock, lines_per_s=100)
    for i in range(250):
        cap.add("stdout", f"line {i}")
    batch = cap.take()
    assert batch is not None
    assert [x["text"] for x in batch.lines[:100]] == [f"line {i}" for i in range(100)]
    assert batch.lines[100]["text"].startswith("[harness: 150 lines dropped")
    assert batch.dropped == 150 and cap.dropped_total == 150
    clock.now = 1.0  # a second later: the bucket is full again
    cap.add("stdout", "after")
    assert texts(cap) == ["after"]


def test_a_drop_is_reported_before_the_next_line_kept() -> None:
    clock = Clock()
    cap = capture(clock, lines_per_s=2)
    for text in ["a", "b", "c", "d"]:
        cap.add("stdout", text)
    clock.now = 0.5
    cap.add("stdout", "e")
    batch = cap.take()
    assert batch is not None
    assert [x["text"] for x in batch.lines][:2] == ["a", "b"]
    assert batch.lines[2]["text"].startswith("[harness: 2 lines dropped")
    assert batch.lines[3]["text"] == "e"
    assert [x["n"] for x in batch.lines] == [1, 2, 3, 4]


def test_due_once_enough_bytes_wait() -> None:
    cap = capture(flush_bytes=1024)
    cap.add("stdout", "x" * 500)
    assert not cap.due
    cap.add("stdout", "x" * 600)
    assert cap.due


def test_splitter_gives_whole_lines_and_shows_a_waiting_one_once() -> None:
    split = LineSplitter(limit=1000)
    assert split.feed(b"one\ntw") == [("one", "one")]
    assert split.waiting
    assert split.partial() == "tw"
    assert not split.waiting
    assert split.feed(b"o\r\nthree") == [("two", "o")]
    assert split.end() == ("three", "three")


def test_splitter_never_cuts_a_character_and_replaces_invalid_utf8() -> None:
    split = LineSplitter(limit=1000)
    data = "naïve ✓".encode()
    split.feed(data[:-1])  # the check mark's last byte is still on its way
    assert split.partial() == "naïve "
    assert split.feed(data[-1:] + b"\xff\xfe bad\n") == [
        ("naïve ✓\ufffd\ufffd bad", "✓\ufffd\ufffd bad")
    ]


def test_splitter_shows_a_line_past_its_limit_without_giving_it_to_the_adapter() -> None:
    split = LineSplitter(limit=100)
    out = split.feed(b"x" * 150)
    assert out == [(None, "x" * 150)]
    assert split.feed(b"yy\nnext\n") == [(None, "yy"), ("next", "next")]


def test_configured_patterns_are_checked_and_used(tmp_path: Path) -> None:
    base = {"agents": {"a": {"command": ["true"]}}}
    config = parse_config(
        {**base, "orchestrator": {"output": {"redact": ["corp-[0-9a-f]{8}"]}}}, tmp_path
    )
    redactor = config.orchestrator.output.redactor()
    assert redactor.redact("id corp-0123abcd") == "id [REDACTED:custom_0]"
    with pytest.raises(ConfigError, match=r"redact: pattern 1 is not a valid") as info:
        parse_config(
            {**base, "orchestrator": {"output": {"redact": ["ok", "sk-live-(oops"]}}}, tmp_path
        )
    assert "sk-live" not in str(info.value)


def test_without_streaming_a_line_is_still_made_safe_for_the_tail() -> None:
    cap = OutputCapture(Redactor(), OutputLimits(), Clock(), lambda: "T", streaming=False)
    key = "ghp_" + "a1B2" * 9
    assert cap.add("stderr", f"token {key}\r") == "token [REDACTED:github_token]"
    assert cap.take() is None
