"""The tally's text and buttons, in both languages, for every status a split can be in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.tally import MAX_LINES, render_tally
from tests.fakes.telegram_api import start_payload

STATUSES = ("gathering", "billing", "open", "settled", "closed", "cancelled")


def tally(kind: str = "split", status: str = "open", people: int = 3, **extra: Any) -> dict[str, Any]:
    """Tally data as the backend draws it (splits.tally_data)."""
    rows = [{"username": "budi", "name": "Budi", "amount": 100_000, "status": "own", "bill_code": None}]
    for i in range(people):
        state = "paid" if i == 0 else "open"
        rows.append(
            {"username": f"m{i}", "name": f"M {i}", "amount": 100_000, "status": state, "bill_code": None}
        )
    return {
        "split": "ABCDEFGHJK",
        "kind": kind,
        "title": "Makan malam",
        "amount": 100_000 * (people + 1),
        "organiser": "budi",
        "organiser_name": "Budi",
        "phase": {"gathering": "gathering", "billing": "billing", "cancelled": "cancelled"}.get(
            status, "billed"
        ),
        "status": status,
        "people": rows,
        "round": 0,
        "period": "2026-12" if kind == "dues" else None,
        "paid_count": 1,
        "count": people,
        "paid_amount": 200_000,
        "total": 100_000 * (people + 1),
        "declined_count": 0,
        "current": True,
        **extra,
    }


@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("kind", ["split", "dues", "request"])
@pytest.mark.parametrize("status", STATUSES)
def test_every_status_renders_in_both_languages(lang: str, kind: str, status: str) -> None:
    text, markup = render_tally(lang, tally(kind, status), "MataDuitanBot")
    assert "Makan malam" in text and "Budi" in text and "{" not in text
    labels = [b.text for row in (markup.inline_keyboard if markup else ()) for b in row]
    if status == "gathering" and kind != "request":
        assert len(labels) == 3  # Join, Bill everyone, Cancel
    if status in ("settled", "closed", "cancelled", "billing") and kind != "dues":
        assert markup is None  # nothing more to do from the group


def test_buttons_are_deep_links_or_short_callbacks() -> None:
    _, gathering = render_tally("en", tally(status="gathering"), "MataDuitanBot")
    assert gathering is not None
    buttons = [b for row in gathering.inline_keyboard for b in row]
    assert [b.callback_data for b in buttons if b.callback_data] == [
        "split:join:ABCDEFGHJK",
        "split:cancel:ABCDEFGHJK",
    ]
    assert [start_payload(str(b.url)) for b in buttons if b.url] == ["sb_ABCDEFGHJK"]
    _, billed = render_tally("id", tally(status="open"), "MataDuitanBot")
    assert billed is not None
    assert [start_payload(str(b.url)) for row in billed.inline_keyboard for b in row if b.url] == [
        "sp_ABCDEFGHJK"
    ]


def test_an_earlier_month_has_no_buttons_and_a_long_list_is_cut() -> None:
    assert render_tally("en", tally("dues", current=False), "MataDuitanBot")[1] is None
    text, _ = render_tally("en", tally(people=60), "MataDuitanBot")
    assert f"… +{61 - MAX_LINES}" in text and len(text) < 4096
    assert "1/60 paid · Rp200.000 of Rp6.100.000" in text
