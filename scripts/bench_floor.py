"""The floor: the database doing exactly the reads and writes of one transfer (or bill payment),
issued with pymongo from threads, no HTTP, no FastAPI, no backend code on the path.

The sequences below are the calls the backend makes, in its order, with its filters and updates
(read from backend/api/deps.py, wallet.py, otp.py, ratelimit.py, idempotency.py, ledger.py,
bills.py, accounts.py at the time of writing). When those files change, change these lists.

Transfer = 20 round trips (9 reads, 11 writes):

    POST /api/processing  (OTP issue)
      1 r tokens.count_documents        {_id: jti}                 deps.token_claims (revocation)
      2 r users.find_one                {_id: me}                  deps.current_user
      3 r users.find_one                {_id: recipient}           Wallet._check_counterparty
      4 w counters.find_one_and_update  {_id: otp:me@600:i} upsert RateLimiter.hit
      5 w otps.insert_one                                          Otps.issue
    POST /api/transfer
      6 r tokens.count_documents                                   deps.token_claims
      7 r users.find_one                {_id: me}                  deps.current_user
      8 w idempotency.insert_one                                   Idempotency._reserve
      9 r users.find_one                {_id: recipient}           Wallet._check_counterparty
     10 r otps.find_one  {username, action} sort created_at desc   Otps.verify
     11 w otps.update_one               {_id, used, attempts}      Otps.verify (consume)
     12 w idempotency.update_one        authorized                 Attempt.mark_authorized
     13 r users.count_documents         {_id: recipient}           Ledger._validate
     14 w ledger.insert_one             pending record             Ledger._journal
     15 w users.update_one              conditional debit          Ledger._try_debit
     16 w ledger.find_one_and_update    pending → committed        Ledger._transition
     17 w users.update_one              credit + inbox marker      Ledger._credit
     18 w ledger.find_one_and_update    committed → done           Ledger._transition
     19 r users.find_one                {_id: me}                  Wallet.balance
     20 w idempotency.update_one        completed + response       Idempotency.run

Bill payment = 26 round trips (12 reads, 14 writes): the OTP issue reads the bill instead of the
recipient; the payment reads the bill three times (payable_by, get_for before and after), claims
it, settles it, finalizes the record, and reads the issuer for the notice.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench_seed import Pair, now_ms
from bench_support import RunResult
from pymongo import DESCENDING, ReturnDocument
from pymongo.database import Database

from backend.ledger import utc_day

OTP_WINDOW = 600  # OTP_REQUEST_WINDOW_SECONDS
OTP_TTL_MS = 300_000
LEASE_MS = 30_000
IDEMPOTENCY_TTL_MS = 48 * 3_600_000
MAX_ATTEMPTS = 5
DAILY_LIMIT = 25_000_000
AMOUNT = 1000
Doc = dict[str, Any]


def _movement_id() -> str:
    return f"{now_ms():013x}{secrets.token_hex(6)}"


def _issue_otp(
    db: Database[Doc], me: str, jti: str, action: str, binding: str, read_party: Callable[[], Any]
) -> None:
    """POST /api/processing: 3 reads, 2 writes."""
    db.tokens.count_documents({"_id": "jti:" + jti}, limit=1)
    db.users.find_one({"_id": me})
    read_party()
    now = now_ms()
    index = now // (OTP_WINDOW * 1000)
    db.counters.find_one_and_update(
        {"_id": f"otp:{me}@{OTP_WINDOW}:{index}"},
        {"$inc": {"n": 1}, "$set": {"expires_at": (index + 1) * OTP_WINDOW * 1000}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    otp_id = f"{me}:{action}:{now}:{secrets.token_hex(8)}"
    db.otps.insert_one(
        {
            "_id": otp_id,
            "username": me,
            "action": action,
            "binding": binding,
            "code_hash": secrets.token_hex(32),
            "attempts": 0,
            "used": False,
            "created_at": now,
            "expires_at": now + OTP_TTL_MS,
        }
    )


def _authorize(db: Database[Doc], me: str, jti: str, route_key: str, action: str) -> tuple[str, str]:
    """Auth, idempotency reservation; returns (idempotency id, movement id)."""
    db.tokens.count_documents({"_id": "jti:" + jti}, limit=1)
    db.users.find_one({"_id": me})
    now = now_ms()
    record_id = f"{me}:{route_key}"
    movement_id = _movement_id()
    db.idempotency.insert_one(
        {
            "_id": record_id,
            "fingerprint": secrets.token_hex(32),
            "state": "processing",
            "movement_id": movement_id,
            "authorized": False,
            "lease_until": now + LEASE_MS,
            "created_at": now,
            "expires_at": now + IDEMPOTENCY_TTL_MS,
        }
    )
    return record_id, movement_id


def _verify_otp(db: Database[Doc], me: str, action: str, record_id: str) -> None:
    """Otps.verify + Attempt.mark_authorized: 1 read, 2 writes."""
    otp = db.otps.find_one({"username": me, "action": action}, sort=[("created_at", DESCENDING)])
    assert otp is not None and not otp["used"]
    db.otps.update_one(
        {"_id": otp["_id"], "used": False, "attempts": {"$lt": MAX_ATTEMPTS}},
        {"$set": {"used": True, "used_at": now_ms()}},
    )
    db.idempotency.update_one({"_id": record_id}, {"$set": {"authorized": True}})


def _journal(
    db: Database[Doc],
    movement_id: str,
    kind: str,
    src: str,
    dst: str,
    amount: int,
    description: str | None,
    bill: str | None,
) -> Doc:
    now = now_ms()
    record: Doc = {
        "_id": movement_id,
        "seq": movement_id,
        "kind": kind,
        "src": src,
        "dst": dst,
        "amount": amount,
        "description": description,
        "bill_code": bill,
        "reference": None,
        "actor": None,
        "state": "pending",
        "reason": None,
        "finalized": False,
        "day": utc_day(now),
        "created_at": now,
        "updated_at": now,
    }
    db.ledger.insert_one(record)
    return record


def _debit(db: Database[Doc], record: Doc) -> None:
    """Ledger._try_debit, steady-state branch (same UTC day as the previous debit)."""
    amount = record["amount"]
    result = db.users.update_one(
        {
            "_id": record["src"],
            "balance": {"$gte": amount},
            "outbox": {"$nin": [record["_id"]]},
            "frozen": False,
            "day": record["day"],
            "day_out": {"$lte": DAILY_LIMIT - amount},
        },
        {"$inc": {"balance": -amount, "in_flight": 1, "day_out": amount}, "$push": {"outbox": record["_id"]}},
    )
    assert result.modified_count == 1, "debit refused"


def _transition(db: Database[Doc], record: Doc, old: str, new: str) -> Doc:
    fields: Doc = {"state": new, "updated_at": now_ms()}
    if new == "done":
        fields["parties"] = [record["src"], record["dst"]]
        fields["done_at"] = fields["updated_at"]
        fields["finalized"] = record["kind"] != "bill_payment"
    updated = db.ledger.find_one_and_update(
        {"_id": record["_id"], "state": old}, {"$set": fields}, return_document=ReturnDocument.AFTER
    )
    assert updated is not None
    return updated


def _credit(db: Database[Doc], record: Doc) -> None:
    db.users.update_one(
        {"_id": record["dst"], "inbox": {"$nin": [record["_id"]]}},
        {"$inc": {"balance": record["amount"], "in_flight": 1}, "$push": {"inbox": record["_id"]}},
    )


def transfer(db: Database[Doc], pair: Pair, jti: str) -> None:
    """One transfer: the 20 calls listed in the module docstring."""
    me, to = pair.payer, pair.payee
    binding = f"transfer|party={to}|amount={AMOUNT}|bill="
    _issue_otp(db, me, jti, "transfer", binding, lambda: db.users.find_one({"_id": to}))
    record_id, movement_id = _authorize(db, me, jti, secrets.token_hex(16), "transfer")
    db.users.find_one({"_id": to})
    _verify_otp(db, me, "transfer", record_id)
    db.users.count_documents({"_id": to}, limit=1)
    record = _journal(db, movement_id, "transfer", me, to, AMOUNT, None, None)
    _debit(db, record)
    record = _transition(db, record, "pending", "committed")
    _credit(db, record)
    record = _transition(db, record, "committed", "done")
    balance = db.users.find_one({"_id": me})["balance"]  # type: ignore[index]
    response = {
        "id": movement_id,
        "amount": AMOUNT,
        "recipient": to,
        "recipient_name": to,
        "description": None,
        "created_at": "2025-01-01T00:00:00.000Z",
        "balance": balance,
    }
    db.idempotency.update_one(
        {"_id": record_id}, {"$set": {"state": "completed", "status": 201, "response": response}}
    )


def pay_bill(db: Database[Doc], pair: Pair, jti: str, code: str) -> None:
    """One bill payment: the 26 calls listed in the module docstring."""
    me = pair.payer
    binding = f"pay_bill|party=|amount=|bill={code}"
    _issue_otp(db, me, jti, "pay_bill", binding, lambda: db.bills.find_one({"code": code}))
    record_id, movement_id = _authorize(db, me, jti, secrets.token_hex(16), "pay_bill")
    db.bills.find_one({"code": code})  # Bills.payable_by
    _verify_otp(db, me, "pay_bill", record_id)
    bill = db.bills.find_one({"code": code})  # Bills.get_for
    assert bill is not None
    db.users.count_documents({"_id": bill["issuer"]}, limit=1)
    record = _journal(
        db,
        movement_id,
        "bill_payment",
        me,
        bill["issuer"],
        bill["amount"],
        f"{bill['bill_name']} ({code})",
        code,
    )
    now = now_ms()
    claimed = db.bills.update_one(
        {"code": code, "status": "open", "payer": me},
        {"$set": {"status": "paying", "payment_id": movement_id, "updated_at": now}},
    )
    assert claimed.modified_count == 1, "bill claim refused"
    _debit(db, record)
    record = _transition(db, record, "pending", "committed")
    _credit(db, record)
    record = _transition(db, record, "committed", "done")
    now = now_ms()
    db.bills.update_one(
        {"code": code, "status": "paying", "payment_id": movement_id},
        {"$set": {"status": "paid", "paid_at": now, "updated_at": now}},
    )
    db.ledger.find_one_and_update(
        {"_id": movement_id}, {"$set": {"finalized": True}}, return_document=ReturnDocument.AFTER
    )
    bill = db.bills.find_one({"code": code})  # Bills.get_for after the payment
    db.users.find_one({"_id": bill["issuer"]})  # type: ignore[index]  # the notice's recipient
    balance = db.users.find_one({"_id": me})["balance"]  # type: ignore[index]
    db.idempotency.update_one(
        {"_id": record_id},
        {
            "$set": {
                "state": "completed",
                "status": 200,
                "response": {"bill": {"code": code}, "payment_id": movement_id, "balance": balance},
            }
        },
    )


def run(
    db: Database[Doc],
    pairs: list[Pair],
    per_client: int,
    warmup: int,
    operation: Callable[[Database[Doc], Pair, int], None],
    cpu: Any = None,
) -> RunResult:
    """One client thread per pair; each does `warmup` untimed then `per_client` timed operations."""
    barrier = threading.Barrier(len(pairs) + 1)
    latencies: list[list[float]] = [[] for _ in pairs]

    def client(index: int) -> None:
        pair = pairs[index]
        try:
            for k in range(warmup):
                operation(db, pair, k)
        except BaseException:
            barrier.abort()  # the other clients stop waiting; result() re-raises this error
            raise
        barrier.wait()
        for k in range(warmup, warmup + per_client):
            started = time.perf_counter()
            operation(db, pair, k)
            latencies[index].append(time.perf_counter() - started)

    with ThreadPoolExecutor(len(pairs)) as pool:
        futures = [pool.submit(client, i) for i in range(len(pairs))]
        barrier.wait()
        if cpu is not None:
            cpu.start()
        started = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    used = cpu.stop() if cpu is not None else {}
    flat = [x for lat in latencies for x in lat]
    return RunResult(len(flat), elapsed, flat, used)
