"""Keyboards: callback data matches the handlers' patterns and fits Telegram's 64 bytes."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards as kb
from bot.common import new_token


def all_data(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row]


def test_confirm_keyboard_carries_the_token() -> None:
    token = new_token()
    data = all_data(kb.confirm_keyboard("id", token))
    assert data == [kb.CONFIRM + token, kb.CANCEL + token]
    assert kb.CONFIRM_PATTERN.match(data[0]) and kb.CANCEL_PATTERN.match(data[1])
    labels = [b.text for row in kb.confirm_keyboard("id", token).inline_keyboard for b in row]
    assert "Konfirmasi" in labels[0]


def test_bill_buttons_match_their_handlers() -> None:
    code = "AB12CD34EF"
    assert all_data(kb.bill_payer_keyboard("en", code)) == [kb.bill_pay(code), kb.bill_decline(code)]
    assert all_data(kb.bill_issuer_keyboard("en", code)) == [kb.bill_cancel(code)]
    assert kb.BILL_PAY_PATTERN.match(kb.bill_pay(code))
    assert kb.BILL_DECLINE_PATTERN.match(kb.bill_decline(code))
    assert kb.BILL_CANCEL_PATTERN.match(kb.bill_cancel(code))
    assert not kb.BILL_PAY_PATTERN.match(kb.bill_decline(code))


LABELS = ("All time", "All kinds", "Everyone")
FILTERS = ["hf:p", "hf:k", "hf:w"]


def test_history_keyboard_pages() -> None:
    assert all_data(kb.history_keyboard("en", 0, has_older=False, labels=LABELS)) == FILTERS
    first = kb.history_keyboard("en", 0, has_older=True, labels=LABELS)
    assert all_data(first) == ["hist:1", *FILTERS]
    middle = kb.history_keyboard("en", 2, has_older=True, labels=LABELS)
    assert all_data(middle) == ["hist:1", "hist:3", *FILTERS]
    last = kb.history_keyboard("id", 3, has_older=False, labels=LABELS)
    assert all_data(last) == ["hist:2", *FILTERS]
    assert all(kb.HISTORY_PATTERN.match(d) for d in all_data(middle)[:2])
    assert [b.text for b in first.inline_keyboard[1]] == ["📅 All time", "🏷 All kinds", "👤 Everyone"]


def test_history_filter_menus_match_their_handler() -> None:
    periods = kb.period_keyboard("en", [("This month", "2026-12"), ("Last month", "2026-11")])
    kinds = kb.kind_keyboard("id")
    people = kb.person_keyboard("en", ["sari", "x" * 32])
    for markup in (periods, kinds, people):
        data = all_data(markup)
        assert data[0].endswith("=-") and data[-1] == "hf:back"
        assert all(kb.HISTORY_FILTER_PATTERN.match(d) for d in data), data
        assert all(len(d.encode()) <= 64 for d in data)
    assert all_data(periods)[1:3] == ["hf:p=2026-12", "hf:p=2026-11"]
    assert all_data(kinds)[1:-1] == [f"hf:k={kind}" for kind in kb.KINDS]
    assert [b.text for row in kinds.inline_keyboard for b in row][1] == "Transfer masuk"
    assert all_data(people)[1:-1] == ["hf:w=sari", "hf:w=" + "x" * 32]
    for bad in ("hf:k=everything", "hf:w=a b", "hf:p=2026-1", "hf:x", "hf:w=@sari"):
        assert not kb.HISTORY_FILTER_PATTERN.match(bad), bad


def test_statement_keyboard() -> None:
    markup = kb.statement_keyboard([("December 2026", "2026-12"), ("November 2026", "2026-11")])
    assert all_data(markup) == ["st:2026-12", "st:2026-11"]
    assert all(kb.STATEMENT_PATTERN.match(d) for d in all_data(markup))
    assert not kb.STATEMENT_PATTERN.match("st:2026-1")


def test_insights_keyboard_offers_the_other_split() -> None:
    by_person = kb.insights_keyboard("en", "counterparty")
    assert all_data(by_person) == ["ins:kind"] and by_person.inline_keyboard[0][0].text == "🏷 By kind"
    by_kind = kb.insights_keyboard("id", "kind")
    assert all_data(by_kind) == ["ins:counterparty"] and by_kind.inline_keyboard[0][0].text == "👤 Per orang"
    assert all(kb.INSIGHTS_PATTERN.match(d) for d in all_data(by_person) + all_data(by_kind))
    assert not kb.INSIGHTS_PATTERN.match("ins:everything")


def test_lang_keyboard() -> None:
    data = all_data(kb.lang_keyboard())
    assert data == ["lang:id", "lang:en"]
    assert all(kb.LANG_PATTERN.match(d) for d in data)
    assert not kb.LANG_PATTERN.match("lang:fr")


def test_contact_keyboard_requests_the_contact() -> None:
    markup = kb.contact_keyboard("en")
    assert markup.keyboard[0][0].request_contact is True
    assert markup.keyboard[1][0].text == "Skip"
    assert kb.SKIP_PATTERN.match("Lewati") and kb.SKIP_PATTERN.match("skip")


def test_callback_data_fits_64_bytes() -> None:
    long_code = "X" * 32
    markups = [
        kb.confirm_keyboard("en", new_token()),
        kb.bill_payer_keyboard("en", long_code),
        kb.bill_issuer_keyboard("en", long_code),
        kb.lang_keyboard(),
    ]
    for markup in markups:
        assert all(len(d.encode()) <= 64 for d in all_data(markup))
