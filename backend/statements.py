"""Statements and insights: a user's booked movements by period, kind and counterparty; the
monthly e-statement (opening balance, every movement with the running balance, closing balance,
totals); the figures behind the spending chart; the admin's ledger export and the reconciliation
as of a date. (Rendering them as PDF, CSV and PNG is backend/documents.py's.)

A movement counts when it is *booked*: `done_at`, the instant the ledger finished it (payer
debited, payee credited). Periods are calendar months in the wallet's time zone (Asia/Jakarta,
`LIMITS_TIMEZONE`: the month a statement shows is the month the monthly cap counts).

Every listing is one or two range queries on single indexed scalar keys (backend.ledger's
`listing_keys`: "user:booked:id", "user:kind:booked:id", "user:counterparty:booked:id"), merged in
order: a page costs what it returns and a month what it holds, however large the ledger grows.

Balances: closing(M) = opening(M) + Σ movements booked in M, and opening(M) = closing(M − 1).
The totals of a month that is over (by SETTLED_MS: no worker can still book into it) never change
again, so they are kept in `statements` ("user:yyyymm"): a statement reads its own month's rows
and, at most, the months since the last one kept; the first one walks the account's history once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, DESCENDING

from backend.config import Settings
from backend.db import Doc, Store
from backend.errors import ErrorCode, InvalidRequest
from backend.ledger import (
    BILL_PAYMENT,
    DEPOSIT,
    DONE,
    REVERSAL,
    TRANSFER,
    WITHDRAWAL,
    Kind,
    Ledger,
    listing_keys,
)

BATCH = 200  # records per cursor batch when streaming (a real MongoDB would send up to 16 MiB)
SETTLED_MS = 3_600_000  # a month's totals are kept once it has been over for an hour
FAR = 10**13 - 1  # the last 13-digit millisecond (year 2286): "no end"
CURSOR_LENGTH = 13 + 25  # booked (13 digits) + movement id (25 hex)
MIGRATED = "migration:listing-keys"  # counters doc: records booked before these keys got them


class KindFilter(StrEnum):
    """What a history can be filtered to (each a kind seen from one side, or two)."""

    TRANSFERS_IN = "transfers_in"
    TRANSFERS_OUT = "transfers_out"
    BILLS_PAID = "bills_paid"
    BILLS_RECEIVED = "bills_received"
    CASH = "cash"  # top-ups (deposits) and withdrawals
    REVERSALS = "reversals"


SIDES: dict[KindFilter, tuple[tuple[str, Kind], ...]] = {
    KindFilter.TRANSFERS_IN: (("dst", TRANSFER),),
    KindFilter.TRANSFERS_OUT: (("src", TRANSFER),),
    KindFilter.BILLS_PAID: (("src", BILL_PAYMENT),),
    KindFilter.BILLS_RECEIVED: (("dst", BILL_PAYMENT),),
    KindFilter.CASH: (("dst", DEPOSIT), ("src", WITHDRAWAL)),
    KindFilter.REVERSALS: (("src", REVERSAL), ("dst", REVERSAL)),
}


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month: Month(2026, 11), str() "2026-11"."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """ "2026-11" → Month(2026, 11); InvalidRequest otherwise."""
        try:
            year, month = (int(part) for part in text.split("-"))
        except ValueError:
            year, month = 0, 0
        if not (2000 <= year <= 2999 and 1 <= month <= 12) or len(text) != 7:
            raise InvalidRequest("month must be YYYY-MM, e.g. 2026-11", ErrorCode.INVALID_REQUEST)
        return cls(year, month)

    @classmethod
    def of(cls, ms: int, timezone: str) -> Month:
        """The month an instant falls in, in `timezone`."""
        moment = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone))
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def number(self) -> int:
        """yyyymm."""
        return self.year * 100 + self.month

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def start(self, timezone: str) -> int:
        """Epoch ms of its first instant (00:00 on the 1st, in `timezone`)."""
        first = datetime(self.year, self.month, 1, tzinfo=ZoneInfo(timezone))
        return int(first.timestamp() * 1000)

    def bounds(self, timezone: str) -> tuple[int, int]:
        """[start, end) in epoch ms."""
        return self.start(timezone), self.next().start(timezone)


@dataclass(frozen=True)
class Row:
    """One booked movement as a statement line, from its account holder's side."""

    record: Doc
    booked_at: int
    amount: int  # signed: + in, − out
    counterparty: str | None
    balance: int = 0  # after this movement (running balance)


