"""The wallet's use cases, each one call for a route: OTPs, transfers, bills, admin money.

This is the composition root of the domain: it owns one instance of every service for the
process and wires OTP checks, idempotency, the ledger and the outbox of notices together.
"""

from __future__ import annotations

import logging
from typing import Any

from backend.accounts import Accounts, private_view
from backend.bills import CANCELLED, OPEN, Bills, check_due_date, normalize_code, public_bill
from backend.config import Settings
from backend.db import Doc, Store, local_date, now_ms
from backend.errors import Conflict, ErrorCode, InvalidRequest, NotFound, WalletError
from backend.idempotency import Attempt, Idempotency, Outcome, request_hash
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
    iso,
    public_movement,
)
from backend.notices import NoticeKind, Notices
from backend.otp import Otps, binding_of
from backend.ratelimit import RateLimiter
from backend.schemas import BillCreate, OtpRequest, TransferCreate, VerifyForm
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
        self.idempotency = Idempotency(store, settings)

    # ---- OTP ------------------------------------------------------------------------------

    def request_otp(self, user: Doc, form: OtpRequest) -> None:
        """Issue an OTP bound to exactly the action the user is about to confirm, refusing first
        what can be known to fail (unknown payee, limits, balance, frozen, a bill not payable),
        so that no code is spent on it."""
        if form.action in ("transfer", "create_bill"):
            party = form.recipient if form.action == "transfer" else form.payer
            if party is None or form.amount is None:
                who = "recipient" if form.action == "transfer" else "payer"
                raise InvalidRequest(f"{who} and amount are required for {form.action}")
            other = self._check_counterparty(user, party)
            binding = binding_of(form.action, party=party, amount=form.amount)
            summary: dict[str, Any] = {"party": party, "amount": form.amount}
            if form.action == "transfer":
                transfer = MovementRequest(TRANSFER, form.amount, user["_id"], other["_id"])
                self.ledger.precheck(transfer, user, other)
            else:  # a bill its payer could never pay in one transfer
                self.ledger.check_amount(MovementRequest(BILL_PAYMENT, form.amount, party, user["_id"]))
        else:
            if form.bill_code is None:
                raise InvalidRequest("bill_code is required for pay_bill")
            bill = self.bills.payable_by(form.bill_code, user["_id"])
            binding = binding_of("pay_bill", bill_code=bill["code"])
            summary = {"party": bill["issuer"], "amount": bill["amount"], "bill_code": bill["code"]}
            payment = MovementRequest(BILL_PAYMENT, bill["amount"], user["_id"], bill["issuer"])
            self.ledger.precheck(payment, user, self.store.users.find_one({"_id": bill["issuer"]}))
        self.otps.issue(user, form.action, binding, summary)

    def _check_counterparty(self, user: Doc, party: str) -> Doc:
        """The other user of a transfer or bill: must exist and not be oneself."""
        if party == user["_id"]:
            raise InvalidRequest("you cannot send money to or bill yourself", ErrorCode.SELF_TRANSFER)
        return self.accounts.get(party)

    # ---- transfers ------------------------------------------------------------------------

    def transfer(self, user: Doc, form: TransferCreate, key: str) -> Outcome:
        """Send money, once per Idempotency-Key, after the OTP bound to it is accepted."""
        fingerprint = request_hash("transfer", form.model_dump())

        def execute(attempt: Attempt) -> Outcome:
            recipient = self._check_counterparty(user, form.recipient)
            nonce = None
            if not attempt.authorized:
                binding = binding_of("transfer", party=form.recipient, amount=form.amount)
                nonce = self.otps.verify(user["_id"], "transfer", binding, form.otp)
                attempt.mark_authorized()
            received = self.notices.build(
                recipient,
                NoticeKind.RECEIVED,
                attempt.movement_id,
                {"amount": form.amount, "sender": user["_id"], "description": form.description},
            )
            request = MovementRequest(
                TRANSFER,
                form.amount,
                user["_id"],
                recipient["_id"],
                form.description,
                notices=_present(received),
            )
            record = self._move(request, attempt, user, "transfer", nonce)
            return 201, {
                "id": record["_id"],
                "amount": record["amount"],
                "recipient": recipient["_id"],
                "recipient_name": recipient["name"],
                "description": record["description"],
                "created_at": iso(record["created_at"]),
                "balance": self.balance_after(user["_id"], record),
            }

        return self.idempotency.run(user["_id"], key, fingerprint, execute)

    def _move(
        self, request: MovementRequest, attempt: Attempt, user: Doc, action: str, nonce: str | None
    ) -> Doc:
        """The ledger move a user confirmed with a code; refused, the code stays good (the user
        could not have foreseen the refusal: their balance or a limit changed meanwhile)."""
        try:
            return self.ledger.move(request, attempt.movement_id, payee_known=True)
        except WalletError:
            if nonce is not None:
                self.otps.give_back(user["_id"], action, nonce)
            raise

    def balance_after(self, username: str, record: Doc) -> int:
        """The payer's balance right after this movement (read again only for a resumed one)."""
        if "src_balance" in record:
            return int(record["src_balance"])
        return int(self.accounts.get(username)["balance"])

    # ---- bills ------------------------------------------------------------------------------

    def create_bill(self, user: Doc, form: BillCreate, key: str | None) -> Outcome:
        """Bill another user after the OTP bound to (payer, amount) is accepted."""

        def execute(attempt: Attempt | None) -> Outcome:
            payer = self._check_counterparty(user, form.payer)
            # before the code is used: a refusal the user can fix must not cost them their OTP
            check_due_date(form.due_date, self.settings.bill_timezone, self.settings.due_date_max_days)
            binding = binding_of("create_bill", party=form.payer, amount=form.amount)
            if attempt is None or not attempt.authorized:
                self.otps.verify(user["_id"], "create_bill", binding, form.otp)
                if attempt is not None:
                    attempt.mark_authorized()
            bill = self.bills.create(
                issuer=user,
                payer=payer,
                bill_name=form.bill_name,
                amount=form.amount,
                description=form.description,
                due_date=form.due_date,
                before_insert=lambda bill: self._announce_bill(payer, NoticeKind.BILL_NEW, bill, OPEN),
            )
            return 201, public_bill(bill)

        if key is None:
            return execute(None)
        return self.idempotency.run(user["_id"], key, request_hash("create_bill", form.model_dump()), execute)

    def pay_bill(self, user: Doc, code: str, otp: str, key: str) -> Outcome:
        """Pay an open bill I owe: money payer → issuer through the ledger, bill becomes paid."""
        code = normalize_code(code)

        def execute(attempt: Attempt) -> Outcome:
            nonce = None
            if attempt.authorized:  # resumed after a crash: the bill may be `paying` already
                bill = self.bills.get_for(code, user["_id"])
            else:
                bill = self.bills.payable_by(code, user["_id"])
                nonce = self.otps.verify(user["_id"], "pay_bill", binding_of("pay_bill", bill_code=code), otp)
                attempt.mark_authorized()
            issuer = self.store.users.find_one({"_id": bill["issuer"]}, {"telegram_chat_id": 1, "lang": 1})
            paid = self.notices.build(
                issuer,
                NoticeKind.BILL_PAID,
                attempt.movement_id,
                _bill_facts(bill),
            )
            request = MovementRequest(
                BILL_PAYMENT,
                bill["amount"],
                user["_id"],
                bill["issuer"],
                f"{bill['bill_name']} ({code})",
                bill_code=code,
                notices=_present(paid),
            )
            record = self._move(request, attempt, user, "pay_bill", nonce)
            # a done payment has settled its bill (the ledger finalizes it before returning)
            bill = {**bill, "status": "paid", "payment_id": record["_id"], "paid_at": record["done_at"]}
            return 200, {
                "bill": public_bill(bill),
                "payment_id": record["_id"],
                "balance": self.balance_after(user["_id"], record),
            }

        return self.idempotency.run(user["_id"], key, request_hash("pay_bill", {"code": code}), execute)

    def close_bill(self, user: Doc, code: str, *, as_role: str) -> dict[str, Any]:
        """Decline (payer) or cancel (issuer) an open bill and tell the other party."""

        def tell_the_other(bill: Doc, status: str) -> None:
            other = self.store.users.find_one({"_id": bill["issuer" if as_role == "payer" else "payer"]})
            kind = NoticeKind.BILL_CANCELLED if status == CANCELLED else NoticeKind.BILL_DECLINED
            self._announce_bill(other, kind, bill, status)

        return public_bill(self.bills.close(code, user["_id"], as_role=as_role, before_change=tell_the_other))

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

    def profile(self, user: Doc) -> dict[str, Any]:
        """A user's own view of their account: profile, balance and e-money limits."""
        return private_view(user, self.settings.currency, self.ledger.limits_of(user))

    def verify(self, admin: Doc, username: str, form: VerifyForm) -> dict[str, Any]:
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
        return self.profile(user)

    def unverify(self, admin: Doc, username: str, reason: str) -> dict[str, Any]:
        """Lower an account to unverified (its cap falls; money above it stays, none comes in)."""
        target = self.accounts.get(username)
        user = self.ledger.set_tier(target["_id"], UNVERIFIED, {}, unset=("kyc",))
        kyc = target.get("kyc") or {}
        self.audit(admin, "unverify", target["_id"], {"reason": reason, "nik": kyc.get("nik")})
        return self.profile(user)

    # ---- admin ------------------------------------------------------------------------------

    def admin_money(
        self, admin: Doc, kind: str, username: str, amount: int, reference: str, key: str
    ) -> Outcome:
        """An admin deposit into, or withdrawal from, a user's account (recorded and audited)."""
        target = self.accounts.get(username)
        body = {"kind": kind, "username": target["_id"], "amount": amount, "reference": reference}

        def execute(attempt: Attempt) -> Outcome:
            attempt.mark_authorized()  # an admin token is the authorisation
            src, dst = (None, target["_id"]) if kind == DEPOSIT else (target["_id"], None)
            notice_kind = NoticeKind.DEPOSIT if kind == DEPOSIT else NoticeKind.WITHDRAWAL
            told = self.notices.build(target, notice_kind, attempt.movement_id, {"amount": amount})
            request = MovementRequest(
                kind, amount, src, dst, reference=reference, actor=admin["_id"], notices=_present(told)
            )
            record = self.ledger.move(request, attempt.movement_id, payee_known=True)  # target read above
            self.audit(
                admin,
                kind,
                target["_id"],
                {"amount": amount, "reference": reference, "id": record["_id"]},
            )
            return 201, public_movement(record)

        return self.idempotency.run(admin["_id"], key, request_hash("admin_money", body), execute)

    def reverse(self, admin: Doc, movement_id: str, reason: str, key: str) -> Outcome:
        """Reverse a finished transfer or bill payment with a new record (the original stays)."""
        original = self.ledger.find(movement_id)
        if original is None or original["kind"] not in (TRANSFER, BILL_PAYMENT):
            raise NotFound("no transfer or bill payment with that id", ErrorCode.NOT_FOUND)
        if original["state"] != DONE:
            raise InvalidRequest("only a finished movement can be reversed", ErrorCode.NOT_REVERSIBLE)

        def execute(attempt: Attempt) -> Outcome:
            attempt.mark_authorized()
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
            record = self.ledger.move(request, attempt.movement_id)
            self.audit(admin, "reverse", movement_id, {"reason": reason, "id": record["_id"]})
            return 201, public_movement(record)

        return self.idempotency.run(admin["_id"], key, request_hash("reverse", {"id": movement_id}), execute)

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
        self.idempotency.purge_expired()
        self.notices.purge_finished(self.settings.notice_keep_days * 86_400_000)


def _present(*notices: Doc | None) -> tuple[Doc, ...]:
    """The notices that have somewhere to go (a user without a linked chat gets none)."""
    return tuple(notice for notice in notices if notice is not None)


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
