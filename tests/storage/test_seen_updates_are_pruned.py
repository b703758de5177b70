"""Handled update ids are forgotten a day later, by a prune every 500 claims (the table of
ids never grows with the traffic of more than a day)."""

from __future__ import annotations

from bot.storage.base import REMEMBER_SECONDS
from bot.storage.sqlite import SqliteStorage


def test_ids_older_than_a_day_are_pruned_at_every_500th_claim() -> None:
    now = [1_000_000.0]
    storage = SqliteStorage(":memory:", clock=lambda: now[0])
    seen = storage.seen_updates

    def remembered() -> set[str]:
        rows = storage.db.execute("SELECT update_id FROM seen_updates").fetchall()
        return {str(row[0]) for row in rows}

    try:
        assert seen.claim("test", "old")  # claim 1
        now[0] += REMEMBER_SECONDS + 60
        for number in range(2, 500):
            assert seen.claim("test", f"u{number}")
        assert "old" in remembered() and len(remembered()) == 499  # no prune before the 500th
        assert seen.claim("test", "u500")
        assert "old" not in remembered() and len(remembered()) == 499
        assert not seen.claim("test", "u2")  # the day-young ones are still duplicates
    finally:
        storage.close()
