"""Leases: which worker holds which task, decided by the database (issue 19).

One `task_leases` row per task a worker ever claimed, holding its latest lease. Every
change is one conditional statement, so that two hub nodes (or two requests on one) can
never both win the same task, renew a lease another took, or requeue the same expiry:

- **claim**: an upsert that takes the row only when no lease is `held` on the task and the
  claiming node's view of the task (`seen_seq`) already holds how the last lease was
  settled (`settled_seq`): a node that has not yet seen a task complete cannot hand it out
  again. On PostgreSQL the candidates are first locked with `SELECT ... FOR UPDATE SKIP
  LOCKED` on their `tasks` rows, so claims racing on several nodes spread over different
  tasks instead of queueing on one; the upsert's condition is what makes it exact. On
  SQLite the whole claim runs in the store's one writer thread.
- **renew**, **end** and **expire**: `held` rows only, of that lease id (and, to expire,
  past their time); the statement's RETURNING says who won.
- **settle**: records the seq of the event that settled the task after a lease ended.

Times are wall-clock milliseconds (`expires_ms`): every node compares them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from parent_harness.store.sql import SqlStore, Transaction

HELD, ENDED, EXPIRED = "held", "ended", "expired"

_COLUMNS = "task_id, lease_id, worker_id, session_id, state, expires_ms, settled_seq"


@dataclass(frozen=True, slots=True)
class Lease:
    """A task's latest lease as the database holds it."""

    task_id: str
    lease_id: str
    worker_id: str
    session_id: str
    state: str
    expires_ms: int
    settled_seq: int | None

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> Lease:
        task_id, lease_id, worker_id, session_id, state, expires_ms, settled = row
        return cls(
            str(task_id),
            str(lease_id),
            str(worker_id),
            str(session_id),
            str(state),
            int(expires_ms),
            None if settled is None else int(settled),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "lease_id": self.lease_id,
            "worker_id": self.worker_id,
            "session_id": self.session_id,
            "state": self.state,
            "expires_ms": self.expires_ms,
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim asks for: the task, the new lease's ids and expiry, the node's view."""

    task_id: str
    lease_id: str
    worker_id: str
    session_id: str
    expires_ms: int
    seen_seq: int


_CLAIM = f"""
INSERT INTO task_leases ({_COLUMNS})
VALUES (:task_id, :lease_id, :worker_id, :session_id, 'held', :expires_ms, NULL)
ON CONFLICT (task_id) DO UPDATE SET
    lease_id = excluded.lease_id, worker_id = excluded.worker_id,
    session_id = excluded.session_id, state = 'held', expires_ms = excluded.expires_ms,
    settled_seq = NULL
WHERE task_leases.state <> 'held' AND task_leases.settled_seq IS NOT NULL
    AND task_leases.settled_seq <= :seen_seq
RETURNING task_id
"""

_LOCK_NEXT = """
SELECT id FROM tasks WHERE id = ANY(:ids) AND NOT (id = ANY(:tried))
ORDER BY array_position(:ids, id) LIMIT 1 FOR UPDATE SKIP LOCKED
"""


def _params(claim: Claim) -> dict[str, Any]:
    return {
        "task_id": claim.task_id,
        "lease_id": claim.lease_id,
        "worker_id": claim.worker_id,
        "session_id": claim.session_id,
        "expires_ms": claim.expires_ms,
        "seen_seq": claim.seen_seq,
    }


def _claim(candidates: list[Claim]) -> Any:
    def on_sqlite() -> Transaction[Claim | None]:
        for claim in candidates:  # the one writer runs this: nothing else writes meanwhile
            if (yield _CLAIM, _params(claim)):
                return claim
        return None

    def on_postgres() -> Transaction[Claim | None]:
        # One candidate at a time, the first that no other claim is deciding (SKIP LOCKED);
        # a task not yet in `tasks` (the store runs a moment behind the fold) waits for
        # the next claim.
        by_id = {claim.task_id: claim for claim in candidates}
        ids, tried = list(by_id), [""]
        while rows := (yield _LOCK_NEXT, {"ids": ids, "tried": tried}):
            claim = by_id[str(rows[0][0])]
            if (yield _CLAIM, _params(claim)):
                return claim
            tried.append(claim.task_id)
        return None

    def work(dialect: str) -> Transaction[Claim | None]:
        return (yield from on_postgres() if dialect == "postgresql" else on_sqlite())

    return work


def _one(sql: str, params: dict[str, Any]) -> Any:
    def work(dialect: str) -> Transaction[Lease | None]:
        rows = yield sql, params
        return Lease.of(rows[0]) if rows else None

    return work


def _many(sql: str, params: Mapping[str, Any]) -> Any:
    def work(dialect: str) -> Transaction[list[Lease]]:
        rows = yield sql, params
        return [Lease.of(row) for row in rows]

    return work


class LeaseBook:
    """The leases of a store; see the module docstring."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def claim(self, candidates: list[Claim]) -> Claim | None:
        """The first of `candidates` (in order) this call won, or None: all are taken."""
        if not candidates:
            return None
        result: Claim | None = await self._store.transact(_claim(candidates))
        return result

    async def renew(
        self, task_id: str, lease_id: str, worker_id: str, expires_ms: int
    ) -> Lease | None:
        """The renewed lease, or None when it is no longer held by this worker."""
        sql = f"""UPDATE task_leases SET expires_ms = :expires_ms
            WHERE task_id = :task_id AND lease_id = :lease_id AND worker_id = :worker_id
            AND state = 'held' RETURNING {_COLUMNS}"""
        params = {
            "task_id": task_id,
            "lease_id": lease_id,
            "worker_id": worker_id,
            "expires_ms": expires_ms,
        }
        found: Lease | None = await self._store.transact(_one(sql, params))
        return found

    async def end(self, task_id: str, lease_id: str, worker_id: str) -> Lease | None:
        """Ends a held lease (its worker released it); None when it was not held."""
        sql = f"""UPDATE task_leases SET state = 'ended'
            WHERE task_id = :task_id AND lease_id = :lease_id AND worker_id = :worker_id
            AND state = 'held' RETURNING {_COLUMNS}"""
        params = {"task_id": task_id, "lease_id": lease_id, "worker_id": worker_id}
        found: Lease | None = await self._store.transact(_one(sql, params))
        return found

    async def expire(self, lease_id: str, now_ms: int) -> Lease | None:
        """Expires a held lease past its time; None when another node (or a renewal or
        a release) got there first."""
        sql = f"""UPDATE task_leases SET state = 'expired'
            WHERE lease_id = :lease_id AND state = 'held' AND expires_ms < :now_ms
            RETURNING {_COLUMNS}"""
        found: Lease | None = await self._store.transact(
            _one(sql, {"lease_id": lease_id, "now_ms": now_ms})
        )
        return found

    async def finish(self, task_id: str, lease_id: str, worker_id: str, seq: int) -> bool:
        """Ends a held lease whose task was settled by the event at `seq` or before, in one
        step (the in-process orchestrator's runs); whether it was held."""
        sql = f"""UPDATE task_leases SET state = 'ended', settled_seq = :seq
            WHERE task_id = :task_id AND lease_id = :lease_id AND worker_id = :worker_id
            AND state = 'held' RETURNING {_COLUMNS}"""
        params = {"task_id": task_id, "lease_id": lease_id, "worker_id": worker_id, "seq": seq}
        found: Lease | None = await self._store.transact(_one(sql, params))
        return found is not None

    async def end_all(self, worker_id: str, seq: int) -> list[Lease]:
        """Ends every lease `worker_id` holds, as settled by `seq` (a restarted in-process
        orchestrator: its runs are gone, and its recovery settles their tasks)."""
        sql = f"""UPDATE task_leases SET state = 'ended', settled_seq = :seq
            WHERE worker_id = :worker_id AND state = 'held' RETURNING {_COLUMNS}"""
        found: list[Lease] = await self._store.transact(
            _many(sql, {"worker_id": worker_id, "seq": seq})
        )
        return found

    async def settle(self, lease_id: str, seq: int) -> None:
        """The event at `seq` settled the task after its lease `lease_id` ended."""
        sql = f"""UPDATE task_leases SET settled_seq = :seq
            WHERE lease_id = :lease_id AND state <> 'held' RETURNING {_COLUMNS}"""
        await self._store.transact(_one(sql, {"lease_id": lease_id, "seq": seq}))

    async def reopen(self, lease_id: str) -> None:
        """Puts back a lease whose ending could not be published: held, already expired,
        so the next sweep settles it again."""
        sql = f"""UPDATE task_leases SET state = 'held', expires_ms = 0
            WHERE lease_id = :lease_id AND settled_seq IS NULL RETURNING {_COLUMNS}"""
        await self._store.transact(_one(sql, {"lease_id": lease_id}))

    async def overdue(self, now_ms: int, limit: int = 100) -> list[Lease]:
        """Held leases past their time, oldest first."""
        sql = f"""SELECT {_COLUMNS} FROM task_leases
            WHERE state = 'held' AND expires_ms < :now_ms ORDER BY expires_ms LIMIT :limit"""
        found: list[Lease] = await self._store.transact(
            _many(sql, {"now_ms": now_ms, "limit": limit}), read_only=True
        )
        return found

    async def of_tasks(self, task_ids: Iterable[str]) -> dict[str, Lease]:
        """The latest lease of each of these tasks that has one."""
        ids = sorted(set(task_ids))
        if not ids:
            return {}
        names = {f"t{i}": task_id for i, task_id in enumerate(ids)}
        marks = ", ".join(f":{name}" for name in names)
        sql = f"SELECT {_COLUMNS} FROM task_leases WHERE task_id IN ({marks})"
        found: list[Lease] = await self._store.transact(_many(sql, names), read_only=True)
        return {lease.task_id: lease for lease in found}

    async def held_by(self, worker_id: str) -> list[Lease]:
        """The leases a worker holds now."""
        sql = f"""SELECT {_COLUMNS} FROM task_leases
            WHERE worker_id = :worker_id AND state = 'held'"""
        params = {"worker_id": worker_id}
        found: list[Lease] = await self._store.transact(_many(sql, params), read_only=True)
        return found

    async def bind_key(self, worker_id: str, token_fp: str) -> bool:
        """Binds a worker id to the digest of the token that registered it first; whether
        `token_fp` is that token's (False: another token holds the name)."""
        sql = """INSERT INTO worker_keys (worker_id, token_fp) VALUES (:worker_id, :fp)
            ON CONFLICT (worker_id) DO UPDATE SET token_fp = excluded.token_fp
            WHERE worker_keys.token_fp = excluded.token_fp RETURNING worker_id"""

        def work(dialect: str) -> Transaction[bool]:
            rows = yield sql, {"worker_id": worker_id, "fp": token_fp}
            return bool(rows)

        bound: bool = await self._store.transact(work)
        return bound

    async def key_of(self, worker_id: str) -> str | None:
        """The digest of the token a worker registered with; None: not registered."""
        sql = "SELECT token_fp FROM worker_keys WHERE worker_id = :worker_id"

        def work(dialect: str) -> Transaction[str | None]:
            rows = yield sql, {"worker_id": worker_id}
            return str(rows[0][0]) if rows else None

        found: str | None = await self._store.transact(work, read_only=True)
        return found
