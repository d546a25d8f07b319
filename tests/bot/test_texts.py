"""Every text exists in both languages with the same placeholders.

That every backend error code has a message is tests/test_error_catalogue.py (it reads the catalogue).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot import texts
from bot.conversations import bill, transfer
from bot.texts import EN, ID, error_text, normalize_lang, t

BOT_DIR = Path(texts.__file__).parent


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_both_languages() -> None:
    assert set(EN) == set(ID)


@pytest.mark.parametrize("key", sorted(EN))
def test_same_placeholders_in_both_languages(key: str) -> None:
    assert placeholders(EN[key]) == placeholders(ID[key])
    assert EN[key].strip() and ID[key].strip()


def test_unknown_code_gets_the_generic_message() -> None:
    assert error_text("en", "brand_new_code") == EN["generic_error"]


def test_language_from_telegram_language_code() -> None:
    assert normalize_lang("id") == "id"
    assert normalize_lang("ID") == "id"
    assert normalize_lang("id-ID") == "id"
    assert normalize_lang("en-US") == "en"
    assert normalize_lang("jv") == "en"
    assert normalize_lang(None) == "en"


def test_every_key_used_in_the_code_exists() -> None:
    used: set[str] = set()
    for path in BOT_DIR.rglob("*.py"):
        source = path.read_text()
        used |= set(re.findall(r"\b(?:say|t)\([^()]*?\"([a-z_]+)\"", source, flags=re.S))
    dynamic_prefixes = ("amount_", "status_", "kind_", "cmd_", "error_")
    assert used, "the scan found nothing: update the regex"
    missing = {key for key in used if key not in EN and not key.startswith(dynamic_prefixes)}
    assert not missing


def test_the_counterparty_steps_texts_exist_with_their_placeholders() -> None:
    # the scan above sees `say(..., "key")`; these keys are fields of the shared step instead
    for party in (transfer.RECIPIENT_STEP, bill.PAYER_STEP):
        for key in (party.ask, party.is_self, party.found):
            assert key in EN and key in ID, key
        assert placeholders(EN[party.found]) == {"name", "username"}


def test_dynamic_keys_exist() -> None:
    for reason in ("not_a_number", "not_positive", "fraction", "too_large"):
        assert f"amount_{reason}" in EN
    for status in ("open", "paid", "cancelled", "declined", "paying"):
        assert f"status_{status}" in EN
    for kind in ("transfer", "bill_payment", "deposit", "withdrawal", "reversal"):
        assert f"kind_{kind}" in EN
    for tier in ("unverified", "verified"):  # the backend's Limits.tier
        assert f"tier_{tier}" in EN


def test_t_formats_and_falls_back_to_english() -> None:
    shown = t("id", "me", name="Budi", username="budi", balance="Rp5", tier="Akun", cap="Rp9")
    assert shown.startswith("Budi (@budi)\nSaldo: Rp5\nAkun: menampung hingga Rp9.")


def test_a_cap_refusal_names_the_payee_in_both_languages() -> None:
    assert error_text("en", "receive_cap_unverified", "sari").startswith(
        "@sari's wallet cannot receive that much yet; they can verify their account"
    )
    assert error_text("id", "receive_cap_unverified", "sari").startswith("Dompet @sari belum dapat menerima")
    assert error_text("en", "receive_monthly_cap").startswith("The recipient's wallet")
    assert t("xx", "cancelled") == EN["cancelled"]
