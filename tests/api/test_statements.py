"""Statements, history filters, insights, the admin's export and the reconciliation as of a day.

Movements are booked at chosen instants by moving the ledger's clock (a movement counts in the
month of `ledger.clock()` when it finishes); months are calendar months in Asia/Jakarta (UTC+7).
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from backend.config import Settings
from backend.db import now_ms
from backend.documents import LEDGER_COLUMNS
from backend.main import create_app
from backend.texts import rupiah
from tests.conftest import OtpInbox, make_settings
from tests.support.wallet_client import Actor, WalletClient, new_key

JAKARTA = ZoneInfo("Asia/Jakarta")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def settings(mongo_uri: str, tmp_path: Path) -> Settings:
    """The shared test settings, with room for the many OTPs one user asks for here."""
    return make_settings(mongo_uri, tmp_path, otp_requests_per_window=1000)


# ---- helpers -------------------------------------------------------------------------------------


def wib(text: str) -> int:
    """ "2026-10-31 23:59" (or with seconds) in Asia/Jakarta → epoch ms."""
    moment = datetime.fromisoformat(text).replace(tzinfo=JAKARTA)
    return int(moment.timestamp() * 1000)


def utc(text: str) -> int:
    """ "2026-10-31 16:59" in UTC → epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def book_at(client: TestClient, ms: int) -> None:
    """Whatever finishes next is booked at `ms`."""
    client.app.state.wallet.ledger.clock = lambda: ms  # type: ignore[attr-defined]


def real_time(client: TestClient) -> None:
    """The ledger's clock back to the real one."""
    client.app.state.wallet.ledger.clock = now_ms  # type: ignore[attr-defined]


def this_month() -> str:
    """The month it is now in Jakarta, YYYY-MM."""
    return datetime.now(JAKARTA).strftime("%Y-%m")


def months_after(month: str, count: int) -> str:
    """ "2026-11" plus `count` months."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def ok(response: httpx.Response, status: int = 200) -> httpx.Response:
    """The response, asserted to have `status`."""
    assert response.status_code == status, response.text
    return response


def sent(actor: Actor, to: Actor, amount: int, description: str | None = None) -> str:
    """A transfer that must go through; its movement id."""
    return str(ok(actor.transfer(to.username, amount, description=description), 201).json()["id"])


def billed_and_paid(issuer: Actor, payer: Actor, amount: int) -> str:
    """A bill issued and paid; its code."""
    code = str(ok(issuer.bill(payer.username, amount), 201).json()["bill_code"])
    ok(payer.pay(code))
    return code


def reversed_by(admin: Actor, movement_id: str) -> str:
    """An admin reversal that must go through; its movement id."""
    path = f"/api/admin/ledger/{movement_id}/reverse"
    return str(ok(admin.post(path, {"reason": "sent by mistake"}, key=new_key()), 201).json()["id"])


def totals(actor: Actor, month: str, username: str | None = None) -> dict[str, Any]:
    """A month's statement totals (format=json)."""
    params = {"month": month, "format": "json", **({"username": username} if username else {})}
    return dict(ok(actor.get("/api/user/statement", params=params)).json())


def csv_rows(response: httpx.Response) -> list[list[str]]:
    """A CSV answer's lines (header first), without the BOM."""
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def pdf_text(content: bytes) -> str:
    """All the text of a PDF."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def shown_in(description: str, text: str) -> bool:
    """The description is a line of the PDF, whole or (too wide for its column) cut with "…"."""
    lines = text.splitlines()
    return description in lines or any(
        line.endswith("…") and len(line) > 20 and description.startswith(line[:-1]) for line in lines
    )


def history(actor: Actor, username: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a (filtered) history, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        paged = {**params, "cursor": cursor} if cursor else params
        page = ok(actor.get(f"/api/user/transfer/{username}", params=paged)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never ended")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def export(admin: Actor, start: str, end: str, **params: str) -> list[list[str]]:
    """The admin's ledger export for [start, end] (days), header first."""
    return csv_rows(ok(admin.get("/api/admin/ledger/export", params={"start": start, "end": end, **params})))


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert content.startswith(PNG_SIGNATURE)
    assert content[12:16] == b"IHDR"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


