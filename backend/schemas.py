"""Request and response bodies (pydantic): what the API accepts and promises."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
)

from backend.bills import BillStatus
from backend.db import Doc, iso
from backend.errors import ErrorCode
from backend.ledger import Kind, State, Tier
from backend.otp import OtpAction


def _epoch_ms(value: object) -> object:
    """An instant given as ISO-8601 (a model dumped and read again) back to epoch ms."""
    if isinstance(value, str):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return value


# An instant: kept as epoch milliseconds (as the store keeps it), answered as ISO-8601 UTC
Instant = Annotated[int | None, BeforeValidator(_epoch_ms), PlainSerializer(iso, return_type=str | None)]

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")
RESERVED_USERNAMES = {
    "code",
    "me",
    "api",
    "bot",
    "system",
    "statement",
    "insights",
}  # "code" would shadow /api/bill/code/...
MAX_AMOUNT = 10**12  # far above any limit; bounds what an integer field can carry
# Cc control (\n, \t...), Cf format (U+202E, U+2066...), Zl/Zp line and paragraph separators
UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}
ZERO_WIDTH_JOINER = "\u200d"  # joins emoji (👨‍👩‍👧): format, but harmless and wanted


def _username(value: str) -> str:
    """ASCII letters, digits and `_` only (no look-alikes), stored lowercase."""
    if not USERNAME_RE.match(value):
        raise ValueError("username must be 3–32 characters of a–z, 0–9 and _")
    if value.lower() in RESERVED_USERNAMES:
        raise ValueError("that username is reserved")
    return value.lower()


def _one_line(value: str) -> str:
    """Text shown inside the bot's own lines: refuse line breaks, control and format characters
    (bidi overrides and isolates could make it imitate "Amount: Rp1"); the emoji joiner stays.
    bot/validate.py applies the same rule to what people type."""
    for char in value:
        if unicodedata.category(char) in UNPRINTABLE and char != ZERO_WIDTH_JOINER:
            raise ValueError(f"must be one line without control or format characters (U+{ord(char):04X})")
    return value.strip()


def _one_line_name(value: str) -> str:
    """A one-line name that is not blank once trimmed (min_length is checked before trimming)."""
    value = _one_line(value)
    if not value:
        raise ValueError("must not be blank")
    return value


Username = Annotated[str, Field(max_length=32), AfterValidator(_username)]
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Whole units of the currency")]
Text = Annotated[str, Field(max_length=200), AfterValidator(_one_line)]
Name = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_one_line_name)]
Otp = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
BillCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{8,16}$")]
Lang = Literal["id", "en"]
# Telegram ids fit in 52 bits; anything past 64 makes the database driver raise (a 500).
ChatId = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]


class ErrorBody(BaseModel):
    """Every error answer: a sentence for people and a stable code for programs (the bot)."""

    detail: str
    code: ErrorCode
    payee: str | None = Field(
        default=None, description="the account that cannot receive the money (receive_* codes only)"
    )


class Health(BaseModel):
    """Liveness and whether the database answers."""

    ok: bool
    database: Literal["up", "down"]


class Strict(BaseModel):
    """Base of request bodies: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(Strict):
    """Sign-up form."""

    username: Username
    password: Annotated[str, Field(min_length=8, max_length=256)]
    name: Name
    email: Annotated[str, Field(max_length=120, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    contact: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 ()-]{5,32}$")] | None = None


class Credentials(Strict):
    """Sign-in form."""

    username: Annotated[str, Field(max_length=64)]
    password: Annotated[str, Field(max_length=256)]


class SigninResult(BaseModel):
    """A fresh access token and who it is for (field names as in the seed)."""

    accessToken: str  # noqa: N815 - the seed's client reads this name
    token_type: str = "bearer"
    username: str
    name: str
    amount_credit: int


class UserPublic(BaseModel):
    """What anyone signed in may know about a user (to confirm a recipient)."""

    username: str
    name: str


class Limits(BaseModel):
    """An account's e-money limits (Bank Indonesia) as they stand now."""

    tier: Tier = Field(description="verified: KYC done by an admin")
    balance_cap: int = Field(description="the most this wallet may hold")
    monthly_incoming_cap: int = Field(description="the most that may come in per calendar month")
    incoming_this_month: int = Field(description="what came in (or is coming in) this month")
    can_receive: int = Field(description="the largest credit this wallet can take right now")
    month: str = Field(description="the calendar month counted (yyyy-mm, in LIMITS_TIMEZONE)")


class Verification(BaseModel):
    """The KYC record of a verified account; the NIK only ever shown masked."""

    full_name: str
    nik: str = Field(description="masked: only the last 4 digits are kept")
    date_of_birth: str
    verified_at: Instant


class UserPrivate(UserPublic):
    """My own profile and balance."""

    @classmethod
    def from_doc(cls, user: Doc, currency: str, limits: Doc) -> UserPrivate:
        """A user's own view of their account (`limits`: `Ledger.limits_of` this user)."""
        kyc = user.get("kyc")
        return cls.model_validate(
            {
                "username": user["_id"],
                "name": user["name"],
                "email": user.get("email"),
                "contact": user.get("contact"),
                "amount_credit": user["balance"],
                "currency": currency,
                "frozen": bool(user.get("frozen")),
                "lang": user.get("lang", "id"),
                "telegram_linked": "telegram_chat_id" in user,
                "role": user.get("role", "user"),
                "limits": limits,
                "verification": kyc,
                "created_at": user.get("created_at"),  # an admin's view shows it
            }
        )

    email: str | None
    contact: str | None
    amount_credit: int
    currency: str
    frozen: bool
    lang: Lang
    telegram_linked: bool
    role: str
    limits: Limits
    verification: Verification | None


class LangUpdate(Strict):
    """Language of the messages the backend sends."""

    lang: Lang


class TransferOtp(Strict):
    """A code for sending `amount` to `recipient`."""

    action: Literal[OtpAction.TRANSFER]
    recipient: Username
    amount: Amount


class CreateBillOtp(Strict):
    """A code for billing `payer` `amount`."""

    action: Literal[OtpAction.CREATE_BILL]
    payer: Username
    amount: Amount


class PayBillOtp(Strict):
    """A code for paying the bill `bill_code` (`amount`, when sent, must be the bill's)."""

    action: Literal[OtpAction.PAY_BILL]
    bill_code: BillCode
    amount: Amount | None = None


SplitId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{10}$")]
# custom shares of a split: member username → amount (the members not named share the rest)
Shares = Annotated[dict[Username, Amount], Field(max_length=51)]


class BillSplitOtp(Strict):
    """A code for billing every share of split `split_id` (equal, or with these custom shares)."""

    action: Literal[OtpAction.BILL_SPLIT]
    split_id: SplitId
    shares: Shares | None = None


# Ask for a one-time password bound to one action: the action says which fields it needs
OtpRequest = Annotated[TransferOtp | CreateBillOtp | PayBillOtp | BillSplitOtp, Field(discriminator="action")]


class OtpSent(BaseModel):
    """The OTP went out (never the code itself)."""

    detail: str
    channel: str
    expires_in: int


class TransferCreate(Strict):
    """Send money to another user (`tip_chat_id`: a tip asked in that group, which is told)."""

    recipient: Username
    amount: Amount
    description: Text | None = None
    otp: Otp
    tip_chat_id: Annotated[StrictInt, Field(lt=0, ge=-(2**63))] | None = None


class Movement(BaseModel):
    """One ledger record as its parties see it."""

    id: str
    kind: Kind
    amount: int
    src: str | None
    dst: str | None
    counterparty: str | None
    description: str | None
    bill_code: str | None
    reference: str | None
    state: State
    created_at: Instant
    booked_at: Instant = Field(None, description="When it was booked (finished); None until then")

    @classmethod
    def from_record(cls, record: Doc, viewer: str | None = None) -> Movement:
        """A ledger record as a client sees it (amount signed from `viewer`'s side when given)."""
        amount, counterparty = record["amount"], None
        if viewer is not None:
            outgoing = record["src"] == viewer
            amount = -amount if outgoing else amount
            counterparty = record["dst"] if outgoing else record["src"]
        return cls(
            id=record["_id"],
            kind=record["kind"],
            amount=amount,
            src=record["src"],
            dst=record["dst"],
            counterparty=counterparty,
            description=record.get("description"),
            bill_code=record.get("bill_code"),
            reference=record.get("reference"),
            state=record["state"],
            created_at=record["created_at"],
            booked_at=record.get("done_at") if record["state"] == "done" else None,
        )


class TransferResult(BaseModel):
    """A finished transfer and the sender's new balance."""

    id: str
    amount: int
    recipient: str
    recipient_name: str
    description: str | None
    created_at: Instant
    balance: int

    @classmethod
    def from_record(cls, record: Doc, balance: int) -> TransferResult:
        """A done transfer's answer (`balance`: the sender's right after it)."""
        return cls(
            id=record["_id"],
            amount=record["amount"],
            recipient=record["dst"],
            recipient_name=record.get("answer", {}).get("recipient_name", record["dst"]),
            description=record.get("description"),
            created_at=record["created_at"],
            balance=balance,
        )


class Page(BaseModel):
    """One page of a list, newest first; pass `next_cursor` back as `cursor` for the next."""

    items: list[Movement]
    next_cursor: str | None


class BillCreate(Strict):
    """Bill another user."""

    bill_name: Name
    payer: Username
    amount: Amount
    description: Text | None = None
    due_date: date | None = None
    otp: Otp


class BillPublic(BaseModel):
    """A bill as its issuer and payer see it."""

    code: str
    bill_code: str
    bill_name: str
    issuer: str
    issuer_name: str
    payer: str
    payer_name: str
    amount: int
    description: str | None
    due_date: str | None
    status: BillStatus
    created_at: Instant
    paid_at: Instant
    payment_id: str | None

    @classmethod
    def from_doc(cls, bill: Doc) -> BillPublic:
        """A bill as the API shows it."""
        return cls(
            code=bill["code"],
            bill_code=bill["code"],
            bill_name=bill["bill_name"],
            issuer=bill["issuer"],
            issuer_name=bill["issuer_name"],
            payer=bill["payer"],
            payer_name=bill["payer_name"],
            amount=bill["amount"],
            description=bill.get("description"),
            due_date=bill.get("due_date"),
            status=bill["status"],
            created_at=bill.get("created_at"),
            paid_at=bill.get("paid_at"),
            payment_id=bill.get("payment_id"),
        )


class BillList(BaseModel):
    """A list of bills, newest first."""

    items: list[BillPublic]
    next_cursor: str | None = None


class BillPay(Strict):
    """Pay a bill."""

    otp: Otp


class SplitCreate(Strict):
    """A split of `amount` in a group, monthly dues of `amount` per member, or a pay-me request
    (`id`: the bot's inline result id; `inline_message_id`: the message that carries it)."""

    kind: Literal["split", "dues", "request"] = "split"
    title: Name
    amount: Amount
    chat_id: Annotated[StrictInt, Field(lt=0, ge=-(2**63))] | None = None  # the group's tally
    id: SplitId | None = None
    inline_message_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class SplitPerson(BaseModel):
    """One participant of a split's current round: their share and what became of it."""

    username: str
    name: str
    amount: int
    status: Literal["own", "pending", "open", "paid", "declined", "cancelled"]
    bill_code: str | None


class SplitView(BaseModel):
    """A split as its organiser and members see it; `status` is derived from its bills."""

    id: str
    kind: str
    title: str
    amount: int
    organiser: str
    organiser_name: str
    status: str
    round: int
    period: str | None  # dues: the month of the current round, "yyyy-mm"
    people: list[SplitPerson]
    member_count: int
    paid_count: int
    count: int
    paid_amount: int
    total: int
    declined_count: int
    my_bill: str | None  # the caller's bill of the current round
    created_at: Instant
    next_round_at: Instant

    @classmethod
    def from_doc(cls, split: Doc, summary: Doc, my_bill: str | None) -> SplitView:
        """A split and its summary (splits.summarize) as the API shows them."""
        return cls(
            id=split["_id"],
            kind=split["kind"],
            title=split["title"],
            amount=split["amount"],
            organiser=split["organiser"],
            organiser_name=split["organiser_name"],
            status=summary["status"],
            round=summary["round"],
            period=summary["period"],
            people=[SplitPerson(**p) for p in summary["people"]],
            member_count=split["member_count"],
            paid_count=summary["paid_count"],
            count=summary["count"],
            paid_amount=summary["paid_amount"],
            total=summary["total"],
            declined_count=summary["declined_count"],
            my_bill=my_bill,
            created_at=split["created_at"],
            next_round_at=split.get("next_at"),
        )


class SplitList(BaseModel):
    """Splits, newest first."""

    items: list[SplitView]
    next_cursor: str | None = None


class SharesForm(Strict):
    """Custom shares to look at (none: equal shares)."""

    shares: Shares | None = None


class SharesPreview(BaseModel):
    """What "Bill everyone" would bill: each participant's share (the organiser's first, not billed)."""

    people: list[SplitPerson]
    billed_total: int
    billed_count: int


class SplitBill(Strict):
    """Bill every share of a split (the OTP of action bill_split for exactly these shares)."""

    otp: Otp
    shares: Shares | None = None


class BillPaid(BaseModel):
    """A paid bill, its payment and the payer's new balance."""

    bill: BillPublic
    payment_id: str
    balance: int


class AdminMoney(Strict):
    """An admin deposit or withdrawal."""

    amount: Amount
    reference: Annotated[str, Field(min_length=1, max_length=120)]


class ReverseForm(Strict):
    """Why a movement is reversed."""

    reason: Annotated[str, Field(min_length=1, max_length=200)]


class Reconciliation(BaseModel):
    """Σ balances + in flight against Σ deposits − Σ withdrawals."""

    ok: bool
    total_balances: int
    total_deposits: int
    total_withdrawals: int
    in_flight: int
    negative_balances: int
    unfinished: int


class ReconciliationAsOf(BaseModel):
    """The reconciliation at the end of a past day, from the ledger alone: every account's balance
    then (Σ of its movements booked before it) against Σ deposits − Σ withdrawals."""

    ok: bool
    as_of: Instant
    total_balances: int
    total_deposits: int
    total_withdrawals: int
    accounts: int
    negative_balances: int
    volume: dict[str, int] = Field(description="Amounts booked by kind (transfers, bills, reversals)")


class StatementSummary(BaseModel):
    """One month of an account: opening balance + money in − money out = closing balance."""

    username: str
    month: str = Field(examples=["2026-11"])
    opening: int
    money_in: int
    money_out: int
    closing: int
    count: int = Field(description="Movements booked in the month")


class MonthFlow(BaseModel):
    """Money in and out of one month."""

    month: str
    money_in: int
    money_out: int


class Spent(BaseModel):
    """Money that went out this month to one counterparty (or, with none, of one kind)."""

    counterparty: str | None
    kind: Kind | None
    amount: int


class Insights(BaseModel):
    """The last six months in and out, and where this month's money went, biggest first."""

    month: str
    months: list[MonthFlow]
    by: str
    spent: list[Spent]
    balance: int = Field(description="This month's closing so far (booked movements)")


class AuditEvent(BaseModel):
    """One admin action: who did what to whom, when (ms since the epoch), with what."""

    at: int
    actor: str
    action: str
    target: str
    details: dict[str, Any]


class AuditList(BaseModel):
    """The newest audit events first."""

    items: list[AuditEvent]


class AdminUser(UserPrivate):
    """A user as an admin sees it."""

    created_at: Instant


class VerifyForm(Strict):
    """An admin verifies an account from the holder's identity card (KTP)."""

    full_name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line_name)]
    nik: Annotated[str, Field(max_length=32, description="16 digits, checked against date_of_birth")]
    date_of_birth: date


