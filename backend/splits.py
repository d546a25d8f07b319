"""Group money, one document each: a split ("patungan"), monthly dues, a pay-me request.

- **split**: an organiser names a total; members join; the organiser bills everyone (one OTP) and
  each share becomes a bill to that member, linked to the split. The organiser's share is theirs.
- **dues**: a fixed amount per member, billed to the same members every month until stopped.
- **request**: an inline "pay me" message: whoever taps Pay gets one bill for the amount.

    gathering ──bill (organiser's OTP)──▶ billing ──every share's bill made──▶ billed
        └────────────────cancel (organiser)────────────▶ cancelled ◀──────────────┘
    a request is born billed (anyone may tap Pay) and its requester closes it (cancelled).

The phase is the organiser's decisions only. Whether a split is paid, settled or partly declined
is read from its bills every time (`summarize`), never stored a second time. Making bills is
idempotent per share: a bill's `request` is "split:<id>:<round>:<member>" under the unique index,
so a double press of "Bill everyone", a retry after a crash, or two bot processes running the same
dues month bill a member once. A split stuck in `billing` (its organiser's request died half way)
is finished by `resume_billing` from the shares its OTP authorised.

Dues months: round k is due at the start of the k-th calendar month after the first (in the
wallet's time zone), or k × DUES_MONTH_SECONDS after the start when that is set (tests). A round
is made first (its bills, its tally) and only then is `next_round` moved on by one conditional
update, so a restart mid-round makes the rest of it and no month is billed twice or skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from backend.bills import CODE_ALPHABET, PAID, PAYING, new_code
from backend.bills import OPEN as BILL_OPEN
from backend.db import Doc, Store, now_ms
from backend.errors import Conflict, ErrorCode, Forbidden, InvalidRequest, NotFound

MAX_MEMBERS = 50  # besides the organiser: GoPay's split bill takes 51 people in all


class SplitKind(StrEnum):
    """What a group document is for (see the module docstring)."""

    SPLIT = "split"
    DUES = "dues"
    REQUEST = "request"


class Phase(StrEnum):
    """The organiser's decisions (never whether it is paid: that is read from the bills)."""

    GATHERING = "gathering"
    BILLING = "billing"
    BILLED = "billed"
    CANCELLED = "cancelled"


class SplitStatus(StrEnum):
    """What a split is, as read from its phase and its bills."""

    GATHERING = "gathering"  # members are joining
    BILLING = "billing"  # its bills are being made
    OPEN = "open"  # billed, some shares still to pay (a request: taking payments)
    SETTLED = "settled"  # every share paid
    CLOSED = "closed"  # nothing left to pay, some shares declined or cancelled
    CANCELLED = "cancelled"  # its organiser cancelled it (paid shares stay paid)


@dataclass(frozen=True)
class Share:
    """One participant's part of a round."""

    username: str
    name: str
    amount: int


def is_split_id(text: str) -> bool:
    """A split id has the bill codes' shape and alphabet."""
    return len(text) == 10 and set(text) <= set(CODE_ALPHABET)


def equal_shares(total: int, people: list[tuple[str, str]]) -> list[Share]:
    """`total` in equal whole shares that add up to it exactly. The rule for the remainder: the
    first `total mod n` people in the list (the organiser first, then members in the order they
    joined) pay one rupiah more."""
    base, rest = divmod(total, len(people))
    return [Share(u, n, base + (1 if i < rest else 0)) for i, (u, n) in enumerate(people)]


def shares_of(split: Doc, custom: dict[str, int] | None = None) -> list[Share]:
    """Every participant's share of a split's next round, the organiser's first.

    A split: the total in equal shares, or `custom` amounts for the members named (the others,
    the organiser included, share what is left equally by the same rule). Dues: the amount for
    each member (the organiser collects and owes none)."""
    organiser = (split["organiser"], split["organiser_name"])
    members = [(m["username"], m["name"]) for m in split["members"]]
    if split["kind"] == SplitKind.DUES:
        return [Share(organiser[0], organiser[1], 0)] + [Share(u, n, split["amount"]) for u, n in members]
    custom = {k.lower(): v for k, v in (custom or {}).items()}
    everyone = [organiser, *members]
    unknown = set(custom) - {u for u, _ in everyone}
    if unknown:
        raise InvalidRequest(f"not in this split: {', '.join(sorted(unknown))}", ErrorCode.INVALID_SHARES)
    named = sum(custom.values())
    rest = [(u, n) for u, n in everyone if u not in custom]
    if named > split["amount"] or (not rest and named != split["amount"]):
        raise InvalidRequest(
            f"the shares add up to {named}, the total is {split['amount']}", ErrorCode.INVALID_SHARES
        )
    shares = {s.username: s for s in equal_shares(split["amount"] - named, rest)} if rest else {}
    shares.update({u: Share(u, n, custom[u]) for u, n in everyone if u in custom})
    result = [shares[u] for u, _ in everyone]
    if any(s.amount <= 0 for s in result[1:]):
        raise InvalidRequest("every member's share must be at least 1", ErrorCode.INVALID_SHARES)
    return result