# ---- 1. statement arithmetic -------------------------------------------------------------------

MONTHS = ("2026-08", "2026-09", "2026-10", "2026-11")


@pytest.fixture
def story(client: TestClient, wallet_client: WalletClient) -> Iterator[dict[str, Actor]]:
    """Four months of alice, bob and carol: deposits, transfers both ways, a bill issued and paid,
    a withdrawal, and a transfer reversed the next month; then the clock back to now."""
    admin = wallet_client.admin()
    alice, bob, carol = (wallet_client.user(prefix=p) for p in ("alice", "bob", "carol"))
    book_at(client, wib("2026-08-10 12:00"))
    wallet_client.deposit(alice.username, 500_000)
    wallet_client.deposit(bob.username, 200_000)
    book_at(client, wib("2026-08-20 09:30"))
    sent(alice, bob, 50_000, "Sewa Agustus")
    book_at(client, wib("2026-09-06 18:00"))
    billed_and_paid(bob, alice, 30_000)
    book_at(client, wib("2026-09-15 08:00"))
    sent(bob, carol, 20_000)
    book_at(client, wib("2026-10-03 10:00"))
    ok(wallet_client.admin_money("withdraw", alice.username, 100_000), 201)
    book_at(client, wib("2026-10-31 12:00"))
    gift = sent(alice, carol, 40_000, "Patungan kado")
    book_at(client, wib("2026-11-02 11:00"))
    reversed_by(admin, gift)
    book_at(client, wib("2026-11-10 15:00"))
    wallet_client.deposit(carol.username, 10_000)
    sent(carol, bob, 5_000)
    real_time(client)
    yield {"alice": alice, "bob": bob, "carol": carol, "admin": admin}


# (opening, money_in, money_out, closing, count) for each of MONTHS
EXPECTED = {
    "alice": [
        (0, 500_000, 50_000, 450_000, 2),
        (450_000, 0, 30_000, 420_000, 1),
        (420_000, 0, 140_000, 280_000, 2),
        (280_000, 40_000, 0, 320_000, 1),
    ],
    "bob": [
        (0, 250_000, 0, 250_000, 2),
        (250_000, 30_000, 20_000, 260_000, 2),
        (260_000, 0, 0, 260_000, 0),
        (260_000, 5_000, 0, 265_000, 1),
    ],
    "carol": [
        (0, 0, 0, 0, 0),
        (0, 20_000, 0, 20_000, 1),
        (20_000, 40_000, 0, 60_000, 1),
        (60_000, 10_000, 45_000, 25_000, 3),
    ],
}
FIELDS = ("opening", "money_in", "money_out", "closing", "count")


def test_statement_totals_add_up_month_after_month(story: dict[str, Actor]) -> None:
    for name, expected in EXPECTED.items():
        actor = story[name]
        months = [totals(actor, month) for month in MONTHS]
        for month, got, want in zip(MONTHS, months, expected, strict=True):
            assert got["month"] == month and got["username"] == actor.username
            assert tuple(got[f] for f in FIELDS) == want, (name, month, got)
            assert got["opening"] + got["money_in"] - got["money_out"] == got["closing"]
        for before, after in zip(months, months[1:], strict=False):
            assert before["closing"] == after["opening"], (name, before, after)
        now = totals(actor, "this")
        assert now["opening"] == months[-1]["closing"] and now["count"] == 0
        assert now["closing"] == months[-1]["closing"] == actor.balance()


def test_statement_csv_rows_run_from_opening_to_closing(story: dict[str, Actor]) -> None:
    for name in EXPECTED:
        actor = story[name]
        for month in MONTHS:
            summary = totals(actor, month)
            response = ok(actor.get("/api/user/statement", params={"month": month, "format": "csv"}))
            header, *rows = csv_rows(response)
            assert len(header) == 7 and len(rows) == summary["count"], (name, month, rows)
            amounts = [int(row[5]) for row in rows]
            assert sum(amounts) == summary["closing"] - summary["opening"]
            running = summary["opening"]
            for row, amount in zip(rows, amounts, strict=True):
                running += amount
                assert int(row[6]) == running, (name, month, row)
            assert running == summary["closing"]
            assert all(row[0].startswith(month) for row in rows)


