"""Three `beian-bot telegram --webhook` workers on one PostgreSQL database, as behind a load
balancer: one chat's updates spread over them (with Telegram's resends) are answered in order
and once, and a worker killed with SIGKILL loses nothing it answered 200 for."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.app import build_app
from bot.channels.inbox import SENDING_SECONDS
from bot.config import Settings
from tests.channels.test_telegram_cli import _free_port, _webhook_process
from tests.conftest import CACHE_DIR
from tests.drivers import EngineChat
from tests.emulator import BotApiEmulator
from tests.storage.conftest import pg_server, pg_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="servers run as on CI")
SECRET = "workers-secret"
# The filing dialogue: an answer taken twice, or two taken out of order, shows as a wrong or
# repeated question number in the replies.
ANSWERS = [
    "/filing", "个人", "中国大陆居民身份证", "广东", "中国大陆", "腾讯云", "1年", "200天",
    "1.2.3.4", "张三",
]  # fmt: skip
STEP = re.compile(r"（(\d+)/\d+）")


def _steps(texts: list[str]) -> list[int]:
    return [int(m.group(1)) for t in texts for m in [STEP.search(t)] if m]


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The replies one process on SQLite gives to ANSWERS."""
    db = tmp_path_factory.mktemp("reference") / "ref.db"
    app = build_app(Settings(_env_file=None, db_path=db, cache_dir=CACHE_DIR))
    chat = EngineChat(app.engine, channel="telegram")
    texts = [reply for text in ANSWERS for reply in chat.say(text)]
    app.storage.close()
    return texts


@pytest.fixture
def worker_env(tmp_path: Path, emu: BotApiEmulator, pg_url: str) -> dict[str, str]:  # noqa: F811
    return {
        **os.environ,
        "BEIAN_DATABASE_URL": pg_url,
        "BEIAN_DATA_KEY": Fernet.generate_key().decode(),
        "BEIAN_TELEGRAM__TOKEN": emu.token,
        "BEIAN_TELEGRAM__API_BASE_URL": emu.base_url,
        "BEIAN_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "BEIAN_DB_PATH": str(tmp_path / "unused.db"),  # the heartbeat's folder
        "BEIAN_CACHE_DIR": str(CACHE_DIR),
    }


async def _post(port: int, update: dict[str, object]) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://127.0.0.1:{port}/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    return response.status_code


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        await asyncio.wait_for(process.communicate(), timeout=30)


async def test_one_chat_spread_over_three_workers_is_answered_in_order_and_once(
    worker_env: dict[str, str], emu: BotApiEmulator, expected: list[str]
) -> None:
    ports = [_free_port() for _ in range(3)]
    workers = [await _webhook_process(worker_env, port) for port in ports]
    try:
        user = emu.add_user("Spread")
        for n, text in enumerate(ANSWERS):
            update = emu.send_message(user.id, user, text)
            assert update is not None
            # Round robin, and Telegram's resend of each to the next worker.
            assert await _post(ports[n % 3], update) == 200
            assert await _post(ports[(n + 1) % 3], update) == 200
        await emu.wait_for_messages(user.id, count=len(expected), timeout=60)
        await asyncio.sleep(1.0)  # nothing more comes
    finally:
        await _stop(workers)
    texts = [m.text or "" for m in emu.sent_messages(user.id)]
    assert len(texts) == len(expected)
    assert _steps(texts) == _steps(expected), texts


async def test_a_worker_killed_mid_load_loses_no_update_it_answered_200_for(
    worker_env: dict[str, str], emu: BotApiEmulator, expected: list[str]
) -> None:
    """What it had kept and not started is handled by the others, oldest first; the turn it
    had in hand is either rolled back (and redone) or committed with its replies kept, which
    another worker sends. Only a reply on its way at the kill may come twice."""
    ports = [_free_port() for _ in range(3)]
    workers = [await _webhook_process(worker_env, port) for port in ports]
    users = [emu.add_user(f"K{n}") for n in range(6)]
    try:
        for n, text in enumerate(ANSWERS):
            doomed = n == len(ANSWERS) // 2
            for k, user in enumerate(users):
                update = emu.send_message(user.id, user, text)
                assert update is not None
                # This round goes to worker 1 only, which is killed as soon as it said 200.
                port = ports[1] if doomed else [ports[0], ports[2]][(n + k) % 2]
                assert await _post(port, update) == 200
            if doomed:
                workers[1].send_signal(signal.SIGKILL)
                await workers[1].wait()
        steps = _steps(expected)
        # A worker on another host is known dead only after SENDING_SECONDS of silence;
        # here the pid tells at once.
        await emu.wait_for(
            lambda: all(
                _deduped(_steps([m.text or "" for m in emu.sent_messages(u.id)])) == steps
                for u in users
            ),
            timeout=SENDING_SECONDS + 30,
        )
        await asyncio.sleep(1.0)
    finally:
        await _stop(workers)
    repeated = 0
    for user in users:
        got = _steps([m.text or "" for m in emu.sent_messages(user.id)])
        # Every answer taken once and in order, every reply delivered.
        assert _deduped(got) == steps, user.first_name
        repeated += len(got) - len(steps)
    assert repeated <= 1


def _deduped(steps: list[int]) -> list[int]:
    """The steps with a message repeated right after itself counted once."""
    return [s for n, s in enumerate(steps) if n == 0 or s != steps[n - 1]]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_reply_committed_but_not_sent_when_killed_is_sent_by_the_restarted_worker(
    database: str,
    worker_env: dict[str, str],
    emu: BotApiEmulator,
    expected: list[str],
    tmp_path: Path,
) -> None:
    """Killed while Telegram held its reply back (429), the worker had committed the turn:
    the answer is taken and the question moved on. The restart sends the kept reply before
    it answers the next message, without waiting out another worker's silence."""
    env = dict(worker_env)
    if database == "sqlite":
        del env["BEIAN_DATABASE_URL"]
        env["BEIAN_DB_PATH"] = str(tmp_path / "bot.db")
    user = emu.add_user("Held")
    port = _free_port()
    worker = await _webhook_process(env, port)
    try:
        for text in ANSWERS[:2]:
            if text == ANSWERS[1]:
                await emu.wait_for_messages(user.id, count=1, timeout=30)
                # Long enough to kill it while it waits; on PostgreSQL the restart waits out
                # the rest too, as every worker keeps a chat's 429.
                emu.rate_limit(user.id, retry_after=5)
            update = emu.send_message(user.id, user, text)
            assert update is not None and await _post(port, update) == 200
        await emu.wait_for(
            lambda: any(r.method == "sendMessage" and r.status == 429 for r in emu.requests),
            timeout=30,
        )
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        worker = await _webhook_process(env, port)
        await emu.wait_for_messages(user.id, count=2, timeout=SENDING_SECONDS / 2)
        update = emu.send_message(user.id, user, ANSWERS[2])
        assert update is not None and await _post(port, update) == 200
        await emu.wait_for_messages(user.id, count=3, timeout=30)
        await asyncio.sleep(0.5)
    finally:
        await _stop([worker])
    got = [m.text or "" for m in emu.sent_messages(user.id)]
    assert _steps(got) == _steps(expected)[:3], got
