"""`make bench`: how fast Mata Duitan moves money, lists history and answers in Telegram.

    .venv/bin/python -m bench [--quick] [--profile] [--only PHASES] [--no-write]

Runs on the embedded database (nx-27017, started here exactly as the backend starts it) and, when
MONGODB_URI is set, again on that database. Prints one Markdown report and writes it into
docs/BENCHMARKS.md between the `bench:begin/end` markers (bench.report; the hand-written analysis
around them is kept). Phases (`--only floor,transfer,billpay,listing,bot`):

    floor      the database alone doing exactly the store commands of one transfer / bill payment,
               recorded from the real app (bench.record) and replayed with pymongo from 1, 8, 32
               threads (bench.floor); the recorded sequences are printed in the report
    transfer   the HTTP transfer path (OTP queued in the outbox and claimed by a courier, verified,
               Idempotency-Key, ledger) at 1, 8, 32 concurrent clients; ratio to the floor at the
               same concurrency
    billpay    the HTTP bill payment path, the same way
    listing    first page of history and of bills for one user with 10k, 100k, 1M ledger records
               (the viewer's made by the ledger, the rest replicas of real records: bench.seed),
               then the write paths again on that database, with 50k OTP documents (one per user
               and action), with 10k users with a bot session each
    bot        the real bot (`python -m bot`) on the fake Bot API: /me round trip, and 100 chats
               running transfers at once

Every account, deposit, bill and movement is made by the product's own functions (bench.seed).
Processes start through tests/support (BackendProcess). `python -m bench.queries` times single
query shapes on nx-27017; `python -m bench.delivery` measures delivery under Telegram's limits.

Figures are medians of 3 runs (1 with --quick). `--profile` adds py-spy profiles of the backend
and the database during the 8-client transfer and bill-payment paths (pip install py-spy).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
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

from pymongo.database import Database as MongoDatabase

from backend.config import Settings
from backend.db import now_ms
from bench import bot_flows, floor, http_paths, report, seed
from bench.floor import Recording, Replay
from bench.seed import Pair, Seeder
from bench.support import (
    CpuMeter,
    Database,
    RunResult,
    backend_env,
    external_database,
    machine_info,
    median,
    mint_tokens,
    percentile,
    pid_of,
    settings_from,
    start_backend,
    start_embedded,
    summarize,
)
from tests.support.backend_process import ROOT, BackendProcess

PROFILE_OPS = 100  # per client, 8 clients: ~10-15 s of each path under py-spy
PHASES = ("floor", "transfer", "billpay", "listing", "bot")
Doc = dict[str, Any]


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
        """`--quick`: one short run of everything, indicative only."""
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


def settings_for(db: Database, name: str, work: Path) -> Settings:
    """The benchmarked backend's settings, for seeding and signing tokens in this process."""
    return settings_from(backend_env(db, name, DATA_DIR=str(work)))


# ---- phases ---------------------------------------------------------------------------------


def fmt_run(label: str, run: RunResult) -> str:
    """One progress line."""
    return (
        f"{label}: {run.ops} in {run.seconds:.1f} s = {run.rate:.1f}/s, "
        f"p50 {percentile(run.latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(run.latencies, 99) * 1000:.1f} ms"
    )


def record(db: Database, name: str, work: Path) -> Recording:
    """The store commands of one real transfer and one real bill payment (bench.record)."""
    recording = floor.record_paths(db.uri, name, work)
    for path in ("transfer", "billpay"):
        labels = recording.labels(path)
        log(f"recorded {path}: {len(labels)} store commands\n    " + "\n    ".join(labels))
    return recording


def floor_operation(replay: Replay, codes: dict[str, list[str]]) -> Callable[..., None]:
    """The replay of one operation by a client (`codes`: its open bills, one per operation)."""
    if not codes:
        return lambda d, p, k: replay(d, p)
    return lambda d, p, k: replay(d, p, codes[p.payer][k])