def test_statement_pdf_shows_holder_period_figures_and_every_row(story: dict[str, Actor]) -> None:
    cases = (("alice", "2026-11", "en", "November 2026"), ("carol", "2026-10", "id", "Oktober 2026"))
    for name, month, lang, period in cases:
        actor = story[name]
        summary = totals(actor, month)
        params = {"month": month, "format": "pdf", "lang": lang}
        response = ok(actor.get("/api/user/statement", params=params))
        assert response.headers["content-type"] == "application/pdf"
        for field in (*FIELDS, "month"):
            header = "X-Statement-" + field.replace("_", "-").title()
            assert response.headers[header] == str(summary[field]), header
        text = pdf_text(response.content)
        assert f"@{actor.username}" in text and period in text
        assert rupiah(summary["opening"]) in text and rupiah(summary["closing"]) in text
        csv_params = {"month": month, "format": "csv", "lang": lang}
        _, *rows = csv_rows(ok(actor.get("/api/user/statement", params=csv_params)))
        assert rows
        for row in rows:
            assert shown_in(row[3], text), (row[3], text)
            assert rupiah(int(row[6])) in text


def test_statement_of_a_month_that_is_over_is_kept_and_answers_the_same(
    client: TestClient, story: dict[str, Actor]
) -> None:
    carol = story["carol"]
    statements = client.app.state.wallet.store.statements  # type: ignore[attr-defined]
    first = totals(carol, "2026-11")
    kept = statements.find_one({"_id": f"{carol.username}:202611"})
    assert kept is not None and (kept["opening"], kept["money_in"], kept["money_out"]) == (
        60_000,
        10_000,
        45_000,
    )
    assert statements.find_one({"_id": f"{carol.username}:202609"}) is not None  # walked and kept
    assert statements.find_one({"_id": f"{carol.username}:{this_month().replace('-', '')}"}) is None
    assert totals(carol, "2026-11") == first
    assert totals(carol, "2026-10")["closing"] == first["opening"]
    assert totals(carol, "this")["opening"] == first["closing"]


# ---- 2. time-zone edges ------------------------------------------------------------------------


def test_a_month_ends_at_midnight_in_jakarta(client: TestClient, wallet_client: WalletClient) -> None:
    dewi, admin = wallet_client.user(prefix="dewi"), wallet_client.admin()
    edges = (
        (utc("2026-10-31 16:59:00"), 1_000, "2026-10"),  # 23:59 WIB on the 31st
        (utc("2026-10-31 16:59:59.999"), 2_000, "2026-10"),
        (utc("2026-10-31 17:00:00"), 4_000, "2026-11"),  # 00:00 WIB on the 1st
        (utc("2026-10-31 17:01:00"), 8_000, "2026-11"),  # 00:01 WIB
    )
    assert wib("2026-10-31 23:59") == edges[0][0] and wib("2026-11-01 00:01") == edges[3][0]
    for ms, amount, _ in edges:
        book_at(client, ms)
        wallet_client.deposit(dewi.username, amount)
    real_time(client)
    october, november = totals(dewi, "2026-10"), totals(dewi, "2026-11")
    assert (october["money_in"], october["count"], october["closing"]) == (3_000, 2, 3_000)
    assert (november["opening"], november["money_in"], november["count"]) == (3_000, 12_000, 2)
    params = {"format": "csv"}
    _, *oct_rows = csv_rows(ok(dewi.get("/api/user/statement", params={**params, "month": "2026-10"})))
    _, *nov_rows = csv_rows(ok(dewi.get("/api/user/statement", params={**params, "month": "2026-11"})))
    assert [(row[0], int(row[5])) for row in oct_rows] == [
        ("2026-10-31 23:59:00", 1_000),
        ("2026-10-31 23:59:59", 2_000),
    ]
    assert [(row[0], int(row[5])) for row in nov_rows] == [
        ("2026-11-01 00:00:00", 4_000),
        ("2026-11-01 00:01:00", 8_000),
    ]
    by_month = {m: history(dewi, dewi.username, month=m) for m in ("2026-10", "2026-11")}
    assert [i["amount"] for i in by_month["2026-10"]] == [2_000, 1_000]
    assert [i["amount"] for i in by_month["2026-11"]] == [8_000, 4_000]
    last_day = export(admin, "2026-10-31", "2026-10-31", username=dewi.username)
    first_day = export(admin, "2026-11-01", "2026-11-01", username=dewi.username)
    amount = LEDGER_COLUMNS.index("amount")
    assert [int(row[amount]) for row in last_day[1:]] == [1_000, 2_000]
    assert [int(row[amount]) for row in first_day[1:]] == [4_000, 8_000]
    whole = export(admin, "2026-10-31", "2026-10-31")
    assert [int(row[amount]) for row in whole[1:]] == [1_000, 2_000]


