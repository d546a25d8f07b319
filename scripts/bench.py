"""`make bench`: how fast Mata Duitan moves money, lists history and answers in Telegram.

    .venv/bin/python scripts/bench.py [--quick] [--profile] [--only PHASES] [--no-write]

Runs on the embedded database (nx-27017, started here exactly as the backend starts it) and, when
MONGODB_URI is set, again on that database. Prints one Markdown report and writes it into
docs/BENCHMARKS.md between the `bench:begin/end` markers (the hand-written analysis around them
is kept). Phases (`--only floor,transfer,billpay,listing,bot`):

    floor      the database alone doing exactly the calls of one transfer / bill payment
               (scripts/bench_floor.py lists them), with pymongo from 1, 8, 32 threads
    transfer   the HTTP transfer path (OTP issued over Telegram, verified, Idempotency-Key,
               ledger) at 1, 8, 32 concurrent clients; ratio to the floor at the same concurrency
    billpay    the HTTP bill payment path, the same way
    listing    first page of history and of bills for one user with 10k, 100k, 1M ledger records
               (bulk-seeded, shaped like backend/ledger.py's), then the write paths again on that
               database, with 50k OTP documents (one per user and action), with 10k users
    bot        the real bot (`python -m bot`) on the fake Bot API: /me round trip, and 100 chats
               running transfers at once

scripts/bench_queries.py times single query shapes on nx-27017 (the old shapes next to today's).

Figures are medians of 3 runs (1 with --quick). `--profile` adds py-spy profiles of the backend
and the database during the 8-client transfer and bill-payment paths (pip install py-spy).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import bench_bot  # noqa: E402
import bench_floor  # noqa: E402
import bench_http  # noqa: E402
import bench_seed  # noqa: E402
from bench_support import (  # noqa: E402
    ROOT,
    Backend,
    CpuMeter,
    Database,
    RunResult,
    external_database,
    machine_info,
    median,
    mint_tokens,
    percentile,
    start_embedded,
    summarize,
)

REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PBEGIN, PEND = "<!-- profile:begin -->", "<!-- profile:end -->"
PROFILE_OPS = 100  # per client, 8 clients: ~10-15 s of each path under py-spy
PHASES = ("floor", "transfer", "billpay", "listing", "bot")
TARGETS = {
    "http_8_share_of_floor": 0.50,
    "http_32_p99_ms": 50.0,
    "listing_ratio": 2.0,
    "bot_p50_ms": 30.0,
}


@dataclass(frozen=True)
class Plan:
    """How much work each phase does."""

    name: str
    runs: int
    levels: tuple[int, ...]
    per_client: dict[int, int]  # timed operations per client at each concurrency
    warmup: int
    sizes: tuple[int, ...]
    listing_samples: int
    bot_chats: int
    bot_flows: int
    me_samples: int
    otp_backlog: int
    listing_budget: float  # seconds per run and size before the listing stops adding rounds
    growth_per_client: int
    accounts: int  # users with a bot session each, for the last growth step

    @classmethod
    def full(cls) -> Plan:
        """`make bench`: ~6 minutes on 2 cores (11 before commit 67d6606)."""
        return cls(
            name="full",
            runs=3,
            levels=(1, 8, 32),
            per_client={1: 150, 8: 40, 32: 15},
            warmup=3,
            sizes=(10_000, 100_000, 1_000_000),
            listing_samples=40,
            bot_chats=100,
            bot_flows=2,
            me_samples=100,
            otp_backlog=50_000,
            listing_budget=8.0,
            growth_per_client=10,
            accounts=10_000,
        )

    @classmethod
    def quick(cls) -> Plan:
        """`--quick`: one short run of everything, indicative only (under a minute)."""
        return cls(
            name="quick",
            runs=1,
            levels=(1, 8, 32),
            per_client={1: 40, 8: 10, 32: 4},
            warmup=2,
            sizes=(10_000, 100_000),
            listing_samples=15,
            bot_chats=20,
            bot_flows=1,
            me_samples=30,
            otp_backlog=20_000,
            listing_budget=5.0,
            growth_per_client=8,
            accounts=2_000,
        )


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---- phases ---------------------------------------------------------------------------------


def fmt_run(label: str, run: RunResult) -> str:
    """One progress line."""
    return (
        f"{label}: {run.ops} in {run.seconds:.1f} s = {run.rate:.1f}/s, "
        f"p50 {percentile(run.latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(run.latencies, 99) * 1000:.1f} ms"
    )


def floor_phase(db: Database, plan: Plan, name: str) -> dict[str, Any]:
    """The raw database doing one transfer's / one bill payment's calls, from threads."""
    client = db.client()
    fdb = client[name]
    bench_seed.ensure_indexes(fdb)
    rng = random.Random(7)
    out: dict[str, Any] = {"transfer": {}, "billpay": {}}
    for level in plan.levels:
        per = plan.per_client[level]
        for path in ("transfer", "billpay"):
            runs = []
            for i in range(plan.runs):
                bench_seed.reset(fdb)
                pairs = bench_seed.seed_pairs(fdb, level, "f")
                if path == "transfer":
                    op: Callable[..., None] = lambda d, p, k: bench_floor.transfer(d, p, "floor")  # noqa: E731
                else:
                    codes = bench_seed.seed_open_bills(fdb, pairs, per + plan.warmup, rng)
                    op = lambda d, p, k, c=codes: bench_floor.pay_bill(d, p, "floor", c[p.payer][k])  # noqa: E731
                cpu = CpuMeter({"db": db.server_pid, "client": os.getpid()})
                runs.append(bench_floor.run(fdb, pairs, per, plan.warmup, op, cpu))
                log(fmt_run(f"floor {path} x{level} run {i + 1}", runs[-1]))
            out[path][level] = summarize(runs)
    client.close()
    return out


def http_phase(
    db: Database, backend: Backend, sink: bench_http.TelegramSink, plan: Plan, db_name: str, path: str
) -> dict[int, Any]:
    """The HTTP path at each concurrency, each run on a freshly reset database."""
    client = db.client()
    hdb = client[db_name]
    rng = random.Random(11)
    out: dict[int, Any] = {}
    for level in plan.levels:
        per = plan.per_client[level]
        runs = []
        for i in range(plan.runs):
            runs.append(http_run(db, backend, sink, hdb, level, per, plan.warmup, path, rng, "h"))
            log(fmt_run(f"http {path} x{level} run {i + 1}", runs[-1]))
        out[level] = summarize(runs)
    client.close()
    return out


def http_run(
    db: Database,
    backend: Backend,
    sink: bench_http.TelegramSink,
    hdb: Any,
    level: int,
    per: int,
    warmup: int,
    path: str,
    rng: random.Random,
    tag: str,
    reset: bool = True,
) -> RunResult:
    """One timed HTTP run with fresh accounts (and open bills for the bill path)."""
    if reset:
        bench_seed.reset(hdb)
    pairs = bench_seed.seed_pairs(hdb, level, tag)
    tokens = mint_tokens([p.payer for p in pairs])
    if path == "transfer":
        operation = bench_http.transfer_operation(sink, tokens)
    else:
        codes = bench_seed.seed_open_bills(hdb, pairs, per + warmup, rng)
        operation = bench_http.pay_operation(sink, tokens, codes)
    cpu = CpuMeter({"backend": backend.pid, "db": db.server_pid, "client": os.getpid()})
    return bench_http.run(backend.url, pairs, per, warmup, operation, cpu)


def profile_phase(
    db: Database, backend: Backend, sink: bench_http.TelegramSink, plan: Plan, db_name: str, work: Path
) -> str:
    """py-spy on the backend and the database during the 8-client transfer and bill-pay paths."""
    import bench_profile

    calls = floor_calls(db, plan, db_name)
    client = db.client()
    hdb = client[db_name]
    rng = random.Random(5)
    sections = []
    for path in ("transfer", "billpay"):
        recordings = [bench_profile.Recording("backend", backend.pid or 0, work / f"{path}-backend.txt")]
        if db.server_pid:
            recordings.append(bench_profile.Recording("nx", db.server_pid, work / f"{path}-nx.txt"))
        for recording in recordings:
            recording.start()
        run = http_run(db, backend, sink, hdb, 8, PROFILE_OPS, plan.warmup, path, rng, "p")
        profiles = [r.stop() for r in recordings]
        log(fmt_run(f"profiled http {path} x8", run))
        title = "HTTP transfer" if path == "transfer" else "HTTP bill payment"
        sections.append((f"{title}, 8 clients: backend process", profiles[0]))
        if len(profiles) > 1:
            sections.append((f"{title}, 8 clients: nx-27017 process", profiles[1]))
    client.close()
    return calls + "\n" + bench_profile.render(sections)


def floor_calls(db: Database, plan: Plan, name: str) -> str:
    """Each round trip of the floor's transfer and bill payment, timed by pymongo (1 client)."""
    import bench_profile

    timer = bench_profile.CallTimer()
    client = db.client(event_listeners=[timer])
    fdb = client[name]
    bench_seed.ensure_indexes(fdb)
    out = []
    for path, labels in (("transfer", bench_profile.TRANSFER_CALLS), ("billpay", bench_profile.BILL_CALLS)):
        bench_seed.reset(fdb)
        pairs = bench_seed.seed_pairs(fdb, 1, "c")
        count = PROFILE_OPS
        if path == "transfer":
            op: Callable[..., None] = lambda d, p, k: bench_floor.transfer(d, p, "calls")  # noqa: E731
        else:
            codes = bench_seed.seed_open_bills(fdb, pairs, count + plan.warmup, random.Random(1))
            op = lambda d, p, k, c=codes: bench_floor.pay_bill(d, p, "calls", c[p.payer][k])  # noqa: E731
        for k in range(plan.warmup):
            op(fdb, pairs[0], k)
        timer.durations.clear()
        timer.enabled = True
        skip = plan.warmup

        def timed(d: Any, p: Any, k: int, o: Callable[..., None] = op, skip: int = skip) -> None:
            o(d, p, k + skip)

        run = bench_floor.run(fdb, pairs, count, 0, timed)
        timer.enabled = False
        title = "Floor transfer" if path == "transfer" else "Floor bill payment"
        rows = bench_profile.per_call(timer.durations, labels)
        out.append(
            bench_profile.render_calls(f"{title}, 1 client", rows, percentile(run.latencies, 50) * 1000)
        )
    client.close()
    return "\n".join(out)