@dataclass(frozen=True)
class Totals:
    """A month of one account: opening, money in and out, closing, movements."""

    month: Month
    opening: int
    money_in: int
    money_out: int
    count: int

    @property
    def closing(self) -> int:
        return self.opening + self.money_in - self.money_out


@dataclass
class Tally:
    """Money in, money out and the number of movements, added up row by row."""

    money_in: int = 0
    money_out: int = 0
    count: int = 0

    def add(self, row: Row) -> None:
        self.count += 1
        if row.amount > 0:
            self.money_in += row.amount
        else:
            self.money_out -= row.amount

    def totals(self, month: Month, opening: int) -> Totals:
        return Totals(month, opening, self.money_in, self.money_out, self.count)


def row_of(record: Doc, username: str) -> Row:
    """A record as its party `username` sees it."""
    outgoing = record["src"] == username
    return Row(
        record,
        record["done_at"],
        -record["amount"] if outgoing else record["amount"],
        record["dst"] if outgoing else record["src"],
    )


def _merged(queries: Iterable[Iterator[Doc]], *, newest_first: bool) -> Iterator[Doc]:
    """Several cursors, each in booked order, as one (ties broken by id, like the keys)."""
    return heapq.merge(*queries, key=lambda r: (r["done_at"], r["_id"]), reverse=newest_first)


