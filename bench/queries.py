"""Query shapes on nx-27017: the shapes the backend used before commit 67d6606 next to the ones
it uses today (proposed in docs/BENCHMARKS.md), on one collection size. Run it before and after
changing a query. The old shapes get their old indexes, and the seeded records (replicas of real
ones, bench.seed) carry `parties` besides today's `src_key`/`dst_key`, so both columns query the
same data.

    .venv/bin/python -m bench.queries [--records 200000]

nx-27017 uses an index for `_id` equality, and for equality or a range on one scalar field
when that field is the only condition. Anything else is scanned, in SQLite or in Python.
`count_documents` goes through its aggregation engine, which scans as well.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING

from backend.ledger import TRANSFER
from bench import seed
from bench.seed import Seeder
from bench.support import backend_env, percentile, settings_from, start_embedded


def timed(run: Callable[[], Any], samples: int = 7) -> float:
    """Median milliseconds of `samples` calls."""
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        run()
        out.append((time.perf_counter() - started) * 1000)
    return percentile(out, 50)


def main() -> int:
    """Seed, time each pair of shapes, print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=int, default=200_000, help="ledger records (users, tokens, bills: /10)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mata-queries-"))
    db = start_embedded(work)
    try:
        with db.client() as client:
            x = client["queries"]
            seed.ensure_indexes(x)  # today's indexes; then the old ones the old shapes used
            x.ledger.create_index([("parties", ASCENDING), ("seq", DESCENDING)])
            x.ledger.create_index([("finalized", ASCENDING), ("updated_at", ASCENDING)])
            x.bills.create_index("code", unique=True)
            seeder = Seeder.on(x, settings_from(backend_env(db, "queries", DATA_DIR=str(work))))
            rows = seed_and_time(seeder, x, args.records)
    finally:
        db.stop()
        shutil.rmtree(work, ignore_errors=True)
    sizes = f"{args.records:,} ledger records, {args.records // 10:,} users/tokens/bills"
    print(f"| at {sizes} | before 67d6606 | today |")
    print("|---|---:|---:|")
    for label, before, today in rows:
        print(f"| {label} | {before:.2f} ms | {today:.2f} ms |")
    return 0


def seed_and_time(seeder: Seeder, x: Any, records: int) -> list[tuple[str, float, float]]:
    """Seed the collections, then time the old and today's shape of each query."""
    rng = random.Random(1)
    pool = [f"member_{i}" for i in range(20_000)]
    start = 1_700_000_000_000
    batch: list[dict[str, Any]] = []
    for i in range(records):
        a, b = rng.sample(pool, 2)
        if i % 2000 == 0:
            a = "viewer"
        record = seeder.record_like(TRANSFER, start + i * 1000, rng, a, b)
        record["parties"] = [a, b]  # the old shape, for the "before" column
        batch.append(record)
        if len(batch) == 10_000:
            x.ledger.insert_many(batch)
            batch = []
    if batch:
        x.ledger.insert_many(batch)
    tenth = max(records // 10, 1)
    seeder.sessions(tenth, 800_000_000)  # members with a linked chat and a bot session each
    x.bills.insert_many([seeder.bill_like("paid", start, rng, "member_1", "member_2") for _ in range(tenth)])
    bill = x.bills.find_one({})
    assert bill is not None

    def history(user: str) -> list[dict[str, Any]]:
        found = []
        for key in ("src_key", "dst_key"):
            found += list(
                x.ledger.find({key: {"$gt": user + ":", "$lt": user + ";"}}).sort(key, -1).limit(21)
            )
        return sorted(found, key=lambda r: r["seq"], reverse=True)[:21]

    return [
        (
            "user exists: count_documents({_id}, limit=1) → find_one({_id}, {_id: 1})",
            timed(lambda: x.users.count_documents({"_id": "member_5"}, limit=1)),
            timed(lambda: x.users.find_one({"_id": "member_5"}, {"_id": 1})),
        ),
        (
            "token revoked? same change on tokens",
            timed(lambda: x.tokens.count_documents({"_id": "jti:abc"}, limit=1)),
            timed(lambda: x.tokens.find_one({"_id": "jti:abc"}, {"_id": 1})),
        ),
        (
            "claim a bill: update {code, status, payer} → {_id, status, payer}",
            timed(
                lambda: x.bills.update_one(
                    {"code": bill["code"], "status": "open", "payer": "z"}, {"$set": {"s": 1}}
                )
            ),
            timed(
                lambda: x.bills.update_one(
                    {"_id": bill["_id"], "status": "open", "payer": "z"}, {"$set": {"s": 1}}
                )
            ),
        ),
        (
            "history page: {parties} sort seq → src_key/dst_key ranges (a user in 1 of 2,000 records)",
            timed(lambda: list(x.ledger.find({"parties": "viewer"}).sort("seq", -1).limit(21))),
            timed(lambda: history("viewer")),
        ),
        (
            "history page, user with no movements",
            timed(lambda: list(x.ledger.find({"parties": "nobody"}).sort("seq", -1).limit(21)), 3),
            timed(lambda: history("nobody")),
        ),
        (
            "sweeper: {finalized: False, updated_at < t} → {open_since < t}",
            timed(lambda: list(x.ledger.find({"finalized": False, "updated_at": {"$lt": 2 * 10**12}})), 3),
            timed(lambda: list(x.ledger.find({"open_since": {"$lt": 2 * 10**12}}))),
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
