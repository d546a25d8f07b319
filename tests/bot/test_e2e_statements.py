"""End to end: /history's filters, /statement (a PDF and a CSV as Telegram documents) and
/insights (a chart as a photo), through the real bot, the real backend and the fake Bot API,
which checks every upload as Telegram does (type, size, dimensions, caption length)."""

from __future__ import annotations

import csv
import io
import struct
from typing import Any

from pypdf import PdfReader

from bot.history import recent_months
from tests.bot.scenario import deposit, register, transfer, unique
from tests.fakes.telegram_api import FakeTelegram, Sent

PNG = b"\x89PNG\r\n\x1a\n"


async def edited(telegram: FakeTelegram, chat: int, message: Sent, text: str) -> Sent:
    """The message `message` once an edit has put `text` in it (the same Sent: later edits change
    it too, as they change the message on the user's screen)."""

    def current() -> Sent:
        return next(s for s in telegram.sent(chat) if s.message_id == message.message_id)

    await telegram.wait_until(lambda: text in current().body)
    return current()


async def test_history_filters_by_kind_person_and_month(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob, bob_name = two_users["alice"], two_users["bob"], two_users["bob_name"]
    await transfer(telegram, alice, bob_name, "7000", "Sent")
    await transfer(telegram, bob, two_users["alice_name"], "2000", "Sent")
    telegram.send_text(alice, "/history")
    page = await telegram.wait_for(alice, "page 1")
    assert "Deposit · +Rp500.000" in page.body and "-Rp7.000" in page.body and "+Rp2.000" in page.body
    labels = [label for label, _ in page.buttons]
    assert labels == ["📅 All time", "🏷 All kinds", "👤 Everyone"]

    telegram.press(alice, page.data_of("All kinds"), message_id=page.message_id)
    menu = await edited(telegram, alice, page, "Show which kind")
    assert "Transfers out" in [label for label, _ in menu.buttons]
    telegram.press(alice, menu.data_of("Transfers out"), message_id=page.message_id)
    out = await edited(telegram, alice, page, "Showing: Transfers out")
    assert "-Rp7.000" in out.body and "+Rp2.000" not in out.body and "Deposit" not in out.body

    telegram.press(alice, out.data_of("Transfers out"), message_id=page.message_id)  # kind menu again
    menu = await edited(telegram, alice, page, "Show which kind")
    telegram.press(alice, menu.data_of("Top-ups"), message_id=page.message_id)
    cash = await edited(telegram, alice, page, "Showing: Top-ups & withdrawals")
    assert "Deposit · +Rp500.000" in cash.body and "Transfer" not in cash.body.split("\n", 2)[2]

    telegram.press(alice, cash.data_of("Everyone"), message_id=page.message_id)
    people = await edited(telegram, alice, page, "with whom")
    telegram.press(alice, people.data_of(f"@{bob_name}"), message_id=page.message_id)
    none = await edited(telegram, alice, page, "No transactions match")  # cash AND bob: nothing
    assert f"@{bob_name}" in none.body
    telegram.press(alice, none.data_of("Top-ups"), message_id=page.message_id)
    menu = await edited(telegram, alice, page, "Show which kind")
    telegram.press(alice, menu.data_of("All kinds"), message_id=page.message_id)
    with_bob = await edited(telegram, alice, page, f"Showing: @{bob_name}")
    assert "-Rp7.000" in with_bob.body and "+Rp2.000" in with_bob.body and "Deposit" not in with_bob.body

    telegram.press(alice, with_bob.data_of("All time"), message_id=page.message_id)
    periods = await edited(telegram, alice, page, "Show which period")
    assert [label for label, _ in periods.buttons][:3] == ["All time", "This month", "Last month"]
    telegram.press(alice, periods.data_of("Last month"), message_id=page.message_id)
    last = await edited(telegram, alice, page, "No transactions match: Last month")
    telegram.press(alice, last.data_of("Last month"), message_id=page.message_id)  # the menu again
    periods = await edited(telegram, alice, page, "Show which period")
    telegram.press(alice, periods.data_of("This month"), message_id=page.message_id)
    await edited(telegram, alice, page, f"Showing: This month · @{bob_name}")

    telegram.send_text(alice, f"/history @{bob_name} {recent_months(1)[0]}")  # the same, typed
    typed = await telegram.wait_for(alice, "page 1")
    assert f"Showing: This month · @{bob_name}" in typed.body and "Deposit" not in typed.body
    telegram.send_text(alice, "/history 2026-13")
    await telegram.wait_for(alice, "I did not understand that")
    telegram.send_text(alice, "/history @nobody_" + unique("x")[-8:])
    await telegram.wait_for(alice, "no user")
    telegram.send_text(alice, "/history")  # a new /history starts unfiltered
    fresh = await telegram.wait_for(alice, "page 1")
    assert "Showing" not in fresh.body and "Deposit" in fresh.body


async def test_statement_arrives_as_a_pdf_and_a_csv(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob_name, alice_name = two_users["alice"], two_users["bob_name"], two_users["alice_name"]
    await transfer(telegram, alice, bob_name, "123.456", "Sent")
    this_month, last_month = recent_months(2)
    telegram.send_text(alice, "/statement")
    choose = await telegram.wait_for(alice, "Which month")
    assert len(choose.buttons) == 6 and choose.buttons[0][1] == f"st:{this_month}"
    telegram.press(alice, choose.buttons[0][1], message_id=choose.message_id)
    pdf = await telegram.wait_for(alice, lambda s: s.method == "sendDocument")
    sheet = await telegram.wait_for(alice, lambda s: s.method == "sendDocument")
    assert "Preparing your e-statement" in next(
        s.body for s in telegram.sent(alice) if s.message_id == choose.message_id
    )

    assert pdf.filename == f"mata-duitan-{this_month}.pdf" and pdf.document is not None
    assert telegram.files[pdf.file_id or ""].mime_type == "application/pdf"
    assert "Opening balance: Rp0" in pdf.body and "Closing balance: Rp376.544" in pdf.body
    assert "Money in: Rp500.000" in pdf.body and "Money out: Rp123.456" in pdf.body
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.document)).pages)
    for expected in (f"@{alice_name}", "Alice Wijaya", "Opening balance", "Closing balance", "Rp376.544"):
        assert expected in text, expected
    assert f"@{bob_name}" in text and "-Rp123.456" in text

    assert sheet.filename == f"mata-duitan-{this_month}.csv" and sheet.document is not None
    rows = list(csv.reader(io.StringIO(sheet.document.decode("utf-8-sig"))))
    assert rows[0][0] == "Date (WIB)" and len(rows) == 3
    assert [int(r[5]) for r in rows[1:]] == [500_000, -123_456]
    assert int(rows[-1][6]) == 376_544

    telegram.send_text(alice, f"/statement {last_month}")  # typed: straight to the documents
    empty = await telegram.wait_for(alice, lambda s: s.method == "sendDocument")
    assert "Transactions: 0" in empty.body and "Closing balance: Rp0" in empty.body
    await telegram.wait_for(alice, lambda s: s.method == "sendDocument")
    telegram.send_text(alice, "/statement 2999-01")
    await telegram.wait_for(alice, "Send the month as YYYY-MM")


