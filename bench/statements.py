"""Statements and exports (issue 12): do documents stay within memory, and do filtered listings stay
flat, however much there is?

    .venv/bin/python -m bench.statements [--quick]

On a fresh embedded nx-27017 (started here exactly as the backend starts it), in this process,
through the backend's own objects (Wallet.statements, backend.documents):

    documents  one account with M movements booked within one month (transfers in and out with 50
               counterparties, top-ups, bills paid and received; replicas of real records,
               bench.seed, booked inside that month), M = 10,000 and 100,000 (1,000 and 10,000
               with --quick). For the month's CSV statement (`statement_csv` over
               `Statements.rows`) and the admin's ledger export of the month (`ledger_csv` over
               `Statements.export`, the whole ledger through `done_at`), each consumed a line at a
               time as a streamed response is: wall time, bytes, lines, the growth of resident
               memory (sampled every 2,000 lines) and, in a second pass, the peak of Python's
               allocations (tracemalloc). For the month's PDF (`statement_pdf`): wall time, pages,
               bytes, the same two memory figures. Each document is measured in a process of its
               own (spawned: the backend's modules and a client loaded, nothing else), so its
               resident memory is not that of the documents measured before it.
    filters    the first page (20) of `Statements.history` filtered by month, by kind and by
               counterparty, for a viewer with 121 movements of their own, on a ledger of 10,000,
               100,000 and 1,000,000 records (10,000 and 100,000 with --quick) grown by
               bench.seed's `Seeder.grow` (as the listing phase of `python -m bench` grows it):
               p50 of sequential calls (pymongo, no HTTP), and the ratio largest ÷ smallest.

Prints Markdown tables and ratios measured in this one run; asserts no time limit. Resident
memory growth is the measuring process's above what it held before the document (the pymongo
client's buffers included); tracemalloc counts Python's own allocations only. The figures are
written up by hand in docs/BENCHMARKS.md ("Statements and exports (issue 12)").
"""

from __future__ import annotations

import argparse
import gc
import io
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database as MongoDatabase
from pypdf import PdfReader

from backend.db import Store, now_ms
from backend.documents import ledger_csv, statement_csv, statement_pdf
from backend.ledger import BILL_PAYMENT, DEPOSIT, TRANSFER
from backend.statements import KindFilter, Month, Row, Statements
from backend.wallet import Wallet
from bench import seed
from bench.seed import Seeder
from bench.support import backend_env, machine_info, percentile, settings_from, start_embedded

Doc = dict[str, Any]
PAGE_SIZE = 4096
RSS_EVERY = 2_000  # lines (or rows) between two samples of the resident memory
COUNTERPARTIES = 50
DESCRIPTIONS = ("Makan siang", "Bayar kos", "Patungan bensin", "Kopi", "Pulsa", "Arisan", "Ongkos ojek")
HISTORY_SAMPLES = 30
LANG = "id"
DOCUMENTS = ("csv", "export", "pdf")