def seed_listing(
    hdb: Any, start: int, end: int, rng: random.Random, period: tuple[int, int], viewer: str
) -> float:
    """Grow the ledger from `start` to `end` records (and bills to a tenth of that); → seconds.

    Records are spread uniformly over one year among 20,000 other users; the viewer gets 100
    movements, 20 open bills to pay and 20 issued bills in the first batch, spread over the same
    year, so at every size its newest page is as deep in the data as it would be in production.
    """
    t0, t1 = period
    pool = [f"member_{i}" for i in range(20_000)]
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    if start == 0:
        for _ in range(100):
            other = rng.choice(pool)
            src, dst = (viewer, other) if rng.random() < 0.5 else (other, viewer)
            batch.append(bench_seed.done_record(rng.randint(t0, t1), rng, "transfer", src, dst, 25_000))
        bills = [
            bench_seed.bill_doc(
                bench_seed.bill_code(rng),
                rng.choice(pool),
                viewer,
                status="open",
                created_at=rng.randint(t0, t1),
            )
            for _ in range(20)
        ]
        bills += [
            bench_seed.bill_doc(
                bench_seed.bill_code(rng),
                viewer,
                rng.choice(pool),
                status="paid",
                created_at=rng.randint(t0, t1),
            )
            for _ in range(20)
        ]
        hdb.bills.insert_many(bills)
    count = start + len(batch)
    bills_batch: list[dict[str, Any]] = []
    while count < end:
        ms = rng.randint(t0, t1)
        roll = rng.random()
        a, b = rng.sample(pool, 2)
        if roll < 0.05:
            batch.append(bench_seed.done_record(ms, rng, "deposit", None, a, 500_000))
        elif roll < 0.15:
            code = bench_seed.bill_code(rng)
            batch.append(bench_seed.done_record(ms, rng, "bill_payment", a, b, 40_000, code))
        else:
            batch.append(bench_seed.done_record(ms, rng, "transfer", a, b, rng.randint(1, 500) * 1000))
        count += 1
        if count % 10 == 0:
            status = rng.choices(["paid", "open", "cancelled", "declined"], [80, 10, 5, 5])[0]
            bills_batch.append(
                bench_seed.bill_doc(bench_seed.bill_code(rng), b, a, status=status, created_at=ms)
            )
        if len(batch) >= 10_000:
            hdb.ledger.insert_many(batch, ordered=False)
            hdb.bills.insert_many(bills_batch, ordered=False)
            batch, bills_batch = [], []
    if batch:
        hdb.ledger.insert_many(batch, ordered=False)
    if bills_batch:
        hdb.bills.insert_many(bills_batch, ordered=False)
    return time.perf_counter() - started