class Statements:
    """Reads the ledger by period, kind and counterparty, and keeps months' totals."""

    def __init__(self, store: Store, ledger: Ledger, settings: Settings) -> None:
        self.store = store
        self.ledger = ledger
        self.timezone = settings.limits_timezone

    # ---- listing ------------------------------------------------------------------------

    def history(
        self,
        username: str,
        *,
        limit: int,
        cursor: str | None,
        month: Month | None = None,
        kind: KindFilter | None = None,
        counterparty: str | None = None,
    ) -> tuple[list[Doc], str | None]:
        """One page of a user's movements, newest first, and the cursor of the next page.

        Unfiltered: the ledger's own listing (in the order movements began). Filtered: by the
        instant they were booked, through the key that narrows most (counterparty, else kind,
        else period); a kind asked with a counterparty is checked on that pair's movements.
        """
        if month is None and kind is None and counterparty is None:
            return self.ledger.history(username, limit=limit, cursor=cursor)
        start, end = month.bounds(self.timezone) if month else (0, FAR)
        upper = f"{end:013d}"
        if cursor is not None:
            booked, movement_id = _parse_cursor(cursor)
            upper = min(upper, f"{booked:013d}:{movement_id}")
        sides = SIDES[kind] if kind else (("src", None), ("dst", None))
        if counterparty is not None:
            ranges = [(f"{side}_with", f"{username}:{counterparty}:") for side in ("src", "dst")]
        elif kind is not None:
            ranges = [(f"{side}_kind", f"{username}:{k}:") for side, k in sides]
        else:
            ranges = [(f"{side}_at", f"{username}:") for side in ("src", "dst")]
        wanted = {(side, k) for side, k in sides} if counterparty and kind else None
        take = 0 if wanted else limit + 1  # a page needs at most limit + 1 of each range (0: all)
        found = _merged(
            (
                self._range(key, prefix + f"{start:013d}", prefix + upper, newest_first=True, limit=take)
                for key, prefix in ranges
            ),
            newest_first=True,
        )
        page: list[Doc] = []
        for record in found:
            if wanted is not None and (_side(record, username), record["kind"]) not in wanted:
                continue
            page.append(record)
            if len(page) > limit:
                break
        more = len(page) > limit
        page = page[:limit]
        return page, (f"{page[-1]['done_at']:013d}{page[-1]['_id']}" if more else None)

    def _range(self, key: str, low: str, high: str, *, newest_first: bool, limit: int = 0) -> Iterator[Doc]:
        """Records whose `key` is in [low, high), in key order (a cursor, read as it is used, in
        batches of BATCH: memory by batch, not by month, on any server); at most `limit` (0: all)."""
        order = DESCENDING if newest_first else ASCENDING
        query = self.store.ledger.find({key: {"$gte": low, "$lt": high}}).sort(key, order)
        return iter(query.limit(limit).batch_size(BATCH))

    def booked(self, username: str, start: int, end: int) -> Iterator[Row]:
        """Every movement of `username` booked in [start, end), oldest first, streamed."""
        low, high = f"{start:013d}", f"{end:013d}"
        queries = (
            self._range(f"{s}_at", f"{username}:{low}", f"{username}:{high}", newest_first=False)
            for s in ("src", "dst")
        )
        for record in _merged(queries, newest_first=False):
            yield row_of(record, username)

    # ---- months -------------------------------------------------------------------------

    def rows(self, username: str, month: Month, opening: int | None = None) -> Iterator[Row]:
        """The month's movements with their running balance, oldest first, streamed (from
        `opening`, the month's opening balance, when the caller has it already)."""
        balance = self.opening(username, month) if opening is None else opening
        for row in self.booked(username, *month.bounds(self.timezone)):
            balance += row.amount
            yield replace(row, balance=balance)

    def totals(self, username: str, month: Month) -> Totals:
        """The month's opening, money in and out, and closing (kept once the month is over)."""
        kept = self.store.statements.find_one({"_id": _month_key(username, month)})
        if kept is not None:
            return _totals_of(kept)
        return self._count(username, month, self.opening(username, month))

    def opening(self, username: str, month: Month) -> int:
        """The balance the account had when `month` began: the closing of the month before."""
        newest = list(
            self.store.statements.find({"_id": {"$gte": f"{username}:", "$lt": _month_key(username, month)}})
            .sort("_id", DESCENDING)
            .limit(1)
        )
        if newest:
            kept = _totals_of(newest[0])
            balance, walk = kept.closing, kept.month.next()
        else:
            first = self._first_booked(username)
            if first is None:
                return 0
            balance, walk = 0, Month.of(first, self.timezone)
        while walk < month:  # months since the newest kept one: counted once, then kept
            balance = self._count(username, walk, balance).closing
            walk = walk.next()
        return balance

    def _count(self, username: str, month: Month, opening: int) -> Totals:
        """Add up one month from its opening balance, and keep it when it is over."""
        tally = Tally()
        for row in self.booked(username, *month.bounds(self.timezone)):
            tally.add(row)
        totals = tally.totals(month, opening)
        if month.bounds(self.timezone)[1] + SETTLED_MS <= self.ledger.clock():
            doc = {
                "_id": _month_key(username, month),
                "user": username,
                "month": month.number,
                "opening": opening,
                "money_in": totals.money_in,
                "money_out": totals.money_out,
                "count": totals.count,
            }
            self.store.statements.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return totals

    def _first_booked(self, username: str) -> int | None:
        """When the account's first movement was booked, or None."""
        firsts = [
            doc["done_at"]
            for side in ("src", "dst")
            for doc in self.store.ledger.find({f"{side}_at": {"$gt": f"{username}:", "$lt": f"{username};"}})
            .sort(f"{side}_at", ASCENDING)
            .limit(1)
        ]
        return min(firsts) if firsts else None

    def current_month(self) -> Month:
        """The month it is now (by the ledger's clock)."""
        return Month.of(self.ledger.clock(), self.timezone)

    def month(self, text: str | None) -> Month:
        """A month people ask for: "this" (or nothing), "last", or "YYYY-MM" up to this one."""
        now = self.current_month()
        if text in (None, "", "this"):
            return now
        if text == "last":
            return now.previous()
        month = Month.parse(text)
        if month > now:
            raise InvalidRequest(f"{month} has not begun yet", ErrorCode.INVALID_REQUEST)
        return month

    # ---- insights -----------------------------------------------------------------------

    def insights(self, username: str, *, months: int = 6, by: str = "counterparty") -> Doc:
        """Money in and out of the last `months` months, and where this month's money went
        (by counterparty, or by kind), biggest first."""
        now = self.current_month()
        series = [now]
        while len(series) < months:
            series.insert(0, series[0].previous())
        per_month = [self.totals(username, m) for m in series[:-1]]  # the months that are over
        # this month, read once: its totals (from last month's closing) and where its money went
        tally, spent = Tally(), dict[tuple[str | None, str | None], int]()
        for row in self.booked(username, *now.bounds(self.timezone)):
            tally.add(row)
            if row.amount < 0:
                party = row.counterparty if by == "counterparty" else None
                key = (party, None if party else row.record["kind"])
                spent[key] = spent.get(key, 0) - row.amount
        opening = per_month[-1].closing if per_month else self.opening(username, now)
        per_month.append(tally.totals(now, opening))
        ranked = sorted(spent.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1] or ""))
        return {
            "month": str(now),
            "months": [
                {"month": str(t.month), "money_in": t.money_in, "money_out": t.money_out} for t in per_month
            ],
            "by": by,
            "spent": [{"counterparty": p, "kind": k, "amount": v} for (p, k), v in ranked],
            "balance": per_month[-1].closing,
        }

    # ---- admin --------------------------------------------------------------------------

    def export(
        self, start: int, end: int, *, kind: Kind | None = None, username: str | None = None
    ) -> Iterator[Doc]:
        """Every movement booked in [start, end), oldest first, streamed: one party's through its
        keys, else the whole ledger's through `done_at`; `kind` checked as records pass."""
        if username is not None:
            records: Iterator[Doc] = (row.record for row in self.booked(username, start, end))
        else:
            records = iter(
                self.store.ledger.find({"done_at": {"$gte": start, "$lt": end}})
                .sort("done_at", ASCENDING)
                .batch_size(BATCH)
            )
        for record in records:
            if record["state"] == DONE and (kind is None or record["kind"] == kind):
                yield record

    def balances_as_of(self, end: int) -> tuple[dict[str, int], dict[str, int]]:
        """Every account's balance from the movements booked before `end` (one pass over the
        ledger, streamed; memory by accounts, not movements), and the totals by kind."""
        balances: dict[str, int] = {}
        totals = {str(k): 0 for k in Kind}
        for record in self.store.ledger.find({"done_at": {"$lt": end}}, _AMOUNTS).batch_size(BATCH):
            if record.get("state") != DONE:
                continue
            amount = record["amount"]
            totals[record["kind"]] += amount
            if record["src"] is not None:
                balances[record["src"]] = balances.get(record["src"], 0) - amount
            if record["dst"] is not None:
                balances[record["dst"]] = balances.get(record["dst"], 0) + amount
        return balances, totals

    def reconcile_as_of(self, end: int) -> Doc:
        """The reconciliation at an instant in the past, from the ledger alone: Σ of every
        account's balance then = Σ deposits − Σ withdrawals booked before it, none negative."""
        balances, totals = self.balances_as_of(end)
        total = sum(balances.values())
        expected = totals[DEPOSIT] - totals[WITHDRAWAL]
        negative = sum(1 for b in balances.values() if b < 0)
        return {
            "ok": total == expected and negative == 0,
            "total_balances": total,
            "total_deposits": totals[DEPOSIT],
            "total_withdrawals": totals[WITHDRAWAL],
            "accounts": len(balances),
            "negative_balances": negative,
            "volume": {k: v for k, v in totals.items() if k not in (DEPOSIT, WITHDRAWAL)},
        }

    # ---- migration ----------------------------------------------------------------------

    def migrate(self) -> int:
        """At start-up, once: give the records booked before these listing keys existed their
        keys (their `done_at`, else their last update); returns the records changed."""
        if self.store.counters.find_one({"_id": MIGRATED}, {"_id": 1}) is not None:
            return 0
        changed = 0
        for record in self.store.ledger.find({"state": DONE}, _KEYED):
            if any(key in record for key in ("src_at", "dst_at")):
                continue
            booked = record.get("done_at") or record["updated_at"]
            fields = {**listing_keys({**record, "done_at": booked}), "done_at": booked}
            self.store.ledger.update_one({"_id": record["_id"], "state": DONE}, {"$set": fields})
            changed += 1
        self.store.counters.replace_one({"_id": MIGRATED}, {"_id": MIGRATED}, upsert=True)
        return changed


