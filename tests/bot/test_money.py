"""Amounts typed the Indonesian way, and shown as Rp50.000 (hypothesis is not installed)."""

from __future__ import annotations

import pytest

from bot.money import MAX_AMOUNT, AmountError, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("50000", 50_000),
        ("50.000", 50_000),
        ("Rp 50.000", 50_000),
        ("Rp50.000", 50_000),
        ("rp. 50.000", 50_000),
        ("IDR 50.000", 50_000),
        ("50rb", 50_000),
        ("50 rb", 50_000),
        ("50ribu", 50_000),
        ("50k", 50_000),
        ("50K", 50_000),
        ("1,5jt", 1_500_000),
        ("1.5jt", 1_500_000),
        ("2 juta", 2_000_000),
        ("1.250.000", 1_250_000),
        ("1,250,000", 1_250_000),
        ("50,000", 50_000),
        ("Rp 1.000,00", 1_000),
        ("0,5rb", 500),
        ("1", 1),
        ("  75000  ", 75_000),
        (str(MAX_AMOUNT), MAX_AMOUNT),
    ],
)
def test_parses_what_people_type(text: str, amount: int) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "not_positive"),
        ("Rp 0", "not_positive"),
        ("0rb", "not_positive"),
        ("-50000", "not_positive"),
        ("−5.000", "not_positive"),
        ("1,5", "fraction"),
        ("50.000,50", "fraction"),
        ("0,5", "fraction"),
        ("1.0005rb", "fraction"),
        (str(MAX_AMOUNT + 1), "too_large"),
        ("9999999jt", "too_large"),
        ("1" * 39, "too_large"),
        ("1" * 41, "not_a_number"),
        ("", "not_a_number"),
        ("abc", "not_a_number"),
        ("lima puluh ribu", "not_a_number"),
        ("1e5", "not_a_number"),
        ("50.00.0", "not_a_number"),
        ("5m", "not_a_number"),
        ("50rbu", "not_a_number"),
        ("12,34,567", "not_a_number"),
        ("NaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("rp", "not_a_number"),
    ],
)
def test_rejects_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(text)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "Rp0"),
        (5, "Rp5"),
        (1_000, "Rp1.000"),
        (50_000, "Rp50.000"),
        (1_500_000, "Rp1.500.000"),
        (-25_000, "-Rp25.000"),
        (10**12, "Rp1.000.000.000.000"),
    ],
)
def test_formats_as_rupiah(amount: int, shown: str) -> None:
    assert format_amount(amount) == shown


def test_signed_format_marks_money_in_and_out() -> None:
    assert format_amount(50_000, signed=True) == "+Rp50.000"
    assert format_amount(-50_000, signed=True) == "-Rp50.000"
    assert format_amount(0, signed=True) == "Rp0"


@pytest.mark.parametrize("amount", [1, 7, 999, 1_000, 12_345, 50_000, 1_234_567, 10**9 + 1, MAX_AMOUNT])
def test_what_is_shown_reads_back(amount: int) -> None:
    assert parse_amount(format_amount(amount)) == amount
