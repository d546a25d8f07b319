"""Splits, dues and pay-me requests over REST: shares that add up, bills made once per share,
status read from the bills, only the organiser decides, nobody else sees them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.splits import Share, equal_shares, shares_of
from tests.support.wallet_client import Actor, WalletClient, new_key


def create(organiser: Actor, amount: int = 100_000, kind: str = "split", **extra: Any) -> dict[str, Any]:
    """A new split; its view."""
    body = {"kind": kind, "title": "Makan malam", "amount": amount, **extra}
    response = organiser.post("/api/splits", body, key=new_key())
    assert response.status_code == 201, response.text
    return dict(response.json())


def join(member: Actor, split_id: str) -> dict[str, Any]:
    response = member.post(f"/api/splits/{split_id}/join")
    assert response.status_code == 200, response.text
    return dict(response.json())


def bill_everyone(
    organiser: Actor, split_id: str, shares: dict[str, int] | None = None, *, key: str | None = None
) -> Any:
    """Ask the bill_split code for these shares, then bill with it."""
    asked = organiser.post(
        "/api/processing", {"action": "bill_split", "split_id": split_id, "shares": shares}
    )
    if asked.status_code != 202:
        return asked
    code = organiser.otp_source(organiser.username, "bill_split")
    return organiser.post(
        f"/api/splits/{split_id}/bill", {"otp": code, "shares": shares}, key=key or new_key()
    )


def view(actor: Actor, split_id: str) -> dict[str, Any]:
    response = actor.get(f"/api/splits/{split_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def people(split: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {p["username"]: (p["amount"], p["status"]) for p in split["people"]}


def test_equal_shares_add_up_and_the_first_people_pay_the_remainder() -> None:
    shares = equal_shares(100_001, [("a", "A"), ("b", "B"), ("c", "C")])
    assert [s.amount for s in shares] == [33_334, 33_334, 33_333]
    assert sum(s.amount for s in shares) == 100_001
    for total in (1, 7, 99, 100_000, 299_999):
        for n in range(1, 8):
            parts = [s.amount for s in equal_shares(total, [(str(i), str(i)) for i in range(n)])]
            assert sum(parts) == total and max(parts) - min(parts) <= 1


def test_custom_shares_name_members_and_the_rest_share_what_is_left() -> None:
    split = {
        "kind": "split",
        "amount": 300_000,
        "organiser": "budi",
        "organiser_name": "Budi",
        "members": [{"username": "sari", "name": "Sari"}, {"username": "andi", "name": "Andi"}],
    }
    assert shares_of(split, {"sari": 120_000}) == [
        Share("budi", "Budi", 90_000),
        Share("sari", "Sari", 120_000),
        Share("andi", "Andi", 90_000),
    ]
    for bad in ({"dewi": 1}, {"sari": 300_001}, {"sari": 100_000, "andi": 100_000, "budi": 1}):
        with pytest.raises(Exception, match="not in this split|add up"):
            shares_of(split, bad)


def test_a_split_is_billed_once_per_member_and_settles_from_its_bills(wallet_client: WalletClient) -> None:
    organiser = wallet_client.user()
    members = [wallet_client.user(50_000) for _ in range(3)]
    split = create(organiser, 100_000, chat_id=-100123)
    assert split["status"] == "gathering" and split["people"][0]["status"] == "own"
    for member in members:
        split = join(member, split["id"])
    assert join(members[0], split["id"])["member_count"] == 3  # joining twice changes nothing
    preview = organiser.post(f"/api/splits/{split['id']}/shares", {}).json()
    assert [p["amount"] for p in preview["people"]] == [25_000] * 4
    assert preview["billed_total"] == 75_000 and preview["billed_count"] == 3

    key = new_key()
    billed = bill_everyone(organiser, split["id"], key=key)
    assert billed.status_code == 200, billed.text
    assert billed.json()["status"] == "open"
    # the same press retried: the same answer; another press: refused, nobody billed twice
    again = organiser.post(f"/api/splits/{split['id']}/bill", {"otp": "000000"}, key=key)
    assert again.status_code == 200 and again.json()["id"] == split["id"]
    second = bill_everyone(organiser, split["id"])
    assert second.status_code == 409 and second.json()["code"] == "split_closed"
    for member in members:
        open_bills = member.get(f"/api/bill/{member.username}").json()["items"]
        assert [(b["amount"], b["issuer"]) for b in open_bills] == [(25_000, organiser.username)]
    assert join(members[0], split["id"])["member_count"] == 3
    late = wallet_client.user()
    refused = late.post(f"/api/splits/{split['id']}/join")
    assert refused.status_code == 409 and refused.json()["code"] == "split_closed"

    mine = view(members[0], split["id"])["my_bill"]
    assert members[0].pay(mine).status_code == 200
    declined = members[1].post(f"/api/bill/{view(members[1], split['id'])['my_bill']}/decline")
    assert declined.status_code == 200
    state = view(organiser, split["id"])
    assert (
        state["paid_count"] == 1
        and state["count"] == 3
        and state["paid_amount"] == 50_000
        and state["declined_count"] == 1
    )
    assert people(state)[members[0].username] == (25_000, "paid")
    assert people(state)[members[1].username] == (25_000, "declined")
    assert state["status"] == "open"
    assert members[2].pay(view(members[2], split["id"])["my_bill"]).status_code == 200
    assert view(organiser, split["id"])["status"] == "closed"  # paid or declined: nothing left open
    assert organiser.balance() == 50_000


def test_custom_shares_are_what_the_code_was_for(wallet_client: WalletClient) -> None:
    organiser, sari, andi = wallet_client.user(), wallet_client.user(), wallet_client.user()
    split = create(organiser, 300_000)
    join(sari, split["id"])
    join(andi, split["id"])
    shares = {sari.username: 120_000}
    asked = organiser.post(
        "/api/processing", {"action": "bill_split", "split_id": split["id"], "shares": shares}
    )
    assert asked.status_code == 202
    code = organiser.otp_source(organiser.username, "bill_split")
    other = organiser.post(f"/api/splits/{split['id']}/bill", {"otp": code}, key=new_key())
    assert other.status_code == 400 and other.json()["code"] == "otp_invalid"  # not for equal shares
    done = organiser.post(f"/api/splits/{split['id']}/bill", {"otp": code, "shares": shares}, key=new_key())
    assert done.status_code == 200, done.text
    assert people(done.json())[sari.username] == (120_000, "open")
    assert people(done.json())[andi.username] == (90_000, "open")
    assert people(done.json())[organiser.username] == (90_000, "own")
    bad = organiser.post(f"/api/splits/{split['id']}/shares", {"shares": {"nobody": 5}})
    assert bad.status_code == 409  # billed already: shares are no longer looked at


def test_refusals_before_any_code_is_issued(wallet_client: WalletClient) -> None:
    organiser, member, stranger = wallet_client.user(), wallet_client.user(), wallet_client.user()
    split = create(organiser, 10_000)
    nobody = organiser.post("/api/processing", {"action": "bill_split", "split_id": split["id"]})
    assert nobody.status_code == 409 and nobody.json()["code"] == "nothing_to_bill"
    join(member, split["id"])
    wrong = organiser.post(
        "/api/processing", {"action": "bill_split", "split_id": split["id"], "shares": {"ghost": 1}}
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_shares"
    not_theirs = member.post("/api/processing", {"action": "bill_split", "split_id": split["id"]})
    assert not_theirs.status_code == 403 and not_theirs.json()["code"] == "not_organiser"
    assert stranger.get(f"/api/splits/{split['id']}").status_code == 404
    assert member.post(f"/api/splits/{split['id']}/cancel").json()["code"] == "not_organiser"


def test_someone_joining_after_the_code_is_told_not_billed_wrongly(wallet_client: WalletClient) -> None:
    organiser, first, late = wallet_client.user(), wallet_client.user(), wallet_client.user()
    split = create(organiser, 30_000)
    join(first, split["id"])
    assert (
        organiser.post("/api/processing", {"action": "bill_split", "split_id": split["id"]}).status_code
        == 202
    )
    code = organiser.otp_source(organiser.username, "bill_split")
    join(late, split["id"])
    changed = organiser.post(f"/api/splits/{split['id']}/bill", {"otp": code}, key=new_key())
    assert changed.status_code == 409 and changed.json()["code"] == "split_changed"
    assert bill_everyone(organiser, split["id"]).status_code == 200
    assert people(view(organiser, split["id"]))[late.username] == (10_000, "open")


def test_cancel_closes_open_shares_and_paid_ones_stay_paid(wallet_client: WalletClient) -> None:
    organiser, payer, other = wallet_client.user(), wallet_client.user(50_000), wallet_client.user()
    split = create(organiser, 40_000)
    join(payer, split["id"])
    join(other, split["id"])
    assert bill_everyone(organiser, split["id"]).status_code == 200
    assert payer.pay(view(payer, split["id"])["my_bill"]).status_code == 200
    cancelled = organiser.post(f"/api/splits/{split['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert people(cancelled.json())[payer.username][1] == "paid"
    assert people(cancelled.json())[other.username][1] == "cancelled"
    assert other.get(f"/api/bill/{other.username}").json()["items"] == []
    assert organiser.balance() == 13_333 and payer.balance() == 50_000 - 13_333  # the organiser took the 1


def test_lists_of_splits_i_organise_and_owe_in(wallet_client: WalletClient) -> None:
    organiser, member = wallet_client.user(), wallet_client.user()
    first, second = create(organiser), create(organiser, 5_000)
    join(member, second["id"])
    mine = organiser.get("/api/splits?role=organiser").json()
    assert [s["id"] for s in mine["items"]] == [second["id"], first["id"]]
    page = organiser.get("/api/splits?role=organiser&limit=1").json()
    assert [s["id"] for s in page["items"]] == [second["id"]] and page["next_cursor"]
    rest = organiser.get(f"/api/splits?role=organiser&limit=1&cursor={page['next_cursor']}").json()
    assert [s["id"] for s in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert [s["id"] for s in member.get("/api/splits?role=member").json()["items"]] == [second["id"]]
    assert member.get("/api/splits?role=all").status_code == 403
    admin = wallet_client.admin()
    assert {first["id"], second["id"]} <= {s["id"] for s in admin.get("/api/splits?role=all").json()["items"]}
    assert admin.get(f"/api/splits/{first['id']}").status_code == 200


def test_a_pay_me_request_gives_each_payer_one_bill(wallet_client: WalletClient) -> None:
    requester = wallet_client.user()
    payers = [wallet_client.user(60_000), wallet_client.user(60_000)]
    request = create(requester, 50_000, kind="request", id="REQ2345678", inline_message_id="AQAAAxyz")
    assert request["status"] == "open"
    for payer in payers:
        bill = payer.post(f"/api/splits/{request['id']}/claim").json()
        assert payer.post(f"/api/splits/{request['id']}/claim").json()["code"] == bill["code"]
        assert payer.pay(bill["code"]).status_code == 200
        again = payer.post(f"/api/splits/{request['id']}/claim")
        assert again.status_code == 409 and again.json()["code"] == "already_paid"
    assert requester.balance() == 100_000
    state = view(requester, request["id"])
    assert state["paid_count"] == 2 and {p["status"] for p in state["people"]} == {"paid"}
    assert requester.post(f"/api/splits/{request['id']}/claim").json()["code"] == "self_transfer"
    assert requester.post(f"/api/splits/{request['id']}/cancel").json()["status"] == "cancelled"
    late = wallet_client.user(60_000)
    closed = late.post(f"/api/splits/{request['id']}/claim")
    assert closed.status_code == 409 and closed.json()["code"] == "split_closed"
    reused = wallet_client.user().post(
        "/api/splits", {"kind": "request", "title": "x", "amount": 1, "id": request["id"]}, key=new_key()
    )
    assert reused.status_code == 409


def test_bad_split_input_is_a_clear_422(wallet_client: WalletClient, client: TestClient) -> None:
    organiser = wallet_client.user()
    for body in (
        {"title": "x", "amount": 0},
        {"title": "x", "amount": 1.5},
        {"title": "line\nbreak", "amount": 1},
        {"title": "x", "amount": 1, "chat_id": 5},  # a group's id is negative
        {"title": "x", "amount": 1, "id": "ABCDEFGHJK"},  # only a request takes an id
        {"title": "x", "amount": 1, "kind": "loan"},
    ):
        response = organiser.post("/api/splits", body, key=new_key())
        assert response.status_code == 422, (body, response.text)
    assert organiser.post("/api/splits", {"title": "x", "amount": 1}).status_code == 422  # no key
    assert client.get("/api/splits").status_code == 401


def test_a_billing_cut_short_is_finished_and_dues_rounds_are_made_once(
    wallet_client: WalletClient, client: TestClient
) -> None:
    wallet = client.app.state.wallet  # type: ignore[attr-defined]
    organiser, member = wallet_client.user(), wallet_client.user()
    split = create(organiser, 20_000, kind="dues")
    join(member, split["id"])
    doc = wallet.splits.get(split["id"])
    shares = shares_of(doc)
    # a "Bill everyone" whose process died right after it started billing: no bill yet
    wallet.splits.start_billing(doc, shares, "someone:key-1", "fp")
    assert view(organiser, split["id"])["status"] == "billing"
    assert wallet.resume_billing(older_than_ms=0) == 1
    assert view(organiser, split["id"])["status"] == "open"
    assert [b["amount"] for b in member.get(f"/api/bill/{member.username}").json()["items"]] == [20_000]
    assert wallet.resume_billing(older_than_ms=0) == 0  # nothing is billing any more

    # the next month: made by one of two callers, once; the series moves on to the month after
    wallet.store.splits.update_one({"_id": split["id"]}, {"$set": {"next_at": 0}})
    first, second = wallet.run_dues(10), wallet.run_dues(10)
    assert first == {"rounds": 1, "bills": 1} and second == {"rounds": 0, "bills": 0}
    bills = member.get(f"/api/bill/{member.username}").json()["items"]
    assert len(bills) == 2 and len({b["bill_name"] for b in bills}) == 2
    state = view(organiser, split["id"])
    assert state["round"] == 1 and state["period"] and state["next_round_at"]
    # stopped: the open month is cancelled, no later month comes
    assert organiser.post(f"/api/splits/{split['id']}/cancel").json()["status"] == "cancelled"
    wallet.store.splits.update_one({"_id": split["id"]}, {"$set": {"next_at": 0}})
    assert wallet.run_dues(10) == {"rounds": 0, "bills": 0}
    assert wallet.store.bills.count_documents({"split": split["id"]}) == 2
    # the first month stays open (cancelling cancels the current month's open shares)
    assert [b["bill_name"] for b in member.get(f"/api/bill/{member.username}").json()["items"]] == [
        bills[1]["bill_name"]
    ]
