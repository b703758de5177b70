"""Reminder benchmarks: start-up with a million pending rows, and 10,000 due in one minute.

Run from the repository root (prints figures; not a pass/fail test)::

    .venv/bin/python benchmarks/bench_reminders.py            # both parts
    .venv/bin/python benchmarks/bench_reminders.py --rows 10000 1000000 --burst 10000

Part 1 builds SQLite files with N pending reminders (executemany, in a temp dir) and starts
`ReminderSender` on each in a fresh process: imports, opening the database (migrations), `start()`
(release leases, claim and send what is due: 100 overdue rows) and `stop()`. It prints the
start-up time and the process's peak RSS, to show both do not grow with N.

Part 2 puts 10,000 reminders due within the same minute (9,000 private chats, 1,000 in 20
groups) through the real service and `RateLimitedOutbox` to a fake sender on a fake clock:
all delivered, none twice, each chat in due order, and the achieved rate against the limits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reminders.virtual_time import VirtualTime  # noqa: E402

# bot.* is imported inside the functions, so the start-up child times every import it needs.

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)
PAYLOAD = json.dumps({"what": "domain", "change_day": "2026-11-24", "deadline_day": "2026-12-24"})
INSERT = (
    "INSERT INTO reminders (channel, chat_id, chat_kind, user_id, user_name, series, kind, step,"
    " payload, due_at, urgent, status, attempts, late, created_at)"
    " VALUES (?, ?, ?, ?, '', ?, 'change_happened', 'd7', ?, ?, 0, 'pending', 0, 0, ?)"
)


# ---- part 1: start-up ------------------------------------------------------------------------


def build(path: Path, pending: int, overdue: int = 100) -> float:
    """A database with `pending` future rows (over a year) and `overdue` rows due now."""
    from bot.storage.sqlite import SqliteStorage

    started = time.perf_counter()
    storage = SqliteStorage(path)
    conn = storage.db.conn
    now = int(NOW.timestamp())

    def rows(count: int, first: int, spread: int) -> object:
        for i in range(count):
            chat = f"c{first + i}"
            due = now - 60 if spread == 0 else now + 60 + (i * spread) // max(count, 1)
            yield ("bench", chat, "private", chat, "change:domain", PAYLOAD, due, now)

    conn.execute("BEGIN")
    conn.executemany(INSERT, rows(pending, 0, 365 * 86400))
    conn.executemany(INSERT, rows(overdue, pending, 0))
    conn.execute("COMMIT")
    storage.close()
    return time.perf_counter() - started


def reset_overdue(path: Path) -> None:
    """Make the overdue rows pending again (a previous run sent them)."""
    import sqlite3

    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE reminders SET status = 'pending', sent_at = NULL, claimed_by = NULL"
            " WHERE due_at < ?",
            (int(NOW.timestamp()),),
        )
    conn.close()


def startup_child(path: str) -> None:
    """In a fresh process: time imports + open + start() + first drain + stop(); peak RSS."""
    started = time.perf_counter()
    from bot.reminders import ReminderSender
    from bot.storage.sqlite import SqliteStorage

    class NullOutbox:
        sent = 0

        async def send(self, message: Any) -> None:
            NullOutbox.sent += 1

    async def run() -> float:
        service = ReminderSender(
            SqliteStorage(path).reminders, {"bench": NullOutbox()}, clock=lambda: NOW
        )
        await service.start()
        await service.wait_idle()
        ready = time.perf_counter() - started
        await service.stop()
        return ready

    ready = asyncio.run(run())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": ready, "peak_rss_mb": peak_kb / 1024, "sent": NullOutbox.sent}))


def part_startup(sizes: list[int]) -> None:
    print("== 1. start-up with N pending reminders (fresh process each)")
    print("start-up s: imports + open (migrations check) + start() + sending 100 overdue rows")
    print("process s: the same seen from outside, interpreter start and exit included")
    header = f"{'pending':>10} {'build s':>8} {'db MB':>7} {'start-up s':>10} {'process s':>10}"
    print(f"{header} {'peak RSS MB':>11} sent")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"r{size}.db"
            built = build(path, size)
            megabytes = sum(p.stat().st_size for p in Path(folder).glob(f"r{size}.db*")) / 2**20
            runs = []
            for _ in range(3):
                reset_overdue(path)  # each run finds the same 100 overdue rows to send
                began = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, __file__, "--startup-child", str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                )
                run = json.loads(out.stdout.strip().splitlines()[-1])
                run["process"] = time.perf_counter() - began
                runs.append(run)
            best = min(runs, key=lambda r: r["seconds"])
            print(
                f"{size:>10,} {built:>8.1f} {megabytes:>7.0f} {best['seconds']:>10.3f}"
                f" {best['process']:>10.3f} {max(r['peak_rss_mb'] for r in runs):>11.1f}"
                f" {best['sent']}"
            )


# ---- part 2: a burst through the rate limiter ------------------------------------------------


def part_burst(count: int) -> None:
    from bot.channels.delivery import RateLimitedOutbox
    from bot.channels.telegram.outbox import TELEGRAM_LIMITS
    from bot.reminders import ReminderSender
    from bot.storage.sqlite import SqliteStorage

    print(
        f"\n== 2. {count:,} reminders due in the same minute -> RateLimitedOutbox -> fake sender"
    )
    vt = VirtualTime()
    sends: list[tuple[float, str, int]] = []

    class FakeSender:
        async def send(self, message: Any) -> None:
            sends.append((vt.t, message.chat.chat_id, int(message.choices[-1].value.split()[-1])))

    with tempfile.TemporaryDirectory() as folder:
        storage = SqliteStorage(Path(folder) / "burst.db")
        db = storage.db
        start = int(NOW.timestamp())
        groups = 20
        rows, due_of = [], {}
        for i in range(count):
            due = start + (i * 60) // count  # spread over one minute, in id order
            # Every tenth reminder is in one of 20 groups (50 each at 10,000), the rest private.
            chat, kind = (
                (f"g{(i // 10) % groups}", "group") if i % 10 == 0 else (f"p{i}", "private")
            )
            rows.append(("bench", chat, kind, f"u{i}", f"s{i}", PAYLOAD, due, start))
        db.conn.execute("BEGIN")
        db.conn.executemany(INSERT, rows)
        db.conn.execute("COMMIT")
        for row_id, due in db.conn.execute("SELECT id, due_at FROM reminders"):
            due_of[row_id] = due

        outbox = RateLimitedOutbox(FakeSender(), TELEGRAM_LIMITS, clock=vt.clock, sleep=vt.sleep)
        service = ReminderSender(
            storage.reminders,
            {"bench": outbox},
            clock=lambda: NOW + timedelta(seconds=vt.t),
            worker_id="bench",
            lease_seconds=10**6,
        )

        async def drive() -> None:
            while len(sends) < count:
                if await service.run_until_idle() == 0:
                    await vt.sleep(service.tick_seconds)  # what APScheduler's tick would do

        async def main() -> None:
            await vt.run(asyncio.ensure_future(drive()))

        wall = time.perf_counter()
        asyncio.run(main())
        wall = time.perf_counter() - wall
        storage.close()

    ids = [reminder for _, _, reminder in sends]
    by_chat: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, chat, reminder in sends:
        by_chat[chat].append((t, due_of[reminder]))
    chat_order = all(
        [d for _, d in items] == sorted(d for _, d in items) for items in by_chat.values()
    )
    private = [due_of[r] for _, chat, r in sends if chat.startswith("p")]
    times = [t for t, _, _ in sends]
    group_times = [t for chat, items in by_chat.items() if chat.startswith("g") for t, _ in items]
    span = max(times) - min(times)
    print(f"delivered            {len(ids):,} of {count:,}; twice: {len(ids) - len(set(ids))}")
    print(
        f"order                each chat in due order: {chat_order};"
        f" private chats in global due order: {private == sorted(private)}"
    )
    print(
        f"virtual time         {span:.1f} s for all; achieved {len(ids) / max(span, 1e-9):.1f}"
        f" msg/s overall (limit 30)"
    )
    print(
        f"max in any 1 s       {max_in_window(times, 1.0)} overall (limit 30);"
        f" per chat {max(max_in_window([t for t, _ in v], 1.0) for v in by_chat.values())}"
        " (limit: bursts of 3, then 1/s)"
    )
    per_group = max(
        max_in_window([t for t, _ in v], 60.0) for k, v in by_chat.items() if k.startswith("g")
    )
    print(
        f"max in any 60 s      {per_group} per group (limit 20);"
        f" group messages {len(group_times):,} in {groups} groups"
    )
    print(f"wall-clock           {wall:.1f} s to simulate")


def max_in_window(times: list[float], window: float) -> int:
    ordered, best, first = sorted(times), 0, 0
    for last, t in enumerate(ordered):
        while ordered[first] <= t - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--startup-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_child:
        startup_child(args.startup_child)
        return
    print(
        f"python {sys.version.split()[0]}, sqlite {__import__('sqlite3').sqlite_version},"
        f" {os.cpu_count()} CPUs"
    )
    part_startup(args.rows)
    part_burst(args.burst)


if __name__ == "__main__":
    main()