# ---- 3. history filters ------------------------------------------------------------------------


KINDS = ("transfers_in", "transfers_out", "bills_paid", "bills_received", "cash", "reversals")


@pytest.fixture
def busy(client: TestClient, wallet_client: WalletClient) -> dict[str, Any]:
    """Alice's busy November (and one October transfer), each movement a minute after the last."""
    admin = wallet_client.admin()
    alice, bob, carol = (wallet_client.user(prefix=p) for p in ("alice", "bob", "carol"))
    minute = iter(range(10_000))
    made: dict[str, str] = {}

    def step(start: str = "2026-11-05 08:00") -> None:
        book_at(client, wib(start) + 60_000 * next(minute))

    book_at(client, wib("2026-10-20 10:00"))
    wallet_client.deposit(alice.username, 1_000_000)
    wallet_client.deposit(bob.username, 100_000)
    made["october"] = sent(alice, bob, 10_000)
    for amount in (1_000, 2_000, 3_000):
        step()
        made[f"out{amount}"] = sent(alice, bob, amount)
    for amount in (4_000, 5_000):
        step()
        made[f"in{amount}"] = sent(bob, alice, amount)
    step()
    made["to_carol"] = sent(alice, carol, 6_000)
    step()
    billed_and_paid(bob, alice, 7_000)
    step()
    billed_and_paid(alice, bob, 8_000)
    step()
    ok(wallet_client.admin_money("withdraw", alice.username, 9_000), 201)
    step()
    made["reversal"] = reversed_by(admin, made["to_carol"])
    real_time(client)
    return {"alice": alice, "bob": bob, "carol": carol, "admin": admin, "made": made}


def test_kind_filters_see_each_movement_from_its_side(busy: dict[str, Any]) -> None:
    alice, bob = busy["alice"], busy["bob"]
    seen = {kind: history(alice, alice.username, kind=kind) for kind in KINDS}
    assert [i["amount"] for i in seen["transfers_out"]] == [-6_000, -3_000, -2_000, -1_000, -10_000]
    assert [i["amount"] for i in seen["transfers_in"]] == [5_000, 4_000]
    assert [(i["kind"], i["amount"]) for i in seen["bills_paid"]] == [("bill_payment", -7_000)]
    assert [(i["kind"], i["amount"]) for i in seen["bills_received"]] == [("bill_payment", 8_000)]
    assert [(i["kind"], i["amount"]) for i in seen["cash"]] == [
        ("withdrawal", -9_000),
        ("deposit", 1_000_000),
    ]
    assert [(i["id"], i["amount"]) for i in seen["reversals"]] == [(busy["made"]["reversal"], 6_000)]
    everything = history(alice, alice.username, month="2026-11") + history(
        alice, alice.username, month="2026-10"
    )
    assert sorted(ids(everything)) == sorted(i for kind in KINDS for i in ids(seen[kind]))
    from_bob = {kind: [i["amount"] for i in history(bob, bob.username, kind=kind)] for kind in KINDS}
    assert from_bob["bills_paid"] == [-8_000] and from_bob["bills_received"] == [7_000]
    assert from_bob["transfers_in"] == [3_000, 2_000, 1_000, 10_000]
    assert from_bob["transfers_out"] == [-5_000, -4_000] and from_bob["cash"] == [100_000]
    assert from_bob["reversals"] == []
    carol_reversals = history(busy["carol"], busy["carol"].username, kind="reversals")
    assert [i["amount"] for i in carol_reversals] == [-6_000]


