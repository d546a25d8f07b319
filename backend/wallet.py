"""The wallet's use cases, each one call for a route: OTPs, transfers, bills, admin money.

This is the composition root of the domain: it owns one instance of every service for the
process and wires OTP checks, idempotency, the ledger and the outbox of notices together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from backend.accounts import Accounts
from backend.bills import BILL_FIELDS, CANCELLED, OPEN, PAID, Bills, check_due_date, normalize_code
from backend.config import Settings
from backend.db import Doc, Store, local_date, now_ms
from backend.errors import Conflict, ErrorCode, InvalidRequest, NotFound, OtpRejected
from backend.idempotency import Idempotency, reservation
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
    Reservation,
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
    Movement,
    OtpRequest,
    PayBillOtp,
    TransferCreate,
    TransferOtp,
    TransferResult,
    UserPrivate,
    VerifyForm,
)
from backend.security import Tokens

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
            request = MovementRequest(
                TRANSFER,
                form.amount,
                user["_id"],
                payee["_id"],
                form.description,
                notices=_present(received),
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
            request = MovementRequest(
                BILL_PAYMENT,
                bill["amount"],
                user["_id"],
                bill["issuer"],
                f"{bill['bill_name']} ({code})",
                bill_code=code,
                notices=_present(paid),
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

        return BillPublic.from_doc(
            self.bills.close(code, user["_id"], as_role=as_role, before_change=tell_the_other)
        )

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
        self.tokens.purge_expired()
        self.limiter.purge_expired()
        self.notices.purge_finished(self.settings.notice_keep_days * 86_400_000)


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