def log(message: str) -> None:
    """Progress on stderr (the tables go to stdout)."""
    print(f"[statements {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


@dataclass
class Measure:
    """One document built or streamed once: what it took and what it made."""

    seconds: float = 0.0
    rss_growth: int = 0  # bytes above the resident memory at the start (untraced pass)
    peak: int = 0  # tracemalloc's peak of Python allocations (traced pass)
    size: int = 0  # bytes of the document
    lines: int = 0  # CSV lines, or PDF pages


class RssWatch:
    """The highest resident memory seen at `sample()` calls since it was made."""

    def __init__(self) -> None:
        gc.collect()
        self.start = self.high = rss_bytes()

    def sample(self) -> None:
        self.high = max(self.high, rss_bytes())

    @property
    def growth(self) -> int:
        return max(0, self.high - self.start)


def watched(items: Iterable[Any], watch: RssWatch) -> Iterator[Any]:
    """`items`, sampling the resident memory every RSS_EVERY of them."""
    for count, item in enumerate(items, 1):
        if count % RSS_EVERY == 0:
            watch.sample()
        yield item


def traced_peak(run: Callable[[], object]) -> int:
    """Peak bytes of Python allocations while `run()` runs (its result is dropped)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def consume(lines: Iterable[str]) -> tuple[int, int]:
    """Read a CSV stream as a response does, one line at a time → (bytes, lines)."""
    size = count = 0
    for line in lines:
        size += len(line.encode())
        count += 1
    return size, count


def measure_csv(make: Callable[[], Iterable[str]]) -> Measure:
    """Stream a CSV once for time and resident memory, once under tracemalloc for its peak."""
    watch = RssWatch()
    started = time.perf_counter()
    size, count = consume(watched(make(), watch))
    seconds = time.perf_counter() - started
    watch.sample()
    peak = traced_peak(lambda: consume(make()))
    return Measure(seconds, watch.growth, peak, size, count)


def measure_pdf(make: Callable[[Iterable[Row]], bytes], rows: Callable[[], Iterable[Row]]) -> Measure:
    """Build a PDF once for time and resident memory, once under tracemalloc for its peak."""
    watch = RssWatch()
    started = time.perf_counter()
    pdf = make(watched(rows(), watch))
    seconds = time.perf_counter() - started
    watch.sample()
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    size = len(pdf)
    del pdf
    peak = traced_peak(lambda: make(rows()))
    return Measure(seconds, watch.growth, peak, size, pages)


# ---- documents --------------------------------------------------------------------------------


def seed_month(seeder: Seeder, holder: str, month: Month, count: int, rng: random.Random) -> None:
    """`count` movements of `holder`, all booked within `month`: transfers in and out with the
    counterparties (with descriptions people type), top-ups, bills paid and received."""
    statements = seeder.wallet.statements
    low, high = month.bounds(statements.timezone)
    friends = [f"{holder}_friend_{i}" for i in range(COUNTERPARTIES)]
    seeder.users([holder, *friends])
    batch: list[Doc] = []
    for _ in range(count):
        booked = rng.randrange(low + 60_000, high - 60_000)
        friend, roll = rng.choice(friends), rng.random()
        if roll < 0.05:
            record = seeder.record_like(DEPOSIT, booked - 5, rng, friend, holder, booked=booked)
        elif roll < 0.15:
            payer, payee = (holder, friend) if roll < 0.10 else (friend, holder)
            record = seeder.record_like(BILL_PAYMENT, booked - 9, rng, payer, payee, booked=booked)
        else:
            payer, payee = (holder, friend) if roll < 0.60 else (friend, holder)
            record = seeder.record_like(TRANSFER, booked - 9, rng, payer, payee, booked=booked)
            record["description"] = rng.choice(DESCRIPTIONS)
        batch.append(record)
        if len(batch) == 10_000:
            seeder.store.ledger.insert_many(batch, ordered=False)
            batch = []
    if batch:
        seeder.store.ledger.insert_many(batch, ordered=False)


def documents(
    seeder: Seeder, env: dict[str, str], sizes: tuple[int, ...], rng: random.Random
) -> dict[int, dict[str, Measure]]:
    """For each size, a holder with that many movements in one month, and each document of it,
    each measured in a fresh process (`measure_one`)."""
    statements = seeder.wallet.statements
    month = statements.current_month().previous()  # over: a statement people download
    out: dict[int, dict[str, Measure]] = {}
    spawn = multiprocessing.get_context("spawn")
    for size in sizes:
        seed.reset(seeder.store.db)  # the export reads the whole month: this holder's only
        holder = f"holder_{size}"
        started = time.perf_counter()
        seed_month(seeder, holder, month, size, rng)
        log(f"documents: seeded {size:,} movements of @{holder} in {time.perf_counter() - started:.1f} s")
        out[size] = {}
        for which in DOCUMENTS:
            with ProcessPoolExecutor(1, mp_context=spawn) as child:
                out[size][which] = child.submit(measure_one, env, holder, str(month), which).result()
        log(
            f"documents at {size:,}: "
            + ", ".join(f"{k} {m.seconds:.1f} s peak {mib(m.peak)}" for k, m in out[size].items())
        )
    return out


def measure_one(env: dict[str, str], holder: str, month_text: str, which: str) -> Measure:
    """In a fresh process (its resident memory that of the backend's modules and a client, not
    of earlier documents): one document of `holder`'s month, made as the routes make it
    (backend/api/users.py statement, backend/api/admin.py export_ledger), measured."""
    settings = settings_from(env)
    client: MongoClient[Doc] = MongoClient(settings.mongodb_uri, tz_aware=False)
    with client:
        wallet = Wallet(Store(client, client[settings.mongodb_db]), settings)
        statements, month = wallet.statements, Month.parse(month_text)
        zone = statements.timezone
        if which == "csv":
            return measure_csv(lambda: statement_csv(LANG, statements.rows(holder, month), zone))
        if which == "export":
            low, high = month.bounds(zone)
            return measure_csv(lambda: ledger_csv(statements.export(low, high), zone))
        account = wallet.accounts.get(holder)
        opening = statements.opening(holder, month)

        def pdf(rows: Iterable[Row]) -> bytes:
            made, _ = statement_pdf(LANG, account, month, opening, rows, zone, now_ms())
            return made

        return measure_pdf(pdf, lambda: statements.rows(holder, month, opening))


# ---- filtered history ------------------------------------------------------------------------


def filters(seeder: Seeder, sizes: tuple[int, ...], rng: random.Random) -> dict[int, dict[str, Any]]:
    """p50 of a first page of history, unfiltered and with each filter, as the ledger grows."""
    seed.reset(seeder.store.db)
    statements: Statements = seeder.wallet.statements
    viewer = "viewer_user"
    seeder.users([viewer])
    now = now_ms()
    period = (now - 365 * 86_400_000, now - 60_000)
    this_month = statements.current_month()
    asks: dict[str, Doc] = {
        "unfiltered": {},
        "month": {"month": this_month},
        "kind": {"kind": KindFilter.TRANSFERS_OUT},
        "counterparty": {"counterparty": "friend_0"},
        "month + kind + counterparty": {
            "month": this_month,
            "kind": KindFilter.TRANSFERS_IN,
            "counterparty": "friend_0",
        },
    }
    out: dict[int, dict[str, Any]] = {}
    have = 0
    for size in sizes:
        started = time.perf_counter()
        added = seeder.grow(have, size, rng, period, viewer)
        seconds = time.perf_counter() - started
        have = size
        log(f"filters: seeded {added:,} ledger records in {seconds:.1f} s ({added / seconds:,.0f}/s)")
        row: dict[str, Any] = {"seed_seconds": seconds}
        for name, ask in asks.items():
            samples, found = [], 0
            for _ in range(HISTORY_SAMPLES):
                began = time.perf_counter()
                page, _ = statements.history(viewer, limit=20, cursor=None, **ask)
                samples.append((time.perf_counter() - began) * 1000)
                found = len(page)
            row[name] = (percentile(samples, 50), percentile(samples, 99), found)
        out[size] = row
        log(f"filters at {size:,}: " + ", ".join(f"{n} {row[n][0]:.1f} ms" for n in asks))
    return out


# ---- report ----------------------------------------------------------------------------------


def mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def report(
    docs: dict[int, dict[str, Any]], history: dict[int, dict[str, Any]], machine: dict[str, str]
) -> str:
    """The tables of the parts measured and their ratios, as Markdown."""
    out = [f"{machine['date']}, {machine['cpu']}, {machine['cores']}, {machine['database']}"]
    if docs:
        out += documents_table(docs)
    if history:
        out += history_table(history)
    return "\n".join(out)


def documents_table(docs: dict[int, dict[str, Any]]) -> list[str]:
    """Each document at the smallest and largest size, and their ratios."""
    small, large = min(docs), max(docs)
    names = {"csv": "CSV statement", "export": "ledger export (CSV)", "pdf": "PDF statement"}
    out = [
        "",
        f"**Documents of one month** (one account with N movements booked in it; lang={LANG})",
        "",
        "| document | N | time | size | lines / pages | peak (tracemalloc) | RSS growth |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in names.items():
        for size in (small, large):
            m: Measure = docs[size][key]
            unit = "pages" if key == "pdf" else "lines"
            out.append(
                f"| {name} | {size:,} | {m.seconds:.2f} s | {mib(m.size)} | {m.lines:,} {unit} "
                f"| {mib(m.peak)} | {mib(m.rss_growth)} |"
            )
    out += ["", f"{large:,} ÷ {small:,} movements:"]
    for key, name in names.items():
        a, b = docs[small][key], docs[large][key]
        out.append(
            f"- {name}: peak {b.peak / a.peak:.2f}×, RSS growth "
            f"{mib(a.rss_growth)} → {mib(b.rss_growth)}, time {b.seconds / a.seconds:.1f}×, "
            f"size {b.size / a.size:.1f}×"
        )
    return out


def history_table(history: dict[int, dict[str, Any]]) -> list[str]:
    """The filtered history's p50 / p99 at each ledger size, and largest ÷ smallest."""
    sizes = sorted(history)
    asks = [k for k in history[sizes[0]] if k != "seed_seconds"]
    out = [
        "",
        "**First page (20) of a filtered history** (Statements.history in-process, p50 / p99 of "
        f"{HISTORY_SAMPLES} calls; the viewer has 121 movements of their own, found on the page)",
        "",
        "| ledger records | seeding | " + " | ".join(asks) + " |",
        "|---:|---:|" + "---:|" * len(asks),
    ]
    for size in sizes:
        row = history[size]
        cells = [f"{row[a][0]:.2f} / {row[a][1]:.2f} ms ({row[a][2]})" for a in asks]
        out.append(f"| {size:,} | {row['seed_seconds']:.0f} s | " + " | ".join(cells) + " |")
    low, high = history[sizes[0]], history[sizes[-1]]
    out += [
        "",
        f"p50 at {sizes[-1]:,} ÷ p50 at {sizes[0]:,}: "
        + ", ".join(f"{a} {high[a][0] / low[a][0]:.2f}×" for a in asks),
    ]
    return out


def main() -> int:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (indicative figures only)")
    parser.add_argument(
        "--only", choices=("documents", "filters"), help="measure one part (the other's table is empty)"
    )
    args = parser.parse_args()
    doc_sizes = (1_000, 10_000) if args.quick else (10_000, 100_000)
    ledger_sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="mata-statements-"))
    database = start_embedded(work)
    began = time.perf_counter()
    try:
        machine = machine_info(database.describe())
        # The server answers the client's heartbeat slowly while it indexes a 10,000-record insert
        # on a busy machine; at the bench's 5 s the client gave up on it and cancelled the insert.
        client: MongoClient[Doc] = MongoClient(
            database.uri, tz_aware=False, connectTimeoutMS=60_000, serverSelectionTimeoutMS=60_000
        )
        with client:
            db: MongoDatabase[Doc] = client["statements"]
            seed.ensure_indexes(db)
            env = backend_env(database, "statements", DATA_DIR=str(work))
            seeder = Seeder.on(db, settings_from(env))
            rng = random.Random(12)
            docs = documents(seeder, env, doc_sizes, rng) if args.only != "filters" else {}
            history = filters(seeder, ledger_sizes, rng) if args.only != "documents" else {}
    finally:
        database.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(report(docs, history, machine))
    minutes = (time.perf_counter() - began) / 60
    print(f"\n({'quick' if args.quick else 'full'} run, {minutes:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