def floor_phase(db: Database, plan: Plan, name: str, work: Path, recording: Recording) -> dict[str, Any]:
    """The raw database replaying one transfer's / one bill payment's recorded commands, from threads."""
    client = db.client()
    fdb = client[name]
    seed.ensure_indexes(fdb)
    seeder = Seeder.on(fdb, settings_for(db, name, work))
    seeder.courier_polled()  # as during the recording and the HTTP runs (reset keeps it)
    out: dict[str, Any] = {"transfer": {}, "billpay": {}, "mismatches": {"transfer": {}, "billpay": {}}}
    out["sequence"] = {path: recording.labels(path) for path in ("transfer", "billpay")}
    for level in plan.levels:
        per = plan.per_client[level]
        for path in ("transfer", "billpay"):
            runs = []
            for i in range(plan.runs):
                seed.reset(fdb)
                pairs = seeder.pairs(level, "f")
                codes = seeder.open_bills(pairs, per + plan.warmup) if path == "billpay" else {}
                replay = Replay(recording, path, fdb)
                cpu = CpuMeter({"db": db.server_pid, "client": os.getpid()})
                operation = floor_operation(replay, codes)
                runs.append(floor.run(fdb, pairs, per, plan.warmup, operation, cpu, replay.mismatches.clear))
                log(fmt_run(f"floor {path} x{level} run {i + 1}", runs[-1]))
                if replay.mismatches:
                    log(f"floor {path}: commands that did not do as recorded: {dict(replay.mismatches)}")
                for label, count in replay.mismatches.items():
                    out["mismatches"][path][label] = out["mismatches"][path].get(label, 0) + count
            out[path][level] = summarize(runs)
    client.close()
    return out


@dataclass
class HttpRig:
    """What the HTTP phases share: the backend, the courier, the database and the seeder."""

    db: Database
    backend: BackendProcess
    courier: http_paths.Courier
    hdb: MongoDatabase[Doc]
    seeder: Seeder

    @property
    def url(self) -> str:
        """The backend's base URL."""
        return self.backend.url


def http_phase(rig: HttpRig, plan: Plan, path: str) -> dict[int, Any]:
    """The HTTP path at each concurrency, each run on a freshly reset database."""
    out: dict[int, Any] = {}
    for level in plan.levels:
        per = plan.per_client[level]
        runs = []
        for i in range(plan.runs):
            runs.append(http_run(rig, level, per, plan.warmup, path, "h"))
            log(fmt_run(f"http {path} x{level} run {i + 1}", runs[-1]))
        out[level] = summarize(runs)
    return out


def http_run(
    rig: HttpRig, level: int, per: int, warmup: int, path: str, tag: str, reset: bool = True
) -> RunResult:
    """One timed HTTP run with fresh accounts (and open bills for the bill path)."""
    if reset:
        seed.reset(rig.hdb)
    pairs = rig.seeder.pairs(level, tag)
    tokens = mint_tokens(rig.seeder.wallet.settings, [p.payer for p in pairs])
    codes = rig.seeder.open_bills(pairs, per + warmup) if path == "billpay" else {}
    operation = http_paths.operation(path, rig.courier, tokens, codes)
    cpu = CpuMeter({"backend": pid_of(rig.backend), "db": rig.db.server_pid, "client": os.getpid()})
    return http_paths.run(rig.url, pairs, per, warmup, operation, cpu)


def profile_phase(rig: HttpRig, plan: Plan, work: Path, recording: Recording) -> str:
    """py-spy on the backend and the database during the 8-client transfer and bill-pay paths."""
    from bench import profiles

    calls = floor_calls(rig.db, plan, rig.hdb.name, work, recording)
    sections = []
    for path in ("transfer", "billpay"):
        recordings = [profiles.Recording("backend", pid_of(rig.backend) or 0, work / f"{path}-backend.txt")]
        if rig.db.server_pid:
            recordings.append(profiles.Recording("nx", rig.db.server_pid, work / f"{path}-nx.txt"))
        for one in recordings:
            one.start()
        run = http_run(rig, 8, PROFILE_OPS, plan.warmup, path, "p")
        found = [one.stop() for one in recordings]
        log(fmt_run(f"profiled http {path} x8", run))
        title = "HTTP transfer" if path == "transfer" else "HTTP bill payment"
        sections.append((f"{title}, 8 clients: backend process", found[0]))
        if len(found) > 1:
            sections.append((f"{title}, 8 clients: nx-27017 process", found[1]))
    return calls + "\n" + profiles.render(sections)


