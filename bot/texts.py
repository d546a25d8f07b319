"""Every user-facing string of the bot, in Bahasa Indonesia and English.

Plain text (no parse mode), so names and descriptions typed by users need no escaping.
"""

# ruff: noqa: E501  (a table of sentences reads better unwrapped)

from __future__ import annotations

from typing import Any

LANGS = ("id", "en")
DEFAULT_LANG = "en"
# each language's name in itself, on the /lang buttons
LANGUAGE_NAMES = {"id": "🇮🇩 Bahasa Indonesia", "en": "🇬🇧 English"}

EN: dict[str, str] = {
    # commands (menu) -------------------------------------------------------
    "cmd_start": "Start: your account and balance",
    "cmd_me": "Your name, username and balance",
    "cmd_register": "Create an account",
    "cmd_login": "Log in to your account",
    "cmd_logout": "Log out of this chat",
    "cmd_transfer": "Send money to someone",
    "cmd_bill": "Ask someone to pay you",
    "cmd_pay": "Pay a bill by its code",
    "cmd_bills": "Bills to pay and bills you issued",
    "cmd_history": "Your transactions",
    "cmd_statement": "Monthly e-statement (PDF + CSV)",
    "cmd_insights": "Your spending at a glance",
    "cmd_lang": "Bahasa Indonesia / English",
    "cmd_help": "What this bot can do",
    "cmd_limits": "How much your wallet can hold and receive",
    "cmd_cancel": "Stop what you are doing",
    "cmd_group_split": "Split a bill: /split 300rb Dinner",
    "cmd_group_dues": "Monthly dues: /dues 50rb Class fund",
    "cmd_group_tip": "Reply to someone: /tip 10rb",
    "cmd_group_help": "What this bot can do",
    "group_only": "/split, /dues and /tip work in a group: add me to one and send them there. Send /help for what works here.",
    "help": (
        "Mata Duitan — your e-wallet on Telegram.\n\n"
        "/start — your account and balance\n"
        "/me — your name, username and balance\n"
        "/limits — how much your wallet can hold and receive\n"
        "/register — create an account\n"
        "/login — log in\n"
        "/logout — log out of this chat\n"
        "/transfer — send money\n"
        "/bill — ask someone to pay you\n"
        "/pay <code> — pay a bill\n"
        "/bills — bills to pay and bills you issued\n"
        "/history — your transactions (filter by month, kind or person)\n"
        "/statement — a month's e-statement as PDF and CSV\n"
        "/insights — your money in and out at a glance\n"
        "/lang — Bahasa Indonesia / English\n"
        "/cancel — stop what you are doing\n\n"
        "In a group: /split 300rb Dinner, /dues 50rb Class fund, or reply /tip 10rb to someone. "
        "In any chat, type @<this bot> 50rb lunch to post a Pay button.\n\n"
        "Amounts can be typed as 50000, 50.000, Rp 50.000, 50rb or 1,5jt."
    ),
    # general -----------------------------------------------------------------
    "welcome": "Welcome to Mata Duitan! Send /register to create an account or /login to log in.",
    "me": "{name} (@{username})\nBalance: {balance}\n{tier}: holds up to {cap}. Send /limits for more.",
    "tier_unverified": "Unverified account",
    "tier_verified": "Verified account",
    "limits": (
        "{tier}\n"
        "Your wallet can hold up to {cap}; your balance is {balance}.\n"
        "Received this month ({month}): {incoming} of {monthly_cap}.\n"
        "You can still receive: {can_receive}."
    ),
    "limits_verify_hint": (
        "Verified accounts can hold more (Bank Indonesia's e-money rules): ask a Mata Duitan admin "
        "to verify you with your KTP (full name, NIK and date of birth)."
    ),
    "the_payee": "The recipient",
    "frozen": "Your account is frozen: you can look, but not move money.",
    "unknown": "Sorry, I did not understand that. Send /help to see what I can do.",
    "group_private_only": "I only handle money in a private chat, so no code or balance is ever"
    " shown here. Open a chat with me: https://t.me/{bot}",
    "group_private_only_short": "Open a private chat with me to use the wallet.",
    "cancelled": "Cancelled. Nothing was charged.",
    "nothing_to_cancel": "There is nothing to cancel. Send /help to see what I can do.",
    "button_stale": "This button is no longer active.",
    "already_confirmed": "Already confirmed — type the code I asked for.",
    "backend_down": "The service is not reachable right now. Please try again later — nothing was charged.",
    "backend_unsure": (
        "The service did not answer in time. Check /history before trying again: "
        "a payment never goes through twice."
    ),
    "generic_error": "Something went wrong on our side. Please try again later.",
    "need_login": "Please /login or /register first.",
    "session_expired": "Your login has ended. Please /login again.",
    "already_logged_in": "You are logged in as @{username}. Send /logout first to use another account.",
    "skip_button": "Skip",
    "skip_hint": "(or send /skip)",
    "share_contact_button": "Share my phone number",
    "confirm_button": "✅ Confirm",
    "cancel_button": "✖ Cancel",
    "pay_button": "Pay",
    "decline_button": "Decline",
    "cancel_bill_button": "Cancel bill",
    "older_button": "◀ Older",
    "newer_button": "Newer ▶",
    "no_description": "-",
    "confirmed": "{summary}\n\n✅ Confirmed.",
    # register / login --------------------------------------------------------
    "register_username": "Choose a username (3–32 characters: letters, digits, _).",
    "username_invalid": "A username has 3–32 characters: letters a–z, digits and _. Try again.",
    "register_name": "What is your full name?",
    "name_invalid": "A name has 1 to 64 characters. Try again.",
    "register_email": "Your email address? (or press Skip)",
    "email_invalid": "That does not look like an email address. Try again, or press Skip.",
    "register_contact": "Share your phone number with the button below (or press Skip).",
    "contact_not_yours": "Please share your own phone number with the button, or press Skip.",
    "register_password": ("Choose a password (8 characters or more). I will delete your message right away."),
    "password_short": "The password needs 8 characters or more. Try another one.",
    "register_done": "Welcome, {name}! You are registered as @{username}. Balance: {balance}",
    "login_username": "Your username?",
    "login_password": "Your password? I will delete your message right away.",
    "login_done": "Hello, {name}! You are logged in as @{username}. Balance: {balance}",
    "logout_done": "You are logged out of this chat.",
    "not_logged_in": "You are not logged in.",
    # transfer ----------------------------------------------------------------
    "transfer_recipient": "Who do you want to send money to? Type their username.",
    "recipient_self": "You cannot send money to yourself. Type another username.",
    "recipient_found": "Recipient: {name} (@{username})",
    "ask_amount": "How much? For example 50.000 or 50rb. Your balance: {balance}",
    "amount_not_a_number": "That is not an amount. Type it like 50000, 50.000, 50rb or 1,5jt.",
    "amount_not_positive": "The amount must be more than Rp0. Try again.",
    "amount_fraction": "Amounts are whole rupiah (no cents). Try again.",
    "amount_too_large": "That amount is far too large. Try again.",
    "amount_over_balance": "That is more than your balance ({balance}). Type a smaller amount.",
    "ask_description": "Add a description? Type it, or press Skip.",
    "description_invalid": "A description has at most 140 characters. Try again.",
    "transfer_summary": "Send {amount} to {name} (@{username})\nDescription: {description}",
    "otp_sent": "I have sent you a 6-digit code in this chat. Type it here (valid for 5 minutes).",
    "otp_format": "The code is 6 digits. Type it again.",
    "transfer_done": "Sent {amount} to {name} (@{username}). Your balance: {balance}",
    # bill --------------------------------------------------------------------
    "bill_name": "What is the bill for? (a short name, e.g. Dinner)",
    "bill_name_invalid": "A bill name has 1 to 64 characters. Try again.",
    "bill_payer": "Who should pay? Type their username.",
    "bill_payer_self": "You cannot bill yourself. Type another username.",
    "payer_found": "Payer: {name} (@{username})",
    "bill_amount": "How much? For example 50.000 or 50rb.",
    "bill_summary": 'Bill "{bill_name}" to {name} (@{username})\nAmount: {amount}\nDescription: {description}',
    "bill_done": (
        "Bill {code} created: {amount} from {name} (@{username}).\n"
        "They can pay with /pay {code} or this link:\n{link}"
    ),
    "bill_qr_caption": "Scan to pay bill {code} ({amount})",
    # pay ---------------------------------------------------------------------
    "pay_code": "Type the bill code.",
    "pay_summary": (
        "Bill {code}: {bill_name}\nFrom: {issuer_name} (@{issuer})\nAmount: {amount}\n"
        "Description: {description}\nYour balance: {balance}"
    ),
    "pay_not_yours": "This bill is addressed to someone else.",
    "pay_in_progress": "This bill is already open above.",
    "pay_not_open": "Bill {code} is {status}; it cannot be paid.",
    "pay_insufficient": "Your balance ({balance}) does not cover this bill ({amount}).",
    "pay_done": "Paid {amount} for bill {code} to {issuer_name}. Your balance: {balance}",
    "bill_declined": "You declined bill {code} ({amount}).",
    "bill_cancelled": "Bill {code} ({amount}) is cancelled.",
    # bills -------------------------------------------------------------------
    "bills_to_pay_header": "Bills you must pay:",
    "bills_to_pay_none": "You have no bills to pay.",
    "bills_issued_header": "Bills you issued:",
    "bills_issued_none": "You have not issued any bills.",
    "bill_to_pay_line": "{code} · {bill_name} · {amount} from {issuer_name} (@{issuer})",
    "bill_issued_line": "{code} · {bill_name} · {amount} → {payer_name} (@{payer}) · {status}",
    "reminder": (
        'Reminder: bill {code} "{bill_name}" from {issuer_name} (@{issuer}) for {amount} is still open.'
    ),
    # the wallet's notices (the backend's outbox; one text per kind) ------------
    "notice_otp": "🔐 Your Mata Duitan OTP: {code}\nFor: {what}\nValid for {minutes} minutes. Never share this code with anyone.",
    "notice_otp_transfer": "send {amount} to {party}",
    "notice_otp_create_bill": "bill {party} for {amount}",
    "notice_otp_pay_bill": "pay bill {bill_code} ({amount}) to {party}",
    "notice_received": "💰 You received {amount} from {sender}.{note}",
    "notice_deposit": "💰 {amount} was added to your wallet.",
    "notice_withdrawal": "🏧 {amount} was withdrawn from your wallet.",
    "notice_bill_new": "🧾 New bill from {issuer}: {bill_name}\nAmount: {amount}\nCode: {code}{note}",
    "notice_bill_paid": "✅ {payer} paid bill {code} ({bill_name}): {amount}.",
    "notice_bill_declined": "❌ {payer} declined bill {code} ({bill_name}).",
    "notice_bill_cancelled": "🚫 {issuer} cancelled bill {code} ({bill_name}).",
    "notice_note": "\n“{description}”",
    "status_open": "open",
    "status_paid": "paid",
    "status_cancelled": "cancelled",
    "status_declined": "declined",
    "status_paying": "being paid",
    # history -----------------------------------------------------------------
    "history_empty": "No transactions yet.",
    "history_header": "Your transactions (page {page}), newest first:",
    "history_line": "{date} · {label} · {amount}{party}{description}",
    "kind_transfer": "Transfer",
    "kind_bill_payment": "Bill payment",
    "kind_deposit": "Deposit",
    "kind_withdrawal": "Withdrawal",
    "kind_reversal": "Reversal",
    "party_to": " → {party}",
    "party_from": " ← {party}",
    "history_note": " · {note}",
    "history_filtered": "Showing: {filters}",
    "history_none_match": "No transactions match: {filters}.",
    "history_choose_period": "Show which period?",
    "history_choose_kind": "Show which kind of transaction?",
    "history_choose_person": "Your transactions with whom? (Or send /history @username.)",
    "history_no_people": "You have not sent money to or received it from anyone yet.",
    "history_bad_filter": "I did not understand that. Try /history, /history @username or /history 2026-10.",
    "filter_period_button": "📅 {label}",
    "filter_kind_button": "🏷 {label}",
    "filter_person_button": "👤 {label}",
    "filter_all_time": "All time",
    "filter_this_month": "This month",
    "filter_last_month": "Last month",
    "filter_all_kinds": "All kinds",
    "filter_everyone": "Everyone",
    "filter_transfers_in": "Transfers in",
    "filter_transfers_out": "Transfers out",
    "filter_bills_paid": "Bills I paid",
    "filter_bills_received": "Bills paid to me",
    "filter_cash": "Top-ups & withdrawals",
    "filter_reversals": "Reversals",
    "back_button": "↩ Back",
    # statements and insights ---------------------------------------------------
    "statement_choose": "Which month's e-statement? You get it as a PDF and as a CSV for spreadsheets.",
    "statement_bad_month": "Send the month as YYYY-MM, e.g. /statement 2026-10, or pick one below.",
    "statement_preparing": "Preparing your e-statement for {month}…",
    "statement_caption": "E-statement {month}\nOpening balance: {opening}\nMoney in: {money_in}\nMoney out: {money_out}\nClosing balance: {closing}\nTransactions: {count}",
    "statement_csv_caption": "{month}: the same transactions as CSV (opens in any spreadsheet).",
    "statement_sent": "Your e-statement for {month} is below.",
    "insights_caption": "{month}: {money_in} in, {money_out} out.{top}",
    "insights_top": " Most went to {party} ({amount}).",
    "insights_top_kind": " Most of it: {party} ({amount}).",
    "insights_by_kind_button": "🏷 By kind",
    "insights_by_person_button": "👤 By person",
    "insights_nothing_out": " Nothing went out yet.",
    # language ----------------------------------------------------------------
    "lang_choose": "Choose your language:",
    "lang_set": "Language: English.",
    # backend error codes: one per member of backend.errors.ErrorCode, keyed by its string
    # (tests/test_error_catalogue.py keeps the two in step) -------------------------
    "error_validation_error": "Some of what you typed is not valid. Please check it and try again.",
    "error_invalid_request": "Some details of that request are missing. Please start again.",
    "error_invalid_amount": "That amount is not accepted.",
    "error_invalid_due_date": "That due date is not accepted: it must be today or later, and at most a year ahead.",
    "error_self_transfer": "You cannot send money to yourself.",
    "error_limit_exceeded": "That is over your limit. Try a smaller amount.",
    "error_receive_cap_unverified": "{payee}'s wallet cannot receive that much yet; they can verify their account to hold more. Nothing was charged.",
    "error_receive_cap_reached": "{payee}'s wallet cannot hold that much more. Nothing was charged.",
    "error_receive_monthly_cap": "{payee}'s wallet cannot receive that much more this month. Nothing was charged.",
    "error_already_verified": "That account is verified already.",
    "error_invalid_identity": "Those identity details do not check out (NIK or date of birth).",
    "error_invalid_credentials": "Wrong username or password.",
    "error_token_invalid": "Your login has ended. Please /login again.",
    "error_signin_locked": "Too many failed logins. Wait a while and try again.",
    "error_otp_rate_limited": "Too many codes requested. Wait a few minutes and try again.",
    "error_username_taken": "That username is taken. Choose another one.",
    "error_user_not_found": "There is no user with that username. Try again.",
    "error_bill_not_found": "There is no bill with that code. Try again.",
    "error_not_found": "I could not find that. Check it and try again.",
    "error_forbidden": "You are not allowed to do that. Send /help to see what you can do.",
    "error_account_frozen": "Your account is frozen: money cannot be moved.",
    "error_insufficient_funds": "Your balance is too low for this.",
    "error_bill_not_payable": "This bill can no longer be paid (it was paid, cancelled or declined). Send /bills to see your open bills.",
    "error_idempotency_conflict": "This confirmation was already used for a different request, so nothing new was sent. Check /history, then start again.",
    "error_telegram_not_linked": "Your account is not linked to this chat. Please /login again.",
    "error_otp_invalid": "Wrong code. Type it again.",
    "error_otp_expired": "The code has expired. Nothing was charged; please start again.",
    "error_otp_locked": "Too many wrong codes. Nothing was charged; please start again.",
    "error_otp_missing": "No code is pending. Nothing was charged; please start again.",
    "error_unavailable": "The service is not available right now. Try again later — nothing was charged.",
    "error_bad_request": "Part of that request could not be read, so nothing was done. Please start again.",
    "error_method_not_allowed": "That action is not available. Please start again, or send /help.",
    "error_conflict": "That could not be done right now, and nothing was charged. Check /history, then try again.",
    "error_already_reversed": "This transaction was already reversed; nothing more was changed.",
    "error_interrupted": "The request was interrupted before any money moved. Nothing was charged — please send it again.",
    "error_busy": "Your account is busy with another payment. Nothing was charged — please try again in a moment.",
    "error_idempotency_in_flight": "Still processing — check /history in a moment before trying again.",
    "error_too_large": "That is too long for me to send on. Please make it shorter and try again.",
    "error_not_reversible": "Only a finished transaction can be reversed. Wait until it is done, then try again.",
    "error_idempotency_key_required": "That request was missing its safety key, so nothing was charged. Please start again.",
    "error_idempotency_key_invalid": "That request had a broken safety key, so nothing was charged. Please start again.",
    "error_too_many_requests": "Too many attempts. Wait a few minutes and try again.",
    "error_internal_server_error": "Something failed on our side. Check /history before trying again: a payment never goes through twice.",
    # groups: splits, dues, tips, pay-me requests ------------------------------------------
    "group_link_first": "{name}, your Telegram account has no Mata Duitan wallet linked yet. Open {link} to /register or /login, then try again.",
    "group_split_usage": "To split a bill: /split 300rb Dinner (the amount, then what it is for). Members tap Join; you then tap Bill everyone.",
    "group_dues_usage": "For monthly dues: /dues 50rb Class fund (the amount per member, then what it is for). Members tap Join; you then tap Bill everyone, and every month they are billed again until you stop it.",
    "group_tip_usage": "To tip someone, reply to one of their messages with /tip 10rb.",
    "group_amount_invalid": "{name}, I could not read that amount. Type it like 300rb, 50.000 or 1,5jt.",
    "group_title_invalid": "{name}, say what it is for in one line of at most 80 characters, e.g. /split 300rb Dinner.",
    "group_failed": "{name}, that did not work: {reason}",
    "tip_no_wallet": "{name} has no Mata Duitan wallet yet, so no money was sent. They can open {link} to create one.",
    "tip_to_self": "{name}, you cannot tip yourself.",
    "tip_to_bot": "{name}, tips go to people, not to bots.",
    "tip_confirm_in_private": "{tipper}, confirm your tip to {tippee} in our private chat.",
    "btn_open_private": "🔐 Confirm in private",
    "tally_split": "🧾 Split: {title}\n{organiser} is splitting {amount}.",
    "tally_dues": "🗓 Dues: {title}\n{amount} per member each month, collected by {organiser}.",
    "tally_dues_period": "🗓 Dues: {title} · {period}\n{amount} per member, collected by {organiser}.",
    "tally_request": "💸 {organiser} asks for {amount} · {title}",
    "tally_gathering": "Members so far: {names}. Tap Join to be in it; {organiser} then taps Bill everyone.",
    "tally_nobody_yet": "nobody yet",
    "tally_progress": "{paid}/{count} paid · {paid_amount} of {total}",
    "tally_request_paid": "Paid by {count}: {names}",
    "tally_request_nobody": "Tap Pay to pay {organiser} in our private chat.",
    "tally_own": "✅ {name} {amount} (own share)",
    "tally_paid": "✅ {name} {amount}",
    "tally_open": "⏳ {name} {amount}",
    "tally_pending": "⏳ {name} {amount}",
    "tally_declined": "✖️ {name} declined",
    "tally_cancelled": "🚫 {name} cancelled",
    "tally_billing": "Sending the bills…",
    "tally_settled": "🎉 Settled: everyone has paid.",
    "tally_closed": "Closed: nothing is left to pay.",
    "tally_was_cancelled": "🚫 Cancelled by {organiser}; paid shares stay paid.",
    "tally_request_closed": "🚫 Closed by {organiser}.",
    "btn_join": "🙋 Join",
    "btn_bill_everyone": "🧾 Bill everyone",
    "btn_split_cancel": "Cancel split",
    "btn_dues_stop": "Stop dues",
    "btn_pay_share": "💳 Pay my share",
    "btn_pay_request": "💳 Pay",
    "btn_request_close": "Close",
    "split_joined": "You're in! Your bill will come in our private chat.",
    "split_cancelled_toast": "Cancelled.",
    "split_refused_toast": "Not possible: {reason}",
    "notice_tip": "🎉 {tipper} tipped {tippee} {amount}!",
    "split_summary": "Bill everyone for “{title}” (total {amount}):\n{lines}\n\n{count} bills, {billed} in all. Your own share is not billed.",
    "dues_summary": "Dues “{title}”: {amount} to each of these {count} members now, and again every month until you stop it:\n{lines}",
    "split_share_line": "• {name} (@{username}): {amount}",
    "split_own_line": "• {name} (you): {amount}",
    "btn_custom_shares": "✏️ Custom shares",
    "split_custom_ask": "Type the custom shares, e.g. @sari 120rb, @andi 50rb (one per line or separated by commas). Members you do not name share the rest equally.",
    "split_custom_invalid": "I could not read that. Write @username and an amount, e.g. @sari 120rb.",
    "split_billed": "Done: {count} bills sent, {billed} in all. The group's message shows who has paid.",
    "split_not_open": "This split can no longer be billed (it is {status}).",
    "split_not_yours": "Only {organiser} can bill everyone in this split.",
    "split_no_bill": "You have no bill in this split. Tap Join in the group while it is open.",
    "split_share_not_open": "Your share of “{title}” is {status}: nothing to pay.",
    "tip_summary": "Tip {tippee_name} (@{tippee}) {amount}.\nThe group will see that you tipped. Your balance: {balance}.",
    "tip_gone": "This tip has expired or was sent already. Reply with /tip again in the group.",
    "tip_done": "🎉 You tipped {name} {amount}. Your balance: {balance}.",
    "notice_otp_bill_split": "bill {count} members {amount} in all for “{party}”",
    "inline_request_title": "Request {amount}",
    "inline_request_description": "Post a Pay button: whoever taps it pays you {amount} · {title}",
    "inline_help_title": "Type an amount and what it is for",
    "inline_help_description": "For example: 50rb lunch",
    "inline_help_text": "To ask for money here, type @{bot} 50rb lunch and choose “Request”.",
    "inline_link_first": "Link your Mata Duitan wallet first",
    "split_status_gathering": "still gathering members",
    "split_status_billing": "being billed",
    "split_status_open": "billed",
    "split_status_settled": "settled",
    "split_status_closed": "closed",
    "split_status_cancelled": "cancelled",
    "error_delivery_unavailable": "One-time codes cannot be delivered right now, so nothing was charged. Please try again in a few minutes.",
    "error_wallet_not_linked": "That Telegram account has no Mata Duitan wallet linked yet.",
    "error_split_not_found": "I could not find that split. It may have been cancelled, or it is not yours to see.",
    "error_not_organiser": "Only the person who started this split can do that.",
    "error_split_closed": "This split is not open for that any more (it was billed, closed or cancelled).",
    "error_split_changed": "Someone joined while you were confirming, so the shares changed. Nothing was billed — please look at the shares again.",
    "error_split_full": "This split is full: it takes at most 50 members.",
    "error_nothing_to_bill": "Nobody has joined yet, so there is nobody to bill.",
    "error_already_paid": "You have paid this already.",
    "error_invalid_shares": "Those shares do not work: each must name a member, and together they must not pass the total.",
}