class UnverifyForm(Strict):
    """An admin lowers a verified account to unverified again, and says why."""

    reason: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line_name)]


class AdminUserList(BaseModel):
    """A page of users."""

    items: list[AdminUser]
    next_cursor: str | None


class BotRegister(UserCreate):
    """Sign up from a Telegram chat and link that chat."""

    chat_id: ChatId
    lang: Lang = "id"


class BotLink(Strict):
    """Log a Telegram chat in."""

    chat_id: ChatId
    username: Annotated[str, Field(max_length=64)]
    password: Annotated[str, Field(max_length=256)]
    lang: Lang = "id"


class BotSession(SigninResult):
    """Access token plus the chat's long-lived refresh token."""

    refreshToken: str  # noqa: N815 - matches accessToken


class RefreshRequest(Strict):
    """Renew (or end) a chat's session."""

    refresh_token: Annotated[str, Field(min_length=10, max_length=200)]


class Refreshed(BaseModel):
    """A new access token, and the refresh token to use next time (the old one is spent)."""

    accessToken: str  # noqa: N815
    refreshToken: str  # noqa: N815
    username: str


class ReminderClaim(Strict):
    """Which open bills are due a reminder (claimed so only one bot process sends each)."""

    interval_seconds: Annotated[StrictInt, Field(ge=10, le=30 * 86400)]
    limit: Annotated[StrictInt, Field(ge=1, le=500)] = 100