def floor_calls(db: Database, plan: Plan, name: str, work: Path, recording: Recording) -> str:
    """Each round trip of the floor's transfer and bill payment, timed by pymongo (1 client)."""
    from bench import profiles

    timer = profiles.CallTimer()
    client = db.client(event_listeners=[timer])
    fdb = client[name]
    seeder = Seeder.on(fdb, settings_for(db, name, work))
    seeder.courier_polled()
    out = []
    for path in ("transfer", "billpay"):
        seed.reset(fdb)
        pairs = seeder.pairs(1, "c")
        codes = seeder.open_bills(pairs, PROFILE_OPS + plan.warmup) if path == "billpay" else {}
        replay = Replay(recording, path, fdb)
        operation = floor_operation(replay, codes)
        for k in range(plan.warmup):
            operation(fdb, pairs[0], k)
        timer.durations.clear()
        timer.enabled = True

        def timed(d: Any, p: Pair, k: int, o: Callable[..., None] = operation) -> None:
            o(d, p, k + plan.warmup)

        run = floor.run(fdb, pairs, PROFILE_OPS, 0, timed)
        timer.enabled = False
        title = "Floor transfer" if path == "transfer" else "Floor bill payment"
        rows = profiles.per_call(timer.durations, recording.labels(path))
        out.append(profiles.render_calls(f"{title}, 1 client", rows, percentile(run.latencies, 50) * 1000))
    client.close()
    return "\n".join(out)


def listing_phase(rig: HttpRig, plan: Plan) -> dict[str, Any]:
    """Listing latency at each size, then the write paths on the largest database."""
    seed.reset(rig.hdb)
    rng = random.Random(3)
    viewer, newcomer = "viewer_user", "new_user"
    rig.seeder.users([viewer, newcomer])
    rig.seeder.link({viewer: 900_000_001})
    tokens = mint_tokens(rig.seeder.wallet.settings, [viewer, newcomer])
    now = now_ms()
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
        started = time.perf_counter()
        added = rig.seeder.grow(have, size, rng, period, viewer)
        seconds = time.perf_counter() - started
        log(
            f"listing: seeded {added} ledger records (+{added // 10} bills) in "
            f"{seconds:.1f} s = {added / seconds:,.0f} records/s"
        )
        have = size
        runs = [
            http_paths.sample_gets(rig.url, paths, plan.listing_samples, plan.listing_budget)
            for _ in range(plan.runs)
        ]
        row: dict[str, Any] = {"seed_seconds": seconds, "seed_rate": added / seconds}
        for name in paths:
            row[name] = {
                "p50_ms": median([percentile(r[name], 50) * 1000 for r in runs]),
                "p99_ms": median([percentile(r[name], 99) * 1000 for r in runs]),
            }
        started = time.perf_counter()
        rig.seeder.wallet.ledger.history(viewer, limit=20, cursor=None)  # the query behind the page
        row["history_db_ms"] = (time.perf_counter() - started) * 1000
        sizes[size] = row
        log(f"listing at {size:,}: " + ", ".join(f"{n} p50 {row[n]['p50_ms']:.1f} ms" for n in paths))
    growth = write_paths_on_big_database(rig, plan, rng)
    return {"sizes": sizes, "growth": growth}


