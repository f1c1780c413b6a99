"""Leases on every store (SQLite through its one writer, PostgreSQL with SKIP LOCKED): the
database decides every claim, renewal, release and expiry, so no task is won twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from parent_harness.store.leases import Claim, LeaseBook
from parent_harness.store.sql import SqlStore, Transaction

NOW = 1_000_000


async def add_tasks(store: SqlStore, *ids: str) -> None:
    """Rows in `tasks`, as the ingest writes them (the claim locks them on PostgreSQL)."""

    def work(dialect: str) -> Transaction[None]:
        for task_id in ids:
            yield (
                "INSERT INTO tasks (id, status, data, updated_seq) VALUES (:id, 'queued', '{}', 1)",
                {"id": task_id},
            )

    await store.transact(work)


def claim_of(task_id: str, worker: str, n: int, seen: int = 1) -> Claim:
    return Claim(task_id, f"l-{worker}-{n}", worker, f"s-{worker}-{n}", NOW + 1000, seen)


async def test_a_task_is_won_by_one_claim(store: SqlStore) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1")
    first = await book.claim([claim_of("t1", "w1", 1)])
    assert first is not None and first.worker_id == "w1"
    assert await book.claim([claim_of("t1", "w2", 1)]) is None
    (held,) = await book.held_by("w1")
    assert (held.task_id, held.state, held.lease_id) == ("t1", "held", "l-w1-1")


async def test_a_claim_takes_the_first_free_candidate(store: SqlStore) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1", "t2")
    await book.claim([claim_of("t1", "w1", 1)])
    won = await book.claim([claim_of("t1", "w2", 1), claim_of("t2", "w2", 2)])
    assert won is not None and won.task_id == "t2"


async def test_concurrent_claims_win_each_task_once(store: SqlStore) -> None:
    book = LeaseBook(store)
    tasks = [f"t{i}" for i in range(20)]
    await add_tasks(store, *tasks)

    async def drain(worker: str) -> list[str]:
        won, n = [], 0
        while True:
            n += 1
            got = await book.claim([claim_of(t, worker, n * 100 + i) for i, t in enumerate(tasks)])
            if got is None:
                return won
            won.append(got.task_id)

    results = await asyncio.gather(*(drain(f"w{i}") for i in range(4)))
    counts = Counter(t for got in results for t in got)
    assert sorted(counts) == sorted(tasks) and set(counts.values()) == {1}


async def test_a_lease_is_renewed_and_ended_only_by_its_holder(store: SqlStore) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1")
    await book.claim([claim_of("t1", "w1", 1)])
    assert await book.renew("t1", "l-w1-1", "w2", NOW + 5000) is None
    renewed = await book.renew("t1", "l-w1-1", "w1", NOW + 5000)
    assert renewed is not None and renewed.expires_ms == NOW + 5000
    assert await book.end("t1", "l-w1-1", "w2") is None
    ended = await book.end("t1", "l-w1-1", "w1")
    assert ended is not None and ended.state == "ended"
    assert await book.end("t1", "l-w1-1", "w1") is None
    assert await book.renew("t1", "l-w1-1", "w1", NOW + 9000) is None


async def test_an_ended_lease_is_claimed_again_only_once_its_settling_is_seen(
    store: SqlStore,
) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1")
    await book.claim([claim_of("t1", "w1", 1)])
    await book.end("t1", "l-w1-1", "w1")
    assert await book.claim([claim_of("t1", "w2", 1, seen=50)]) is None  # not settled yet
    await book.settle("l-w1-1", 40)
    assert await book.claim([claim_of("t1", "w2", 1, seen=39)]) is None  # a stale view
    won = await book.claim([claim_of("t1", "w2", 1, seen=40)])
    assert won is not None and won.worker_id == "w2"


async def test_an_overdue_lease_expires_once(store: SqlStore) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1", "t2")
    await book.claim([claim_of("t1", "w1", 1)])
    await book.claim([claim_of("t2", "w1", 2)])
    await book.renew("t2", "l-w1-2", "w1", NOW + 10_000)
    overdue = await book.overdue(NOW + 2000)
    assert [lease.task_id for lease in overdue] == ["t1"]
    results = await asyncio.gather(*(book.expire("l-w1-1", NOW + 2000) for _ in range(4)))
    assert sum(r is not None for r in results) == 1
    assert await book.end("t1", "l-w1-1", "w1") is None  # a late release loses
    leases = await book.of_tasks(["t1", "t2", "t3"])
    assert leases["t1"].state == "expired" and leases["t2"].state == "held"
    assert "t3" not in leases


async def test_a_lease_whose_ending_was_not_published_is_swept_again(store: SqlStore) -> None:
    book = LeaseBook(store)
    await add_tasks(store, "t1")
    await book.claim([claim_of("t1", "w1", 1)])
    await book.end("t1", "l-w1-1", "w1")
    await book.reopen("l-w1-1")
    (again,) = await book.overdue(NOW)
    assert again.lease_id == "l-w1-1" and again.state == "held"


async def test_a_worker_name_is_bound_to_its_first_token(store: SqlStore) -> None:
    book = LeaseBook(store)
    assert await book.bind_key("w1", "fp-a")
    assert await book.bind_key("w1", "fp-a")
    assert not await book.bind_key("w1", "fp-b")
    assert await book.key_of("w1") == "fp-a"
    assert await book.key_of("w2") is None
