"""Load: many users at once, FAQ questions and filing-dialogue turns mixed, on one SQLite file.

Run: .venv/bin/python benchmarks/bench_load.py [--users 10000] [--messages 20]
         [--webhook-chats 200] [--webhook-messages 10] [--stack ptb] [--telegram-limits]
         [--show-off 10]

Targets: >= 1,000 messages/s and p99 <= 20 ms per message through Engine.handle.

1. Engine: `--users` simulated users send `--messages` messages each through
   `build_app(...).engine.handle` on a real SQLite file (WAL, one commit per turn), one
   message at a time, as the single core thread of a channel would. Each user is an FAQ asker
   or a filer: a filer starts with /filing and answers the form (benchmarks/bench_dialogue.py's
   answers) with FAQ questions (tests/data/faq_eval.yaml) dropped in between, as users do.
   Messages of different users are interleaved in random order; each user's own stay in order.
   Figures: messages per second (wall clock of the whole run), p50/p99 per-message latency,
   per kind; and whether every filer's form ended at the step its answers lead to. A filer
   off its step is replayed afterwards (untimed) to name the FAQ message the form took.
2. Webhook: the real Telegram channel in webhook mode (uvicorn on 127.0.0.1) against the Bot
   API emulator (tests/emulator); `--webhook-chats` chats POST `--webhook-messages` updates
   each, with the secret-token header, each chat waiting for the bot's reply before its next
   message (closed loop). Latency is from the POST to the turn's last reply arriving at the
   emulator. The emulator, the HTTP clients and the bot share this process (and its GIL).
   Send rate limits are lifted unless --telegram-limits (Telegram allows ~30 messages/s in all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_dialogue import ANSWERS  # noqa: E402

from bot.app import App, build_app  # noqa: E402
from bot.config import Settings, TelegramSettings  # noqa: E402
from bot.faq.evaluation import load_eval_set  # noqa: E402
from bot.messages import ChatKind, ChatRef, Incoming, Outbox  # noqa: E402
from bot.storage.base import Storage  # noqa: E402

TARGET_RATE = 1000.0  # messages per second
TARGET_P99_MS = 20.0
SECRET = "bench-load-secret_0123456789"
# The filing form's answers, /filing first and 「确认」 (the pre-check report) last.
DIALOGUE = ANSWERS


def faq_questions() -> list[str]:
    """Questions as users type them: the regression set, in scope and out of scope."""
    data = load_eval_set(ROOT / "tests" / "data" / "faq_eval.yaml")
    return [q.q for q in data.in_scope] + list(data.out_of_scope)


Script = list[tuple[str, bool]]  # a user's messages in order: (text, is a dialogue turn)


def scripts(count: int, length: int, questions: list[str], rng: random.Random) -> list[Script]:
    """`length` messages for each of `count` users: about half of them file (/filing and the
    form's answers, FAQ questions in between at random places), the others only ask."""
    result = []
    for _ in range(count):
        turns = rng.randint(1, min(length, len(DIALOGUE))) if rng.random() < 0.5 else 0
        slots = set(rng.sample(range(length), turns))
        dialogue = iter(DIALOGUE[:turns])
        result.append(
            [(next(dialogue), True) if i in slots else (rng.choice(questions), False)
             for i in range(length)]
        )  # fmt: skip
    return result


def percentile(sorted_samples: list[float], q: float) -> float:
    """The q-quantile of already sorted samples (nearest rank)."""
    return sorted_samples[min(len(sorted_samples) - 1, int(len(sorted_samples) * q))]


def figures(samples: list[float]) -> str:
    """p50 / p99 / max of millisecond samples."""
    ordered = sorted(samples)
    return (
        f"p50 {statistics.median(ordered):6.2f}  p99 {percentile(ordered, 0.99):6.2f}  "
        f"max {ordered[-1]:7.2f}"
    )


def verdict(ok: bool) -> str:
    return "target met" if ok else "target missed"


def _chat(n: int | str) -> ChatRef:
    return ChatRef(channel="bench", chat_id=f"u{n}", kind=ChatKind.PRIVATE)


def form_of(storage: Storage, chat: ChatRef) -> dict[str, Any] | None:
    """The chat's saved form state, None when no form is open."""
    state = storage.sessions.load(chat.channel, chat.chat_id, chat.chat_id)
    form = json.loads(state).get("form") if state else None
    return dict(form) if form else None


def answered(storage: Storage, chat: ChatRef) -> int:
    """How many form fields the chat's saved state has answered (-1: no form open)."""
    form = form_of(storage, chat)
    return len(form["answered"]) if form else -1


def derailment(app: App, script: Script, chat: ChatRef) -> str:
    """Replays a filer whose form is off its step (untimed, in a chat of its own): the first
    FAQ message that changed the form, and how."""
    for text, in_form in script:
        before = form_of(app.storage, chat)
        app.engine.handle(Incoming(chat=chat, user_id=chat.chat_id, text=text))
        after = form_of(app.storage, chat)
        if in_form or before is None or after == before:
            continue
        if after is None:
            return f"{text!r} ended the form"
        taken = [name for name in after["answered"] if name not in before["answered"]]
        if taken:
            return f"{text!r} was taken as the answer to {', '.join(taken)}"
        return f"{text!r} changed the form ({len(before['answered'])} -> {len(after['answered'])})"
    return "no FAQ message changed the form: an answer of the form itself was refused"


def dialogue_steps(app: App, chat: ChatRef) -> list[int]:
    """`answered` after each of DIALOGUE's turns, from a run of the form on its own."""
    steps = []
    for text in DIALOGUE:
        app.engine.handle(Incoming(chat=chat, user_id=chat.chat_id, text=text))
        steps.append(answered(app.storage, chat))
    return steps


def engine_load(args: argparse.Namespace, questions: list[str]) -> None:
    """Part 1: every message through Engine.handle, users interleaved at random."""
    rng = random.Random(args.seed)
    users = scripts(args.users, args.messages, questions, rng)
    order = [u for u, script in enumerate(users) for _ in script]
    rng.shuffle(order)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        started = time.perf_counter()
        app = build_app(Settings(_env_file=None, db_path=db))  # type: ignore[call-arg]
        build_s = time.perf_counter() - started
        engine = app.engine
        # Warm-up (not timed): one whole form and a round of questions, so one-time loads
        # (validators, the reminder time parser, caches) are not billed to the first users.
        steps = dialogue_steps(app, _chat("warm"))
        for question in questions[:50]:
            engine.handle(Incoming(chat=_chat("warm2"), user_id="uwarm2", text=question))
        chats = [_chat(u) for u in range(len(users))]
        cursor = [0] * len(users)
        faq_ms: list[float] = []
        form_ms: list[float] = []
        clock = time.perf_counter_ns
        run_started = time.perf_counter()
        for u in order:
            text, in_form = users[u][cursor[u]]
            cursor[u] += 1
            chat = chats[u]
            msg = Incoming(chat=chat, user_id=chat.chat_id, text=text)
            t0 = clock()
            engine.handle(msg)
            (form_ms if in_form else faq_ms).append((clock() - t0) / 1e6)
        wall = time.perf_counter() - run_started
        # Where each filer's form stands: the step its answers lead to, or not.
        filers = right = 0
        off: list[int] = []
        for u, script in enumerate(users):
            if turns := sum(in_form for _, in_form in script):
                filers += 1
                if answered(app.storage, chats[u]) == steps[turns - 1]:
                    right += 1
                else:
                    off.append(u)
        why = Counter(derailment(app, users[u], _chat(f"replay{u}")) for u in off)
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("load.db*")) / 2**20
        app.storage.close()
    total = len(order)
    everything = faq_ms + form_ms
    ordered = sorted(everything)
    rate, p99 = total / wall, percentile(ordered, 0.99)
    print(
        f"== engine: {args.users} users x {args.messages} messages = {total} messages, "
        f"users interleaved at random (seed {args.seed}); SQLite file, one commit per turn"
    )
    print(
        f"   app built in {build_s:.1f} s; warm-up not timed; database {size_mb:.0f} MB at the end"
    )
    print(f"   {'':22}{'count':>8}   latency ms")
    print(f"   {'all messages':22}{total:8}   {figures(everything)}")
    print(f"   {'FAQ questions':22}{len(faq_ms):8}   {figures(faq_ms)}")
    print(f"   {'dialogue turns':22}{len(form_ms):8}   {figures(form_ms)}")
    print(f"   throughput {rate:,.0f} messages/s ({total} in {wall:.1f} s, one thread)")
    print(f"   throughput >= {TARGET_RATE:,.0f} messages/s: {verdict(rate >= TARGET_RATE)}")
    print(f"   p99 {p99:.2f} ms <= {TARGET_P99_MS:.0f} ms: {verdict(p99 <= TARGET_P99_MS)}")
    print(f"   forms at the step their answers lead to: {right}/{filers} filers")
    for reason, times in why.most_common(args.show_off):
        print(f"     off ({times}x): {reason}")