def test_counterparty_month_and_combined_filters(busy: dict[str, Any]) -> None:
    alice, bob, carol = busy["alice"], busy["bob"], busy["carol"]
    with_bob = history(alice, alice.username, counterparty=bob.username)
    assert sorted(abs(i["amount"]) for i in with_bob) == [
        1_000,
        2_000,
        3_000,
        4_000,
        5_000,
        7_000,
        8_000,
        10_000,
    ]
    assert all(i["counterparty"] == bob.username for i in with_bob)
    with_carol = history(alice, alice.username, counterparty=carol.username.upper())
    assert [(i["kind"], i["amount"]) for i in with_carol] == [("reversal", 6_000), ("transfer", -6_000)]
    out_to_bob = history(alice, alice.username, kind="transfers_out", counterparty=bob.username)
    assert [i["amount"] for i in out_to_bob] == [-3_000, -2_000, -1_000, -10_000]
    in_from_bob_november = history(
        alice, alice.username, kind="transfers_in", counterparty=bob.username, month="2026-11"
    )
    assert [i["amount"] for i in in_from_bob_november] == [5_000, 4_000]
    assert history(alice, alice.username, kind="cash", counterparty=bob.username) == []
    october = history(alice, alice.username, month="2026-10")
    assert [i["amount"] for i in october] == [-10_000, 1_000_000]
    assert (
        ids(history(alice, alice.username, month="2026-11", counterparty=bob.username)) == ids(with_bob)[:-1]
    )
    last = months_after(this_month(), -1)
    assert history(alice, alice.username, month="last") == history(alice, alice.username, month=last)
    assert history(alice, alice.username, month="this") == history(alice, alice.username, month=this_month())


def test_filtered_pages_have_no_duplicates_or_gaps_newest_first(busy: dict[str, Any]) -> None:
    alice, bob = busy["alice"], busy["bob"]
    for params in (
        {"counterparty": bob.username},
        {"kind": "transfers_out"},
        {"month": "2026-11"},
        {"month": "2026-10"},  # two movements booked in the same millisecond
        {"kind": "transfers_in", "counterparty": bob.username},
    ):
        whole = ok(alice.get(f"/api/user/transfer/{alice.username}", params={**params, "limit": 100})).json()
        assert whole["next_cursor"] is None
        for limit in (1, 2, 3):
            paged = history(alice, alice.username, **params, limit=limit)
            assert ids(paged) == ids(whole["items"]), (params, limit)
        booked = [i["booked_at"] for i in whole["items"]]
        assert booked == sorted(booked, reverse=True) and len(set(ids(whole["items"]))) == len(booked)
    first = ok(alice.get(f"/api/user/transfer/{alice.username}", params={"kind": "cash", "limit": 1})).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = alice.get(
        f"/api/user/transfer/{alice.username}",
        params={"kind": "cash", "limit": 1, "cursor": first["next_cursor"]},
    ).json()
    assert ids(rest["items"]) != ids(first["items"]) and rest["next_cursor"] is None


