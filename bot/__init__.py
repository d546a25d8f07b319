"""Mata Duitan Telegram bot (python-telegram-bot 22)."""
