"""Update ids are claimed once per day per channel."""

from __future__ import annotations

from bot.storage.db import open_database
from bot.storage.updates import REMEMBER_SECONDS, SeenUpdates


def test_claim_once_then_again_after_a_day() -> None:
    now = [1_000_000.0]
    seen = SeenUpdates(open_database(":memory:"), clock=lambda: now[0])
    assert seen.claim("telegram", 1) is True
    assert seen.claim("telegram", 1) is False
    assert seen.claim("wecom", 1) is True  # ids are per channel
    now[0] += REMEMBER_SECONDS + 1
    assert seen.claim("telegram", 1) is True


def test_prune_forgets_old_ids() -> None:
    now = [0.0]
    db = open_database(":memory:")
    seen = SeenUpdates(db, clock=lambda: now[0])
    for update_id in range(10):
        seen.claim("telegram", update_id)
    now[0] = REMEMBER_SECONDS + 5
    seen.claim("telegram", 99)
    assert seen.prune() == 10
    assert db.execute("SELECT count(*) FROM seen_updates").fetchone()[0] == 1
