"""Tests of bot.dialogue."""
