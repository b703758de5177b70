"""`beian-bot telegram` as an operator runs it: configuration errors, then a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

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
