"""The notifications' own SQLite file: open incidents, snoozes, the outbox, a few markers.

It lives next to the hub's database (`harness.db` -> `harness.notify.db`), so a restart neither
re-sends an alert nor drops one that was waiting. Writes are tiny and few (an incident opening,
a delivery done), so the standard sqlite3 module is used directly, in WAL mode.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from parent_harness.notify.delivery import ChannelKind, Delivery
from parent_harness.notify.gate import Snooze
from parent_harness.notify.incidents import Incident, Key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    rule TEXT NOT NULL, subject TEXT NOT NULL, opened_at REAL NOT NULL, opened_seq INTEGER,
    last_seq INTEGER, repeats INTEGER NOT NULL, resolved_at REAL, announced INTEGER NOT NULL,
    held TEXT, last_announced_at REAL, context TEXT NOT NULL, PRIMARY KEY (rule, subject));
CREATE TABLE IF NOT EXISTS snoozes (scope TEXT PRIMARY KEY, until REAL NOT NULL, by TEXT);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
    target TEXT NOT NULL, body TEXT NOT NULL, about_seq INTEGER, attempts INTEGER NOT NULL,
    next_at REAL NOT NULL, created_at REAL NOT NULL, last_error TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INCIDENT_COLUMNS = (
    "rule, subject, opened_at, opened_seq, last_seq, repeats, resolved_at, announced, held, "
    "last_announced_at, context"
)
_OUTBOX_COLUMNS = (
    "id, key, channel, target, body, about_seq, attempts, next_at, created_at, last_error"
)


def default_path(store_url: str | None) -> Path:
    """Where the file goes by default: beside a SQLite hub database, else the working dir."""
    prefix = "sqlite:///"
    if store_url and store_url.startswith(prefix) and ":memory:" not in store_url:
        database = Path(store_url.removeprefix(prefix).split("?", 1)[0])
        return database.with_name(database.stem + ".notify.db")
    return Path("harness-notify.db")


class NotifyStore:
    """Reads and writes the notifications' state; one connection, used from one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Closes the file."""
        self._db.close()

    def incidents(self) -> list[Incident]:
        """Every stored incident."""
        rows = self._db.execute(f"SELECT {_INCIDENT_COLUMNS} FROM incidents").fetchall()
        return [_incident(row) for row in rows]

    def snoozes(self) -> list[Snooze]:
        """Every stored snooze."""
        rows = self._db.execute("SELECT scope, until, by FROM snoozes").fetchall()
        return [Snooze(scope, until, by or "") for scope, until, by in rows]

    def save(
        self,
        changed: Iterable[Incident] = (),
        removed: Iterable[Key] = (),
        deliveries: Iterable[Delivery] = (),
    ) -> None:
        """Writes incident changes and new deliveries in one transaction."""
        with self._transaction():
            self._db.executemany(
                f"INSERT OR REPLACE INTO incidents ({_INCIDENT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_incident_row(item) for item in changed],
            )
            self._db.executemany(
                "DELETE FROM incidents WHERE rule = ? AND subject = ?", list(removed)
            )
            self._db.executemany(
                "INSERT INTO outbox (key, channel, target, body, about_seq, attempts, next_at, "
                "created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_delivery_row(item) for item in deliveries],
            )

    def put_snooze(self, snooze: Snooze) -> None:
        """Stores (or replaces) a snooze."""
        self._db.execute(
            "INSERT OR REPLACE INTO snoozes (scope, until, by) VALUES (?, ?, ?)",
            (snooze.scope, snooze.until, snooze.by),
        )

    def drop_snoozes(self, scopes: Iterable[str]) -> None:
        """Deletes snoozes by scope."""
        self._db.executemany("DELETE FROM snoozes WHERE scope = ?", [(s,) for s in scopes])

    def lanes(self) -> list[tuple[ChannelKind, str]]:
        """Every (channel, target) with deliveries waiting."""
        rows = self._db.execute("SELECT DISTINCT channel, target FROM outbox").fetchall()
        return [(channel, target) for channel, target in rows]

    def next_delivery(self, channel: ChannelKind, target: str) -> Delivery | None:
        """The oldest delivery waiting for a target."""
        row = self._db.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE channel = ? AND target = ? "
            "ORDER BY id LIMIT 1",
            (channel, target),
        ).fetchone()
        return _delivery(row) if row else None

    def pending_count(self) -> int:
        """How many deliveries are waiting."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def reschedule(self, delivery_id: int, attempts: int, next_at: float, error: str) -> None:
        """Records a failed attempt and when to try again."""
        self._db.execute(
            "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
            (attempts, next_at, error, delivery_id),
        )

    def finish(self, delivery_id: int) -> None:
        """Removes a delivery that is done (sent, or given up and reported)."""
        self._db.execute("DELETE FROM outbox WHERE id = ?", (delivery_id,))

    def get_meta(self, key: str) -> str | None:
        """A stored marker (the Telegram update offset...)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Stores a marker."""
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _incident(row: tuple[Any, ...]) -> Incident:
    (rule, subject, opened_at, opened_seq, last_seq, repeats, resolved_at, announced, held,
     last_announced_at, context) = row  # fmt: skip
    return Incident(
        rule, subject, opened_at, opened_seq, last_seq, repeats, resolved_at,
        bool(announced), held, last_announced_at, json.loads(context),
    )  # fmt: skip


def _incident_row(item: Incident) -> tuple[Any, ...]:
    return (
        item.rule, item.subject, item.opened_at, item.opened_seq, item.last_seq, item.repeats,
        item.resolved_at, int(item.announced), item.held, item.last_announced_at,
        json.dumps(item.context, default=str),
    )  # fmt: skip


def _delivery(row: tuple[Any, ...]) -> Delivery:
    (delivery_id, key, channel, target, body, about_seq, attempts, next_at, created_at,
     last_error) = row  # fmt: skip
    return Delivery(
        channel, target, json.loads(body), about_seq, key, attempts, next_at, created_at,
        last_error, delivery_id,
    )  # fmt: skip


def _delivery_row(item: Delivery) -> tuple[Any, ...]:
    return (
        item.key, item.channel, item.target, json.dumps(item.body, default=str), item.about_seq,
        item.attempts, item.next_at, item.created_at, item.last_error,
    )  # fmt: skip
