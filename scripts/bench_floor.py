"""The floor: the database doing exactly the reads and writes of one transfer (or bill payment),
issued with pymongo from threads, no HTTP, no FastAPI, no backend code on the path.

The sequences below are the calls the backend makes, in its order, with its filters and updates
(read from backend/api/deps.py, wallet.py, otp.py, ratelimit.py, idempotency.py, ledger.py,
bills.py, security.py, accounts.py at the time of writing, and checked against a pymongo
CommandListener on the real app: same commands, same order). When those files change, change
these lists.

Transfer = 18 round trips (7 reads, 11 writes):

    POST /api/processing  (OTP issue)
      1 r tokens.find_one               {_id: jti} → {_id}         deps.current_user → Tokens.verify_access
      2 r users.find_one                {_id: me}                  deps.current_user
      3 r users.find_one                {_id: recipient}           Wallet._check_counterparty
      4 w counters.find_one_and_update  {_id: otp:me@600:i} upsert RateLimiter.hit
      5 w otps.replace_one              {_id: me:transfer} upsert  Otps.issue (one doc per action)
    POST /api/transfer
      6 r tokens.find_one               {_id: jti} → {_id}         deps.current_user
      7 r users.find_one                {_id: me}                  deps.current_user
      8 w idempotency.insert_one                                   Idempotency._reserve
      9 r users.find_one                {_id: recipient}           Wallet._check_counterparty
     10 r otps.find_one                 {_id: me:transfer}         Otps.verify
     11 w otps.update_one               {_id, nonce, used, attempts} Otps.verify (consume)
     12 w idempotency.update_one        authorized                 Attempt.mark_authorized
        (no recipient read: Ledger.move(payee_known=True))
     13 w ledger.insert_one             pending record, open_since Ledger._journal
     14 w users.find_one_and_update     conditional debit → balance Ledger._try_debit / _apply
     15 w ledger.find_one_and_update    pending → committed        Ledger._transition
     16 w users.update_one              credit + inbox marker      Ledger._credit
     17 w ledger.find_one_and_update    committed → done, src_key/dst_key, finalized, unset open_since
     18 w idempotency.update_one        completed + response       Idempotency.run
        (the balance in the answer is the one call 14 returned: Wallet.balance_after)

Bill payment = 22 round trips (8 reads, 14 writes):

    POST /api/processing  1 tokens.find_one, 2 users.find_one (me), 3 bills.find_one {_id: code}
                          (Bills.payable_by), 4 counters.find_one_and_update, 5 otps.replace_one
    POST /api/bill/{code}/pay
      6 r tokens.find_one, 7 r users.find_one (me), 8 w idempotency.insert_one,
      9 r bills.find_one {_id: code} (payable_by: the only read of the bill), 10 r otps.find_one,
     11 w otps.update_one (consume), 12 w idempotency.update_one (authorized),
     13 w ledger.insert_one, 14 w bills.update_one {_id, status: open, payer} (claim, unset
        open_key/reminded_at), 15 w users.find_one_and_update (debit), 16 w ledger → committed,
     17 w users.update_one (credit), 18 w ledger → done (src_key/dst_key),
     19 w bills.update_one {_id, status: paying, payment_id} (settle paid),
     20 w ledger.find_one_and_update (finalized, unset open_since),
     21 r users.find_one (issuer, for the "bill paid" notice; only when a bot token is set, as in
        the benchmark), 22 w idempotency.update_one (completed)

The figures in docs/BENCHMARKS.md of 2026-11-26 15:49 were taken with one more read per operation
(the payer's balance, re-read because `_drive` dropped the debit's `src_balance`; fixed since).
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
from pymongo import ReturnDocument
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


def _current_user(db: Database[Doc], me: str, jti: str) -> None:
    """deps.current_user: the revocation check (find_one by _id), then the user."""
    db.tokens.find_one({"_id": "jti:" + jti}, {"_id": 1})
    db.users.find_one({"_id": me})


def _issue_otp(
    db: Database[Doc], me: str, jti: str, action: str, binding: str, read_party: Callable[[], Any]
) -> None:
    """POST /api/processing: 3 reads, 2 writes."""
    _current_user(db, me, jti)
    read_party()
    now = now_ms()
    index = now // (OTP_WINDOW * 1000)
    db.counters.find_one_and_update(
        {"_id": f"otp:{me}@{OTP_WINDOW}:{index}"},
        {"$inc": {"n": 1}, "$set": {"expires_at": (index + 1) * OTP_WINDOW * 1000}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    otp_id = f"{me}:{action}"
    db.otps.replace_one(
        {"_id": otp_id},
        {
            "_id": otp_id,
            "username": me,
            "action": action,
            "binding": binding,
            "nonce": secrets.token_hex(8),
            "code_hash": secrets.token_hex(32),
            "attempts": 0,
            "used": False,
            "created_at": now,
            "expires_at": now + OTP_TTL_MS,
        },
        upsert=True,
    )


def _authorize(db: Database[Doc], me: str, jti: str, route_key: str) -> tuple[str, str]:
    """Auth, idempotency reservation; returns (idempotency id, movement id)."""
    _current_user(db, me, jti)
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
    otp = db.otps.find_one({"_id": f"{me}:{action}"})
    assert otp is not None and not otp["used"]
    consumed = db.otps.update_one(
        {"_id": otp["_id"], "nonce": otp["nonce"], "used": False, "attempts": {"$lt": MAX_ATTEMPTS}},
        {"$set": {"used": True, "used_at": now_ms()}},
    )
    assert consumed.modified_count == 1, "OTP not consumed"
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
        "open_since": now,
        "day": utc_day(now),
        "created_at": now,
        "updated_at": now,
    }
    db.ledger.insert_one(record)
    return record


def _debit(db: Database[Doc], record: Doc) -> int:
    """Ledger._try_debit, steady-state branch (same UTC day as the previous debit) → balance."""
    amount = record["amount"]
    after = db.users.find_one_and_update(
        {
            "_id": record["src"],
            "balance": {"$gte": amount},
            "outbox": {"$nin": [record["_id"]]},
            "frozen": False,
            "day": record["day"],
            "day_out": {"$lte": DAILY_LIMIT - amount},
        },
        {"$inc": {"balance": -amount, "in_flight": 1, "day_out": amount}, "$push": {"outbox": record["_id"]}},
        projection={"balance": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert after is not None, "debit refused"
    return int(after["balance"])


def _transition(db: Database[Doc], record: Doc, old: str, new: str) -> Doc:
    fields: Doc = {"state": new, "updated_at": now_ms()}
    update: Doc = {"$set": fields}
    if new == "done":
        fields["src_key"] = f"{record['src']}:{record['seq']}"
        fields["dst_key"] = f"{record['dst']}:{record['seq']}"
        fields["done_at"] = fields["updated_at"]
        if record["kind"] != "bill_payment":
            fields["finalized"] = True
            update["$unset"] = {"open_since": ""}
    updated = db.ledger.find_one_and_update(
        {"_id": record["_id"], "state": old}, update, return_document=ReturnDocument.AFTER
    )
    assert updated is not None
    return updated


def _credit(db: Database[Doc], record: Doc) -> None:
    db.users.update_one(
        {"_id": record["dst"], "inbox": {"$nin": [record["_id"]]}},
        {"$inc": {"balance": record["amount"], "in_flight": 1}, "$push": {"inbox": record["_id"]}},
    )


def transfer(db: Database[Doc], pair: Pair, jti: str) -> None:
    """One transfer: the 18 calls listed in the module docstring."""
    me, to = pair.payer, pair.payee
    binding = f"transfer|party={to}|amount={AMOUNT}|bill="
    _issue_otp(db, me, jti, "transfer", binding, lambda: db.users.find_one({"_id": to}))
    record_id, movement_id = _authorize(db, me, jti, secrets.token_hex(16))
    db.users.find_one({"_id": to})  # Wallet._check_counterparty
    _verify_otp(db, me, "transfer", record_id)
    record = _journal(db, movement_id, "transfer", me, to, AMOUNT, None, None)
    balance = _debit(db, record)  # Wallet.balance_after uses it
    record = _transition(db, record, "pending", "committed")
    _credit(db, record)
    record = _transition(db, record, "committed", "done")
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
    """One bill payment: the 22 calls listed in the module docstring."""
    me = pair.payer
    binding = f"pay_bill|party=|amount=|bill={code}"
    _issue_otp(db, me, jti, "pay_bill", binding, lambda: db.bills.find_one({"_id": code}))
    record_id, movement_id = _authorize(db, me, jti, secrets.token_hex(16))
    bill = db.bills.find_one({"_id": code})  # Bills.payable_by: the payment's only read of the bill
    assert bill is not None
    _verify_otp(db, me, "pay_bill", record_id)
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
        {"_id": code, "status": "open", "payer": me},
        {
            "$set": {"status": "paying", "payment_id": movement_id, "updated_at": now},
            "$unset": {"open_key": "", "reminded_at": ""},
        },
    )
    assert claimed.modified_count == 1, "bill claim refused"
    balance = _debit(db, record)  # Wallet.balance_after uses it
    record = _transition(db, record, "pending", "committed")
    _credit(db, record)
    record = _transition(db, record, "committed", "done")
    db.bills.update_one(
        {"_id": code, "status": "paying", "payment_id": movement_id},
        {"$set": {"status": "paid", "paid_at": record["done_at"], "updated_at": now_ms()}},
    )
    db.ledger.find_one_and_update(
        {"_id": movement_id},
        {"$set": {"finalized": True}, "$unset": {"open_since": ""}},
        return_document=ReturnDocument.AFTER,
    )
    db.users.find_one({"_id": bill["issuer"]})  # the notice's recipient (notifier enabled)
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
