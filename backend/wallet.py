"""The wallet's use cases, each one call for a route: OTPs, transfers, bills, splits and dues,
admin money.

This is the composition root of the domain: it owns one instance of every service for the
process and wires OTP checks, idempotency, the ledger and the outbox of notices together.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from backend.accounts import Accounts
from backend.bills import BILL_FIELDS, CANCELLED, OPEN, PAID, Bills, check_due_date, normalize_code
from backend.config import Settings
from backend.db import Doc, Store, local_date, now_ms
from backend.errors import (
    BillNotPayable,
    Conflict,
    ErrorCode,
    InvalidRequest,
    NotFound,
    OtpRejected,
    TooManyRequests,
)
from backend.idempotency import Idempotency, Reservation, reservation
from backend.identity import check_nik, mask_nik
from backend.ledger import (
    BILL_PAYMENT,
    DEPOSIT,
    DONE,
    REVERSAL,
    TRANSFER,
    UNVERIFIED,
    VERIFIED,
    Ledger,
    MovementRequest,
    new_movement_id,
)
from backend.notices import NoticeKind, Notices
from backend.otp import Grant, OtpAction, Otps, binding_of
from backend.ratelimit import RateLimiter
from backend.schemas import (
    AdminUser,
    BillCreate,
    BillPaid,
    BillPublic,
    BillSplitOtp,
    Movement,
    OtpRequest,
    PayBillOtp,
    SharesPreview,
    SplitBill,
    SplitCreate,
    SplitList,
    SplitPerson,
    SplitView,
    TransferCreate,
    TransferOtp,
    TransferResult,
    UserPrivate,
    VerifyForm,
)
from backend.security import Tokens
from backend.splits import (
    Phase,
    Share,
    SplitKind,
    Splits,
    shares_digest,
    shares_of,
    summarize,
    tally_data,
    tally_id,
)
from backend.statements import Statements

logger = logging.getLogger(__name__)


class Wallet:
    """Every service of one backend process, and the use cases that combine them."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.limiter = RateLimiter(store)
        self.notices = Notices(store, settings)
        self.accounts = Accounts(store, settings, self.limiter)
        self.tokens = Tokens(store, settings)
        self.otps = Otps(store, settings, self.limiter, self.notices)
        self.ledger = Ledger(store, settings, announce=self.notices.add)
        self.bills = Bills(store)
        self.idempotency = Idempotency(give_back=self.otps.give_back)
        self.splits = Splits(store, settings.limits_timezone, settings.dues_month_seconds)
        self.notices.draw = self._draw_tally
        self.statements = Statements(store, self.ledger, settings)

    def count_document(self, user: Doc) -> None:
        """Count one rendered document (statement, export, chart) against the user's quota."""
        window = self.settings.documents_window_seconds
        if self.limiter.hit("documents:" + user["_id"], window) > self.settings.documents_per_window:
            retry = self.limiter.retry_after(window)
            raise TooManyRequests(f"too many documents asked for; try again in {retry} s")

    # ---- OTP ------------------------------------------------------------------------------

    def request_otp(self, user: Doc, form: OtpRequest) -> None:
        """Issue an OTP bound to exactly the action the user is about to confirm, refusing first
        what can be known to fail (unknown payee, limits, balance, frozen, a bill not payable),
        so that no code is spent on it. What this request reads and the action will need (the
        other party's name and chat, the bill) is kept with the code."""
        if isinstance(form, PayBillOtp):
            bill = self.bills.payable_by(form.bill_code, user["_id"])
            if form.amount is not None and form.amount != bill["amount"]:
                raise InvalidRequest(f"this bill is for {bill['amount']}, not {form.amount}")
            binding = binding_of(form.action, bill_code=bill["code"])
            summary: dict[str, Any] = {
                "party": bill["issuer"],
                "amount": bill["amount"],
                "bill_code": bill["code"],
            }
            issuer = self.store.users.find_one({"_id": bill["issuer"]})
            payment = MovementRequest(BILL_PAYMENT, bill["amount"], user["_id"], bill["issuer"])
            self.ledger.precheck(payment, user, issuer)
            facts: Doc = {"bill": {k: bill.get(k) for k in BILL_FIELDS}, "party": _address(issuer)}
        elif isinstance(form, BillSplitOtp):
            split = self._gathering_of(user, form.split_id)
            binding, _, billed = self._split_binding(split, form.shares)
            summary = {"party": split["title"], "amount": sum(s.amount for s in billed), "count": len(billed)}
            facts = {"split": split["_id"], "member_count": split["member_count"]}
        else:
            party = form.recipient if isinstance(form, TransferOtp) else form.payer
            other = self._counterparty(user, party)
            binding = binding_of(form.action, party=party, amount=form.amount)
            summary = {"party": party, "amount": form.amount}
            if isinstance(form, TransferOtp):
                transfer = MovementRequest(TRANSFER, form.amount, user["_id"], other["_id"])
                self.ledger.precheck(transfer, user, other)
            else:  # a bill its payer could never pay in one transfer
                self.ledger.check_amount(MovementRequest(BILL_PAYMENT, form.amount, party, user["_id"]))
            facts = {"party": _address(other)}
        self.otps.issue(user, form.action, binding, summary, facts)

    def _counterparty(self, user: Doc, party: str) -> Doc:
        """The other user of a transfer or bill: must exist and not be oneself."""
        _not_self(user, party)
        return self.accounts.get(party)

    def _authorizer(
        self, user: Doc, action: str, binding: str, code: str, reserved: Reservation, party: str
    ) -> Callable[[], Grant]:
        """The OTP check of a keyed request (see idempotency.py). A refused code whose request
        would fail anyway says why instead (an unknown party; a bill not theirs or not open)."""

        def authorize() -> Grant:
            try:
                return self.otps.verify(user["_id"], action, binding, code, reserved.id)
            except OtpRejected:
                if action == OtpAction.PAY_BILL:
                    self.bills.payable_by(party, user["_id"])
                else:
                    self.accounts.get(party)
                raise

        return authorize

    # ---- transfers ------------------------------------------------------------------------

    def transfer(self, user: Doc, form: TransferCreate, key: str) -> TransferResult:
        """Send money, once per Idempotency-Key, after the OTP bound to it is accepted."""
        _not_self(user, form.recipient)
        reserved = reservation(user["_id"], key, "transfer", form.model_dump())
        binding = binding_of("transfer", party=form.recipient, amount=form.amount)

        def perform(grant: Grant | None) -> tuple[Doc, bool]:
            payee = _party(grant) or self.accounts.get(form.recipient)  # a code of an older version
            movement_id = new_movement_id()
            received = self.notices.build(
                payee,
                NoticeKind.RECEIVED,
                movement_id,
                {"amount": form.amount, "sender": user["_id"], "description": form.description},
            )
            tip = None
            if form.tip_chat_id is not None:  # a tip asked in a group: the group is told
                names = {"tipper": user["name"], "tippee": payee["name"], "amount": form.amount}
                tip = self.notices.for_chat(
                    form.tip_chat_id, user.get("lang", "id"), NoticeKind.TIP, movement_id, names
                )
            request = MovementRequest(
                TRANSFER,
                form.amount,
                user["_id"],
                payee["_id"],
                form.description,
                notices=_present(received, tip),
                answer={"recipient_name": payee["name"]},
            )
            return self.ledger.start(request, movement_id, reservation=reserved, payee_known=True)

        def answer(record: Doc) -> TransferResult:
            record = self.ledger.settled(record)
            return TransferResult.from_record(record, self._balance_after(user["_id"], record))

        authorize = self._authorizer(user, "transfer", binding, form.otp, reserved, form.recipient)
        return self.idempotency.run(
            reserved, authorize=authorize, perform=perform, find=self.ledger.find_reserved, answer=answer
        )

    def _balance_after(self, username: str, record: Doc) -> int:
        """The payer's balance right after this movement (read again only when the call that
        debited did not finish the record)."""
        if "src_balance" in record:
            return int(record["src_balance"])
        if "balance" in record.get("answer", {}):
            return int(record["answer"]["balance"])
        return int(self.accounts.get(username)["balance"])

    # ---- bills ------------------------------------------------------------------------------

    def create_bill(self, user: Doc, form: BillCreate, key: str) -> BillPublic:
        """Bill another user after the OTP bound to (payer, amount) is accepted."""
        _not_self(user, form.payer)
        # before the code is used: a refusal the user can fix must not cost them their OTP
        check_due_date(form.due_date, self.settings.bill_timezone, self.settings.due_date_max_days)
        reserved = reservation(user["_id"], key, "create_bill", form.model_dump())
        binding = binding_of("create_bill", party=form.payer, amount=form.amount)

        def perform(grant: Grant | None) -> tuple[Doc, bool]:
            payer = _party(grant) or self.accounts.get(form.payer)
            return self.bills.create(
                issuer=user,
                payer=payer,
                bill_name=form.bill_name,
                amount=form.amount,
                description=form.description,
                due_date=form.due_date,
                reservation=reserved,
                before_insert=lambda bill: self._announce_bill(payer, NoticeKind.BILL_NEW, bill, OPEN),
            )

        authorize = self._authorizer(user, "create_bill", binding, form.otp, reserved, form.payer)
        return self.idempotency.run(
            reserved,
            authorize=authorize,
            perform=perform,
            find=self.bills.find_reserved,
            answer=BillPublic.from_doc,
        )

    def pay_bill(self, user: Doc, code: str, otp: str, key: str) -> BillPaid:
        """Pay an open bill I owe: money payer → issuer through the ledger, bill becomes paid."""
        code = normalize_code(code)
        reserved = reservation(user["_id"], key, "pay_bill", {"code": code})
        binding = binding_of("pay_bill", bill_code=code)
        known: Doc = {}  # the bill as the code's request read it

        def perform(grant: Grant | None) -> tuple[Doc, bool]:
            bill = (grant.facts.get("bill") if grant else None) or self.bills.payable_by(code, user["_id"])
            issuer = _party(grant) or self.store.users.find_one({"_id": bill["issuer"]})
            known.update(bill)
            movement_id = new_movement_id()
            paid = self.notices.build(issuer, NoticeKind.BILL_PAID, movement_id, _bill_facts(bill))
            tally = (
                self.notices.touch_of(tally_id(bill["split"], bill["round"])) if bill.get("split") else None
            )
            request = MovementRequest(
                BILL_PAYMENT,
                bill["amount"],
                user["_id"],
                bill["issuer"],
                f"{bill['bill_name']} ({code})",
                bill_code=code,
                notices=_present(paid, tally),
            )
            return self.ledger.start(request, movement_id, reservation=reserved, payee_known=True)

        def answer(record: Doc) -> BillPaid:
            record = self.ledger.settled(record)
            # a done payment has settled its bill (the ledger did before marking it done)
            bill = known or self.bills.get_for(code, user["_id"])
            bill = {**bill, "status": PAID, "payment_id": record["_id"], "paid_at": bill.get("paid_at")}
            bill["paid_at"] = bill["paid_at"] or record["done_at"]
            return BillPaid(
                bill=BillPublic.from_doc(bill),
                payment_id=record["_id"],
                balance=self._balance_after(user["_id"], record),
            )

        authorize = self._authorizer(user, "pay_bill", binding, otp, reserved, code)
        return self.idempotency.run(
            reserved, authorize=authorize, perform=perform, find=self.ledger.find_reserved, answer=answer
        )

    def close_bill(self, user: Doc, code: str, *, as_role: str) -> BillPublic:
        """Decline (payer) or cancel (issuer) an open bill and tell the other party."""

        def tell_the_other(bill: Doc, status: str) -> None:
            other = self.store.users.find_one({"_id": bill["issuer" if as_role == "payer" else "payer"]})
            kind = NoticeKind.BILL_CANCELLED if status == CANCELLED else NoticeKind.BILL_DECLINED
            self._announce_bill(other, kind, bill, status)

        bill = self.bills.close(code, user["_id"], as_role=as_role, before_change=tell_the_other)
        if bill.get("split"):
            self.notices.touch(tally_id(bill["split"], bill["round"]))
        return BillPublic.from_doc(bill)

    def _announce_bill(
        self, user: Doc | None, kind: NoticeKind, bill: Doc, status: str, **extra: Any
    ) -> None:
        """Queue bill news for `user`, held until the bill is in `status`."""
        self.notices.about_bill(user, kind, bill, status, **_bill_facts(bill), **extra)

    def queue_reminders(self, interval_seconds: int, limit: int) -> dict[str, int]:
        """Turn open bills due a reminder into reminder notices (each bill claimed by one caller)."""
        bills = self.bills.claim_reminders(interval_seconds * 1000, limit)
        queued = 0
        for bill in bills:
            payer = self.store.users.find_one({"_id": bill["payer"]}, {"telegram_chat_id": 1, "lang": 1})
            self._announce_bill(payer, NoticeKind.REMINDER, bill, OPEN, round=bill["reminded_at"])
            queued += payer is not None and "telegram_chat_id" in payer
        return {"claimed": len(bills), "queued": queued}

    # ---- splits, dues and pay-me requests (splits.py) -------------------------------------------

    def create_split(self, user: Doc, form: SplitCreate, key: str) -> SplitView:
        """A split or dues series for a group, or a pay-me request, once per Idempotency-Key; its
        tally (the group's message, or the inline message's text) is queued at once."""
        kind = SplitKind(form.kind)
        if form.id is not None and kind != SplitKind.REQUEST:
            raise InvalidRequest("only a pay-me request takes an id of its own")
        if kind != SplitKind.SPLIT:  # what each payer will pay: one bill each, within the limits
            self.ledger.check_amount(MovementRequest(BILL_PAYMENT, form.amount, None, user["_id"]))
        reserved = reservation(user["_id"], key, "split", form.model_dump())
        split, _ = self.splits.create(
            user,
            kind,
            form.title,
            form.amount,
            lang=user.get("lang", "id"),
            chat_id=form.chat_id,
            inline_message_id=form.inline_message_id,
            split_id=form.id.upper() if form.id else None,
            request=reserved.id,
            fingerprint=reserved.fingerprint,
        )
        self._tally(split, 0)  # kept as it is when queued already (a replay)
        return self.split_view(split, user)

    def split_view(self, split: Doc, user: Doc) -> SplitView:
        """A split as `user` sees it: its current round drawn from its bills, and their own bill."""
        summary = summarize(split, self.splits.bills(split["_id"], split["round"]), self.splits.round_label)
        mine = self.splits.bill_of(split, user["_id"])
        return SplitView.from_doc(split, summary, mine["code"] if mine else None)

    def join_split(self, user: Doc, split_id: str, telegram_user_id: int | None) -> SplitView:
        """Join a split that is gathering members (its tally shows the new member)."""
        split = self.splits.get(split_id)
        if split["kind"] == SplitKind.REQUEST:
            raise Conflict("a pay-me request takes no members: tap Pay", ErrorCode.SPLIT_CLOSED)
        split = self.splits.join(split, user, telegram_user_id)
        self._touch(split, split["round"])
        return self.split_view(split, user)

    def preview_shares(self, user: Doc, split_id: str, custom: dict[str, int] | None) -> SharesPreview:
        """What "Bill everyone" would bill now (equal shares, or these custom ones)."""
        split = self._gathering_of(user, split_id)
        shares, billed = self._billable(split, custom)
        people = [
            SplitPerson(
                username=s.username,
                name=s.name,
                amount=s.amount,
                status="own" if s.username == split["organiser"] else "pending",
                bill_code=None,
            )
            for s in shares
            if s.username != split["organiser"] or split["kind"] == SplitKind.SPLIT
        ]
        return SharesPreview(
            people=people, billed_total=sum(s.amount for s in billed), billed_count=len(billed)
        )

    def _gathering_of(self, user: Doc, split_id: str) -> Doc:
        """A split its organiser (this user) may still bill."""
        split = self.splits.get_for(split_id, user["_id"])
        self.splits.organised(split, user["_id"])
        if split["phase"] != Phase.GATHERING:
            raise Conflict(f"this split is {split['phase']} already", ErrorCode.SPLIT_CLOSED)
        return split

    def _billable(self, split: Doc, custom: dict[str, int] | None) -> tuple[list[Share], list[Share]]:
        """Every share of the split's first round, and those that become bills (not the organiser's)."""
        if split["member_count"] == 0:
            raise Conflict("nobody has joined yet", ErrorCode.NOTHING_TO_BILL)
        if custom and split["kind"] != SplitKind.SPLIT:
            raise InvalidRequest("dues are the same for every member", ErrorCode.INVALID_SHARES)
        shares = shares_of(split, custom)
        billed = [s for s in shares if s.username != split["organiser"]]
        for share in billed:  # each share is one bill its payer must be able to pay in one go
            self.ledger.check_amount(
                MovementRequest(BILL_PAYMENT, share.amount, share.username, split["organiser"])
            )
        return shares, billed

    def _split_binding(
        self, split: Doc, custom: dict[str, int] | None
    ) -> tuple[str, list[Share], list[Share]]:
        """What a bill_split code authorises: this split, these very shares, this total."""
        shares, billed = self._billable(split, custom)
        total = sum(s.amount for s in billed)
        return (
            binding_of(
                OtpAction.BILL_SPLIT, party=split["_id"], amount=total, bill_code=shares_digest(shares)
            ),
            shares,
            billed,
        )

    def _unchanged_since_code(self, user: Doc, split: Doc) -> None:
        """Someone joined after the organiser's code was issued: say so (the code would not match)."""
        otp = self.store.otps.find_one({"_id": f"{user['_id']}:{OtpAction.BILL_SPLIT}"}, {"facts": 1})
        facts = (otp or {}).get("facts") or {}
        if facts.get("split") == split["_id"] and facts.get("member_count") != split["member_count"]:
            raise Conflict("someone joined meanwhile: look at the shares again", ErrorCode.SPLIT_CHANGED)

    def bill_split(self, user: Doc, split_id: str, form: SplitBill, key: str) -> SplitView:
        """Bill everyone: each share becomes a bill to its member, once per Idempotency-Key, after
        the organiser's bill_split code for exactly these shares. A second press (another key)
        finds the split billed and is refused; a retry with the key is answered as the first."""
        split = self.splits.get_for(split_id, user["_id"])
        self.splits.organised(split, user["_id"])
        reserved = reservation(user["_id"], key, "bill_split", {"split": split["_id"], "shares": form.shares})

        authorised: list[Share] = []  # the shares the accepted code was for

        def authorize() -> Grant:
            if split["phase"] != Phase.GATHERING:
                raise Conflict(f"this split is {split['phase']} already", ErrorCode.SPLIT_CLOSED)
            self._unchanged_since_code(user, split)
            binding, shares, _ = self._split_binding(split, form.shares)
            grant = self.otps.verify(user["_id"], OtpAction.BILL_SPLIT, binding, form.otp, reserved.id)
            authorised.extend(shares)
            return grant

        def perform(_grant: Grant | None) -> tuple[Doc, bool]:
            started, fresh = self.splits.start_billing(split, authorised, reserved.id, reserved.fingerprint)
            return _billing(started), fresh

        def find(request: str) -> Doc | None:
            done = self.splits.find_billed_by(request)
            return _billing(done) if done is not None else None

        def answer(doc: Doc) -> SplitView:
            return self.split_view(self._finish_billing(self.splits.get(doc["_id"])), user)

        return self.idempotency.run(reserved, authorize=authorize, perform=perform, find=find, answer=answer)

    def _finish_billing(self, split: Doc) -> Doc:
        """Make every bill of a split's first round (those made already are found), then billed."""
        if split["phase"] == Phase.BILLING:
            self._bill_round(split, 0)
            split = self.splits.billed(split)
            self._touch(split, 0)
        return split

    def _bill_round(self, split: Doc, round_no: int) -> int:
        """One bill per member's share of round `round_no` (idempotent: one per member and round,
        whoever makes it). → bills made now"""
        issuer = self.store.users.find_one({"_id": split["organiser"]})
        if issuer is None:
            return 0
        name = split["title"]
        if split["kind"] == SplitKind.DUES:
            name = f"{name} · {self.splits.round_label(split, round_no)}"[:100]
        made = 0
        for share in split["shares"]:
            if share["username"] == split["organiser"] or share["amount"] <= 0:
                continue
            payer = self.store.users.find_one({"_id": share["username"]})
            if payer is None:
                continue  # the member's account is gone: nobody to bill
            _, fresh = self._split_bill(split, round_no, issuer, payer, share["amount"], name)
            made += fresh
        return made

    def _split_bill(
        self, split: Doc, round_no: int, issuer: Doc, payer: Doc, amount: int, name: str
    ) -> tuple[Doc, bool]:
        """The bill of one member's share (made once: its request names split, round and member)."""
        key = Reservation("split", f"{split['_id']}:{round_no}:{payer['_id']}", split["_id"])
        return self.bills.create(
            issuer=issuer,
            payer=payer,
            bill_name=name,
            amount=amount,
            description=None,
            due_date=None,
            reservation=key,
            before_insert=lambda bill: self._announce_bill(payer, NoticeKind.BILL_NEW, bill, OPEN),
            split={"split": split["_id"], "round": round_no},
        )

    def resume_billing(self, older_than_ms: int = 30_000, limit: int = 20) -> int:
        """Finish splits whose "Bill everyone" request died half way (from the shares it authorised)."""
        stuck = self.splits.stuck_billing(older_than_ms, limit)
        for split in stuck:
            self._finish_billing(split)
        return len(stuck)

    def run_dues(self, limit: int) -> dict[str, int]:
        """Make every dues round that has come: its bills, its tally, then the series moves on
        (one conditional update), so a restart or a second bot never bills a month twice."""
        rounds = bills = 0
        for split in self.splits.due_rounds(limit):
            round_no = int(split["next_round"])
            made = self._bill_round(split, round_no)
            self._tally(split, round_no)
            if self.splits.advance(split, round_no):
                rounds, bills = rounds + 1, bills + made
            elif self.splits.get(split["_id"])["phase"] == Phase.CANCELLED:
                # stopped while this month was being made: its bills are cancelled as well
                organiser = self.store.users.find_one({"_id": split["organiser"]})
                if organiser is not None:
                    self._cancel_open_shares(organiser, split["_id"], round_no)
        return {"rounds": rounds, "bills": bills}

    def cancel_split(self, user: Doc, split_id: str) -> SplitView:
        """The organiser cancels (dues: stops): every open share of the current round is
        cancelled, its payer told; paid shares stay paid."""
        split = self.splits.get_for(split_id, user["_id"])
        self.splits.organised(split, user["_id"])
        split = self.splits.cancel(split)
        self._cancel_open_shares(user, split["_id"], split["round"])
        return self.split_view(split, user)

    def _cancel_open_shares(self, organiser: Doc, split_id: str, round_no: int) -> None:
        """Cancel every open bill of a round (each payer told); its tally shows it."""
        for bill in self.splits.bills(split_id, round_no):
            if bill["status"] == OPEN:
                with contextlib.suppress(BillNotPayable):  # paid or declined meanwhile: it stays so
                    self.close_bill(organiser, bill["code"], as_role="issuer")
        self.notices.touch(tally_id(split_id, round_no))

    def claim_request(self, user: Doc, split_id: str) -> BillPublic:
        """Pay on a pay-me request: the tapper's one bill for it (made on the first tap)."""
        split = self.splits.get(split_id)
        if split["kind"] != SplitKind.REQUEST:
            raise NotFound("split not found", ErrorCode.SPLIT_NOT_FOUND)
        _not_self(user, split["organiser"])
        bill = self.splits.bill_of(split, user["_id"])
        if bill is not None and bill["status"] == PAID:
            raise Conflict("you paid this request already", ErrorCode.ALREADY_PAID)
        if bill is None:
            if split["phase"] == Phase.CANCELLED:
                raise Conflict("this request is closed", ErrorCode.SPLIT_CLOSED)
            issuer = self.accounts.get(split["organiser"])
            bill, _ = self._split_bill(split, 0, issuer, user, split["amount"], split["title"])
            self.splits.remember_member(split, user)
        return BillPublic.from_doc(bill)

    def split_page(self, user: Doc, role: str, limit: int, cursor: str | None) -> SplitList:
        """Splits a user organises or is billed in (role "all": an admin's, every split)."""
        if role == "all":
            rows, next_cursor = self.splits.page_all(limit=limit, cursor=cursor)
        else:
            rows, next_cursor = self.splits.page(role, user["_id"], limit=limit, cursor=cursor)
        return SplitList(items=[self.split_view(s, user) for s in rows], next_cursor=next_cursor)

    def _tally(self, split: Doc, round_no: int) -> None:
        """Queue a round's tally message (in the split's group, or its inline message)."""
        if split.get("chat_id") is None and split.get("inline_message_id") is None:
            return
        self.notices.tally(
            tally_id(split["_id"], round_no),
            split.get("chat_id"),
            split["lang"],
            split.get("inline_message_id"),
        )

    def _touch(self, split: Doc, round_no: int) -> None:
        """Something a round's tally shows changed: edit it (coalesced; see notices.py)."""
        self.notices.touch(tally_id(split["_id"], round_no))

    def _draw_tally(self, notice: Doc) -> Doc | None:
        """A tally as it is now (the courier draws it when it claims it); None: the split is gone."""
        _, split_id, round_no = notice["_id"].split(":")
        split = self.splits.find(split_id)
        if split is None:
            return None
        bills = self.splits.bills(split_id, int(round_no))
        summary = summarize(split, bills, self.splits.round_label, int(round_no))
        return {**tally_data(split, summary), "current": int(round_no) == split["round"]}

    # ---- profiles and tiers -------------------------------------------------------------------

    def profile(self, user: Doc, view: type[UserPrivate] = UserPrivate) -> UserPrivate:
        """A user's own view of their account (an admin's `view` adds more): profile, balance and
        e-money limits."""
        return view.from_doc(user, self.settings.currency, self.ledger.limits_of(user))

    def verify(self, admin: Doc, username: str, form: VerifyForm) -> UserPrivate:
        """KYC: an admin read the holder's identity card; the account becomes verified (its balance
        cap rises). The NIK is checked against the date of birth and kept masked; audited."""
        target = self.accounts.get(username)
        if target.get("tier") == VERIFIED:
            raise Conflict("this account is verified already", ErrorCode.ALREADY_VERIFIED)
        check_nik(form.nik, form.date_of_birth, local_date(now_ms(), self.settings.limits_timezone))
        kyc = {
            "full_name": form.full_name,
            "nik": mask_nik(form.nik),
            "date_of_birth": form.date_of_birth.isoformat(),
            "verified_at": now_ms(),
            "verified_by": admin["_id"],
        }
        user = self.ledger.set_tier(target["_id"], VERIFIED, {"kyc": kyc})
        self.audit(admin, "verify", target["_id"], {"nik": kyc["nik"], "full_name": form.full_name})
        return self.profile(user, AdminUser)

    def unverify(self, admin: Doc, username: str, reason: str) -> UserPrivate:
        """Lower an account to unverified (its cap falls; money above it stays, none comes in)."""
        target = self.accounts.get(username)
        user = self.ledger.set_tier(target["_id"], UNVERIFIED, {}, unset=("kyc",))
        kyc = target.get("kyc") or {}
        self.audit(admin, "unverify", target["_id"], {"reason": reason, "nik": kyc.get("nik")})
        return self.profile(user, AdminUser)

    # ---- admin ------------------------------------------------------------------------------

    def admin_money(
        self, admin: Doc, kind: str, username: str, amount: int, reference: str, key: str
    ) -> Movement:
        """An admin deposit into, or withdrawal from, a user's account (recorded and audited)."""
        target = self.accounts.get(username)
        body = {"kind": kind, "username": target["_id"], "amount": amount, "reference": reference}
        reserved = reservation(admin["_id"], key, "admin_money", body)

        def perform(_: Grant | None) -> tuple[Doc, bool]:  # an admin token is the authorisation
            movement_id = new_movement_id()
            src, dst = (None, target["_id"]) if kind == DEPOSIT else (target["_id"], None)
            notice_kind = NoticeKind.DEPOSIT if kind == DEPOSIT else NoticeKind.WITHDRAWAL
            told = self.notices.build(target, notice_kind, movement_id, {"amount": amount})
            request = MovementRequest(
                kind, amount, src, dst, reference=reference, actor=admin["_id"], notices=_present(told)
            )
            record, fresh = self.ledger.start(request, movement_id, reservation=reserved, payee_known=True)
            if fresh:
                details = {"amount": amount, "reference": reference, "id": record["_id"]}
                self.audit(admin, kind, target["_id"], details)
            return record, fresh

        return self._admin_run(reserved, perform)

    def reverse(self, admin: Doc, movement_id: str, reason: str, key: str) -> Movement:
        """Reverse a finished transfer or bill payment with a new record (the original stays)."""
        original = self.ledger.find(movement_id)
        if original is None or original["kind"] not in (TRANSFER, BILL_PAYMENT):
            raise NotFound("no transfer or bill payment with that id", ErrorCode.NOT_FOUND)
        if original["state"] != DONE:
            raise InvalidRequest("only a finished movement can be reversed", ErrorCode.NOT_REVERSIBLE)
        reserved = reservation(admin["_id"], key, "reverse", {"id": movement_id})

        def perform(_: Grant | None) -> tuple[Doc, bool]:
            request = MovementRequest(
                REVERSAL,
                original["amount"],
                original["dst"],
                original["src"],
                f"reversal of {movement_id}: {reason}",
                reference=reason,
                actor=admin["_id"],
                reversal_of=movement_id,
            )
            record, fresh = self.ledger.start(request, reservation=reserved)
            if fresh:
                self.audit(admin, "reverse", movement_id, {"reason": reason, "id": record["_id"]})
            return record, fresh

        return self._admin_run(reserved, perform)

    def _admin_run(
        self, reserved: Reservation, perform: Callable[[Grant | None], tuple[Doc, bool]]
    ) -> Movement:
        """An admin's keyed movement (the admin token is the authorisation), answered as the
        movement driven to its end."""
        return self.idempotency.run(
            reserved,
            authorize=lambda: None,
            perform=perform,
            find=self.ledger.find_reserved,
            answer=lambda record: Movement.from_record(self.ledger.settled(record)),
        )

    def audit(self, actor: Doc, action: str, target: str, details: dict[str, Any]) -> None:
        """Record who did what to whom, and when."""
        self.store.audit.insert_one(
            {
                "at": now_ms(),
                "actor": actor["_id"],
                "action": action,
                "target": target,
                "details": details,
            }
        )

    def housekeeping(self) -> None:
        """Periodic work: recover unfinished movements, drop expired tokens, codes and counters."""
        self.ledger.recover()
        self.resume_billing()
        self.tokens.purge_expired()
        self.limiter.purge_expired()
        self.notices.purge_finished(self.settings.notice_keep_days * 86_400_000)


