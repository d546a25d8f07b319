"""The words around /history's filters, /statement and /insights: months, captions, typed filters."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.history import _filters_from_args, describe_filters, parse_month, recent_months
from bot.statements import insights_caption, statement_caption

# 2026-12-31 18:00 UTC is already 2027-01-01 01:00 in Jakarta (WIB, UTC+7)
NEW_YEAR_WIB = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)


def test_months_are_counted_in_jakarta_time() -> None:
    assert recent_months(3, NEW_YEAR_WIB) == ["2027-01", "2026-12", "2026-11"]
    assert recent_months(2, datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == ["2026-12", "2026-11"]


def test_a_typed_month() -> None:
    assert parse_month("2026-10", NEW_YEAR_WIB) == "2026-10"
    assert parse_month("2026-1", NEW_YEAR_WIB) == "2026-01"
    assert parse_month("10/2026", NEW_YEAR_WIB) == "2026-10"
    assert parse_month("2027-01", NEW_YEAR_WIB) == "2027-01"  # this month, in Jakarta
    for bad in ("2027-02", "2026-13", "2026-00", "1999-12", "oktober", "2026-10-01", ""):
        assert parse_month(bad, NEW_YEAR_WIB) is None, bad


def test_typed_history_filters() -> None:
    assert _filters_from_args([]) == {}
    assert _filters_from_args(["@Sari_1"]) == {"counterparty": "sari_1"}
    assert _filters_from_args(["budi", "2026-10"]) == {"counterparty": "budi", "month": "2026-10"}
    for bad in (["2026-13"], ["@a"], ["budi", "sari"], ["2999-01"], ["a b"]):
        assert _filters_from_args(bad) is None, bad


def test_filters_in_words() -> None:
    assert describe_filters("en", {}) == ""
    words = describe_filters("id", {"month": "2026-10", "kind": "transfers_out", "counterparty": "sari"})
    assert words == "Oktober 2026 · Transfer keluar · @sari"


def test_statement_caption_from_the_backend_figures() -> None:
    headers = {
        "x-statement-opening": "1000",
        "x-statement-money-in": "250000",
        "x-statement-money-out": "51000",
        "x-statement-closing": "200000",
        "x-statement-count": "4",
    }
    caption = statement_caption("en", "October 2026", headers)
    assert caption.splitlines() == [
        "E-statement October 2026",
        "Opening balance: Rp1.000",
        "Money in: Rp250.000",
        "Money out: Rp51.000",
        "Closing balance: Rp200.000",
        "Transactions: 4",
    ]


def test_insights_caption() -> None:
    figures = {
        "month": "2026-12",
        "months": [{"month": "2026-11", "money_in": 0, "money_out": 0}]
        + [{"month": "2026-12", "money_in": 500000, "money_out": 120000}],
        "spent": [{"counterparty": "sari", "kind": None, "amount": 80000}],
    }
    assert insights_caption("en", figures) == (
        "December 2026: Rp500.000 in, Rp120.000 out. Most went to @sari (Rp80.000)."
    )
    by_kind = {**figures, "spent": [{"counterparty": None, "kind": "withdrawal", "amount": 120000}]}
    assert insights_caption("id", by_kind) == (
        "Desember 2026: masuk Rp500.000, keluar Rp120.000. Paling banyak: Penarikan (Rp120.000)."
    )
    assert insights_caption("en", {**figures, "spent": []}).endswith("Nothing went out yet.")