_AMOUNTS = {"kind": 1, "amount": 1, "src": 1, "dst": 1, "state": 1}
_KEYED = {"kind": 1, "src": 1, "dst": 1, "seq": 1, "done_at": 1, "updated_at": 1, "src_at": 1, "dst_at": 1}


def _side(record: Doc, username: str) -> str:
    return "src" if record["src"] == username else "dst"


def _month_key(username: str, month: Month) -> str:
    return f"{username}:{month.number}"


def _totals_of(doc: Doc) -> Totals:
    number = int(doc["month"])
    return Totals(
        Month(number // 100, number % 100), doc["opening"], doc["money_in"], doc["money_out"], doc["count"]
    )


def _parse_cursor(cursor: str) -> tuple[int, str]:
    """A filtered page's cursor: booked (13 digits) + movement id."""
    if len(cursor) != CURSOR_LENGTH or not cursor[:13].isdigit():
        raise InvalidRequest("this cursor is not one of a filtered history", ErrorCode.INVALID_REQUEST)
    return int(cursor[:13]), cursor[13:]


def summary_fields(totals: Totals) -> dict[str, Any]:
    """A month's totals as the API answers them."""
    return {
        "month": str(totals.month),
        "opening": totals.opening,
        "money_in": totals.money_in,
        "money_out": totals.money_out,
        "closing": totals.closing,
        "count": totals.count,
    }
