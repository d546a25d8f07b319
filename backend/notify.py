"""Outbound Telegram messages: OTP DMs, "you were paid", bill notices with Pay / Decline buttons.

OTPs are sent synchronously (the request fails if the code cannot be delivered); every other
notice is best effort, sent from a small thread pool so it never slows or fails a payment. A user
who blocked the bot (403) is skipped and logged.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from backend import callback_data
from backend.config import Settings
from backend.db import Doc
from backend.errors import TelegramNotLinked, Unavailable

logger = logging.getLogger(__name__)

TEXTS: dict[str, dict[str, str]] = {
    "otp": {
        "id": "🔐 Kode OTP Mata Duitan: {code}\nUntuk: {what}\nBerlaku {minutes} menit. "
        "Jangan berikan kode ini kepada siapa pun.",
        "en": "🔐 Your Mata Duitan OTP: {code}\nFor: {what}\nValid for {minutes} minutes. "
        "Never share this code with anyone.",
    },
    "otp_transfer": {"id": "kirim {amount} ke {party}", "en": "send {amount} to {party}"},
    "otp_create_bill": {"id": "tagih {party} sebesar {amount}", "en": "bill {party} for {amount}"},
    "otp_pay_bill": {
        "id": "bayar tagihan {bill_code} ({amount}) ke {party}",
        "en": "pay bill {bill_code} ({amount}) to {party}",
    },
    "received": {
        "id": "💰 Kamu menerima {amount} dari {sender}.{note}",
        "en": "💰 You received {amount} from {sender}.{note}",
    },
    "bill_new": {
        "id": "🧾 Tagihan baru dari {issuer}: {bill_name}\nJumlah: {amount}\nKode: {code}{note}",
        "en": "🧾 New bill from {issuer}: {bill_name}\nAmount: {amount}\nCode: {code}{note}",
    },
    "bill_paid": {
        "id": "✅ {payer} membayar tagihan {code} ({bill_name}) sebesar {amount}.",
        "en": "✅ {payer} paid bill {code} ({bill_name}): {amount}.",
    },
    "bill_declined": {
        "id": "❌ {payer} menolak tagihan {code} ({bill_name}).",
        "en": "❌ {payer} declined bill {code} ({bill_name}).",
    },
    "bill_cancelled": {
        "id": "🚫 {issuer} membatalkan tagihan {code} ({bill_name}).",
        "en": "🚫 {issuer} cancelled bill {code} ({bill_name}).",
    },
    "button_pay": {"id": "Bayar", "en": "Pay"},
    "button_decline": {"id": "Tolak", "en": "Decline"},
}


def format_amount(amount: int, currency: str = "IDR") -> str:
    """Money for people: Rp50.000 (IDR), otherwise `12,345 XYZ`."""
    if currency == "IDR":
        sign = "-" if amount < 0 else ""
        return f"{sign}Rp{abs(amount):,}".replace(",", ".")
    return f"{amount:,} {currency}"


def text(key: str, lang: str, **values: Any) -> str:
    """One notice in the user's language (Indonesian by default)."""
    templates = TEXTS[key]
    return templates.get(lang, templates["id"]).format(**values)


def pay_buttons(code: str, lang: str) -> dict[str, Any]:
    """The inline keyboard of a bill notice: Pay / Decline."""
    return {
        "inline_keyboard": [
            [
                {"text": text("button_pay", lang), "callback_data": callback_data.bill_pay(code)},
                {
                    "text": text("button_decline", lang),
                    "callback_data": callback_data.bill_decline(code),
                },
            ]
        ]
    }


class Notifier:
    """Sends messages through the Telegram Bot API at TELEGRAM_API_URL (or logs OTPs)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.Client(
            timeout=5.0
        )  # below the bot's BACKEND_TIMEOUT: an OTP request must answer first
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify")

    @property
    def enabled(self) -> bool:
        """True when notices can go out (a bot token is configured)."""
        return bool(self.settings.telegram_bot_token)

    def close(self) -> None:
        """Finish queued notices and close the HTTP client."""
        self.pool.shutdown(wait=True)
        self.http.close()

    def deliver_otp(self, user: Doc, code: str, action: str, summary: dict[str, Any]) -> None:
        """Send an OTP to its owner, or raise: a code nobody received is useless."""
        lang = user.get("lang", "id")
        values = {
            **summary,
            "amount": format_amount(int(summary.get("amount") or 0), self.settings.currency),
        }
        what = text("otp_" + action, lang, **values)
        if self.settings.otp_delivery == "log":
            # development/test channel only: Settings refuses OTP_DELIVERY=log in production
            logger.warning("otp username=%s code=%s action=%s", user["_id"], code, action)
            return
        if "telegram_chat_id" not in user:
            raise TelegramNotLinked("link your Telegram account to the bot first to receive OTPs")
        message = text("otp", lang, code=code, what=what, minutes=self.settings.otp_ttl_seconds // 60)
        if not self.send(user["telegram_chat_id"], message):
            raise Unavailable("the OTP could not be delivered on Telegram; try again", "delivery_failed")

    def notify(self, user: Doc | None, key: str, buttons_for: str | None = None, **values: Any) -> None:
        """Queue a best-effort notice to a user's linked chat (nothing if unlinked)."""
        if user is None or "telegram_chat_id" not in user or not self.enabled:
            return
        lang = user.get("lang", "id")
        if "amount" in values:
            values["amount"] = format_amount(values["amount"], self.settings.currency)
        message = text(key, lang, **values)
        markup = pay_buttons(buttons_for, lang) if buttons_for else None
        self.pool.submit(self.send, user["telegram_chat_id"], message, markup)

    def send(self, chat_id: int, message: str, markup: dict[str, Any] | None = None) -> bool:
        """One sendMessage call; False (logged) when Telegram refuses or is unreachable."""
        url = f"{self.settings.telegram_api_url}/bot{self.settings.telegram_bot_token}/sendMessage"
        payload: dict[str, Any] = {"chat_id": chat_id, "text": message}
        if markup is not None:
            payload["reply_markup"] = json.dumps(markup)
        try:
            response = self.http.post(url, data=payload)
        except httpx.HTTPError as exc:
            logger.warning("telegram unreachable for chat %s: %s", chat_id, type(exc).__name__)
            return False
        if response.status_code == 403:
            logger.info("chat %s blocked the bot; notice skipped", chat_id)
            return False
        if response.status_code != 200:
            logger.warning("telegram answered %s for chat %s", response.status_code, chat_id)
            return False
        return True
