"""Kill test: SIGKILL the bot at random moments, restart it, and check nothing is lost or torn.

Run: .venv/bin/python benchmarks/bench_kill.py [--rounds 50] [--mode terminal|webhook|both]
         [--seed 1] [--stack ptb]

Targets: every round resumed correctly (rounds/rounds); no reminder lost or doubled; in webhook
mode no update answered 200 and then never replied to.

Terminal mode: `python -m bot chat --json` as a child process on one SQLite file. A round:
the bot is warm and a user is in the filing form (benchmarks/bench_dialogue.py's answers);
the next answer is written to its stdin and the process is SIGKILLed right after the write or
0-2 / 0-10 / 0-50 ms later (a turn takes about a millisecond, so many kills land mid-turn).
The form in the database (the sessions row and the filing row) must then be exactly where a
clean run is after either the answer before the killed one (the turn was lost as a whole) or
the killed one (it was committed), never anything else, and a printed reply means committed.
The bot is restarted; the user sends the next answer the database says is due, and the reply
must be the clean run's reply to it. Every fifth round kills a reminder request instead
(「明天上午10点提醒我…」, another user): the row exists at most once, and once if the
confirmation was printed; a lost one is asked again. At the end every reminder asked for must
be in the table exactly once.

Webhook mode: `python -m bot telegram --webhook ... --port P` as a child process, the Bot API
emulator (tests/emulator) in this process. A round: 2-4 answers of one chat's filing form and
one reminder request of another chat are POSTed to 127.0.0.1:P/telegram (secret-token
header; each chat's updates one after the other, as Telegram sends them), and the bot is
SIGKILLed 0-30 ms, 30-300 ms or 0.3-2 s after the first POST. It is restarted; the updates whose
POST got no 200 are POSTed again (Telegram resends those, and only those); then every update
must be answered (its replies, as a clean run sends them, arrive at the emulator once) and
the chat's form must stand where all its answers lead. A form at an earlier step of a clean
run is "behind" (updates still waiting; the chat goes on, and the last one is checked at the
end, after up to 25 s for stragglers); one at no step of a clean run is "wrong". Lost:
answered 200, never replied to by the end. The delay from each restart to the replies of the
updates it inherited is taken from the emulator's request log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_load import DIALOGUE  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.storage.base import Storage, open_storage  # noqa: E402

SECRET = "bench-kill-secret_0123456789"
WEBHOOK_URL = "https://example.invalid/telegram"
# A snapshot of where a user's form stands: (sessions state, latest filing row), normalised.
Snapshot = tuple[str | None, str | None]
JSON = dict[str, Any]


# ---- shared ---------------------------------------------------------------------------------


def child_env(db: Path, **extra: str) -> dict[str, str]:
    """The environment of the bot process: this one's, less any BEIAN_* of the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEIAN_")}
    cache = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    env |= {"BEIAN_DB_PATH": str(db), "BEIAN_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return env | extra


def _without_ids(value: Any) -> Any:
    """A state document without the filing row ids (they differ from user to user)."""
    if isinstance(value, dict):
        return {
            k: _without_ids(v)
            for k, v in value.items()
            if k not in ("filing_id", "active_filing_id")
        }
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _normal(text: str) -> str:
    return json.dumps(_without_ids(json.loads(text)), ensure_ascii=False, sort_keys=True)


class Reader:
    """Reads what the bot keeps through the bot's own storage (its WAL, sealed values).

    One connection stays open for the whole run: a connection closed while the bot runs can
    take the bot's WAL with it (see --fresh-reader), and this benchmark must not change what
    it measures. `fresh` opens and closes one per read instead, as an ops script would."""

    def __init__(self, db: Path, fresh: bool = False) -> None:
        self.db, self.fresh = db, fresh
        self._storage: Storage | None = None

    @contextlib.contextmanager
    def storage(self) -> Iterator[Storage]:
        if self.fresh:
            storage = open_storage(Settings(_env_file=None, db_path=self.db))  # type: ignore[call-arg]
            try:
                yield storage
            finally:
                storage.close()
            return
        if self._storage is None:
            self._storage = open_storage(Settings(_env_file=None, db_path=self.db))  # type: ignore[call-arg]
        yield self._storage

    def snapshot(self, channel: str, user: str) -> Snapshot:
        with self.storage() as storage:
            return snapshot(storage, channel, user)

    def reminder_counts(self, channel: str, user: str) -> Counter[str]:
        with self.storage() as storage:
            return reminder_counts(storage, channel, user)

    def waiting(self, channel: str) -> int:
        """Updates accepted and not handled yet (the inbox)."""
        with self.storage() as storage:
            return len(storage.inbox.waiting(channel))

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
            self._storage = None


def snapshot(storage: Storage, channel: str, user: str) -> Snapshot:
    """Where the user's form stands: the session state and the latest filing row."""
    state = storage.sessions.load(channel, user, user)
    filings = storage.filings.of_user(channel, user)
    row = None
    if filings:
        latest = max(filings, key=lambda f: f.id)
        data = json.loads(_normal(json.dumps(latest.data, ensure_ascii=False)))
        # Until it has a name, a filing is called after its row id (「第 57 份」).
        label = "(unnamed)" if latest.label == _unnamed(latest.id) else latest.label
        row = json.dumps([label, latest.status, data], sort_keys=True)
    return (_normal(state) if state else None, row)


def _unnamed(filing_id: int) -> str:
    from bot.dialogue.texts import load_dialogue_texts

    return load_dialogue_texts().unnamed.format(number=filing_id)


def reminder_counts(storage: Storage, channel: str, user: str) -> Counter[str]:
    """How many open reminder rows each of the user's tasks has."""
    rows = storage.reminders.open_for_user(channel, user)
    return Counter(str(json.loads(row.payload).get("task")) for row in rows)


def reminder_text(task: str, n: int) -> str:
    """Reminder request `n` in the user's words; the task is what the row keeps.

    Each has its own minute: two personal reminders for the same moment set within the same
    second share a clock, and the second cancels the first (a bug of its own, not a kill's)."""
    return f"明天{10 + n // 60}点{n % 60}分提醒我{task}"


def check_reference(snapshots: list[Snapshot]) -> None:
    """Each answer must move the form on, or the answers no longer fit the form."""
    for n in range(1, len(snapshots)):
        if snapshots[n] == snapshots[n - 1]:
            raise SystemExit(
                f"the answer {DIALOGUE[n - 1]!r} (turn {n}) does not move the form on in a clean "
                "run: the answer list no longer fits the form"
            )


def verdict(ok: bool) -> str:
    return "target met" if ok else "target missed"


def stderr_problems(path: Path) -> int:
    """Tracebacks the bot wrote to stderr."""
    return path.read_text(errors="replace").count("Traceback") if path.exists() else 0


# ---- terminal mode -------------------------------------------------------------------------


def terminal_reference(tmp: Path, user: str) -> tuple[list[Snapshot], list[str]]:
    """A clean run of the form in process: the snapshot before/after each turn, each reply."""
    from bot.app import build_app
    from bot.channels import terminal
    from bot.messages import Incoming

    db = tmp / "reference.db"
    app = build_app(Settings(_env_file=None, db_path=db))  # type: ignore[call-arg]
    chat = terminal.chat_of(user)
    snapshots, replies = [snapshot(app.storage, terminal.CHANNEL, user)], []
    for text in DIALOGUE:
        out = app.engine.handle(Incoming(chat=chat, user_id=user, user_name=user, text=text))
        replies.append(terminal.message_json(out))
        snapshots.append(snapshot(app.storage, terminal.CHANNEL, user))
    app.storage.close()
    check_reference(snapshots)
    return snapshots, replies


class TerminalBot:
    """`python -m bot chat --json --user USER`, one JSON line out per line in."""

    def __init__(self, env: dict[str, str], cwd: Path, user: str, log: Path) -> None:
        self.user = user
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "chat", "--json", "--user", user],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=cwd,
            )

    def write(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def say(self, text: str, timeout: float = 60.0) -> str:
        """Send a line and return the reply line (the bot is killed if it hangs)."""
        self.write(text)
        watchdog = threading.Timer(timeout, self.proc.kill)
        watchdog.start()
        try:
            assert self.proc.stdout is not None
            return self.proc.stdout.readline().decode()
        finally:
            watchdog.cancel()

    def kill(self) -> bytes:
        """SIGKILL; returns what it had printed and nobody read yet."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        assert self.proc.stdout is not None
        rest = self.proc.stdout.read()
        self._close_pipes()
        return rest

    def end(self) -> None:
        """End of input: the bot exits by itself."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def terminal_delay(rng: random.Random) -> tuple[str, float]:
    """When to kill after writing the line: a bucket and seconds."""
    bucket = rng.choice(["right after the write", "0-2 ms", "0-10 ms", "0-50 ms"])
    top = {"0-2 ms": 0.002, "0-10 ms": 0.010, "0-50 ms": 0.050}.get(bucket, 0.0)
    return bucket, rng.uniform(0, top)


@dataclass
class TerminalRun:
    """What the terminal rounds found."""

    rounds: int = 0
    correct: int = 0
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    tasks: dict[str, bool] = field(default_factory=dict)  # task -> confirmation was printed


def _parse_reply(raw: bytes) -> tuple[str, Any]:
    """What the killed turn printed: ("no reply" | "reply" | "torn reply", the JSON)."""
    if not raw:
        return "no reply", None
    try:
        reply = json.loads(raw.decode().splitlines()[0])
    except (ValueError, IndexError):
        return "torn reply", None
    return ("reply", reply) if raw.endswith(b"\n") else ("torn reply", None)


def terminal_mode(rounds: int, rng: random.Random, tmp: Path, fresh: bool) -> TerminalRun:
    """Kill `python -m bot chat --json` `rounds` times: form answers, every fifth a reminder."""
    db, log = tmp / "terminal.db", tmp / "terminal.stderr"
    reader = Reader(db, fresh)
    env = child_env(db)
    refs, replies = terminal_reference(tmp, "ref")
    steps = len(DIALOGUE)
    run = TerminalRun()
    filers = 0
    user, done = "filer0", 0  # the filer and how many answers the database holds
    bot: TerminalBot | None = None
    reminder_user, asked = "reminders", 0
    retry: int | None = None  # a reminder whose request was lost, to be asked again

    def open_filer() -> TerminalBot:
        """The filer's bot, warm: one clean turn (the next answer the database says is due)."""
        nonlocal user, done, filers
        if done >= steps:  # finished: the next round's user starts afresh
            filers += 1
            user, done = f"filer{filers}", 0
        started = TerminalBot(env, tmp, user, log)
        reply = started.say(DIALOGUE[done])
        if json.loads(reply or "null") != json.loads(replies[done]):
            run.problems.append(f"{user}: the reply to turn {done + 1} is not the clean run's")
        done += 1
        if done >= steps:  # the form is finished: start the next user right away
            started.end()
            return open_filer()
        return started

    def ask(target: TerminalBot, task: str, n: int) -> bool:
        """A clean reminder request; True when the bot confirmed it."""
        confirmed = task in target.say(reminder_text(task, n))
        run.tasks[task] = run.tasks.get(task, False) or confirmed
        if not confirmed:
            run.problems.append(f"reminder {task}: no confirmation")
        return confirmed

    def open_reminders() -> TerminalBot:
        """The reminder user's bot, warm: the lost request again, or a new one."""
        nonlocal asked, retry
        started = TerminalBot(env, tmp, reminder_user, log)
        if retry is None:
            asked += 1
            retry = asked
        ask(started, f"检查材料K{retry:02d}", retry)
        retry = None
        return started

    for r in range(rounds):
        reminder_round = r % 5 == 4
        wanted = reminder_user if reminder_round else user
        if bot is None or bot.user != wanted:
            if bot is not None:
                bot.end()
            bot = open_reminders() if reminder_round else open_filer()
        bucket, delay = terminal_delay(rng)
        run.rounds += 1
        if reminder_round:
            asked += 1
            task = f"检查材料K{asked:02d}"
            bot.write(reminder_text(task, asked))
            if delay:
                time.sleep(delay)
            printed, _ = _parse_reply(bot.kill())
            count = reader.reminder_counts("terminal", reminder_user)[task]
            run.tasks[task] = run.tasks.get(task, False) or printed == "reply"
            outcome = {0: "lost as a whole", 1: "committed"}.get(count, f"{count} rows")
            ok = count in (0, 1) and (printed == "no reply" or count == 1)
            retry = asked if count == 0 else None
            bot = open_reminders()
            ok = ok and reader.reminder_counts("terminal", reminder_user)[task] == 1
        else:
            before = refs[done]
            bot.write(DIALOGUE[done])
            if delay:
                time.sleep(delay)
            printed, reply = _parse_reply(bot.kill())
            now = reader.snapshot("terminal", user)
            if now == before:
                outcome, ok = "lost as a whole", printed == "no reply"
            elif now == refs[done + 1]:
                outcome = "committed"
                ok = reply is None or reply == json.loads(replies[done])
                if not ok:
                    run.problems.append(f"round {r + 1}: the printed reply is not the clean run's")
                done += 1
            else:
                outcome, ok = "torn or wrong state", False
                matches = [n for n, ref in enumerate(refs) if ref == now]
                run.problems.append(
                    f"round {r + 1}: {user} after turn {done + 1} is at "
                    f"{'step ' + str(matches[0]) if matches else 'no step of a clean run'}"
                )
                filers += 1
                user, done = f"filer{filers}", 0  # start a new user; this form is broken
            if not ok and outcome == "lost as a whole":
                run.problems.append(f"round {r + 1}: a reply was printed, the turn was not kept")
            problems_before = len(run.problems)
            bot = open_filer()  # restart: the next answer, its reply checked
            ok = ok and len(run.problems) == problems_before
        run.outcomes[(bucket, f"{outcome}, {printed}")] += 1
        run.correct += ok
    if bot is not None:
        bot.end()
    counts = reader.reminder_counts("terminal", reminder_user)
    reader.close()
    lost = sum(1 for task, seen in run.tasks.items() if counts[task] == 0 and seen)
    doubled = sum(1 for task in run.tasks if counts[task] > 1)
    print(f"== terminal: {run.rounds} SIGKILLs of `python -m bot chat --json`")
    print(f"   {'kill moment':24}{'outcome in the database, output':46}rounds")
    for (bucket, outcome), count in sorted(run.outcomes.items()):
        print(f"   {bucket:24}{outcome:46}{count:6}")
    print(
        f"   resumed correctly: {run.correct}/{run.rounds} ({verdict(run.correct == run.rounds)})"
    )
    print(
        f"   reminders asked for: {len(run.tasks)}; lost {lost}, doubled {doubled}, "
        f"missing though never confirmed "
        f"{sum(1 for t, seen in run.tasks.items() if counts[t] == 0 and not seen)} "
        f"({verdict(lost == doubled == 0)})"
    )
    print(f"   forms filled: {filers + 1}; tracebacks in the bot's stderr: {stderr_problems(log)}")
    for problem in run.problems[:10]:
        print(f"   ! {problem}")
    return run


# ---- webhook mode ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def telegram_reference(
    emu: Any, tmp: Path, stack: str
) -> tuple[list[Snapshot], list[list[str]]]:
    """A clean run of the form through the real channel in process (webhook feed, no limits):
    the snapshot before/after each turn, and the texts the bot sends for each."""
    from bot.app import build_app, build_telegram_channel
    from bot.channels.delivery import RateLimitedOutbox, SendLimits
    from bot.config import TelegramSettings
    from bot.messages import Outbox

    def no_limits(inner: Outbox) -> Outbox:
        limits = SendLimits(
            per_chat_per_s=1e6, per_chat_burst=3, per_group_per_min=10**9, global_per_s=10**9
        )
        return RateLimitedOutbox(inner, limits)

    db = tmp / "tg-reference.db"
    telegram = TelegramSettings(token=emu.token, api_base_url=emu.base_url)
    app = build_app(Settings(_env_file=None, db_path=db, telegram=telegram))  # type: ignore[call-arg]
    channel = build_telegram_channel(app, stack, limiter=no_limits)
    await channel.start(polling=False)
    user = emu.add_user("Reference")
    uid = str(user.id)
    snapshots, texts = [snapshot(app.storage, "telegram", uid)], []
    try:
        for text in DIALOGUE:
            seen = len(emu.sent_messages(user.id))
            await channel.feed(emu.send_message(user.id, user, text))
            while channel.inbox.queues.pending:
                await asyncio.sleep(0.005)
            texts.append([m.text or m.caption or "" for m in emu.sent_messages(user.id)[seen:]])
            snapshots.append(snapshot(app.storage, "telegram", uid))
    finally:
        await channel.stop()
        app.storage.close()
    check_reference(snapshots)
    every = [t for group in texts for t in group]
    if len(set(every)) != len(every):
        raise SystemExit("two turns of the clean run send the same text: replies are ambiguous")
    return snapshots, texts