def test_history_filters_refuse_unknown_users_and_bad_months(busy: dict[str, Any]) -> None:
    alice = busy["alice"]
    path = f"/api/user/transfer/{alice.username}"
    unknown = alice.get(path, params={"counterparty": "nobody_here"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "user_not_found"
    for month in ("2026-13", "2026-00", months_after(this_month(), 1), "26-11", "2026-1"):
        refused = alice.get(path, params={"month": month})
        assert refused.status_code == 422, (month, refused.text)
        refused = alice.get("/api/user/statement", params={"month": month, "format": "json"})
        assert refused.status_code == 422, (month, refused.text)
    assert alice.get(path, params={"kind": "gifts"}).status_code == 422


# ---- 4. access and the documents quota ---------------------------------------------------------


def test_statements_and_insights_are_the_holders_and_the_admins(
    client: TestClient, wallet_client: WalletClient
) -> None:
    alice, bob, admin = wallet_client.user(5_000), wallet_client.user(7_000), wallet_client.admin()
    for path, fmt in (
        ("/api/user/statement", "json"),
        ("/api/user/statement", "pdf"),
        ("/api/user/insights", "json"),
    ):
        refused = alice.get(path, params={"format": fmt, "username": bob.username})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", (path, fmt)
        assert client.get(path, params={"format": fmt}).status_code == 401
    assert alice.get(f"/api/user/transfer/{bob.username}", params={"kind": "cash"}).status_code == 403
    seen = totals(admin, "this", username=bob.username)
    assert seen["username"] == bob.username and seen["closing"] == 7_000
    chart = ok(admin.get("/api/user/insights", params={"format": "json", "username": bob.username})).json()
    assert chart["balance"] == 7_000
    pdf = ok(admin.get("/api/user/statement", params={"username": bob.username, "format": "pdf"}))
    assert f"@{bob.username}" in pdf_text(pdf.content) and pdf.headers["X-Statement-Closing"] == "7000"
    own = totals(alice, "this", username=alice.username.upper())
    assert own["username"] == alice.username and own["closing"] == 5_000
    missing = admin.get("/api/user/statement", params={"username": "nobody_here", "format": "json"})
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"


def test_documents_past_the_quota_are_refused_json_is_not_counted(
    mongo_uri: str, tmp_path: Path, otp_inbox: OtpInbox
) -> None:
    settings = make_settings(mongo_uri, tmp_path, documents_per_window=3)
    app = create_app(settings)
    with TestClient(app) as http:
        try:
            wallets = WalletClient(http, otp_inbox)
            alice = wallets.user(1_000)
            for _ in range(5):
                ok(alice.get("/api/user/statement", params={"format": "json"}))
                ok(alice.get("/api/user/insights", params={"format": "json"}))
            for path, fmt in (
                ("/api/user/statement", "pdf"),
                ("/api/user/statement", "csv"),
                ("/api/user/insights", "png"),
            ):
                ok(alice.get(path, params={"format": fmt}))
            for path, fmt in (
                ("/api/user/statement", "pdf"),
                ("/api/user/statement", "csv"),
                ("/api/user/insights", "png"),
            ):
                refused = alice.get(path, params={"format": fmt})
                assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests", fmt
            ok(alice.get("/api/user/statement", params={"format": "json"}))
            bob = wallets.user()
            ok(bob.get("/api/user/statement", params={"format": "csv"}))  # a quota per user
        finally:
            app.state.wallet.store.client.drop_database(settings.mongodb_db)


# ---- 5. insights -------------------------------------------------------------------------------


def test_insights_chart_and_figures(client: TestClient, wallet_client: WalletClient) -> None:
    alice, bob, carol = (wallet_client.user(prefix=p) for p in ("alice", "bob", "carol"))
    now = this_month()
    five_ago = months_after(now, -5)
    book_at(client, wib(f"{five_ago}-15 12:00"))
    wallet_client.deposit(alice.username, 300_000)
    book_at(client, wib(f"{months_after(now, -6)}-15 12:00"))  # before the six months: not shown
    wallet_client.deposit(bob.username, 1_000)
    real_time(client)
    sent(alice, bob, 10_000)
    sent(alice, carol, 30_000)
    sent(alice, bob, 5_000)
    ok(wallet_client.admin_money("withdraw", alice.username, 20_000), 201)
    billed_and_paid(carol, alice, 7_000)
    sent(bob, alice, 2_000)
    figures = ok(alice.get("/api/user/insights", params={"format": "json"})).json()
    assert figures["month"] == now
    assert [m["month"] for m in figures["months"]] == [months_after(now, k) for k in range(-5, 1)]
    for flow in figures["months"]:
        month = totals(alice, flow["month"])
        assert (flow["money_in"], flow["money_out"]) == (month["money_in"], month["money_out"]), flow
    assert figures["months"][0]["money_in"] == 300_000 and figures["months"][-1]["money_out"] == 72_000
    assert figures["balance"] == alice.balance() == 230_000
    assert [(s["counterparty"], s["kind"], s["amount"]) for s in figures["spent"]] == [
        (carol.username, None, 37_000),
        (None, "withdrawal", 20_000),
        (bob.username, None, 15_000),
    ]
    by_kind = ok(alice.get("/api/user/insights", params={"format": "json", "by": "kind"})).json()
    assert by_kind["by"] == "kind"
    assert [(s["counterparty"], s["kind"], s["amount"]) for s in by_kind["spent"]] == [
        (None, "transfer", 45_000),
        (None, "withdrawal", 20_000),
        (None, "bill_payment", 7_000),
    ]
    for lang in ("en", "id"):
        chart = ok(alice.get("/api/user/insights", params={"format": "png", "lang": lang}))
        assert chart.headers["content-type"] == "image/png"
        assert png_size(chart.content) == (1200, 600)
    empty = ok(carol.get("/api/user/insights", params={"format": "png", "by": "kind"}))
    assert png_size(empty.content) == (1200, 600)


# ---- 6. the admin's export and the reconciliation as of a day ----------------------------------


@pytest.fixture
def october(client: TestClient, wallet_client: WalletClient) -> dict[str, Any]:
    """An October in a fresh ledger (and one November deposit)."""
    admin = wallet_client.admin()
    alice, bob, carol = (wallet_client.user(prefix=p) for p in ("alice", "bob", "carol"))
    book_at(client, wib("2026-10-05 09:00"))
    wallet_client.deposit(alice.username, 100_000)
    book_at(client, wib("2026-10-05 09:01"))  # the whole-ledger export orders by booked time only
    wallet_client.deposit(bob.username, 50_000)
    book_at(client, wib("2026-10-06 09:00"))
    sneaky = sent(alice, bob, 10_000, '=HYPERLINK("http://evil.example","click")')
    book_at(client, wib("2026-10-07 09:00"))
    ok(wallet_client.admin_money("withdraw", bob.username, 5_000), 201)
    book_at(client, wib("2026-10-20 09:00"))
    sent(bob, alice, 1_000, "+1 for lunch")
    book_at(client, wib("2026-11-02 09:00"))
    wallet_client.deposit(carol.username, 7_000)
    real_time(client)
    return {"alice": alice, "bob": bob, "carol": carol, "admin": admin, "sneaky": sneaky}


def test_admin_ledger_export(october: dict[str, Any]) -> None:
    admin, alice, bob = october["admin"], october["alice"], october["bob"]
    header, *lines = export(admin, "2026-10-01", "2026-10-31")
    assert header == list(LEDGER_COLUMNS)
    col = {name: LEDGER_COLUMNS.index(name) for name in LEDGER_COLUMNS}
    assert [(r[col["kind"]], int(r[col["amount"]])) for r in lines] == [
        ("deposit", 100_000),
        ("deposit", 50_000),
        ("transfer", 10_000),
        ("withdrawal", 5_000),
        ("transfer", 1_000),
    ]
    assert [r[col["booked_at"]][:10] for r in lines] == ["2026-10-05"] * 2 + [
        "2026-10-06",
        "2026-10-07",
        "2026-10-20",
    ]
    sneaky = next(r for r in lines if r[col["id"]] == october["sneaky"])
    assert sneaky[col["description"]] == '\'=HYPERLINK("http://evil.example","click")'
    assert lines[-1][col["description"]] == "'+1 for lunch"
    assert lines[0][col["src"]] == "" and lines[0][col["dst"]] == alice.username
    deposits = export(admin, "2026-10-01", "2026-10-31", kind="deposit")[1:]
    assert [r[col["dst"]] for r in deposits] == [alice.username, bob.username]
    of_bob = export(admin, "2026-10-01", "2026-10-31", username=bob.username)[1:]
    assert [r[col["kind"]] for r in of_bob] == ["deposit", "transfer", "withdrawal", "transfer"]
    both = export(admin, "2026-10-01", "2026-10-31", username=bob.username.upper(), kind="transfer")[1:]
    assert [int(r[col["amount"]]) for r in both] == [10_000, 1_000]
    assert len(export(admin, "2026-10-01", "2026-11-30")) == 1 + 6
    assert export(admin, "2026-09-01", "2026-09-30") == [header]
    backwards = admin.get("/api/admin/ledger/export", params={"start": "2026-10-31", "end": "2026-10-01"})
    assert backwards.status_code == 422
    assert (
        alice.get("/api/admin/ledger/export", params={"start": "2026-10-01", "end": "2026-10-31"}).status_code
        == 403
    )


def test_reconcile_as_of_a_past_day(october: dict[str, Any]) -> None:
    admin, alice, bob = october["admin"], october["alice"], october["bob"]

    def as_of(day: str) -> dict[str, Any]:
        return dict(ok(admin.get("/api/admin/reconcile/as-of", params={"day": day})).json())

    end_of_october = as_of("2026-10-31")
    assert end_of_october["ok"] and end_of_october["negative_balances"] == 0
    assert (end_of_october["total_deposits"], end_of_october["total_withdrawals"]) == (150_000, 5_000)
    assert end_of_october["total_balances"] == 145_000 and end_of_october["accounts"] == 2
    assert end_of_october["volume"]["transfer"] == 11_000
    first_day = as_of("2026-10-05")
    assert first_day["ok"] and first_day["total_balances"] == 150_000 and first_day["total_withdrawals"] == 0
    assert as_of("2026-10-04")["total_balances"] == 0
    november = as_of("2026-11-30")
    assert november["ok"] and november["total_balances"] == 152_000 and november["accounts"] == 3
    response = ok(admin.get("/api/admin/reconcile/as-of/balances", params={"day": "2026-10-31"}))
    header, *lines = csv_rows(response)
    assert header == ["username", "balance"]
    balances = {name: int(amount) for name, amount in lines}
    assert balances == {alice.username: 91_000, bob.username: 54_000}
    assert sum(balances.values()) == end_of_october["total_balances"]


# ---- 7. languages ------------------------------------------------------------------------------


def test_statement_language_follows_the_ask_then_the_holder(wallet_client: WalletClient) -> None:
    alice = wallet_client.user(12_345)

    def words(**params: str) -> str:
        return pdf_text(ok(alice.get("/api/user/statement", params={"format": "pdf", **params})).content)

    english, indonesian, default = words(lang="en"), words(lang="id"), words()
    assert "Opening balance" in english and "Saldo awal" not in english
    assert "Saldo awal" in indonesian and "Opening balance" not in indonesian
    assert "Saldo awal" in default and rupiah(12_345) in default
    ok(alice.http.put("/api/user/lang", json={"lang": "en"}, headers=alice.headers))
    assert "Opening balance" in words() and "Saldo awal" in words(lang="id")
    _, *rows = csv_rows(ok(alice.get("/api/user/statement", params={"format": "csv"})))
    assert rows[0][3] == "Top-up · test deposit"


def test_records_booked_before_the_listing_keys_get_them_once_at_start_up(
    client: TestClient, wallet_client: WalletClient
) -> None:
    alice, bob = wallet_client.user(100_000), wallet_client.user()
    assert alice.transfer(bob.username, 30_000).status_code == 201
    wallet = client.app.state.wallet  # type: ignore[attr-defined]
    keys = ("src_at", "dst_at", "src_kind", "dst_kind", "src_with", "dst_with")
    # as an older version left them: no booked-time keys, no migration flag
    wallet.store.ledger.update_many({}, {"$unset": dict.fromkeys(keys, "")})
    wallet.store.counters.delete_one({"_id": "migration:listing-keys"})
    filtered = {"kind": "transfers_out"}
    assert alice.get(f"/api/user/transfer/{alice.username}", params=filtered).json()["items"] == []

    assert wallet.statements.migrate() == 2  # the deposit and the transfer
    assert wallet.statements.migrate() == 0  # once: the flag is set
    items = alice.get(f"/api/user/transfer/{alice.username}", params=filtered).json()["items"]
    assert [(m["amount"], m["counterparty"]) for m in items] == [(-30_000, bob.username)]
    totals = alice.get("/api/user/statement", params={"format": "json"}).json()
    assert (totals["money_in"], totals["money_out"], totals["closing"]) == (100_000, 30_000, 70_000)