def seed_otp_backlog(hdb: Any, count: int, rng: random.Random) -> float:
    """OTP documents of other users, as Otps.issue leaves them: one per (user, action), used.

    Since codes are replaced in place there is no backlog of used codes any more; the most the
    collection can hold is one document per user and action. `count` of them (20,000 members ×
    transfer, pay_bill, create_bill: at most 60,000) is what that many users leave behind.
    """
    started = time.perf_counter()
    now = bench_seed.now_ms()
    docs = []
    actions = ("transfer", "pay_bill", "create_bill")
    for i in range(min(count, 20_000 * len(actions))):
        user, action = f"member_{i % 20_000}", actions[i // 20_000]
        at = now - rng.randint(0, 86_400_000)
        docs.append(
            {
                "_id": f"{user}:{action}",
                "username": user,
                "action": action,
                "binding": f"{action}|party=member_{i % 977}|amount=1000|bill=",
                "nonce": f"{rng.getrandbits(64):016x}",
                "code_hash": f"{rng.getrandbits(256):064x}",
                "attempts": 0,
                "used": True,
                "created_at": at,
                "expires_at": at + 300_000,
                "used_at": at + 20_000,
            }
        )
        if len(docs) >= 10_000:
            hdb.otps.insert_many(docs, ordered=False)
            docs = []
    if docs:
        hdb.otps.insert_many(docs, ordered=False)
    return time.perf_counter() - started


def listing_phase(
    db: Database, backend: Backend, sink: bench_http.TelegramSink, plan: Plan, db_name: str
) -> dict[str, Any]:
    """Listing latency at each size, then the write paths on the largest database."""
    client = db.client()
    hdb = client[db_name]
    bench_seed.reset(hdb)
    rng = random.Random(3)
    viewer, newcomer = "viewer_user", "new_user"
    hdb.users.insert_many([bench_seed.user_doc(viewer, 900_000_001), bench_seed.user_doc(newcomer, None)])
    tokens = mint_tokens([viewer, newcomer])
    now = bench_seed.now_ms()
    period = (now - 365 * 86_400_000, now - 60_000)
    paths = {
        "history": (f"/api/user/transfer/{viewer}", tokens[viewer]),
        "history_empty": (f"/api/user/transfer/{newcomer}", tokens[newcomer]),
        "bills_to_pay": (f"/api/bill/{viewer}", tokens[viewer]),
        "bills_issued": (f"/api/bill/{viewer}/issued", tokens[viewer]),
    }
    sizes: dict[int, Any] = {}
    have = 0
    for size in plan.sizes:
        seconds = seed_listing(hdb, have, size, rng, period, viewer)
        log(
            f"listing: seeded {size - have} ledger records (+{(size - have) // 10} bills) in "
            f"{seconds:.1f} s = {(size - have) / seconds:,.0f} records/s"
        )
        have = size
        runs = [
            bench_http.sample_gets(backend.url, paths, plan.listing_samples, plan.listing_budget)
            for _ in range(plan.runs)
        ]
        row: dict[str, Any] = {
            "seed_seconds": seconds,
            "seed_rate": (size - have_before(size, plan)) / seconds,
        }
        for name in paths:
            row[name] = {
                "p50_ms": median([percentile(r[name], 50) * 1000 for r in runs]),
                "p99_ms": median([percentile(r[name], 99) * 1000 for r in runs]),
            }
        started = time.perf_counter()
        for key in ("src_key", "dst_key"):  # Ledger.history: two ranges on one key each
            list(hdb.ledger.find({key: {"$gt": f"{viewer}:", "$lt": f"{viewer}:~"}}).sort(key, -1).limit(21))
        row["history_db_ms"] = (time.perf_counter() - started) * 1000
        sizes[size] = row
        log(f"listing at {size:,}: " + ", ".join(f"{n} p50 {row[n]['p50_ms']:.1f} ms" for n in paths))
    growth = write_paths_on_big_database(db, backend, sink, plan, hdb, rng)
    client.close()
    return {"sizes": sizes, "growth": growth}


def have_before(size: int, plan: Plan) -> int:
    """The size before `size` in the plan (0 for the first)."""
    index = plan.sizes.index(size)
    return plan.sizes[index - 1] if index else 0


def write_paths_on_big_database(
    db: Database, backend: Backend, sink: bench_http.TelegramSink, plan: Plan, hdb: Any, rng: random.Random
) -> dict[str, Any]:
    """The 8-client write paths as the database grows, one kind of growth at a time."""
    steps: list[tuple[str, str, dict[str, Any]]] = []
    per = plan.growth_per_client

    def measure(label: str, path: str, tag: str) -> None:
        run = http_run(db, backend, sink, hdb, 8, per, plan.warmup, path, rng, tag, reset=False)
        log(fmt_run(f"http {path} x8, {label}", run))
        steps.append((label, path, summarize([run])))

    big = f"{plan.sizes[-1]:,} ledger records, {plan.sizes[-1] // 10:,} bills"
    measure(big, "transfer", "gt")
    measure(big, "billpay", "gb")
    seconds = seed_otp_backlog(hdb, plan.otp_backlog, rng)
    log(f"seeded {plan.otp_backlog:,} OTP documents in {seconds:.1f} s")
    measure(
        f"{big} + {plan.otp_backlog:,} OTP documents (one per user and action: no backlog of used codes)",
        "transfer",
        "go",
    )
    hdb.otps.delete_many({"_id": {"$gte": "member_", "$lt": "member`"}})
    seconds = seed_accounts(hdb, plan.accounts)
    log(f"seeded {plan.accounts:,} users and {plan.accounts:,} bot sessions in {seconds:.1f} s")
    label = f"{big} + {plan.accounts:,} users with a bot session each (without those OTP documents)"
    measure(label, "transfer", "gu")
    return {"steps": steps}


def seed_accounts(hdb: Any, count: int) -> float:
    """Other users and their bot sessions (refresh-token records as Tokens.issue_refresh stores them)."""
    started = time.perf_counter()
    for first in range(0, count, 5_000):
        names = [f"member_{i}" for i in range(first, min(count, first + 5_000))]
        hdb.users.insert_many([bench_seed.user_doc(n, 800_000_000 + i + first) for i, n in enumerate(names)])
        hdb.tokens.insert_many(
            [
                {
                    "_id": f"refresh:{uuid.uuid4().hex}{uuid.uuid4().hex}",
                    "kind": "refresh",
                    "username": n,
                    "chat_id": 800_000_000 + i + first,
                    "expires_at": bench_seed.now_ms() + 180 * 86_400_000,
                }
                for i, n in enumerate(names)
            ]
        )
    return time.perf_counter() - started


def bot_phase(db: Database, plan: Plan, work: Path, db_name: str) -> dict[str, Any]:
    """The real bot against the fake Bot API and a real backend."""
    telegram = bench_bot.TimedTelegram()
    telegram.start()
    backend = Backend(
        db,
        db_name,
        work,
        OTP_DELIVERY="telegram",
        TELEGRAM_API_URL=telegram.url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_BOT_USERNAME="MataDuitanTestBot",
    ).start()
    client = db.client()
    bot = None
    try:
        names = bench_bot.seed_chat_users(client[db_name], plan.bot_chats)
        bot = bench_bot.BotProcess(telegram, backend.url, work / f"bot-{db_name}").start()
        pids = {"bot": bot.pid, "backend": backend.pid, "db": db.server_pid, "driver": os.getpid()}
        raw = bench_bot.run_bot_scenarios(
            telegram,
            names,
            me_samples=plan.me_samples,
            flows=plan.bot_flows,
            runs=plan.runs,
            pids=pids,
            progress=log,
        )
    finally:
        if bot is not None:
            bot.stop()
        backend.stop()
        telegram.stop()
    client.close()
    flows = summarize(raw["flow_runs"])
    steps = {
        k: median([percentile(r.extra[k], 50) * 1000 for r in raw["flow_runs"]])
        for k in raw["flow_runs"][0].extra
    }
    return {
        "chats": plan.bot_chats,
        "login_seconds": raw["login_seconds"],
        "login_retries": raw["login_retries"],
        "me_p50_ms": median([percentile(r, 50) * 1000 for r in raw["me_runs"]]),
        "me_p99_ms": median([percentile(r, 99) * 1000 for r in raw["me_runs"]]),
        "flows": flows,
        "steps_p50_ms": steps,
    }


def attempt(result: dict[str, Any], key: str, phase: Callable[[], Any]) -> None:
    """Run one phase; a failure is logged and reported, and the other phases still run."""
    try:
        result[key] = phase()
    except Exception as exc:  # noqa: BLE001 - any failure of a phase is reported, not fatal
        log(f"phase {key} failed:\n{traceback.format_exc()}")
        result.setdefault("errors", []).append(f"{key}: {type(exc).__name__}: {str(exc)[:300]}")


def bench_database(db: Database, plan: Plan, phases: set[str], profile: bool, work: Path) -> dict[str, Any]:
    """Every phase on one database.

    nx-27017 shares collections between database names (README, "The database"), so every phase
    uses the same name and starts from dropped collections, never from another phase's leftovers
    (the next backend to start creates the indexes again, as it does in production).
    """
    name = f"bench_{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {"label": db.label, "database": db.describe()}
    with db.client() as client:
        bench_seed.drop_all(client[name])
        if "floor" in phases:
            attempt(result, "floor", lambda: floor_phase(db, plan, name))
            bench_seed.drop_all(client[name])
        if phases & {"transfer", "billpay", "listing"} or profile:
            http_phases(db, plan, phases, profile, work, name, result)
            bench_seed.drop_all(client[name])
        if "bot" in phases:
            attempt(result, "bot", lambda: bot_phase(db, plan, work, name))
            bench_seed.drop_all(client[name])
    return result


def http_phases(db: Database, plan: Plan, phases: set[str], profile: bool, work: Path, name: str,
                result: dict[str, Any]) -> None:  # fmt: skip
    """Transfer, bill payment, profiles and listing on one backend with a Telegram sink."""
    sink = bench_http.TelegramSink().start()
    backend = Backend(
        db, name, work, OTP_DELIVERY="telegram", TELEGRAM_API_URL=sink.url, TELEGRAM_BOT_TOKEN=sink.token
    ).start()
    try:
        for path in ("transfer", "billpay"):
            if path in phases:
                attempt(result, path, functools.partial(http_phase, db, backend, sink, plan, name, path))
        if profile:
            attempt(result, "profile", lambda: profile_phase(db, backend, sink, plan, name, work))
        if "listing" in phases:
            attempt(result, "listing", lambda: listing_phase(db, backend, sink, plan, name))
    finally:
        backend.stop()
        sink.stop()


# ---- the report -----------------------------------------------------------------------------


def f1(value: float, unit: str = "") -> str:
    """A figure with one decimal (— when missing)."""
    return "—" if value != value else f"{value:,.1f}{unit}"


def cpu_cell(row: dict[str, Any], label: str) -> str:
    """CPU milliseconds per operation and utilisation of one process."""
    ms, util = row.get(f"cpu_ms_{label}"), row.get(f"cpu_util_{label}")
    return "—" if ms is None or util is None else f"{ms:.1f} ms ({util * 100:.0f}%)"


def util_cell(row: dict[str, Any], label: str) -> str:
    """Utilisation of one process (share of one core)."""
    util = row.get(f"cpu_util_{label}")
    return "—" if util is None else f"{util * 100:.0f}%"


def path_table(result: dict[str, Any], path: str, title: str) -> list[str]:
    """Floor vs HTTP for one path at every concurrency."""
    floor = result.get("floor", {}).get(path, {})
    http = result.get(path, {})
    if not http and not floor:
        return []
    lines = [
        f"**{title}**",
        "",
        "| clients | floor ops/s | floor p50 / p99 | HTTP ops/s | HTTP p50 | HTTP p99 | HTTP / floor "
        "| backend CPU per op (util.) | database CPU per op (util.) | other programs (util.) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in sorted(set(floor) | set(http)):
        fl, ht = floor.get(level, {}), http.get(level, {})
        ratio = ht.get("rate", float("nan")) / fl.get("rate", float("nan")) if fl and ht else float("nan")
        lines.append(
            f"| {level} | {f1(fl.get('rate', float('nan')))} "
            f"| {f1(fl.get('p50_ms', float('nan')))} / {f1(fl.get('p99_ms', float('nan')))} ms "
            f"| {f1(ht.get('rate', float('nan')))} | {f1(ht.get('p50_ms', float('nan')), ' ms')} "
            f"| {f1(ht.get('p99_ms', float('nan')), ' ms')} | {f1(ratio * 100, '%')} "
            f"| {cpu_cell(ht, 'backend')} | {cpu_cell(ht, 'db')} | {util_cell(ht, 'other')} |"
        )
    if http:
        parts = ", ".join(
            f"{lvl} → {f1(r.get('otp_request_p50_ms', float('nan')))} + "
            f"{f1(r.get('money_request_p50_ms', float('nan')))} ms"
            for lvl, r in sorted(http.items())
        )
        lines += [
            "",
            f"p50 of the two requests (OTP request + money request) by clients: {parts}. "
            f"Per-run ops/s: " + "; ".join(f"{lvl}: {r['rates']}" for lvl, r in sorted(http.items())) + ".",
        ]
        if floor:
            lines[-1] += (
                " Floor database CPU per op: "
                + ", ".join(
                    f"{lvl} → {fl.get('cpu_ms_db', float('nan')):.1f} ms" for lvl, fl in sorted(floor.items())
                )
                + "."
            )
    return lines + [""]


def listing_table(result: dict[str, Any]) -> list[str]:
    """Listing latency by database size."""
    listing = result.get("listing")
    if not listing:
        return []
    names = [
        ("history", "history, 100 movements"),
        ("history_empty", "history, no movements"),
        ("bills_to_pay", "bills to pay"),
        ("bills_issued", "bills issued"),
    ]
    lines = [
        "**First page for one user** (GET, p50 / p99 over sequential requests; the database holds "
        "N ledger records and N/10 bills)",
        "",
        "| ledger records | seeding | "
        + " | ".join(label for _, label in names)
        + " | history query alone (pymongo) |",
        "|---:|---:|" + "---:|" * len(names) + "---:|",
    ]
    sizes = listing["sizes"]
    for size, row in sorted(sizes.items()):
        cells = " | ".join(f"{f1(row[n]['p50_ms'])} / {f1(row[n]['p99_ms'])} ms" for n, _ in names)
        lines.append(
            f"| {size:,} | {row['seed_seconds']:.0f} s ({row['seed_rate']:,.0f} records/s) | {cells} "
            f"| {row['history_db_ms']:.1f} ms |"
        )
    first, last = min(sizes), max(sizes)
    ratios = ", ".join(
        f"{label} {sizes[last][n]['p50_ms'] / sizes[first][n]['p50_ms']:.1f}×" for n, label in names
    )
    lines += ["", f"p50 at {last:,} ÷ p50 at {first:,}: {ratios}.", ""]
    base = {
        "transfer": result.get("transfer", {}).get(8, {}),
        "billpay": result.get("billpay", {}).get(8, {}),
    }
    lines += [
        "**Write paths as the database grows** (8 clients, one run each; the fresh-database "
        "figure is the 8-client row above)",
        "",
        "| database | path | ops/s | p50 | p99 | fresh database ops/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, path, row in listing["growth"]["steps"]:
        name = "transfer" if path == "transfer" else "bill payment"
        lines.append(
            f"| {label} | {name} | {f1(row['rate'])} | {f1(row['p50_ms'], ' ms')} "
            f"| {f1(row['p99_ms'], ' ms')} | {f1(base[path].get('rate', float('nan')))} |"
        )
    lines.append("")
    return lines


def bot_table(result: dict[str, Any]) -> list[str]:
    """The bot figures."""
    bot = result.get("bot")
    if not bot:
        return []
    flows = bot["flows"]
    steps = bot["steps_p50_ms"]
    cpu = ", ".join(
        f"{label} {flows[f'cpu_ms_{label}']:.0f} ms ({flows[f'cpu_util_{label}'] * 100:.0f}%)"
        for label in ("bot", "backend", "db", "driver", "other")
        if f"cpu_ms_{label}" in flows
    )
    return [
        "**Bot** (real `python -m bot` polling the fake Bot API; backend DMs OTPs through it)",
        "",
        "| scenario | figure |",
        "|---|---:|",
        f"| /me round trip (update queued → reply at the Bot API), p50 / p99 "
        f"| {f1(bot['me_p50_ms'])} / {f1(bot['me_p99_ms'])} ms |",
        f"| {bot['chats']} chats running transfers at once: completed flows/s | {f1(flows['rate'])} |",
        f'| one whole flow (6 user actions, /transfer → "Sent"), p50 / p99 '
        f"| {f1(flows['p50_ms'] / 1000)} / {f1(flows['p99_ms'] / 1000)} s |",
        f"| {bot['chats']} chats logging in through /login, {bench_bot.LOGIN_CONCURRENCY} at a time "
        f"(Argon2id at the backend) | {bot['login_seconds']:.1f} s ({bot['login_retries']} retried) |",
        "",
        "Reply p50 per step under that load: "
        + ", ".join(f"{k[3:]} {v:.0f} ms" for k, v in steps.items())
        + f". CPU per completed flow (utilisation): {cpu}.",
        "",
    ]


def verdicts(result: dict[str, Any]) -> list[str]:
    """The targets, met or not."""
    rows = []
    fl8 = result.get("floor", {}).get("transfer", {}).get(8)
    ht8 = result.get("transfer", {}).get(8)
    if fl8 and ht8:
        share = ht8["rate"] / fl8["rate"]
        rows.append(
            (
                "HTTP transfer ≥ 50% of the floor at 8 clients",
                f"{share * 100:.0f}%",
                share >= TARGETS["http_8_share_of_floor"],
            )
        )
    ht32 = result.get("transfer", {}).get(32)
    if ht32:
        rows.append(
            (
                "HTTP transfer p99 < 50 ms at 32 clients",
                f"{ht32['p99_ms']:.0f} ms",
                ht32["p99_ms"] < TARGETS["http_32_p99_ms"],
            )
        )
    bp32 = result.get("billpay", {}).get(32)
    if bp32:
        rows.append(
            (
                "bill payment p99 < 50 ms at 32 clients",
                f"{bp32['p99_ms']:.0f} ms",
                bp32["p99_ms"] < TARGETS["http_32_p99_ms"],
            )
        )
    listing = result.get("listing")
    if listing:
        sizes = listing["sizes"]
        first, last = min(sizes), max(sizes)
        for name, label in (("history", "history"), ("bills_to_pay", "bills to pay")):
            ratio = sizes[last][name]["p50_ms"] / sizes[first][name]["p50_ms"]
            rows.append(
                (
                    f"{label} p50 at {last:,} within 2× of {first:,}",
                    f"{ratio:.1f}×",
                    ratio <= TARGETS["listing_ratio"],
                )
            )
    bot = result.get("bot")
    if bot:
        rows.append(
            (
                "bot round trip p50 < 30 ms",
                f"{bot['me_p50_ms']:.1f} ms",
                bot["me_p50_ms"] < TARGETS["bot_p50_ms"],
            )
        )
    if not rows:
        return []
    lines = ["**Targets**", "", "| target | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {what} | {value} | {'yes' if ok else '**no**'} |" for what, value, ok in rows]
    return lines + [""]


def render(info: dict[str, str], plan: Plan, results: list[dict[str, Any]], runtime: float) -> str:
    """The generated part of docs/BENCHMARKS.md."""
    kind = "quick run, indicative only" if plan.name == "quick" else "full run"
    lines = [
        f"_Generated by `scripts/bench.py` ({kind}) in {runtime / 60:.1f} min. "
        "Do not edit between the markers: the next run replaces it._",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        f"| method | medians of {plan.runs} run(s); closed loop: each client starts its next "
        f"operation when the previous one ends; {plan.warmup} untimed operations per client "
        "first; every run starts from a reset database with fresh accounts (one payer/payee "
        "pair per client) |",
        "",
    ]
    for result in results:
        lines += [f"### Database: {result['database']}", ""]
        for error in result.get("errors", []):
            lines += [f"**Phase failed** — {error}", ""]
        lines += verdicts(result)
        lines += path_table(result, "transfer", "Transfer (OTP issued + verified, Idempotency-Key, ledger)")
        lines += path_table(
            result, "billpay", "Bill payment (OTP issued + verified, Idempotency-Key, ledger, bill)"
        )
        lines += listing_table(result)
        lines += bot_table(result)
    return "\n".join(lines).rstrip() + "\n"


SKELETON = f"""# Benchmarks

`make bench` (`.venv/bin/python scripts/bench.py`, `--quick` for a short run) measures the paths
below and rewrites the section between the markers. What it does and how is in the docstrings of
scripts/bench.py and scripts/bench_floor.py.

{BEGIN}
{END}

## Where the time goes

{PBEGIN}
{PEND}
"""


def write_report(generated: str, profile: str | None) -> None:
    """Replace the generated blocks of docs/BENCHMARKS.md, keeping everything around them."""
    text = REPORT.read_text() if REPORT.exists() else SKELETON
    if BEGIN not in text:
        text = SKELETON + "\n" + text
    text = re.sub(
        f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _: f"{BEGIN}\n{generated}{END}", text, flags=re.S
    )
    if profile is not None:
        if PBEGIN not in text:
            text += f"\n{PBEGIN}\n{PEND}\n"
        text = re.sub(
            f"{re.escape(PBEGIN)}.*?{re.escape(PEND)}",
            lambda _: f"{PBEGIN}\n{profile}{PEND}",
            text,
            flags=re.S,
        )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)


def main() -> int:
    """Parse the flags, run every phase on every database, print and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one short run of everything")
    parser.add_argument("--profile", action="store_true", help="py-spy the 8-client HTTP paths")
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated phases to run")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    phases = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = phases - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    plan = Plan.quick() if args.quick else Plan.full()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="mata-bench-"))
    results = []
    profile_md: str | None = None
    try:
        databases = [("embedded", lambda: start_embedded(work / "embedded"))]
        if os.environ.get("MONGODB_URI"):
            databases.append(("MONGODB_URI", lambda: external_database(os.environ["MONGODB_URI"])))
        for label, open_db in databases:
            log(f"database: {label} ({plan.name} plan)")
            db = open_db()
            try:
                result = bench_database(db, plan, phases, args.profile, work)
            finally:
                db.stop()
            results.append(result)
            if "profile" in result:
                profile_md = (
                    profile_md or ""
                ) + f"### Profiles on {result['database']}\n\n{result['profile']}\n"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runtime = time.perf_counter() - started
    info = machine_info(" + ".join(r["database"] for r in results))
    generated = render(info, plan, results, runtime)
    print(generated)
    if profile_md:
        print(profile_md)
    if not args.no_write:
        write_report(generated, profile_md)
        log(f"wrote {REPORT.relative_to(ROOT)}")
    log(f"total {runtime / 60:.1f} min")
    return 1 if any(r.get("errors") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
