"""build_application(settings): the one place the bot's handlers are registered, in order."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    InlineQueryHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import bills, commands, groups, history, reminders, statements
from bot.client import BackendClient
from bot.common import cancel, interrupt, lang_of, timed_out
from bot.concurrency import PerChatUpdateProcessor
from bot.config import BotSettings
from bot.conversations import bill, login, pay, register, split, tip, transfer
from bot.courier import Courier
from bot.keyboards import (
    BILL_CANCEL_PATTERN,
    BILL_DECLINE_PATTERN,
    BILL_PAY_PATTERN,
    HISTORY_FILTER_PATTERN,
    HISTORY_PATTERN,
    INSIGHTS_PATTERN,
    LANG_PATTERN,
    STATEMENT_PATTERN,
)
from bot.ratelimit import PriorityGate, TelegramRateLimiter
from bot.tally import SPLIT_CANCEL, SPLIT_JOIN
from bot.texts import t

logger = logging.getLogger(__name__)

FLOWS = (register, login, transfer, bill, pay, split, tip)
FLOW_TIMEOUT = 15 * 60  # seconds: an abandoned flow ends by itself


def build_flows() -> ConversationHandler:
    """ONE ConversationHandler for every flow, so a chat is in at most one flow at a time."""
    states: dict[object, list[BaseHandler]] = {}
    for module in FLOWS:
        states.update(module.STATES)
    states[ConversationHandler.TIMEOUT] = [TypeHandler(Update, timed_out)]
    with warnings.catch_warnings():
        # per_message=False is right here: a flow belongs to a chat, not to one message.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[handler for module in FLOWS for handler in module.ENTRY_POINTS],
            states=states,
            fallbacks=[
                CommandHandler("cancel", cancel),
                MessageHandler(filters.COMMAND, interrupt),  # any other command ends the flow
                CallbackQueryHandler(interrupt, pattern=BILL_PAY_PATTERN),
            ],
            conversation_timeout=FLOW_TIMEOUT,
            name="flows",
        )


SPLIT_BUTTON_PATTERN = re.compile(rf"^(?:{re.escape(SPLIT_JOIN)}|{re.escape(SPLIT_CANCEL)})[0-9A-Z]{{10}}$")


def _last(
    callback: Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]],
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """A handler after which no other handler sees the update (not the group guard, either)."""

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    handle.__name__ = getattr(callback, "__name__", "handler")
    return handle


def register_handlers(application: Application) -> None:
    """All handlers, in order: the first that matches an update handles it."""
    # first: what the wallet does in groups and inline mode (groups.py), each the end of its update
    in_groups = filters.ChatType.GROUPS
    application.add_handlers(
        [
            CommandHandler(("split", "dues"), _last(groups.split_command), filters=in_groups),
            CommandHandler("tip", _last(groups.tip_command), filters=in_groups),
            CallbackQueryHandler(_last(groups.split_button), pattern=SPLIT_BUTTON_PATTERN),
            InlineQueryHandler(_last(groups.inline_query)),
            ChosenInlineResultHandler(_last(groups.inline_chosen)),
        ],
        group=-2,
    )
    # then: in a group chat anything else only points people to their private chat
    application.add_handler(TypeHandler(Update, commands.in_a_group), group=-1)
    application.add_handlers(
        [
            build_flows(),  # first: a flow in progress sees its chat's messages before anything
            CommandHandler("start", commands.start),
            CommandHandler("me", commands.me),
            CommandHandler("limits", commands.limits),
            CommandHandler("help", commands.help_command),
            CommandHandler("logout", commands.logout),
            CommandHandler("lang", commands.lang_command),
            CommandHandler("bills", bills.list_bills),
            CommandHandler("history", history.show_history),
            CommandHandler("statement", statements.statement_command),
            CommandHandler("insights", statements.insights_command),
            CommandHandler("cancel", commands.nothing_to_cancel),
            CommandHandler(groups.GROUP_COMMANDS, commands.group_only),  # in a private chat
            CallbackQueryHandler(commands.lang_chosen, pattern=LANG_PATTERN),
            CallbackQueryHandler(history.turn_page, pattern=HISTORY_PATTERN),
            CallbackQueryHandler(history.choose_filter, pattern=HISTORY_FILTER_PATTERN),
            CallbackQueryHandler(statements.statement_chosen, pattern=STATEMENT_PATTERN),
            CallbackQueryHandler(statements.insights_switched, pattern=INSIGHTS_PATTERN),
            CallbackQueryHandler(bills.decline, pattern=BILL_DECLINE_PATTERN),
            CallbackQueryHandler(bills.cancel, pattern=BILL_CANCEL_PATTERN),
            MessageHandler(filters.UpdateType.MESSAGE, commands.unknown),  # last: nothing else did
            CallbackQueryHandler(commands.stale_button),
        ]
    )
    application.add_error_handler(on_error)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unexpected error with its traceback; the user only gets a plain sentence."""
    if isinstance(context.error, Forbidden):
        logger.info("a user blocked the bot: %s", context.error)
        return
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await context.bot.send_message(update.effective_chat.id, t(lang_of(update, context), "generic_error"))
    except TelegramError as exc:
        logger.warning("could not tell chat %s about an error: %s", update.effective_chat.id, exc)


async def on_startup(application: Application) -> None:
    """post_init: backend client, command menu, reminder job, the courier of notices."""
    settings: BotSettings = application.bot_data["settings"]
    client = BackendClient(settings.backend_url, settings.bot_api_secret, timeout=settings.backend_timeout)
    client.on_renew = application.update_persistence  # a rotated refresh token is written at once
    application.bot_data["backend"] = client
    try:
        await commands.set_menu(application)
    except TelegramError as exc:
        logger.warning("could not set the command menu: %s", exc)
    reminders.schedule(application)
    groups.schedule_dues(application)
    courier = Courier(application.bot, client)
    courier.start()
    application.bot_data["courier"] = courier


async def on_stop(application: Application) -> None:
    """post_stop: stop the courier while the bot can still talk to Telegram and the backend."""
    courier = application.bot_data.pop("courier", None)
    if courier is not None:
        await courier.stop()


async def on_shutdown(application: Application) -> None:
    """post_shutdown: stop the courier (if post_stop did not) and close the backend client."""
    await on_stop(application)
    client = application.bot_data.pop("backend", None)
    if client is not None:
        await client.aclose()


def build_application(settings: BotSettings) -> Application:
    """A fully wired Application (not started): handlers, persistence, per-chat concurrency."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    persistence = PicklePersistence(
        filepath=settings.persistence_path,
        store_data=PersistenceInput(bot_data=False, user_data=False, callback_data=False),
        update_interval=30,
    )
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(PerChatUpdateProcessor())
        .rate_limiter(TelegramRateLimiter(PriorityGate(scale=settings.telegram_rate_scale)))
        .persistence(persistence)
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings
    register_handlers(application)
    return application