def _billing(split: Doc) -> Doc:
    """A split as the "Bill everyone" request that started its billing keyed it."""
    return {**split, "fingerprint": split.get("bill_fingerprint")}


def _present(*notices: Doc | None) -> tuple[Doc, ...]:
    """The notices that have somewhere to go (a user without a linked chat gets none)."""
    return tuple(notice for notice in notices if notice is not None)


def _not_self(user: Doc, party: str) -> None:
    """Nobody sends money to, or bills, themselves."""
    if party == user["_id"]:
        raise InvalidRequest("you cannot send money to or bill yourself", ErrorCode.SELF_TRANSFER)


def _address(user: Doc | None) -> Doc:
    """What a notice to this user and an answer naming them need (kept with an OTP)."""
    if user is None:
        return {}
    return {k: user[k] for k in ("_id", "name", "lang", "telegram_chat_id") if k in user}


def _party(grant: Grant | None) -> Doc | None:
    """The other party as the code's request read it (None for a code without facts)."""
    party = grant.facts.get("party") if grant is not None else None
    return party or None


def _bill_facts(bill: Doc) -> dict[str, Any]:
    """What every notice about a bill shows."""
    return {
        "code": bill["code"],
        "bill_name": bill["bill_name"],
        "amount": bill["amount"],
        "issuer": bill["issuer"],
        "issuer_name": bill["issuer_name"],
        "payer": bill["payer"],
        "payer_name": bill["payer_name"],
        "description": bill.get("description"),
    }