async def test_statement_and_insights_in_indonesian(
    telegram: FakeTelegram, two_users: dict[str, Any], new_chat: Any
) -> None:
    backend = two_users["backend"]
    sari, sari_name = new_chat("Sari"), unique("sari")
    await register(telegram, sari, sari_name, "Sari Dewi")
    telegram.send_text(sari, "/lang")
    choose = await telegram.wait_for(sari, "Choose your language")
    telegram.press(sari, "lang:id", message_id=choose.message_id)
    await telegram.wait_until(lambda: any("Bahasa: Indonesia" in s.body for s in telegram.sent(sari)))
    deposit(backend, sari_name, 200_000)
    await telegram.wait_for(sari, "200.000")
    telegram.send_text(sari, "/statement")
    choose = await telegram.wait_for(sari, "E-statement bulan apa")
    telegram.press(sari, choose.buttons[0][1], message_id=choose.message_id)
    pdf = await telegram.wait_for(sari, lambda s: s.method == "sendDocument")
    assert "Saldo awal: Rp0" in pdf.body and "Saldo akhir: Rp200.000" in pdf.body
    text = PdfReader(io.BytesIO(pdf.document or b"")).pages[0].extract_text()
    assert "Saldo awal" in text and "Isi saldo" in text
    await telegram.wait_for(sari, lambda s: s.method == "sendDocument")

    telegram.send_text(sari, "/insights")
    photo = await telegram.wait_for(sari, lambda s: s.method == "sendPhoto")
    assert "masuk Rp200.000, keluar Rp0" in photo.body and "Belum ada uang keluar" in photo.body