# ---- part 2: the webhook ------------------------------------------------------------------


def no_limits(inner: Outbox) -> Outbox:
    """The limiter with limits far above anything this benchmark reaches."""
    from bot.channels.delivery import RateLimitedOutbox, SendLimits

    limits = SendLimits(
        per_chat_per_s=1e6, per_chat_burst=3, per_group_per_min=10**9, global_per_s=10**9
    )
    return RateLimitedOutbox(inner, limits)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def expected_replies(user_scripts: list[Script], db: Path) -> list[list[int]]:
    """How many messages the bot sends for each turn, from a dry run of the same scripts."""
    app = build_app(Settings(_env_file=None, db_path=db))  # type: ignore[call-arg]
    counts = []
    for n, script in enumerate(user_scripts):
        chat = ChatRef(channel="telegram", chat_id=str(900_000 + n), kind=ChatKind.PRIVATE)
        counts.append(
            [
                len(app.engine.handle(Incoming(chat=chat, user_id=chat.chat_id, text=text)))
                for text, _ in script
            ]
        )
    app.storage.close()
    return counts


class Arrivals:
    """When each of the bot's messages reached the emulator, per chat."""

    def __init__(self, emu: object) -> None:
        self.emu = emu
        self.times: dict[int, list[float]] = {}
        self._seen = 0
        self._waiters: dict[int, tuple[int, asyncio.Future[None]]] = {}
        self._closing = False
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while not self._closing:
            # The emulator's own change signal: no polling interval inflates the latency.
            await self.emu._wait_change(1.0)  # type: ignore[attr-defined]
            now = time.perf_counter()
            sent = self.emu.sent  # type: ignore[attr-defined]
            for message in sent[self._seen :]:
                arrived = self.times.setdefault(message.chat_id, [])
                arrived.append(now)
                waiting = self._waiters.get(message.chat_id)
                if waiting and len(arrived) >= waiting[0] and not waiting[1].done():
                    waiting[1].set_result(None)
            self._seen = len(sent)

    async def wait(self, chat_id: int, count: int, timeout: float = 30.0) -> float:
        """Until `count` messages reached `chat_id`; returns when the count-th arrived."""
        arrived = self.times.setdefault(chat_id, [])
        if len(arrived) < count:
            future = asyncio.get_running_loop().create_future()
            self._waiters[chat_id] = (count, future)
            try:
                await asyncio.wait_for(future, timeout)
            finally:
                self._waiters.pop(chat_id, None)
        return arrived[count - 1]

    async def close(self) -> None:
        # A flag, not only cancel(): Python 3.11's wait_for can swallow a cancellation that
        # comes as its future completes, and the loop would go on for ever.
        self._closing = True
        self._task.cancel()
        await asyncio.wait({self._task}, timeout=5)


