"""One ReminderSender run in its own process, for the restart and two-process tests.

python -m tests.reminders.worker_script DB OUT NOW_ISO WORKER [--kill-after N] [--start]

DB is a SQLite file or a postgresql:// URL (then BEIAN_DATA_KEY holds the data key).

Every delivered message is appended to OUT as its reminder id (and whether it was late).
`--kill-after N` ends the process abruptly (os._exit, no clean-up) when the (N+1)th send
begins, before it is delivered: a crash with rows claimed and one marked `sending`.
`--start` runs the real `start()` (APScheduler) and `stop()` instead of one drain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import datetime

from bot.messages import Outgoing
from bot.reminders import ReminderSender
from bot.storage.base import Storage
from bot.storage.crypto import DataCipher
from bot.storage.sqlite import SqliteStorage


def open_db(db: str) -> Storage:
    """A SQLite path, or a postgresql:// URL opened with BEIAN_DATA_KEY."""
    if db.startswith("postgresql://"):
        from bot.storage.postgres import PostgresStorage

        return PostgresStorage(db, cipher=DataCipher([os.environ["BEIAN_DATA_KEY"].encode()]))
    return SqliteStorage(db)


class FileOutbox:
    """Appends `id late` lines to a file, flushed to disk before `send` returns."""

    def __init__(self, path: str, kill_after: int | None) -> None:
        self.path = path
        self.kill_after = kill_after
        self.sent = 0

    async def send(self, message: Outgoing) -> None:
        if self.kill_after is not None and self.sent >= self.kill_after:
            os._exit(9)
        reminder = message.choices[-1].value.split()[-1]
        late = int(message.text.startswith("（补发"))
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{reminder} {late}\n")
            out.flush()
            os.fsync(out.fileno())
        self.sent += 1


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("out")
    parser.add_argument("now")
    parser.add_argument("worker")
    parser.add_argument("--kill-after", type=int)
    parser.add_argument("--start", action="store_true")
    args = parser.parse_args()
    now = datetime.fromisoformat(args.now)
    outbox = FileOutbox(args.out, args.kill_after)
    service = ReminderSender(
        open_db(args.db).reminders,
        {"test": outbox},
        clock=lambda: now,
        worker_id=args.worker,
        batch=7,
        concurrency=1,
    )
    if args.start:
        await service.start()
        await service.wait_idle()
        await service.stop()
    else:
        await service.run_until_idle()


if __name__ == "__main__":
    asyncio.run(main())