class WebhookBot:
    """`python -m bot telegram --webhook ...` on 127.0.0.1:port."""

    def __init__(self, env: dict[str, str], cwd: Path, port: int, stack: str, log: Path) -> None:
        self.env, self.cwd, self.port, self.stack, self.log = env, cwd, port, stack, log
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{port}/telegram"

    async def start(self, http: Any) -> float:
        """Start and wait until /healthz answers; returns the seconds that took."""
        import httpx

        started = time.perf_counter()
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "bot", "telegram", "--stack", self.stack],
                *["--webhook", WEBHOOK_URL, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
                env=self.env,
                cwd=self.cwd,
            )
        health = self.url.replace("/telegram", "/healthz")
        while time.perf_counter() - started < 60:
            if self.proc.returncode is not None:
                # The log's folder is deleted on the way out: its end is shown here.
                tail = self.log.read_text(errors="replace").splitlines()[-25:]
                raise SystemExit(
                    f"the bot exited with {self.proc.returncode}:\n" + "\n".join(tail)
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(health, timeout=1)).status_code == 200:
                    return time.perf_counter() - started
            await asyncio.sleep(0.02)
        raise SystemExit(f"the bot did not answer /healthz within 60 s; see {self.log}")

    async def kill(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM, as an operator stops it; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 60)


