"""`beian-bot telegram` as an operator runs it: configuration errors, then a real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from tests.conftest import CACHE_DIR
from tests.emulator import BotApiEmulator


def test_without_a_token_it_exits_2_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("BEIAN_DB_PATH", str(tmp_path / "t.db"))
    assert main(["telegram", "--stack", "aiogram"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "BEIAN_TELEGRAM__TOKEN" in err
    assert not (tmp_path / "t.db").exists()  # it stopped before touching anything


def test_an_unknown_stack_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["telegram", "--stack", "telethon"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("stack", ["ptb", "aiogram"])
async def test_the_process_polls_answers_and_stops_on_sigterm(
    stack: str, tmp_path: Path, emu: BotApiEmulator
) -> None:
    env = {
        **os.environ,
        "BEIAN_TELEGRAM__TOKEN": emu.token,
        "BEIAN_TELEGRAM__API_BASE_URL": emu.base_url,
        "BEIAN_DB_PATH": str(tmp_path / "bot.db"),
        "BEIAN_CACHE_DIR": str(CACHE_DIR),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        "--stack",
        stack,
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        user = emu.add_user("Ops")
        emu.send_message(user.id, user, "/start")
        [greeting] = await emu.wait_for_messages(user.id, timeout=30)
        assert "你好" in (greeting.text or "")
        assert len(emu.commands()) == 9
        assert (tmp_path / "telegram.heartbeat").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _webhook_process(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    """`beian-bot telegram --webhook` on 127.0.0.1:`port`, returned once it answers."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "telegram", "--webhook", "https://bot.example.com/telegram",
        "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=env["BEIAN_DB_PATH"].rsplit("/", 1)[0], stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return process
            await asyncio.sleep(0.1)
    process.kill()
    raise TimeoutError("the webhook process did not start")


async def test_sigterm_in_webhook_mode_loses_no_update_it_answered_200(
    tmp_path: Path, emu: BotApiEmulator
) -> None:
    """uvicorn re-raised SIGTERM and the process died with its queue: 27 of 30 were lost."""
    port = _free_port()
    env = {
        **os.environ,
        "BEIAN_TELEGRAM__TOKEN": emu.token,
        "BEIAN_TELEGRAM__API_BASE_URL": emu.base_url,
        "BEIAN_TELEGRAM__WEBHOOK_SECRET": "hook-secret",
        "BEIAN_TELEGRAM__SHUTDOWN_GRACE": "0",  # stop at once: what is queued must be kept
        "BEIAN_DB_PATH": str(tmp_path / "bot.db"),
        "BEIAN_CACHE_DIR": str(CACHE_DIR),
    }
    users = [emu.add_user(f"U{n}") for n in range(10)]
    questions = ["备案要多久", "/help", "个人可以备案吗"]
    updates = [emu.send_message(u.id, u, q) for q in questions for u in users]
    process = await _webhook_process(env, port)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        posted = await asyncio.gather(
            *(http.post("/telegram", json=u, headers=headers) for u in updates)
        )
    assert [r.status_code for r in posted] == [200] * len(updates)
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    again = await _webhook_process(env, port)
    try:
        for user in users:
            await emu.wait_for_messages(user.id, count=len(questions), timeout=30)
        await asyncio.sleep(0.5)  # nothing more comes: no update was handled twice
    finally:
        again.send_signal(signal.SIGTERM)
        await asyncio.wait_for(again.communicate(), timeout=30)
    for user in users:
        assert len(emu.sent_messages(user.id)) == len(questions)
