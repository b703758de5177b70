"""Send limits shared by the workers: the generic cell rate algorithm on one row per limit.

Each row keeps a limit's "theoretical arrival time" (`tat`): when the next send would be due
if sends came at exactly the limit's rate. Booking a send moves it on by one interval and
says how long this send must wait, so a limit holds for all workers together, and workers
queue behind each other in booking order rather than retrying. One statement per limit,
each its own short transaction, so the hot row (the bot's global limit) is locked only for
the update itself. Time is the database server's, so workers' clocks need not agree.
"""

from __future__ import annotations

from bot.storage.base import Pace, SendBudget
from bot.storage.postgres.connection import Database

_NOW = "extract(epoch FROM clock_timestamp())"
_BOOK = (
    f"INSERT INTO send_budget AS b (key, tat) VALUES (%s, {_NOW} + %s)"
    f" ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, {_NOW}) + %s"
    f" RETURNING b.tat - %s - {_NOW}"
)
_HOLD = (
    f"INSERT INTO send_budget AS b (key, tat) VALUES (%s, {_NOW} + %s)"
    f" ON CONFLICT (key) DO UPDATE SET tat = GREATEST(b.tat, {_NOW} + %s)"
)


def _slack(pace: Pace) -> float:
    """How far ahead of its rate a limit may run: the burst beyond the first send."""
    return (pace.burst - 1) / pace.rate


class PostgresSendBudget(SendBudget):
    """The `send_budget` table on the pool."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def reserve(self, paces: list[Pace]) -> float:
        """Book one send under every pace; the longest wait any of them asks for."""
        wait = 0.0
        for pace in paces:
            interval = 1 / pace.rate
            row = self.db.execute(
                _BOOK, (pace.key, interval, interval, interval + _slack(pace))
            ).one()
            if row is not None:
                wait = max(wait, float(row[0]))
        return wait

    def hold(self, pace: Pace, seconds: float) -> None:
        """Nobody books a send under `pace` for `seconds` from now."""
        ahead = seconds + _slack(pace)
        self.db.execute(_HOLD, (pace.key, ahead, ahead))