async def webhook_load(args: argparse.Namespace, questions: list[str]) -> None:
    """Part 2: POSTs to the real webhook from many chats at once, replies timed at the emulator."""
    import httpx

    from bot.app import build_telegram_channel
    from bot.channels.telegram.channel import Webhook
    from bot.channels.telegram.webhook import SECRET_HEADER
    from tests.emulator import BotApiEmulator

    rng = random.Random(args.seed + 1)
    chats, length = args.webhook_chats, args.webhook_messages
    user_scripts = scripts(chats, length, questions, rng)
    warm_scripts = scripts(20, 3, questions, rng)
    with tempfile.TemporaryDirectory() as tmp:
        counts = expected_replies(warm_scripts + user_scripts, Path(tmp) / "dry.db")
        warm_counts, counts = counts[: len(warm_scripts)], counts[len(warm_scripts) :]
        async with BotApiEmulator() as emu:
            telegram = TelegramSettings(
                token=emu.token,  # type: ignore[arg-type]
                api_base_url=emu.base_url,
                webhook_secret=SECRET,  # type: ignore[arg-type]
            )
            settings = Settings(
                _env_file=None, db_path=Path(tmp) / "webhook.db", telegram=telegram
            )  # type: ignore[call-arg]
            app = build_app(settings)
            port = free_port()
            hook = Webhook(
                url="https://example.invalid/telegram", secret=SECRET, host="127.0.0.1", port=port
            )
            options = {} if args.telegram_limits else {"limiter": no_limits}
            channel = build_telegram_channel(app, args.stack, webhook=hook, **options)
            stop = asyncio.Event()
            running = asyncio.create_task(channel.run(stop))
            url = f"http://127.0.0.1:{port}/telegram"
            arrivals = Arrivals(emu)
            try:
                # Ten chats to a client: httpcore looks at every pooled connection on each
                # request, and one pool of hundreds would bill the simulated side, not the bot.
                async with contextlib.AsyncExitStack() as stack:
                    clients = [
                        await stack.enter_async_context(httpx.AsyncClient(timeout=30))
                        for _ in range((chats + 29) // 10)
                    ]
                    http = clients[0]
                    for _ in range(300):
                        try:
                            if (await http.get(url.replace("/telegram", "/healthz"))).is_success:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.05)
                    headers = {SECRET_HEADER: SECRET}
                    statuses: Counter[int] = Counter()
                    failures: Counter[str] = Counter()
                    latencies: list[float] = []
                    short: list[int] = []

                    async def converse(
                        script: Script, expect: list[int], name: str, http: httpx.AsyncClient
                    ) -> None:
                        user = emu.add_user(name)
                        total = 0
                        for (text, _), count in zip(script, expect, strict=True):
                            update = emu.send_message(user.id, user, text)
                            started = time.perf_counter()
                            response = None
                            for _ in range(3):  # Telegram resends what got no answer
                                try:
                                    response = await http.post(url, json=update, headers=headers)
                                    break
                                except httpx.TransportError as exc:
                                    failures[type(exc).__name__] += 1
                            if response is None:
                                continue
                            statuses[response.status_code] += 1
                            total += count
                            try:
                                arrived = await arrivals.wait(user.id, total)
                            except TimeoutError:
                                short.append(user.id)
                                total = len(arrivals.times.get(user.id, []))
                                continue
                            latencies.append((arrived - started) * 1000)

                    await asyncio.gather(
                        *(
                            converse(s, c, f"W{n}", clients[n // 10])
                            for n, (s, c) in enumerate(zip(warm_scripts, warm_counts, strict=True))
                        )
                    )
                    latencies.clear()
                    statuses.clear()
                    failures.clear()
                    cpu, began = time.process_time(), time.perf_counter()
                    await asyncio.gather(
                        *(
                            converse(s, c, f"L{n}", clients[n // 10])
                            for n, (s, c) in enumerate(zip(user_scripts, counts, strict=True))
                        )
                    )
                    wall = time.perf_counter() - began
                    cpu = time.process_time() - cpu
                    calls = Counter(r.method for r in emu.requests if r.time >= time.time() - wall)
            finally:
                await arrivals.close()
                stop.set()
                await running
                app.storage.close()
    replies = sum(sum(c) for c in counts)
    turns = chats * length
    limits_note = "Telegram's send limits" if args.telegram_limits else "send limits lifted"
    print(
        f"== webhook ({args.stack}): {chats} concurrent chats x {length} updates = {turns} "
        f"POSTs, closed loop per chat; {limits_note}"
    )
    print(
        "   the Bot API emulator, the HTTP clients and uvicorn + the bot run in this one "
        f"process ({os.cpu_count()} CPUs, {cpu / wall * 100:.0f}% of one used)"
    )
    if latencies:
        print(
            f"   POST -> last reply at the emulator, ms: {figures(latencies)} (n={len(latencies)})"
        )
    print(
        f"   {replies / wall:,.0f} replies/s ({replies} messages), {turns / wall:,.0f} updates/s,"
        f" in {wall:.1f} s; HTTP statuses {dict(statuses)}"
        + (f"; POSTs resent after a connection error: {dict(failures)}" if failures else "")
    )
    print(
        f"   Bot API calls during the run: {dict(calls.most_common())} (sendChatAction: the "
        "typing indicator, sent once a turn has waited a second)"
    )
    if short:
        print(f"   turns whose replies did not all arrive within 30 s: {len(short)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="0 skips the engine part")
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--webhook-chats", type=int, default=200, help="0 skips the webhook part")
    parser.add_argument("--webhook-messages", type=int, default=10)
    parser.add_argument("--stack", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--telegram-limits", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--show-off", type=int, default=10, help="how many filers off their step to explain"
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    questions = faq_questions()
    if args.users > 0:
        engine_load(args, questions)
    if args.webhook_chats > 0:
        await webhook_load(args, questions)


if __name__ == "__main__":
    asyncio.run(main())