@dataclass
class Posted:
    """One update POSTed to the webhook, and what became of it."""

    chat_id: int
    update: JSON
    expected: list[str]  # the clean run's texts for it (form answers)
    task: str | None = None  # the reminder it asks for
    acked: bool = False  # got 200 before the kill
    resent: int | None = None  # the status of the POST after the restart, if one was needed
    handled: bool | None = None  # the form moved on past it (None: cannot tell)
    restart_at: float | None = None  # when the bot answered /healthz again after the kill


def arrived(emu: Any, posted: Posted) -> tuple[int, int]:
    """(how many of its messages reached the emulator, the most times one of them did)."""
    texts = Counter(m.text or m.caption or "" for m in emu.sent_messages(posted.chat_id))
    if posted.task is not None:
        hits = sum(n for text, n in texts.items() if posted.task in text)
        return (min(hits, 1), hits)
    counts = [texts[t] for t in posted.expected]
    return (sum(1 for c in counts if c), max(counts))


def reply_time(emu: Any, posted: Posted) -> float | None:
    """When its last message reached the emulator (wall clock), from the request log."""
    times = [
        r.time
        for r in emu.requests
        if r.method == "sendMessage"
        and str(r.params.get("chat_id")) == str(posted.chat_id)
        and (
            posted.task in str(r.params.get("text"))
            if posted.task is not None
            else r.params.get("text") == posted.expected[-1]
        )
    ]
    return min(times) if times else None