def shares_digest(shares: Iterable[Share]) -> str:
    """What an OTP for billing binds to: exactly these shares."""
    blob = ";".join(f"{s.username}={s.amount}" for s in shares)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def bill_request(split_id: str, round_no: int, username: str) -> str:
    """The `request` of a share's bill: one bill per member per round, whoever makes it."""
    return f"split:{split_id}:{round_no}:{username}"


def tally_id(split_id: str, round_no: int) -> str:
    """The outbox id of a round's tally message (the group sees it edited as payments land)."""
    return f"tally:{split_id}:{round_no}"


class Splits:
    """The split documents: creating, joining, billing rounds, cancelling, reading."""

    def __init__(self, store: Store, timezone: str, month_seconds: int = 0) -> None:
        self.store = store
        self.timezone = timezone
        self.month_seconds = month_seconds

    # ---- creating and joining -----------------------------------------------------------------

    def create(
        self,
        organiser: Doc,
        kind: SplitKind,
        title: str,
        amount: int,
        *,
        lang: str,
        chat_id: int | None = None,
        inline_message_id: str | None = None,
        split_id: str | None = None,
        request: str | None = None,
        fingerprint: str | None = None,
    ) -> tuple[Doc, bool]:
        """A new split (`split_id` given: an inline request's id chosen by the bot), or the one
        this request (`request` = "owner:Idempotency-Key") made before, and whether it is new."""
        now = now_ms()
        doc: Doc = {
            "kind": str(kind),
            "title": title,
            "amount": amount,
            "organiser": organiser["_id"],
            "organiser_name": organiser["name"],
            "lang": lang,
            "chat_id": chat_id,
            "inline_message_id": inline_message_id,
            "phase": str(Phase.BILLED if kind == SplitKind.REQUEST else Phase.GATHERING),
            "member_names": [organiser["_id"]],
            "member_count": 0,
            "round": 0,
            "organiser_key": "",
            "created_at": now,
            "updated_at": now,
        }
        if request is not None:
            doc["request"], doc["fingerprint"] = request, fingerprint
        for _ in range(5):
            doc["_id"] = split_id or new_code()
            doc["organiser_key"] = f"{organiser['_id']}:{now:013d}:{doc['_id']}"
            try:
                self.store.splits.insert_one(doc)
                return {**doc, "members": []}, True
            except DuplicateKeyError:
                existing = self.store.splits.find_one(
                    {"request": request} if request is not None else {"_id": doc["_id"]}
                )
                if existing is not None and (request is not None or split_id is not None):
                    if (
                        existing["organiser"] != organiser["_id"]
                        or existing.get("fingerprint") != fingerprint
                    ):
                        raise Conflict("that split id is taken", ErrorCode.IDEMPOTENCY_CONFLICT) from None
                    return self._full(existing), False
                if split_id is not None:
                    raise Conflict("that split id is taken", ErrorCode.IDEMPOTENCY_CONFLICT) from None
        raise RuntimeError("could not allocate a unique split id")

    def join(self, split: Doc, user: Doc, telegram_user_id: int | None) -> Doc:
        """Add a member while the split is gathering (joining twice changes nothing)."""
        if user["_id"] in split["member_names"]:
            return split
        if split["phase"] != Phase.GATHERING:
            raise Conflict("this split is no longer taking members", ErrorCode.SPLIT_CLOSED)
        joined = self.store.splits.find_one_and_update(
            {
                "_id": split["_id"],
                "phase": str(Phase.GATHERING),
                "member_names": {"$nin": [user["_id"]]},
                "member_count": {"$lt": MAX_MEMBERS},
            },
            {
                "$push": {"member_names": user["_id"]},
                "$inc": {"member_count": 1},
                "$set": {"updated_at": now_ms()},
            },
            return_document=True,
        )
        if joined is not None:
            self.remember_member(joined, user, seq=joined["member_count"], telegram_user_id=telegram_user_id)
            return self._full(joined)
        current = self.get(split["_id"])
        if user["_id"] in current["member_names"]:
            return current
        if current["phase"] != Phase.GATHERING:
            raise Conflict("this split is no longer taking members", ErrorCode.SPLIT_CLOSED)
        raise Conflict(f"a split takes at most {MAX_MEMBERS} members", ErrorCode.SPLIT_FULL)

    def remember_member(
        self, split: Doc, user: Doc, *, seq: int = 0, telegram_user_id: int | None = None
    ) -> None:
        """The member's row: their name and place in the join order, and the key that lists this
        split among theirs ("user:time:id"). A member's details live here, not in an array of the
        split (the split keeps only the usernames, for its conditional updates)."""
        row = {
            "_id": f"{split['_id']}:{user['_id']}",
            "split": split["_id"],
            "username": user["_id"],
            "name": user["name"],
            "seq": seq,
            "telegram_user_id": telegram_user_id,
            "member_key": f"{user['_id']}:{split['created_at']:013d}:{split['_id']}",
        }
        with contextlib.suppress(DuplicateKeyError):  # remembered already (a retried join or claim)
            self.store.split_members.insert_one(row)

    def _full(self, split: Doc) -> Doc:
        """A split with its members in the order they joined (a member whose row a crash lost
        is listed by username, their row made again)."""
        rows = {r["username"]: r for r in self.store.split_members.find({"split": split["_id"]})}
        members = []
        for seq, username in enumerate(split["member_names"][1:], start=1):
            row = rows.get(username)
            if row is None:
                user = self.store.users.find_one({"_id": username}, {"name": 1}) or {"name": username}
                row = {"username": username, "name": user["name"], "seq": seq}
                self.remember_member(split, {"_id": username, "name": row["name"]}, seq=seq)
            members.append({"username": username, "name": row["name"]})
        return {**split, "members": members}

    # ---- billing --------------------------------------------------------------------------------

    def start_billing(
        self, split: Doc, shares: list[Share], request: str, fingerprint: str
    ) -> tuple[Doc, bool]:
        """gathering → billing with these shares for this request: (split, True); or the split
        this very request started billing before (False). Anything else: refused."""
        stored = [s.__dict__ for s in shares]
        started = self.store.splits.find_one_and_update(
            {"_id": split["_id"], "phase": str(Phase.GATHERING), "member_count": split["member_count"]},
            {
                "$set": {
                    "phase": str(Phase.BILLING),
                    "shares": stored,
                    "bill_request": request,
                    "bill_fingerprint": fingerprint,
                    "billing_since": now_ms(),
                    "updated_at": now_ms(),
                }
            },
            return_document=True,
        )
        if started is not None:
            return self._full(started), True
        current = self.get(split["_id"])
        if current.get("bill_request") == request:
            return current, False
        if current["phase"] == Phase.GATHERING:  # someone joined since the shares were shown
            raise Conflict("someone joined meanwhile: look at the shares again", ErrorCode.SPLIT_CHANGED)
        raise Conflict(f"this split is {current['phase']} already", ErrorCode.SPLIT_CLOSED)

    def find_billed_by(self, request: str) -> Doc | None:
        """The split that the request with this Idempotency-Key started billing, or None."""
        split = self.store.splits.find_one({"bill_request": request})
        return self._full(split) if split is not None else None

    def billed(self, split: Doc) -> Doc:
        """billing → billed once every bill of its first round exists (dues: the next month is set)."""
        fields: Doc = {"phase": str(Phase.BILLED), "billed_at": now_ms(), "updated_at": now_ms()}
        if split["kind"] == SplitKind.DUES:
            fields.update(round=0, next_round=1)
            fields["next_at"] = self.round_due({**split, "billed_at": fields["billed_at"]}, 1)
        done = self.store.splits.find_one_and_update(
            {"_id": split["_id"], "phase": str(Phase.BILLING)},
            {"$set": fields, "$unset": {"billing_since": ""}},
            return_document=True,
        )
        return self._full(done) if done is not None else self.get(split["_id"])

    def stuck_billing(self, older_than_ms: int, limit: int) -> list[Doc]:
        """Splits whose billing request died half way (to be finished from their shares)."""
        cutoff = now_ms() - older_than_ms
        return [
            self._full(s) for s in self.store.splits.find({"billing_since": {"$lt": cutoff}}).limit(limit)
        ]

    # ---- dues months ----------------------------------------------------------------------------

    def round_due(self, split: Doc, round_no: int) -> int:
        """When round `round_no` of a dues series is due (epoch ms)."""
        start = int(split["billed_at"])
        if self.month_seconds:
            return start + round_no * self.month_seconds * 1000
        zone = ZoneInfo(self.timezone)
        first = datetime.fromtimestamp(start / 1000, zone)
        months = first.year * 12 + first.month - 1 + round_no
        return int(datetime(months // 12, months % 12 + 1, 1, tzinfo=zone).timestamp() * 1000)

    def round_label(self, split: Doc, round_no: int) -> str:
        """The month a dues round is for, "yyyy-mm" (the first month + round_no)."""
        start = split.get("billed_at") or split["created_at"]
        first = datetime.fromtimestamp(int(start) / 1000, ZoneInfo(self.timezone))
        months = first.year * 12 + first.month - 1 + round_no
        return f"{months // 12:04d}-{months % 12 + 1:02d}"

    def due_rounds(self, limit: int) -> list[Doc]:
        """Dues series whose next month has come."""
        query = {"next_at": {"$lte": now_ms()}, "phase": str(Phase.BILLED)}
        due = self.store.splits.find(query).sort("next_at").limit(limit)
        return [self._full(s) for s in due]

    def advance(self, split: Doc, round_no: int) -> bool:
        """Round `round_no` is made: move the series on to the next month (one caller wins)."""
        moved = self.store.splits.update_one(
            {"_id": split["_id"], "next_round": round_no, "phase": str(Phase.BILLED)},
            {
                "$set": {
                    "round": round_no,
                    "next_round": round_no + 1,
                    "next_at": self.round_due(split, round_no + 1),
                    "updated_at": now_ms(),
                }
            },
        )
        return moved.modified_count == 1

    # ---- cancelling -----------------------------------------------------------------------------

    def cancel(self, split: Doc) -> Doc:
        """gathering/billed → cancelled (a split still being billed must finish first)."""
        if split["phase"] == Phase.CANCELLED:
            return split
        if split["phase"] == Phase.BILLING:
            raise Conflict("its bills are being made: try again in a moment", ErrorCode.SPLIT_CHANGED)
        done = self.store.splits.find_one_and_update(
            {"_id": split["_id"], "phase": split["phase"]},
            {
                "$set": {"phase": str(Phase.CANCELLED), "cancelled_at": now_ms(), "updated_at": now_ms()},
                "$unset": {"next_at": ""},
            },
            return_document=True,
        )
        return self._full(done) if done is not None else self.cancel(self.get(split["_id"]))

    # ---- reading --------------------------------------------------------------------------------

    def find(self, split_id: str) -> Doc | None:
        """One split with its members, or None."""
        split = self.store.splits.find_one({"_id": split_id})
        return self._full(split) if split is not None else None

    def get(self, split_id: str) -> Doc:
        """One split, or NotFound."""
        split = self.store.splits.find_one({"_id": split_id.strip().upper()}) if split_id else None
        if split is None:
            raise NotFound("split not found", ErrorCode.SPLIT_NOT_FOUND)
        return self._full(split)

    def get_for(self, split_id: str, username: str, *, admin: bool = False) -> Doc:
        """A split its organiser, a member (or an admin) may see; 404 for anyone else. A request
        is seen by anyone who has a bill in it, as well as by its requester."""
        split = self.get(split_id)
        if admin or username in split["member_names"]:
            return split
        if split["kind"] == SplitKind.REQUEST and self.bill_of(split, username) is not None:
            return split
        raise NotFound("split not found", ErrorCode.SPLIT_NOT_FOUND)

    def organised(self, split: Doc, username: str) -> None:
        """Only the organiser decides for a split."""
        if split["organiser"] != username:
            raise Forbidden("only the organiser can do that", ErrorCode.NOT_ORGANISER)

    def bills(self, split_id: str, round_no: int | None = None) -> list[Doc]:
        """The bills a split made (of one round), oldest first."""
        bills = list(self.store.bills.find({"split": split_id}).sort("created_at"))
        return [b for b in bills if round_no is None or b.get("round", 0) == round_no]

    def bill_of(self, split: Doc, username: str) -> Doc | None:
        """This member's bill of the split's current round, if there is one."""
        return self.store.bills.find_one(
            {"request": bill_request(split["_id"], split.get("round", 0), username)}
        )

    def page(
        self, role: str, username: str, *, limit: int, cursor: str | None
    ) -> tuple[list[Doc], str | None]:
        """One page of the splits a user organises, or is a member of, newest first."""
        bounds = {"$gt": f"{username}:", "$lt": f"{username}:{cursor or '~'}"}
        if role == "organiser":
            rows = list(
                self.store.splits.find({"organiser_key": bounds})
                .sort("organiser_key", DESCENDING)
                .limit(limit + 1)
            )
            keys = [row["organiser_key"] for row in rows]
        else:
            rows = list(
                self.store.split_members.find({"member_key": bounds})
                .sort("member_key", DESCENDING)
                .limit(limit + 1)
            )
            keys = [row["member_key"] for row in rows]
            found = {
                s["_id"]: s for s in self.store.splits.find({"_id": {"$in": [r["split"] for r in rows]}})
            }
            rows = [found[r["split"]] for r in rows if r["split"] in found]
        rows = [self._full(s) for s in rows]
        more = len(rows) > limit
        return rows[:limit], (keys[limit - 1].split(":", 1)[1] if more else None)

    def page_all(self, *, limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
        """Admin: every split, newest first."""
        query: Doc = {"created_at": {"$lt": int(cursor)}} if cursor else {}
        rows = [
            self._full(s)
            for s in self.store.splits.find(query).sort("created_at", DESCENDING).limit(limit + 1)
        ]
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (str(rows[-1]["created_at"]) if more and rows else None)


def summarize(
    split: Doc, bills: list[Doc], label: Callable[[Doc, int], str] | None = None, round_no: int | None = None
) -> Doc:
    """What a split is now, from its phase and one round's bills (its current one unless said):
    every participant with their share and what became of it, the counts and sums, and the
    derived status."""
    round_no = int(split.get("round", 0)) if round_no is None else round_no
    by_payer = {b["payer"]: b for b in bills if int(b.get("round", 0)) == round_no}
    kind, phase = split["kind"], split["phase"]
    people: list[Doc] = []
    if kind == SplitKind.REQUEST:
        people = [_person(b["payer"], b["payer_name"], b["amount"], b) for b in by_payer.values()]
    else:
        shares = split.get("shares")
        if shares is None:  # still gathering: the shares as they would be now
            shares = [share.__dict__ for share in shares_of(split)]
        for share in shares:
            if share["username"] == split["organiser"]:
                if kind == SplitKind.SPLIT:  # the organiser's own share is theirs, never billed
                    people.append(
                        {**_person(share["username"], share["name"], share["amount"], None), "status": "own"}
                    )
                continue
            people.append(
                _person(share["username"], share["name"], share["amount"], by_payer.get(share["username"]))
            )
    billed = [p for p in people if p["status"] != "own"]
    # "3/5 paid · Rp200.000 of Rp300.000": the members billed, and the money in (the own share too)
    paid_amount = sum(p["amount"] for p in people if p["status"] in ("own", PAID))
    summary: Doc = {
        "round": round_no,
        "period": label(split, round_no) if label and kind == SplitKind.DUES else None,
        "people": people,
        "paid_count": sum(1 for p in billed if p["status"] == PAID),
        "count": len(billed),
        "paid_amount": paid_amount,
        "total": sum(p["amount"] for p in people),
        "declined_count": sum(1 for p in billed if p["status"] == "declined"),
    }
    summary["status"] = _status(kind, phase, billed)
    return summary


def _person(username: str, name: str, amount: int, bill: Doc | None) -> Doc:
    """One line of a tally."""
    status = "pending" if bill is None else ("open" if bill["status"] == PAYING else bill["status"])
    return {
        "username": username,
        "name": name,
        "amount": amount,
        "status": status,
        "bill_code": bill["code"] if bill else None,
    }


def _status(kind: str, phase: str, billed: list[Doc]) -> SplitStatus:
    """The derived status (see SplitStatus)."""
    if phase == Phase.GATHERING:
        return SplitStatus.GATHERING
    if phase == Phase.BILLING:
        return SplitStatus.BILLING
    if kind == SplitKind.REQUEST:
        return SplitStatus.CANCELLED if phase == Phase.CANCELLED else SplitStatus.OPEN
    if billed and all(p["status"] == PAID for p in billed):
        return SplitStatus.SETTLED
    if phase == Phase.CANCELLED:
        return SplitStatus.CANCELLED
    if any(p["status"] in (BILL_OPEN, "pending") for p in billed):
        return SplitStatus.OPEN
    return SplitStatus.CLOSED


def tally_data(split: Doc, summary: Doc) -> dict[str, Any]:
    """What the bot needs to draw a tally message (the split's public face in its group)."""
    return {
        "split": split["_id"],
        "kind": split["kind"],
        "title": split["title"],
        "amount": split["amount"],
        "organiser": split["organiser"],
        "organiser_name": split["organiser_name"],
        "phase": split["phase"],
        **summary,
    }
