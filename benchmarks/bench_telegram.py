"""Telegram round trips through the Bot API emulator, for python-telegram-bot and aiogram.

Run: .venv/bin/python benchmarks/bench_telegram.py [--questions 300] [--chats 100] [--rounds 10]

The emulator (the "Telegram" side) and the simulated users run in this process; the bot runs
in a child process, as in production (framework long polling -> bridge -> engine thread ->
outbox -> sendMessage), over real HTTP on 127.0.0.1. Figures:

- round trip: a user's FAQ question to the bot's answer arriving at the emulator, one at a
  time, each from a new user (p50/p99);
- throughput: `--chats` users at once, each asking `--rounds` questions one after another
  (closed loop), answers per second;
- cost, measured separately per process: CPU milliseconds per answer of the bot process, and
  of this process (the emulator plus the simulated users).

Round trip and throughput are measured with the rate limits lifted (what the code can do),
and throughput once more with Telegram's real limits (about 30 messages a second in all).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_app, build_telegram_channel  # noqa: E402
from bot.channels.delivery import RateLimitedOutbox, SendLimits  # noqa: E402
from bot.config import Settings, TelegramSettings  # noqa: E402
from bot.messages import Outbox  # noqa: E402
from tests.emulator import DEFAULT_TOKEN, BotApiEmulator  # noqa: E402

QUESTIONS = ["备案要多久", "备案期间要解析吗", "需要什么材料", "备案要钱吗", "短信核验怎么做"]


def no_limits(inner: Outbox) -> RateLimitedOutbox:
    """The limiter with limits far above anything this benchmark reaches."""
    return RateLimitedOutbox(
        inner,
        SendLimits(
            per_chat_per_s=1e6, per_chat_burst=3, per_group_per_min=10**9, global_per_s=10**9
        ),
    )


class Replies:
    """Counts the bot's messages per chat and wakes whoever waits for the next one."""

    def __init__(self, emu: BotApiEmulator) -> None:
        self.emu = emu
        self.counts: Counter[int] = Counter()
        self._seen = 0
        self._waiters: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            # The emulator's own change signal: no polling interval inflates the round trip.
            await self.emu._wait_change(1.0)
            for sent in self.emu.sent[self._seen :]:
                self.counts[sent.chat_id] += 1
                waiting = self._waiters.get(sent.chat_id, [])
                for want, future in list(waiting):
                    if self.counts[sent.chat_id] >= want and not future.done():
                        future.set_result(None)
                        waiting.remove((want, future))
            self._seen = len(self.emu.sent)

    async def wait(self, chat_id: int, count: int) -> None:
        """Until the bot has sent `count` messages to `chat_id`."""
        if self.counts[chat_id] >= count:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(chat_id, []).append((count, future))
        await asyncio.wait_for(future, 30)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def round_trips(emu: BotApiEmulator, replies: Replies, count: int) -> list[float]:
    """Milliseconds from a question to its answer, one question at a time."""
    samples = []
    for n in range(count):
        user = emu.add_user(f"R{n}")
        started = time.perf_counter()
        emu.send_message(user.id, user, QUESTIONS[n % len(QUESTIONS)])
        await replies.wait(user.id, 1)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def throughput(emu: BotApiEmulator, replies: Replies, chats: int, rounds: int) -> float:
    """Wall seconds for `chats` concurrent closed-loop chats of `rounds` questions each."""
    users = [emu.add_user(f"C{n}") for n in range(chats)]

    async def converse(index: int) -> None:
        user = users[index]
        for r in range(rounds):
            emu.send_message(user.id, user, QUESTIONS[(index + r) % len(QUESTIONS)])
            await replies.wait(user.id, r + 1)

    started = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(chats)))
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BotProcess:
    """The bot in a child process (this script with --serve-bot), polling the emulator."""

    def __init__(self, stack: str, emu: BotApiEmulator, db: Path, limited: bool) -> None:
        self.args = [sys.executable, __file__, "--serve-bot", stack, "--api-root", emu.base_url]
        self.args += ["--db", str(db)] + ([] if limited else ["--no-limits"])
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BotProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 30)

    def cpu(self) -> float:
        assert self.process is not None
        return cpu_seconds(self.process.pid)


async def phase(bot: BotProcess, answers: int, work: Awaitable[float]) -> str:
    """Run `work` (returns wall seconds) and describe its rate and per-process CPU cost."""
    bot_cpu, own_cpu = bot.cpu(), time.process_time()
    wall = await work
    bot_ms = (bot.cpu() - bot_cpu) * 1000 / answers
    own_ms = (time.process_time() - own_cpu) * 1000 / answers
    return (
        f"{answers / wall:.0f} answers/s ({answers} in {wall:.2f} s); CPU per answer:"
        f" bot {bot_ms:.2f} ms, emulator + users {own_ms:.2f} ms"
    )


async def bench_stack(stack: str, args: argparse.Namespace, limited: bool) -> None:
    label = "Telegram's limits" if limited else "limits lifted"
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            BotApiEmulator() as emu,
            BotProcess(stack, emu, Path(tmp) / "b.db", limited) as bot,
        ):
            replies = Replies(emu)
            try:
                if not limited:
                    await round_trips(emu, replies, 30)  # warm-up: connections, caches

                    async def timed_round_trips() -> float:
                        started = time.perf_counter()
                        samples.extend(await round_trips(emu, replies, args.questions))
                        return time.perf_counter() - started

                    samples: list[float] = []
                    cost = await phase(bot, args.questions, timed_round_trips())
                    samples.sort()
                    p50 = statistics.median(samples)
                    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
                    print(
                        f"{stack:8} round trip, one FAQ question at a time ({label}):"
                        f" p50 {p50:.1f} ms, p99 {p99:.1f} ms (n={len(samples)}); {cost}"
                    )
                rounds = args.rounds if not limited else 3
                answers = args.chats * rounds
                cost = await phase(bot, answers, throughput(emu, replies, args.chats, rounds))
                print(f"{stack:8} {args.chats} chats x {rounds} questions ({label}): {cost}")
            finally:
                await replies.close()


async def serve_bot(stack: str, api_root: str, db: Path, limited: bool) -> None:
    """The child process: the real composition, polling until SIGTERM."""
    telegram = TelegramSettings(token=DEFAULT_TOKEN, api_base_url=api_root)  # type: ignore[arg-type]
    settings = Settings(_env_file=None, db_path=db, telegram=telegram)  # type: ignore[call-arg]
    app = build_app(settings)
    channel = build_telegram_channel(
        app, stack, limiter=RateLimitedOutbox if limited else no_limits
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await channel.start()
    print("ready", flush=True)
    await stop.wait()
    await channel.stop()
    app.storage.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--stack", choices=["ptb", "aiogram"], action="append")
    parser.add_argument("--serve-bot", choices=["ptb", "aiogram"], help=argparse.SUPPRESS)
    parser.add_argument("--api-root", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-limits", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bot:
        await serve_bot(args.serve_bot, args.api_root, args.db, not args.no_limits)
        return
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for stack in args.stack or ["ptb", "aiogram"]:
        await bench_stack(stack, args, limited=False)
        await bench_stack(stack, args, limited=True)


if __name__ == "__main__":
    asyncio.run(main())