class RemindersQueued(BaseModel):
    """Bills claimed for a reminder, and reminder notices queued (payers with a linked chat)."""

    claimed: int
    queued: int


class NoticeClaim(Strict):
    """A bot asks for due notices: at most `limit`, waiting up to `wait_seconds` for the first."""

    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    wait_seconds: Annotated[float, Field(ge=0, le=30)] = 25.0
    lowest_priority: Annotated[StrictInt, Field(ge=0, le=2)] = 2  # 0 codes, 1 news, 2 reminders


class NoticeOut(BaseModel):
    """One claimed notice: what to render (`kind`, `data`), where to send it, and the claim. A
    tally names the message to edit (`message_id` in its chat, or an `inline_message_id`)."""

    id: str
    claim: str
    kind: str
    chat_id: int | None
    message_id: int | None = None
    inline_message_id: str | None = None
    lang: Lang
    priority: int
    attempts: int
    data: dict[str, Any]


class NoticeList(BaseModel):
    """Notices claimed by this call."""

    items: list[NoticeOut]


class NoticeOutcome(Strict):
    """What became of one claimed notice."""

    id: Annotated[str, Field(max_length=200)]
    claim: Annotated[str, Field(max_length=64)]
    outcome: Literal["sent", "retry", "dead"]
    retry_after: Annotated[float, Field(ge=0, le=86400)] | None = None  # Telegram's, on a 429
    error: Annotated[str, Field(max_length=300)] | None = None
    message_id: Annotated[StrictInt, Field(ge=1)] | None = None  # a tally: the message it went in


class NoticeAck(Strict):
    """Outcomes of claimed notices."""

    items: Annotated[list[NoticeOutcome], Field(max_length=200)]


class DuesRun(Strict):
    """Make the dues rounds that are due (each round claimed so only one bot process makes it)."""

    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50


class DuesRan(BaseModel):
    """Dues rounds made by this call, and the bills they made."""

    rounds: int
    bills: int


class NoticeAcked(BaseModel):
    """How many outcomes were recorded (a claim that had lapsed is not)."""

    recorded: int
