"""Fixed-window counters in the database, shared by every backend process."""

from __future__ import annotations

from pymongo import ReturnDocument

from backend.db import Store, now_ms


class RateLimiter:
    """Counts events per key in fixed windows (sign-in failures, OTP requests)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _doc_id(self, key: str, window_seconds: int) -> tuple[str, int]:
        """The counter document of the current window, and when that window ends (ms)."""
        window_ms = window_seconds * 1000
        index = now_ms() // window_ms
        return f"{key}@{window_seconds}:{index}", (index + 1) * window_ms

    def hit(self, key: str, window_seconds: int, amount: int = 1) -> int:
        """Count one event (or take one back: amount=-1); the count in the current window after it."""
        doc_id, ends = self._doc_id(key, window_seconds)
        doc = self.store.counters.find_one_and_update(
            {"_id": doc_id},
            {"$inc": {"n": amount}, "$set": {"expires_at": ends}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["n"]) if doc else 1

    def count(self, key: str, window_seconds: int) -> int:
        """Events counted in the current window."""
        doc_id, _ = self._doc_id(key, window_seconds)
        doc = self.store.counters.find_one({"_id": doc_id})
        return int(doc["n"]) if doc else 0

    def retry_after(self, window_seconds: int) -> int:
        """Seconds until the current window ends."""
        window_ms = window_seconds * 1000
        return max(1, (window_ms - now_ms() % window_ms) // 1000)

    def purge_expired(self) -> int:
        """Drop counters of windows that have ended."""
        return self.store.counters.delete_many({"expires_at": {"$lt": now_ms()}}).deleted_count
