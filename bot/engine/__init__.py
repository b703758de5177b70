"""Routes one Incoming to replies: command > group etiquette > pending choice > form > FAQ."""

from bot.engine.core import Engine

__all__ = ["Engine"]
