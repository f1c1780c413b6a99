"""Bundles read back and checked (hub/bundles.py), without a hub: what is refused, on which
line, and what the summary says."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from parent_harness.hub.bundles import (
    BadBundle,
    Summary,
    bundle_lines,
    error_signature,
    header,
    read_bundle,
)
from parent_harness.hub.state import State

HEAD = header(
    hub_version="0",
    exported_at="2026-12-01T00:00:00Z",
    epoch="e",
    from_seq=3,
    to_seq=4,
    from_time=None,
    to_time=None,
    task=None,
    session=None,
)


def event(seq: int, type_: str = "event", **payload: Any) -> dict[str, Any]:
    body = payload or {"event": {"message": f"m{seq}"}}
    return {"event": {"seq": seq, "id": f"i{seq}", "type": type_,
                      "timestamp": "2026-12-01T00:00:01Z", "payload": body}}  # fmt: skip


def good() -> list[Any]:
    start = State()
    start.seq = 2
    return [HEAD, {"state": start.dump()}, event(3), event(4), {"summary": "", "events": 2}]


def encoded(lines: list[Any]) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def test_a_bundle_reads_back_plain_or_gzipd() -> None:
    for data in (encoded(good()), gzip.compress(encoded(good()))):
        bundle = read_bundle(bundle_lines(data))
        assert (bundle.start_seq, [e.seq for e in bundle.events]) == (2, [3, 4])
        assert [e.line for e in bundle.events] == [3, 4]


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (lambda ls: [], 1, "empty"),
        (lambda ls: [{**ls[0], "version": 2}, *ls[1:]], 1, "bundle version 2"),
        (lambda ls: [{**ls[0], "range": {"from_seq": 0, "to_seq": 1}}, *ls[1:]], 1, "range"),
        (lambda ls: ls[:1], 2, "before the state"),
        (lambda ls: [ls[0], {"state": {"seq": 7, "tables": {}}}, *ls[2:]], 2, "seq 7"),
        (lambda ls: [*ls[:2], event(3), event(3), ls[-1]], 4, "not after 3"),
        (lambda ls: [*ls[:2], event(5), ls[-1]], 3, "within the range"),
        (
            lambda ls: [*ls[:2], {"event": {**event(3)["event"], "payload": []}}, ls[-1]],
            3,
            "payload must be an object",
        ),
        (
            lambda ls: [*ls[:2], {"event": {**event(3)["event"], "timestamp": "noon"}}, ls[-1]],
            3,
            "not an ISO 8601 time",
        ),
        (lambda ls: [*ls, {"summary": "", "events": 2}], 6, "after the summary"),
        (
            lambda ls: [*ls[:3], {"event": {**event(4)["event"], "id": "i3"}}, ls[-1]],
            4,
            "already the id of line 3",
        ),
        (lambda ls: [*ls[:2], 7, ls[-1]], 3, "not a JSON object"),
    ],
)
def test_what_is_wrong_is_named_with_its_line(change: Any, line: int, words: str) -> None:
    with pytest.raises(BadBundle) as caught:
        read_bundle(change(good()))
    assert (caught.value.line, words in caught.value.reason) == (line, True), caught.value


def test_a_line_that_is_not_json_is_named() -> None:
    with pytest.raises(BadBundle, match="line 2: not JSON"):
        bundle_lines(encoded(good()[:1]) + b"{oops\n")
    with pytest.raises(BadBundle, match="line 1: not a gzip'd bundle"):
        bundle_lines(b"\x1f\x8b" + b"garbage")


def test_the_summary_groups_failures_by_signature_and_counts_spend() -> None:
    start = State()
    start.fold("budget:updated", {"budget": {"period": "2026-12-01", "spent_usd": 1.5}}, 1, "t")
    summary = Summary(start)
    for n, task in enumerate(["t1", "t2"]):
        details = {"kind": "crash", "message": f"exit code {137 + n} after {n} s\nstack"}
        summary.add("task:failed", {"task": {"id": task, "error_details": details}}, "t")
    summary.add("budget:updated", {"budget": {"period": "2026-12-01", "spent_usd": 4.0}}, "t")
    summary.add("approval:requested", {"approval": {"id": "a"}}, "t")
    summary.add("telegram:message", {"message": {"direction": "out", "text": "x"}}, "t")
    text = summary.markdown(HEAD)
    assert "- 2 x `crash: exit code N after N s` (tasks: t1, t2)" in text, text
    assert "- $2.50" in text and "- requested: 1" in text and "- telegram: 1 message(s)" in text
    assert error_signature({"message": "took 12 ms"}) == "error: took N ms"
