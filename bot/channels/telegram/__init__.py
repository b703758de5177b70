"""Telegram: one adapter over python-telegram-bot or aiogram, chosen at start-up."""