def answered(emu: Any, posted: Posted) -> bool:
    want = 1 if posted.task is not None else len(posted.expected)
    return arrived(emu, posted)[0] >= want


async def post(http: Any, url: str, update: JSON) -> int | None:
    """POST one update as Telegram does; None when the connection failed."""
    import httpx

    from bot.channels.telegram.webhook import SECRET_HEADER

    try:
        response = await http.post(url, json=update, headers={SECRET_HEADER: SECRET}, timeout=10)
    except httpx.HTTPError:
        return None
    return response.status_code


async def post_in_order(http: Any, url: str, items: list[Posted]) -> list[Posted]:
    """One chat's updates one after the other; returns those that got no 200 (to resend)."""
    for n, item in enumerate(items):
        if await post(http, url, item.update) != 200:
            return items[n:]
        item.acked = True
    return []


def webhook_delay(rng: random.Random) -> tuple[str, float]:
    """When to kill after the first POST: a bucket and seconds."""
    bucket = rng.choice(["0-30 ms", "30-300 ms", "0.3-2 s"])
    low, high = {"0-30 ms": (0, 0.03), "30-300 ms": (0.03, 0.3), "0.3-2 s": (0.3, 2.0)}[bucket]
    return bucket, rng.uniform(low, high)


async def webhook_mode(
    rounds: int, rng: random.Random, tmp: Path, stack: str, fresh: bool
) -> None:
    """Kill `python -m bot telegram --webhook` `rounds` times while updates come in."""
    import httpx

    from tests.emulator import BotApiEmulator

    db, log = tmp / "webhook.db", tmp / "webhook.stderr"
    reader = Reader(db, fresh)
    steps = len(DIALOGUE)
    async with BotApiEmulator() as emu, httpx.AsyncClient() as http:
        refs, texts = await telegram_reference(emu, tmp, stack)
        env = child_env(
            db,
            BEIAN_TELEGRAM__TOKEN=emu.token,
            BEIAN_TELEGRAM__API_BASE_URL=emu.base_url,
            BEIAN_TELEGRAM__WEBHOOK_SECRET=SECRET,
        )
        bot = WebhookBot(env, tmp, free_port(), stack, log)
        starts = [await bot.start(http)]
        everything: list[Posted] = []
        filer, done = emu.add_user("Filer0"), 0  # answers POSTed (all of them acknowledged)
        filers = 1
        reminder_user = emu.add_user("Reminders")
        table: Counter[tuple[str, str]] = Counter()
        state_right = all_answered = correct = late = 0
        filer_done: dict[int, int] = {}  # each filer chat's answers POSTed
        problems: list[str] = []
        for r in range(rounds):
            if done + 2 > steps:
                filer, done = emu.add_user(f"Filer{filers}"), 0
                filers += 1
            count = min(rng.randint(2, 4), steps - done)
            batch = [
                Posted(filer.id, emu.send_message(filer.id, filer, text), texts[done + n])
                for n, text in enumerate(DIALOGUE[done : done + count])
            ]
            task = f"检查材料W{r + 1:02d}"
            ask = Posted(
                reminder_user.id,
                emu.send_message(reminder_user.id, reminder_user, reminder_text(task, r + 1)),
                [],
                task=task,
            )
            bucket, delay = webhook_delay(rng)

            async def kill_later(delay: float = delay) -> None:
                await asyncio.sleep(delay)
                await bot.kill()

            killing = asyncio.create_task(kill_later())
            unsent = await asyncio.gather(
                post_in_order(http, bot.url, batch), post_in_order(http, bot.url, [ask])
            )
            await killing
            round_items = [*batch, ask]
            if any(not item.acked for item in round_items):
                moment = "during the POSTs"
            elif all(answered(emu, item) for item in round_items):
                moment = "after every reply"
            else:
                moment = "after the 200s, replies due"
            starts.append(await bot.start(http))
            for item in round_items:
                item.restart_at = time.time()
            for items in unsent:  # Telegram resends what got no 200, in order
                for item in items:
                    item.resent = await post(http, bot.url, item.update)
            # Replies go out at Telegram's pace (a burst of 3, then 1 a second per chat).
            missing = sum(len(i.expected) or 1 for i in round_items if not answered(emu, i))
            with contextlib.suppress(TimeoutError):
                await emu.wait_for(
                    lambda items=round_items: all(answered(emu, i) for i in items),
                    timeout=2.0 + 1.2 * missing,
                )
            done += count
            filer_done[filer.id] = done
            now = reader.snapshot("telegram", str(filer.id))
            ok_state = now == refs[done]
            # An earlier step of a clean run: updates still waiting (checked again at the end).
            behind = not ok_state and now in refs[:done]
            ok_replies = all(answered(emu, i) for i in round_items)
            ok_replies = ok_replies and all(arrived(emu, i)[1] == 1 for i in round_items)
            ok_resent = all(i.resent == 200 for items in unsent for i in items)
            for item in batch:
                item.handled = True if ok_state else None
            if behind:  # updates still waiting: they keep their order, the chat goes on
                late += 1
            elif not ok_state:
                matches = [n for n, ref in enumerate(refs) if ref == now]
                where = f"step {matches[0]}" if matches else "no step of a clean run"
                problems.append(
                    f"round {r + 1} ({moment}): the form is at {where}, expected step {done}"
                )
                filer, done = emu.add_user(f"Filer{filers}"), 0  # this form is off: a new one
                filers += 1
            if not ok_resent:
                problems.append(f"round {r + 1}: a resent update was refused")
            state_right += ok_state
            all_answered += ok_replies
            correct += ok_state and ok_replies and ok_resent
            table[(bucket, moment)] += 1
            everything.extend(round_items)
        # Anything still on its way gets a last chance before the figures (a turn the killed
        # process committed has its kept replies sent by the restarted one).
        with contextlib.suppress(TimeoutError):
            await emu.wait_for(lambda: all(answered(emu, i) for i in everything), timeout=25.0)
        # Every form where all its answers lead, at the end? Then all its updates were handled.
        right_at_end = {
            cid
            for cid, n in filer_done.items()
            if reader.snapshot("telegram", str(cid)) == refs[n]
        }
        for item in everything:
            if item.task is None and item.chat_id in right_at_end:
                item.handled = True
        exit_code = await bot.stop()
        left = reader.waiting("telegram")
    counts = reader.reminder_counts("telegram", str(reminder_user.id))
    reader.close()
    acked = [i for i in everything if i.acked]
    lost = [i for i in acked if arrived(emu, i)[0] == 0]
    partly = [i for i in acked if arrived(emu, i)[0] > 0 and not answered(emu, i)]
    doubled = [i for i in everything if arrived(emu, i)[1] > 1]
    resent = [i for i in everything if i.resent is not None]
    never = [i for i in resent if not answered(emu, i)]
    tasks = [i for i in everything if i.task is not None]
    rem_lost = sum(1 for i in tasks if counts[i.task or ""] == 0)
    for i in tasks:
        i.handled = counts[i.task or ""] > 0
    reply_lost = sum(1 for i in lost if i.handled)
    dropped = sum(1 for i in lost if i.handled is False)
    rem_doubled = sum(1 for i in tasks if counts[i.task or ""] > 1)
    print(
        f"== webhook ({stack}): {rounds} SIGKILLs of `python -m bot telegram --webhook`; "
        "the Bot API emulator runs in this process"
    )
    print(f"   {'kill moment':14}{'what the kill met':32}rounds")
    for (bucket, moment), n in sorted(table.items()):
        print(f"   {bucket:14}{moment:32}{n:6}")
    print(
        f"   updates POSTed: {len(everything)}; answered 200 before the kill: {len(acked)}; "
        f"POSTed again after the restart (no 200): {len(resent)}, of them never answered: "
        f"{len(never)}"
    )
    print(
        f"   lost (200, then never a reply): {len(lost)} ({verdict(not lost)}); of them "
        f"handled but the reply never sent: {reply_lost}, never handled: {dropped}, "
        f"cannot tell (form off): {len(lost) - reply_lost - dropped}"
    )
    print(
        f"   partly answered: {len(partly)}; answered twice: {len(doubled)} "
        f"({verdict(not partly and not doubled)})"
    )
    print(
        f"   form at the right step when the round's replies were due: {state_right}/{rounds}, "
        f"behind (updates still waiting) {late}, wrong {rounds - state_right - late}; "
        f"forms at the right step at the end: {len(right_at_end)}/{len(filer_done)}"
    )
    delays = sorted(
        t - i.restart_at
        for i in everything
        if i.restart_at is not None and (t := reply_time(emu, i)) is not None and t > i.restart_at
    )
    if delays:
        print(
            f"   updates answered after a restart: {len(delays)}; seconds from the restart to "
            f"the reply: median {delays[len(delays) // 2]:.1f}, max {delays[-1]:.1f}, "
            f"over 10 s: {sum(d > 10 for d in delays)}"
        )
    print(f"   every update of the round answered once when due: {all_answered}/{rounds}")
    print(f"   resumed correctly: {correct}/{rounds} ({verdict(correct == rounds)})")
    print(
        f"   reminders asked for: {len(tasks)}; lost {rem_lost}, doubled {rem_doubled} "
        f"({verdict(rem_lost == rem_doubled == 0)})"
    )
    print(
        f"   restarts: median {sorted(starts)[len(starts) // 2]:.1f} s to /healthz; "
        f"updates left in the inbox table at the end: {left}; exit code on SIGTERM "
        f"{exit_code}; tracebacks in the bot's stderr: {stderr_problems(log)}"
    )
    for item in doubled[:10]:
        texts = Counter(m.text or m.caption or "" for m in emu.sent_messages(item.chat_id))
        twice = next((t for t, n in texts.items() if n > 1), "")
        print(f"   ! twice in chat {item.chat_id}: {twice[:60]!r}")
    for problem in problems[:10]:
        print(f"   ! {problem}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--mode", choices=["terminal", "webhook", "both"], default="both")
    parser.add_argument("--stack", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fresh-reader",
        action="store_true",
        help="read the database with a new connection each time (as an ops script would)",
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, seed {args.seed}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.mode in ("terminal", "both"):
            started = time.perf_counter()
            terminal_mode(args.rounds, random.Random(args.seed), Path(tmp), args.fresh_reader)
            print(f"   ({time.perf_counter() - started:.0f} s)")
        if args.mode in ("webhook", "both"):
            started = time.perf_counter()
            await webhook_mode(
                args.rounds, random.Random(args.seed), Path(tmp), args.stack, args.fresh_reader
            )
            print(f"   ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())
