"""The bot's input parsers under hypothesis: amounts, bill codes and usernames typed in a chat.

Whatever a user types, a parser either returns a value the backend will accept or refuses; it
never crashes, never returns a float, a non-positive or an oversized amount, and never turns a
look-alike character into an ASCII one.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from backend.schemas import USERNAME_RE, BillCreate
from bot import validate
from bot.money import MAX_AMOUNT, AmountError, format_amount, parse_amount

amounts = st.integers(min_value=1, max_value=MAX_AMOUNT)


@given(st.text(max_size=60))
@example("５０rb")
@example("٥٠٠٠")
@example("1e9")
@example("NaN")
@example("-0")
def test_parse_amount_returns_a_positive_int_or_refuses(text: str) -> None:
    try:
        value = parse_amount(text)
    except AmountError as refused:
        assert refused.reason in {"not_a_number", "not_positive", "fraction", "too_large"}
        return
    assert type(value) is int and 0 < value <= MAX_AMOUNT
    assert all(char.isascii() for char in text if char.isdigit())


@given(amounts)
def test_formatted_amounts_parse_back(amount: int) -> None:
    assert parse_amount(format_amount(amount)) == amount
    assert parse_amount(f"{amount:,}".replace(",", ".")) == amount
    assert parse_amount(str(amount)) == amount


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["rb", "ribu", "k"]))
def test_thousands_suffixes(value: int, suffix: str) -> None:
    assert parse_amount(f"{value}{suffix}") == value * 1_000


def test_non_ascii_digits_are_refused() -> None:
    for text in ("５０.０００", "٥٠٠٠", "५००", "𝟓𝟎𝟎𝟎"):
        try:
            parse_amount(text)
        except AmountError:
            continue
        raise AssertionError(f"{text!r} was accepted")


@given(st.text(max_size=40))
@example("\u212aelvin")
@example("ａｄｍｉｎ")
@example("@Budi_1")
def test_usernames_the_bot_accepts_are_usernames_the_backend_accepts(text: str) -> None:
    parsed = validate.username(text)
    if parsed is not None:
        assert text.strip().removeprefix("@").isascii()  # no look-alike became ASCII
        assert USERNAME_RE.match(parsed) and parsed == parsed.lower()


@given(st.text(max_size=40))
@example("ABCDEFGH23")
@example("$gt")
@example("../../etc")
def test_bill_codes_are_plain_alphanumerics(text: str) -> None:
    parsed = validate.bill_code(text)
    if parsed is not None:
        assert re.fullmatch(r"[A-Za-z0-9]{8,16}", parsed)


FAKE_LINES = [
    "Makan\nAmount: Rp1",
    "Makan\r\nx",
    "a\u2028b",
    "a\u2029b",
    "Kas \u202eRp1",
    "a\u2066b\u2069",
    "a\tb",
    "a\x00b",
]
FINE = ["Makan siang", "Tiket konser 🎫", "Keluarga 👨\u200d👩\u200d👧", "Kas kelas (Nov)"]


@pytest.mark.parametrize("text", FAKE_LINES + FINE)
def test_the_bot_and_the_api_agree_on_what_may_stand_in_one_line(text: str) -> None:
    """Names and descriptions: the bot refuses exactly what the API refuses."""
    api_accepts = True
    try:
        BillCreate(bill_name=text, payer="budi", amount=1_000, description=text, otp="123456")
    except ValidationError:
        api_accepts = False
    bot_accepts = validate.name(text) is not None and validate.description(text) is not None
    assert api_accepts == bot_accepts == (text in FINE)
