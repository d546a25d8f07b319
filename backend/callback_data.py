"""Callback data of the inline buttons the backend attaches to its Telegram messages.

The bot imports these so that a button sent by the backend and the handler in the bot agree.
Telegram limits callback data to 64 bytes; a bill code is 10 characters.
"""

BILL_PAY = "bill:pay:"  # + bill code: the payer pressed Pay
BILL_DECLINE = "bill:decline:"  # + bill code: the payer pressed Decline
BILL_CANCEL = "bill:cancel:"  # + bill code: the issuer pressed Cancel


def bill_pay(code: str) -> str:
    """Callback data of the Pay button of one bill."""
    return BILL_PAY + code


def bill_decline(code: str) -> str:
    """Callback data of the Decline button of one bill."""
    return BILL_DECLINE + code


def bill_cancel(code: str) -> str:
    """Callback data of the Cancel button of one bill."""
    return BILL_CANCEL + code
