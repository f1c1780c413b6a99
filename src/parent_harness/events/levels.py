"""The level of every event, so the log can be filtered by it (`/api/events?level=`).

Each kind's rule is its descriptor's `Level` (events/kinds.py): a generic `event` has its
own; for the others: failures are errors, trouble is a warning, heartbeats are debug, the
rest is info. `GET /api/catalogue` gives the same rules as data, which the dashboard's
`levelOf` (web/static/js/catalogue.js) applies to live events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parent_harness.events.kinds import KINDS, Level, lookup

_Case = tuple[str, str, frozenset[str | None], bool, str]


def _cases(level: Level) -> tuple[_Case, ...]:
    """A level's cases, flattened for a check per event (each path is entity, field)."""
    out = []
    for case in level.cases:
        key, attr = case.path  # every case names a field of the entity the event carries
        out.append((key, attr, frozenset(case.values), case.op == "in", case.level))
    return tuple(out)


_LEVELS: dict[str, tuple[Level, tuple[_Case, ...]]] = {
    type_: (kind.level, _cases(kind.level)) for type_, kind in KINDS.items()
}


def event_level(type_: str, payload: Mapping[str, Any]) -> str:
    """The level of one (merged) event."""
    found = _LEVELS.get(type_)
    if found is None:  # not a catalogue type
        return "debug" if type_.endswith(":heartbeat") else "info"
    level, cases = found
    if level.fixed is not None:
        return level.fixed
    if level.field is not None:
        own = lookup(payload, level.field)
        return level.default if own is None else str(own)
    for key, attr, values, is_in, when in cases:
        if (payload[key].get(attr) in values) is is_in:
            return when
    return level.default


def can_be(level: str) -> frozenset[str]:
    """The event types some event of which can have `level` (a generic `event` can have
    any): where to look for errors without reading every event."""
    found = set()
    for type_, kind in KINDS.items():
        rule = kind.level
        if (
            rule.field is not None
            or rule.fixed == level
            or (rule.fixed is None and rule.default == level)
            or any(case.level == level for case in rule.cases)
        ):
            found.add(type_)
    return frozenset(found)