async def test_insights_is_a_chart_with_a_summary(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice, bob_name = two_users["alice"], two_users["bob_name"]
    await transfer(telegram, alice, bob_name, "80rb", "Sent")
    telegram.send_text(alice, "/insights")
    photo = await telegram.wait_for(alice, lambda s: s.method == "sendPhoto")
    assert photo.photo is not None and photo.photo.startswith(PNG)
    assert struct.unpack(">II", photo.photo[16:24]) == (1200, 600)
    stored = telegram.files[photo.file_id or ""]
    assert (stored.width, stored.height) == (1200, 600)
    assert "Rp500.000 in, Rp80.000 out" in photo.body
    assert f"Most went to @{bob_name} (Rp80.000)" in photo.body
    by_person_chart = photo.photo

    telegram.press(alice, photo.data_of("By kind"), message_id=photo.message_id)  # swapped in place
    await telegram.wait_until(lambda: "Most of it: Transfer (Rp80.000)" in photo.body)
    assert photo.method == "sendPhoto" and photo.photo is not None and photo.photo != by_person_chart
    assert [label for label, _ in photo.buttons] == ["👤 By person"] and len(photo.edits) == 1
    telegram.press(alice, photo.data_of("By person"), message_id=photo.message_id)
    await telegram.wait_until(lambda: f"Most went to @{bob_name}" in photo.body)
    assert [label for label, _ in photo.buttons] == ["🏷 By kind"]
    assert [s.method for s in telegram.sent(alice)].count("sendPhoto") == 1  # one chart, edited


async def test_documents_and_the_chart_get_through_429s_and_502s(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    """Telegram refusing (429 with retry_after) or failing (502) the uploads for a while: the
    rate limiter tries again, and each document and the chart arrive exactly once."""
    alice = two_users["alice"]
    month = recent_months(1)[0]
    with telegram.inject("429", rate=1.0, seconds=1.5, retry_after=1, methods=["sendDocument"]) as refused:
        telegram.send_text(alice, f"/statement {month}")
        pdf = await telegram.wait_for(alice, lambda s: s.method == "sendDocument", timeout=30)
        sheet = await telegram.wait_for(alice, lambda s: s.method == "sendDocument", timeout=30)
    assert refused.hits >= 1
    assert (pdf.filename, sheet.filename) == (f"mata-duitan-{month}.pdf", f"mata-duitan-{month}.csv")
    with telegram.inject("502", rate=1.0, seconds=1.0, methods=["sendPhoto"]) as failed:
        telegram.send_text(alice, "/insights")
        photo = await telegram.wait_for(alice, lambda s: s.method == "sendPhoto", timeout=30)
    assert failed.hits >= 1 and photo.photo is not None and photo.photo.startswith(PNG)
    await telegram.expect_silence(alice, 1.0)
    methods = [s.method for s in telegram.sent(alice)]
    assert methods.count("sendDocument") == 2 and methods.count("sendPhoto") == 1