ID: dict[str, str] = {
    "cmd_start": "Mulai: akun dan saldo Anda",
    "cmd_me": "Nama, username, dan saldo Anda",
    "cmd_register": "Buat akun",
    "cmd_login": "Masuk ke akun Anda",
    "cmd_logout": "Keluar dari chat ini",
    "cmd_transfer": "Kirim uang",
    "cmd_bill": "Minta seseorang membayar Anda",
    "cmd_pay": "Bayar tagihan dengan kodenya",
    "cmd_bills": "Tagihan yang harus dibayar dan yang Anda buat",
    "cmd_history": "Riwayat transaksi",
    "cmd_statement": "E-statement bulanan (PDF + CSV)",
    "cmd_insights": "Ringkasan pengeluaran Anda",
    "cmd_lang": "Bahasa Indonesia / English",
    "cmd_help": "Apa yang bisa dilakukan bot ini",
    "cmd_limits": "Berapa yang dapat ditampung dan diterima dompet Anda",
    "cmd_cancel": "Batalkan yang sedang berjalan",
    "cmd_group_split": "Bagi tagihan: /split 300rb Makan malam",
    "cmd_group_dues": "Iuran bulanan: /dues 50rb Kas kelas",
    "cmd_group_tip": "Balas pesan seseorang: /tip 10rb",
    "cmd_group_help": "Apa yang bisa dilakukan bot ini",
    "group_only": "/split, /dues dan /tip dipakai di grup: tambahkan saya ke grup lalu kirim di sana. Kirim /help untuk yang bisa dipakai di sini.",
    "help": (
        "Mata Duitan — dompet digital Anda di Telegram.\n\n"
        "/start — akun dan saldo Anda\n"
        "/me — nama, username, dan saldo Anda\n"
        "/limits — berapa yang dapat ditampung dan diterima dompet Anda\n"
        "/register — buat akun\n"
        "/login — masuk\n"
        "/logout — keluar dari chat ini\n"
        "/transfer — kirim uang\n"
        "/bill — minta seseorang membayar Anda\n"
        "/pay <kode> — bayar tagihan\n"
        "/bills — tagihan yang harus dibayar dan yang Anda buat\n"
        "/history — riwayat transaksi (saring per bulan, jenis atau orang)\n"
        "/statement — e-statement sebulan sebagai PDF dan CSV\n"
        "/insights — ringkasan uang masuk dan keluar\n"
        "/lang — Bahasa Indonesia / English\n"
        "/cancel — batalkan yang sedang berjalan\n\n"
        "Di grup: /split 300rb Makan malam, /dues 50rb Kas kelas, atau balas /tip 10rb ke seseorang. "
        "Di chat mana pun, ketik @<bot ini> 50rb makan siang untuk mengirim tombol Bayar.\n\n"
        "Nominal bisa ditulis 50000, 50.000, Rp 50.000, 50rb, atau 1,5jt."
    ),
    "welcome": "Selamat datang di Mata Duitan! Kirim /register untuk membuat akun atau /login untuk masuk.",
    "me": "{name} (@{username})\nSaldo: {balance}\n{tier}: menampung hingga {cap}. Kirim /limits untuk rinciannya.",
    "tier_unverified": "Akun belum terverifikasi",
    "tier_verified": "Akun terverifikasi",
    "limits": (
        "{tier}\n"
        "Dompet Anda dapat menampung hingga {cap}; saldo Anda {balance}.\n"
        "Diterima bulan ini ({month}): {incoming} dari {monthly_cap}.\n"
        "Anda masih dapat menerima: {can_receive}."
    ),
    "limits_verify_hint": (
        "Akun terverifikasi dapat menampung lebih banyak (ketentuan uang elektronik Bank Indonesia): "
        "minta admin Mata Duitan memverifikasi Anda dengan KTP (nama lengkap, NIK, dan tanggal lahir)."
    ),
    "the_payee": "Penerima",
    "frozen": "Akun Anda dibekukan: Anda bisa melihat, tetapi tidak bisa memindahkan uang.",
    "unknown": "Maaf, saya tidak mengerti. Kirim /help untuk melihat apa yang bisa saya lakukan.",
    "group_private_only": "Saya hanya melayani urusan uang di chat pribadi, jadi kode dan saldo tidak"
    " pernah tampil di sini. Buka chat dengan saya: https://t.me/{bot}",
    "group_private_only_short": "Buka chat pribadi dengan saya untuk memakai dompet.",
    "cancelled": "Dibatalkan. Tidak ada dana yang terpotong.",
    "nothing_to_cancel": "Tidak ada yang perlu dibatalkan. Kirim /help untuk melihat menu.",
    "button_stale": "Tombol ini sudah tidak berlaku.",
    "already_confirmed": "Sudah dikonfirmasi — ketik kode yang saya minta.",
    "backend_down": "Layanan sedang tidak dapat dihubungi. Coba lagi nanti — tidak ada dana yang terpotong.",
    "backend_unsure": (
        "Layanan tidak menjawab tepat waktu. Periksa /history sebelum mencoba lagi: "
        "pembayaran tidak pernah terjadi dua kali."
    ),
    "generic_error": "Terjadi kesalahan di sisi kami. Coba lagi nanti.",
    "need_login": "Silakan /login atau /register terlebih dahulu.",
    "session_expired": "Sesi Anda telah berakhir. Silakan /login lagi.",
    "already_logged_in": "Anda masuk sebagai @{username}. Kirim /logout dulu untuk memakai akun lain.",
    "skip_button": "Lewati",
    "skip_hint": "(atau kirim /skip)",
    "share_contact_button": "Bagikan nomor telepon saya",
    "confirm_button": "✅ Konfirmasi",
    "cancel_button": "✖ Batal",
    "pay_button": "Bayar",
    "decline_button": "Tolak",
    "cancel_bill_button": "Batalkan tagihan",
    "older_button": "◀ Lebih lama",
    "newer_button": "Lebih baru ▶",
    "no_description": "-",
    "confirmed": "{summary}\n\n✅ Dikonfirmasi.",
    "register_username": "Pilih username (3–32 karakter: huruf, angka, _).",
    "username_invalid": "Username terdiri dari 3–32 karakter: huruf a–z, angka, dan _. Coba lagi.",
    "register_name": "Siapa nama lengkap Anda?",
    "name_invalid": "Nama terdiri dari 1 sampai 64 karakter. Coba lagi.",
    "register_email": "Alamat email Anda? (atau tekan Lewati)",
    "email_invalid": "Sepertinya itu bukan alamat email. Coba lagi, atau tekan Lewati.",
    "register_contact": "Bagikan nomor telepon Anda dengan tombol di bawah (atau tekan Lewati).",
    "contact_not_yours": "Bagikan nomor telepon Anda sendiri dengan tombol, atau tekan Lewati.",
    "register_password": ("Buat kata sandi (minimal 8 karakter). Pesan Anda akan langsung saya hapus."),
    "password_short": "Kata sandi minimal 8 karakter. Coba yang lain.",
    "register_done": "Selamat datang, {name}! Anda terdaftar sebagai @{username}. Saldo: {balance}",
    "login_username": "Username Anda?",
    "login_password": "Kata sandi Anda? Pesan Anda akan langsung saya hapus.",
    "login_done": "Halo, {name}! Anda masuk sebagai @{username}. Saldo: {balance}",
    "logout_done": "Anda telah keluar dari chat ini.",
    "not_logged_in": "Anda belum masuk.",
    "transfer_recipient": "Kirim uang ke siapa? Ketik username-nya.",
    "recipient_self": "Anda tidak bisa mengirim uang ke diri sendiri. Ketik username lain.",
    "recipient_found": "Penerima: {name} (@{username})",
    "ask_amount": "Berapa? Misalnya 50.000 atau 50rb. Saldo Anda: {balance}",
    "amount_not_a_number": "Itu bukan nominal. Tulis seperti 50000, 50.000, 50rb, atau 1,5jt.",
    "amount_not_positive": "Nominal harus lebih dari Rp0. Coba lagi.",
    "amount_fraction": "Nominal harus rupiah bulat (tanpa sen). Coba lagi.",
    "amount_too_large": "Nominal itu terlalu besar. Coba lagi.",
    "amount_over_balance": "Itu melebihi saldo Anda ({balance}). Ketik nominal yang lebih kecil.",
    "ask_description": "Tambahkan keterangan? Ketik, atau tekan Lewati.",
    "description_invalid": "Keterangan paling banyak 140 karakter. Coba lagi.",
    "transfer_summary": "Kirim {amount} ke {name} (@{username})\nKeterangan: {description}",
    "otp_sent": "Saya telah mengirim kode 6 digit di chat ini. Ketik di sini (berlaku 5 menit).",
    "otp_format": "Kodenya 6 digit. Ketik lagi.",
    "transfer_done": "Terkirim {amount} ke {name} (@{username}). Saldo Anda: {balance}",
    "bill_name": "Tagihan untuk apa? (nama singkat, mis. Makan malam)",
    "bill_name_invalid": "Nama tagihan terdiri dari 1 sampai 64 karakter. Coba lagi.",
    "bill_payer": "Siapa yang harus membayar? Ketik username-nya.",
    "bill_payer_self": "Anda tidak bisa menagih diri sendiri. Ketik username lain.",
    "payer_found": "Pembayar: {name} (@{username})",
    "bill_amount": "Berapa? Misalnya 50.000 atau 50rb.",
    "bill_summary": 'Tagihan "{bill_name}" untuk {name} (@{username})\nNominal: {amount}\nKeterangan: {description}',
    "bill_done": (
        "Tagihan {code} dibuat: {amount} dari {name} (@{username}).\n"
        "Mereka bisa membayar dengan /pay {code} atau tautan ini:\n{link}"
    ),
    "bill_qr_caption": "Pindai untuk membayar tagihan {code} ({amount})",
    "pay_code": "Ketik kode tagihan.",
    "pay_summary": (
        "Tagihan {code}: {bill_name}\nDari: {issuer_name} (@{issuer})\nNominal: {amount}\n"
        "Keterangan: {description}\nSaldo Anda: {balance}"
    ),
    "pay_not_yours": "Tagihan ini ditujukan untuk orang lain.",
    "pay_in_progress": "Tagihan ini sudah terbuka di atas.",
    "pay_not_open": "Tagihan {code} berstatus {status}; tidak bisa dibayar.",
    "pay_insufficient": "Saldo Anda ({balance}) tidak cukup untuk tagihan ini ({amount}).",
    "pay_done": "Terbayar {amount} untuk tagihan {code} kepada {issuer_name}. Saldo Anda: {balance}",
    "bill_declined": "Anda menolak tagihan {code} ({amount}).",
    "bill_cancelled": "Tagihan {code} ({amount}) dibatalkan.",
    "bills_to_pay_header": "Tagihan yang harus Anda bayar:",
    "bills_to_pay_none": "Tidak ada tagihan yang harus Anda bayar.",
    "bills_issued_header": "Tagihan yang Anda buat:",
    "bills_issued_none": "Anda belum membuat tagihan.",
    "bill_to_pay_line": "{code} · {bill_name} · {amount} dari {issuer_name} (@{issuer})",
    "bill_issued_line": "{code} · {bill_name} · {amount} → {payer_name} (@{payer}) · {status}",
    "reminder": (
        'Pengingat: tagihan {code} "{bill_name}" dari {issuer_name} (@{issuer}) '
        "sebesar {amount} belum dibayar."
    ),
    # notifikasi dompet (outbox backend; satu teks per jenis) ------------------
    "notice_otp": "🔐 Kode OTP Mata Duitan: {code}\nUntuk: {what}\nBerlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun.",
    "notice_otp_transfer": "kirim {amount} ke {party}",
    "notice_otp_create_bill": "tagih {party} sebesar {amount}",
    "notice_otp_pay_bill": "bayar tagihan {bill_code} ({amount}) ke {party}",
    "notice_received": "💰 Kamu menerima {amount} dari {sender}.{note}",
    "notice_deposit": "💰 {amount} telah ditambahkan ke dompetmu.",
    "notice_withdrawal": "🏧 {amount} telah ditarik dari dompetmu.",
    "notice_bill_new": "🧾 Tagihan baru dari {issuer}: {bill_name}\nJumlah: {amount}\nKode: {code}{note}",
    "notice_bill_paid": "✅ {payer} membayar tagihan {code} ({bill_name}) sebesar {amount}.",
    "notice_bill_declined": "❌ {payer} menolak tagihan {code} ({bill_name}).",
    "notice_bill_cancelled": "🚫 {issuer} membatalkan tagihan {code} ({bill_name}).",
    "notice_note": "\n“{description}”",
    "status_open": "terbuka",
    "status_paid": "lunas",
    "status_cancelled": "dibatalkan",
    "status_declined": "ditolak",
    "status_paying": "sedang dibayar",
    "history_empty": "Belum ada transaksi.",
    "history_header": "Transaksi Anda (halaman {page}), terbaru dulu:",
    "history_line": "{date} · {label} · {amount}{party}{description}",
    "kind_transfer": "Transfer",
    "kind_bill_payment": "Pembayaran tagihan",
    "kind_deposit": "Setoran",
    "kind_withdrawal": "Penarikan",
    "kind_reversal": "Pembalikan",
    "party_to": " → {party}",
    "party_from": " ← {party}",
    "history_note": " · {note}",
    "history_filtered": "Menampilkan: {filters}",
    "history_none_match": "Tidak ada transaksi yang cocok: {filters}.",
    "history_choose_period": "Tampilkan periode mana?",
    "history_choose_kind": "Tampilkan jenis transaksi apa?",
    "history_choose_person": "Transaksi Anda dengan siapa? (Atau kirim /history @username.)",
    "history_no_people": "Anda belum pernah mengirim atau menerima uang dari siapa pun.",
    "history_bad_filter": "Saya tidak mengerti. Coba /history, /history @username atau /history 2026-10.",
    "filter_period_button": "📅 {label}",
    "filter_kind_button": "🏷 {label}",
    "filter_person_button": "👤 {label}",
    "filter_all_time": "Semua waktu",
    "filter_this_month": "Bulan ini",
    "filter_last_month": "Bulan lalu",
    "filter_all_kinds": "Semua jenis",
    "filter_everyone": "Semua orang",
    "filter_transfers_in": "Transfer masuk",
    "filter_transfers_out": "Transfer keluar",
    "filter_bills_paid": "Tagihan yang saya bayar",
    "filter_bills_received": "Tagihan yang dibayar ke saya",
    "filter_cash": "Isi saldo & tarik tunai",
    "filter_reversals": "Pembatalan",
    "back_button": "↩ Kembali",
    # statements and insights ---------------------------------------------------
    "statement_choose": "E-statement bulan apa? Anda menerimanya sebagai PDF dan CSV untuk spreadsheet.",
    "statement_bad_month": "Kirim bulannya sebagai YYYY-MM, mis. /statement 2026-10, atau pilih di bawah.",
    "statement_preparing": "Menyiapkan e-statement Anda untuk {month}…",
    "statement_caption": "E-statement {month}\nSaldo awal: {opening}\nUang masuk: {money_in}\nUang keluar: {money_out}\nSaldo akhir: {closing}\nTransaksi: {count}",
    "statement_csv_caption": "{month}: transaksi yang sama sebagai CSV (bisa dibuka di spreadsheet apa pun).",
    "statement_sent": "E-statement Anda untuk {month} ada di bawah.",
    "insights_caption": "{month}: masuk {money_in}, keluar {money_out}.{top}",
    "insights_top": " Paling banyak ke {party} ({amount}).",
    "insights_top_kind": " Paling banyak: {party} ({amount}).",
    "insights_by_kind_button": "🏷 Per jenis",
    "insights_by_person_button": "👤 Per orang",
    "insights_nothing_out": " Belum ada uang keluar.",
    "lang_choose": "Pilih bahasa Anda:",
    "lang_set": "Bahasa: Indonesia.",
    "error_validation_error": "Ada isian yang tidak valid. Periksa lalu coba lagi.",
    "error_invalid_request": "Ada data yang kurang dari permintaan itu. Silakan mulai lagi.",
    "error_invalid_amount": "Nominal itu tidak diterima.",
    "error_invalid_due_date": "Tanggal jatuh tempo itu tidak diterima: harus hari ini atau sesudahnya, paling lambat setahun lagi.",
    "error_self_transfer": "Anda tidak bisa mengirim uang ke diri sendiri.",
    "error_limit_exceeded": "Itu melebihi batas Anda. Coba nominal yang lebih kecil.",
    "error_receive_cap_unverified": "Dompet {payee} belum dapat menerima sebanyak itu; pemiliknya dapat memverifikasi akunnya agar bisa menampung lebih banyak. Tidak ada dana yang terpotong.",
    "error_receive_cap_reached": "Dompet {payee} tidak dapat menampung sebanyak itu lagi. Tidak ada dana yang terpotong.",
    "error_receive_monthly_cap": "Dompet {payee} tidak dapat menerima sebanyak itu lagi bulan ini. Tidak ada dana yang terpotong.",
    "error_already_verified": "Akun itu sudah terverifikasi.",
    "error_invalid_identity": "Data identitas itu tidak cocok (NIK atau tanggal lahir).",
    "error_invalid_credentials": "Username atau kata sandi salah.",
    "error_token_invalid": "Sesi Anda telah berakhir. Silakan /login lagi.",
    "error_signin_locked": "Terlalu banyak gagal masuk. Tunggu sebentar lalu coba lagi.",
    "error_otp_rate_limited": "Terlalu banyak permintaan kode. Tunggu beberapa menit lalu coba lagi.",
    "error_username_taken": "Username itu sudah dipakai. Pilih yang lain.",
    "error_user_not_found": "Tidak ada pengguna dengan username itu. Coba lagi.",
    "error_bill_not_found": "Tidak ada tagihan dengan kode itu. Coba lagi.",
    "error_not_found": "Itu tidak ditemukan. Periksa lalu coba lagi.",
    "error_forbidden": "Anda tidak diizinkan melakukan itu. Kirim /help untuk melihat apa yang bisa Anda lakukan.",
    "error_account_frozen": "Akun Anda dibekukan: uang tidak bisa dipindahkan.",
    "error_insufficient_funds": "Saldo Anda tidak cukup.",
    "error_bill_not_payable": "Tagihan ini sudah tidak bisa dibayar (sudah lunas, dibatalkan, atau ditolak). Kirim /bills untuk melihat tagihan yang masih terbuka.",
    "error_idempotency_conflict": "Konfirmasi ini sudah dipakai untuk permintaan lain, jadi tidak ada yang dikirim lagi. Periksa /history, lalu mulai lagi.",
    "error_telegram_not_linked": "Akun Anda tidak terhubung ke chat ini. Silakan /login lagi.",
    "error_otp_invalid": "Kode salah. Ketik lagi.",
    "error_otp_expired": "Kode sudah kedaluwarsa. Tidak ada dana yang terpotong; silakan mulai lagi.",
    "error_otp_locked": "Terlalu banyak kode salah. Tidak ada dana yang terpotong; silakan mulai lagi.",
    "error_otp_missing": "Tidak ada kode yang menunggu. Tidak ada dana yang terpotong; silakan mulai lagi.",
    "error_unavailable": "Layanan sedang tidak tersedia. Coba lagi nanti — tidak ada dana yang terpotong.",
    "error_bad_request": "Sebagian permintaan itu tidak terbaca, jadi tidak ada yang dilakukan. Silakan mulai lagi.",
    "error_method_not_allowed": "Tindakan itu tidak tersedia. Silakan mulai lagi, atau kirim /help.",
    "error_conflict": "Itu tidak bisa dilakukan sekarang, dan tidak ada dana yang terpotong. Periksa /history, lalu coba lagi.",
    "error_already_reversed": "Transaksi ini sudah pernah dibalik; tidak ada yang diubah lagi.",
    "error_interrupted": "Permintaan terputus sebelum ada uang yang berpindah. Tidak ada dana yang terpotong — silakan kirim lagi.",
    "error_busy": "Akun Anda sedang memproses pembayaran lain. Tidak ada dana yang terpotong — coba lagi sebentar lagi.",
    "error_idempotency_in_flight": "Masih diproses — periksa /history sebentar lagi sebelum mencoba lagi.",
    "error_too_large": "Itu terlalu panjang untuk saya teruskan. Persingkat lalu coba lagi.",
    "error_not_reversible": "Hanya transaksi yang sudah selesai yang bisa dibalik. Tunggu sampai selesai, lalu coba lagi.",
    "error_idempotency_key_required": "Permintaan itu tidak membawa kunci pengaman, jadi tidak ada dana yang terpotong. Silakan mulai lagi.",
    "error_idempotency_key_invalid": "Kunci pengaman permintaan itu rusak, jadi tidak ada dana yang terpotong. Silakan mulai lagi.",
    "error_too_many_requests": "Terlalu banyak percobaan. Tunggu beberapa menit lalu coba lagi.",
    "error_internal_server_error": "Ada yang gagal di sisi kami. Periksa /history sebelum mencoba lagi: pembayaran tidak pernah terjadi dua kali.",
    # grup: patungan, iuran, tip, permintaan bayar ------------------------------------------
    "group_link_first": "{name}, akun Telegram-mu belum terhubung ke dompet Mata Duitan. Buka {link} untuk /register atau /login, lalu coba lagi.",
    "group_split_usage": "Untuk patungan: /split 300rb Makan malam (jumlahnya, lalu untuk apa). Anggota menekan Gabung; lalu kamu menekan Tagih semua.",
    "group_dues_usage": "Untuk iuran bulanan: /dues 50rb Kas kelas (jumlah per anggota, lalu untuk apa). Anggota menekan Gabung; lalu kamu menekan Tagih semua, dan setiap bulan mereka ditagih lagi sampai kamu menghentikannya.",
    "group_tip_usage": "Untuk memberi tip, balas salah satu pesan orangnya dengan /tip 10rb.",
    "group_amount_invalid": "{name}, jumlah itu tidak bisa saya baca. Tulis seperti 300rb, 50.000 atau 1,5jt.",
    "group_title_invalid": "{name}, tulis untuk apa dalam satu baris, paling banyak 80 karakter, mis. /split 300rb Makan malam.",
    "group_failed": "{name}, itu tidak berhasil: {reason}",
    "tip_no_wallet": "{name} belum punya dompet Mata Duitan, jadi tidak ada uang yang dikirim. Ia bisa membuka {link} untuk membuatnya.",
    "tip_to_self": "{name}, kamu tidak bisa memberi tip ke dirimu sendiri.",
    "tip_to_bot": "{name}, tip untuk orang, bukan untuk bot.",
    "tip_confirm_in_private": "{tipper}, konfirmasi tip untuk {tippee} di chat pribadi kita.",
    "btn_open_private": "🔐 Konfirmasi di chat pribadi",
    "tally_split": "🧾 Patungan: {title}\n{organiser} membagi {amount}.",
    "tally_dues": "🗓 Iuran: {title}\n{amount} per anggota setiap bulan, dikumpulkan oleh {organiser}.",
    "tally_dues_period": "🗓 Iuran: {title} · {period}\n{amount} per anggota, dikumpulkan oleh {organiser}.",
    "tally_request": "💸 {organiser} meminta {amount} · {title}",
    "tally_gathering": "Anggota sejauh ini: {names}. Tekan Gabung untuk ikut; lalu {organiser} menekan Tagih semua.",
    "tally_nobody_yet": "belum ada",
    "tally_progress": "{paid}/{count} sudah bayar · {paid_amount} dari {total}",
    "tally_request_paid": "Sudah dibayar oleh {count}: {names}",
    "tally_request_nobody": "Tekan Bayar untuk membayar {organiser} di chat pribadi kita.",
    "tally_own": "✅ {name} {amount} (bagian sendiri)",
    "tally_paid": "✅ {name} {amount}",
    "tally_open": "⏳ {name} {amount}",
    "tally_pending": "⏳ {name} {amount}",
    "tally_declined": "✖️ {name} menolak",
    "tally_cancelled": "🚫 {name} dibatalkan",
    "tally_billing": "Tagihan sedang dikirim…",
    "tally_settled": "🎉 Lunas: semua sudah bayar.",
    "tally_closed": "Selesai: tidak ada lagi yang harus dibayar.",
    "tally_was_cancelled": "🚫 Dibatalkan oleh {organiser}; bagian yang sudah dibayar tetap dibayar.",
    "tally_request_closed": "🚫 Ditutup oleh {organiser}.",
    "btn_join": "🙋 Gabung",
    "btn_bill_everyone": "🧾 Tagih semua",
    "btn_split_cancel": "Batalkan patungan",
    "btn_dues_stop": "Hentikan iuran",
    "btn_pay_share": "💳 Bayar bagianku",
    "btn_pay_request": "💳 Bayar",
    "btn_request_close": "Tutup",
    "split_joined": "Kamu ikut! Tagihanmu akan datang di chat pribadi kita.",
    "split_cancelled_toast": "Dibatalkan.",
    "split_refused_toast": "Tidak bisa: {reason}",
    "notice_tip": "🎉 {tipper} memberi tip {amount} kepada {tippee}!",
    "split_summary": "Tagih semua untuk “{title}” (total {amount}):\n{lines}\n\n{count} tagihan, {billed} seluruhnya. Bagianmu sendiri tidak ditagih.",
    "dues_summary": "Iuran “{title}”: {amount} untuk masing-masing {count} anggota ini sekarang, dan lagi setiap bulan sampai kamu menghentikannya:\n{lines}",
    "split_share_line": "• {name} (@{username}): {amount}",
    "split_own_line": "• {name} (kamu): {amount}",
    "btn_custom_shares": "✏️ Atur bagian",
    "split_custom_ask": "Tulis bagian khusus, mis. @sari 120rb, @andi 50rb (satu per baris atau dipisah koma). Anggota yang tidak disebut membagi sisanya sama rata.",
    "split_custom_invalid": "Itu tidak bisa saya baca. Tulis @username dan jumlahnya, mis. @sari 120rb.",
    "split_billed": "Selesai: {count} tagihan dikirim, {billed} seluruhnya. Pesan di grup menunjukkan siapa yang sudah bayar.",
    "split_not_open": "Patungan ini tidak bisa ditagih lagi (statusnya {status}).",
    "split_not_yours": "Hanya {organiser} yang bisa menagih semua di patungan ini.",
    "split_no_bill": "Kamu tidak punya tagihan di patungan ini. Tekan Gabung di grup selagi masih terbuka.",
    "split_share_not_open": "Bagianmu untuk “{title}” {status}: tidak ada yang perlu dibayar.",
    "tip_summary": "Tip untuk {tippee_name} (@{tippee}) {amount}.\nGrup akan melihat bahwa kamu memberi tip. Saldomu: {balance}.",
    "tip_gone": "Tip ini sudah kedaluwarsa atau sudah dikirim. Balas lagi dengan /tip di grup.",
    "tip_done": "🎉 Kamu memberi tip {amount} kepada {name}. Saldomu: {balance}.",
    "notice_otp_bill_split": "tagih {count} anggota {amount} seluruhnya untuk “{party}”",
    "inline_request_title": "Minta {amount}",
    "inline_request_description": "Kirim tombol Bayar: siapa pun yang menekannya membayarmu {amount} · {title}",
    "inline_help_title": "Tulis jumlah dan untuk apa",
    "inline_help_description": "Contoh: 50rb makan siang",
    "inline_help_text": "Untuk meminta uang di sini, ketik @{bot} 50rb makan siang lalu pilih “Minta”.",
    "inline_link_first": "Hubungkan dompet Mata Duitan dulu",
    "split_status_gathering": "masih mengumpulkan anggota",
    "split_status_billing": "sedang ditagih",
    "split_status_open": "sudah ditagih",
    "split_status_settled": "lunas",
    "split_status_closed": "selesai",
    "split_status_cancelled": "dibatalkan",
    "error_delivery_unavailable": "Kode sekali pakai tidak bisa dikirim saat ini, jadi tidak ada dana yang terpotong. Coba lagi beberapa menit lagi.",
    "error_wallet_not_linked": "Akun Telegram itu belum terhubung ke dompet Mata Duitan.",
    "error_split_not_found": "Patungan itu tidak ditemukan. Mungkin sudah dibatalkan, atau bukan milikmu.",
    "error_not_organiser": "Hanya orang yang memulai patungan ini yang bisa melakukannya.",
    "error_split_closed": "Patungan ini sudah tidak bisa untuk itu (sudah ditagih, ditutup, atau dibatalkan).",
    "error_split_changed": "Ada yang bergabung saat kamu mengonfirmasi, jadi bagiannya berubah. Belum ada yang ditagih — silakan lihat bagiannya lagi.",
    "error_split_full": "Patungan ini sudah penuh: paling banyak 50 anggota.",
    "error_nothing_to_bill": "Belum ada yang bergabung, jadi belum ada yang bisa ditagih.",
    "error_already_paid": "Kamu sudah membayar ini.",
    "error_invalid_shares": "Bagian itu tidak bisa dipakai: setiap bagian harus untuk anggota, dan jumlahnya tidak boleh melebihi total.",
}

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "id": [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ],
}


TEXTS: dict[str, dict[str, str]] = {"en": EN, "id": ID}


def normalize_lang(code: str | None) -> str:
    """Telegram's language_code (e.g. "id", "en-US") → "id" or "en"."""
    if code and code.lower().split("-")[0] == "id":
        return "id"
    if code in LANGS:
        return code
    return DEFAULT_LANG


def t(lang: str, key: str, **kwargs: Any) -> str:
    """The text `key` in `lang` (English if the language is unknown), formatted."""
    template = TEXTS.get(lang, EN)[key]
    return template.format(**kwargs) if kwargs else template


def month_name(lang: str, month: str) -> str:
    """ "2026-10" → "October 2026" / "Oktober 2026"."""
    year, number = month.split("-")
    return f"{MONTHS.get(lang, MONTHS['en'])[int(number) - 1]} {year}"


def error_text(lang: str, code: str, payee: str | None = None) -> str:
    """The localized message for a backend error `code` (generic when unknown); `payee` names
    the account a receive_* refusal is about."""
    key = f"error_{code}"
    if key not in EN:
        return t(lang, "generic_error")
    return t(lang, key, payee=f"@{payee}" if payee else t(lang, "the_payee"))