def write_paths_on_big_database(rig: HttpRig, plan: Plan, rng: random.Random) -> dict[str, Any]:
    """The 8-client write paths as the database grows, one kind of growth at a time."""
    steps: list[tuple[str, str, dict[str, Any]]] = []
    per = plan.growth_per_client

    def measure(label: str, path: str, tag: str) -> None:
        run = http_run(rig, 8, per, plan.warmup, path, tag, reset=False)
        log(fmt_run(f"http {path} x8, {label}", run))
        steps.append((label, path, summarize([run])))

    big = f"{plan.sizes[-1]:,} ledger records, {plan.sizes[-1] // 10:,} bills"
    measure(big, "transfer", "gt")
    measure(big, "billpay", "gb")
    started = time.perf_counter()
    rig.seeder.otp_backlog(plan.otp_backlog, rng)
    log(f"seeded {plan.otp_backlog:,} OTP documents in {time.perf_counter() - started:.1f} s")
    measure(
        f"{big} + {plan.otp_backlog:,} OTP documents (one per user and action: no backlog of used codes)",
        "transfer",
        "go",
    )
    rig.hdb.otps.delete_many({"username": {"$gte": "member_", "$lt": "member`"}})
    started = time.perf_counter()
    rig.seeder.sessions(plan.accounts, 800_000_000)
    log(f"seeded {plan.accounts:,} users and their bot sessions in {time.perf_counter() - started:.1f} s")
    label = f"{big} + {plan.accounts:,} users with a bot session each (without those OTP documents)"
    measure(label, "transfer", "gu")
    return {"steps": steps}


def bot_phase(db: Database, plan: Plan, work: Path, db_name: str) -> dict[str, Any]:
    """The real bot against the fake Bot API and a real backend."""
    telegram = bot_flows.TimedTelegram()
    telegram.start()
    backend = start_backend(db, db_name, work / "backend-bot")
    client = db.client()
    bot = None
    try:
        seeder = Seeder.on(client[db_name], settings_for(db, db_name, work))
        names = bot_flows.seed_chat_users(seeder, plan.bot_chats)
        bot = bot_flows.BotProcess(telegram, backend.url, work / f"bot-{db_name}").start()
        pids = {"bot": bot.pid, "backend": pid_of(backend), "db": db.server_pid, "driver": os.getpid()}
        raw = bot_flows.run_bot_scenarios(
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
    (the next backend to start creates the indexes again, as it does in production). The floor's
    sequences are recorded first, on the same database.
    """
    name = f"bench_{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {"label": db.label, "database": db.describe()}
    with db.client() as client:
        seed.drop_all(client[name])
        recording: Recording | None = None
        if "floor" in phases or profile:
            attempt(result, "recording", functools.partial(record, db, name, work))
            recording = result.pop("recording", None)
            seed.drop_all(client[name])
        if "floor" in phases and recording is not None:
            attempt(result, "floor", functools.partial(floor_phase, db, plan, name, work, recording))
            seed.drop_all(client[name])
        if phases & {"transfer", "billpay", "listing"} or profile:
            http_phases(db, plan, phases, recording if profile else None, work, name, result)
            seed.drop_all(client[name])
        if "bot" in phases:
            attempt(result, "bot", functools.partial(bot_phase, db, plan, work, name))
            seed.drop_all(client[name])
    return result


def http_phases(
    db: Database,
    plan: Plan,
    phases: set[str],
    recording: Recording | None,
    work: Path,
    name: str,
    result: dict[str, Any],
) -> None:
    """Transfer, bill payment, profiles and listing on one backend with a courier."""
    backend = start_backend(db, name, work / "backend-http")
    courier = http_paths.Courier(backend.url).start()
    client = db.client()
    hdb = client[name]
    rig = HttpRig(db, backend, courier, hdb, Seeder.on(hdb, settings_for(db, name, work)))
    try:
        for path in ("transfer", "billpay"):
            if path in phases:
                attempt(result, path, functools.partial(http_phase, rig, plan, path))
        if recording is not None:
            attempt(result, "profile", functools.partial(profile_phase, rig, plan, work, recording))
        if "listing" in phases:
            attempt(result, "listing", functools.partial(listing_phase, rig, plan))
    finally:
        courier.stop()
        backend.stop()
        client.close()


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
    generated = report.render(info, plan, results, runtime)
    print(generated)
    if profile_md:
        print(profile_md)
    if not args.no_write:
        report.write_report(generated, profile_md)
        log(f"wrote {report.REPORT.relative_to(ROOT)}")
    log(f"total {runtime / 60:.1f} min")
    return 1 if any(r.get("errors") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
