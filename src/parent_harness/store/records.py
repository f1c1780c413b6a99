"""What the ingest hands the store: one committed-to-be event with its state changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Change:
    """One row the store must upsert or insert, in the fold's vocabulary (`task`, `api_call`...)."""

    table: str
    row: dict[str, Any]


@dataclass(slots=True)
class Record:
    """One event as it is written: its wire body (encoded once) and the rows it changes."""

    seq: int
    id: str
    type: str
    ts: str
    ts_ms: int
    level: str | None
    body: bytes
    rooms: tuple[str, ...]
    payload: dict[str, Any]
    changes: list[Change] = field(default_factory=list)


@dataclass(slots=True)
class Loaded:
    """What the hub reads back at start: the log's identity, its position and current state."""

    epoch: str
    seq: int
    first_seq: int
    entities: dict[str, list[dict[str, Any]]]
    recent_ids: dict[str, int]
    recent: list[tuple[int, str, bytes, tuple[str, ...]]]
