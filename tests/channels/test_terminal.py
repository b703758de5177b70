"""The terminal channel as a user runs it: `beian-bot chat --json` and `beian-bot ask`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CACHE_DIR


def _run(args: list[str], stdin: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BEIAN_DB_PATH": str(db), "BEIAN_CACHE_DIR": str(CACHE_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_chat_json_writes_one_line_per_message(tmp_path: Path) -> None:
    lines = ["/start", "备案要多久", "", "😀", "x" * 100_000, "天气怎么样"]
    result = _run(["chat", "--json", "--user", "t1"], "\n".join(lines) + "\n", tmp_path / "a.db")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    for reply in out:
        assert reply["messages"] and all(set(m) == {"text", "choices"} for m in reply["messages"])
    assert "来源：" in out[1]["messages"][0]["text"]
    assert "Traceback" not in result.stderr


def test_chat_json_state_survives_a_second_run(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    first = _run(["chat", "--json", "--user", "t2"], "/forget\n", db)
    choices = json.loads(first.stdout.splitlines()[0])["messages"][0]["choices"]
    assert choices == ["确认删除", "不删除"]
    # a new process picks up the offered choices from the SQLite file
    second = _run(["chat", "--json", "--user", "t2"], "2\n", db)
    assert "/filing" in json.loads(second.stdout)["messages"][0]["text"]


def test_ask_json_reports_match_entry_and_suggestions(tmp_path: Path) -> None:
    result = _run(["ask", "--json", "-"], "备案要多久\n王者荣耀怎么上分\n", tmp_path / "c.db")
    answered, declined = (json.loads(line) for line in result.stdout.splitlines())
    assert answered["matched"] is True and answered["entry_id"] == "total-time"
    assert set(answered) == {"matched", "entry_id", "score", "answer", "suggestions"}
    assert declined["matched"] is False and declined["entry_id"] is None


def test_ask_prints_the_answer(tmp_path: Path) -> None:
    result = _run(["ask", "备案期间要不要解析域名"], "", tmp_path / "d.db")
    assert result.returncode == 0 and "来源：" in result.stdout


def test_ask_answers_in_the_language_of_the_question(tmp_path: Path) -> None:
    questions = "Is ICP filing free?\nWie lange dauert die ICP Anmeldung?\n"
    result = _run(["ask", "--json", "-"], questions, tmp_path / "e.db")
    english, german = (json.loads(line)["answer"] for line in result.stdout.splitlines())
    assert "Source:" in english
    assert german.startswith("Sorry, I can only answer in Chinese or English")


def test_ask_does_not_load_the_dialogue(tmp_path: Path) -> None:
    # What keeps `beian-bot ask` within its cold-start budget: no forms, validators or database.
    probe = (
        "import sys; from bot.cli import main; main(['ask', '备案要多久']);"
        "heavy = [m for m in ('bot.engine.core', 'bot.dialogue.forms', 'phonenumbers')"
        " if m in sys.modules]; print('LOADED', heavy)"
    )
    env = {
        **os.environ,
        "BEIAN_DB_PATH": str(tmp_path / "f.db"),
        "BEIAN_CACHE_DIR": str(CACHE_DIR),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_a_question_in_place_of_a_command_is_asked(tmp_path: Path) -> None:
    for argv in (["备案要多久"], ["个人备案", "要什么材料"]):
        result = _run(argv, "", tmp_path / "q.db")
        assert result.returncode == 0 and "来源：" in result.stdout, result.stderr


def test_ask_with_nothing_to_answer_exits_2_with_a_sentence(tmp_path: Path) -> None:
    for question in ("", "   ", "😀😀", "长" * 2001):
        result = _run(["ask", question], "", tmp_path / "e.db")
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("beian-bot: ") and "。" in result.stderr


def test_ask_from_stdin_refuses_a_long_line_like_chat_json(tmp_path: Path) -> None:
    long_line = "长" * 2001
    asked = _run(["ask", "--json", "-"], f"备案要多久\n{long_line}\n", tmp_path / "s.db")
    answered, refused = (json.loads(line) for line in asked.stdout.splitlines())
    assert answered["matched"] is True and refused["matched"] is False
    chat = _run(["chat", "--json"], f"{long_line}\n", tmp_path / "s2.db")
    assert refused["answer"] == json.loads(chat.stdout.splitlines()[0])["messages"][0]["text"]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("zh_CN.UTF-8", "回答一个问题后退出"), ("en_US.UTF-8", "answer one question and exit")],
)
def test_help_follows_the_locale(lang: str, expected: str) -> None:
    env = {**os.environ, "LANG": lang, "LC_ALL": ""}
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert expected in shown.stdout


def test_forget_leaves_none_of_the_users_values_in_the_files(tmp_path: Path) -> None:
    from tests.dialogue.test_dialogue import ENTERPRISE

    db = tmp_path / "p.db"
    lines = ["/filing", *ENTERPRISE, "确认", "/export", "明天上午10点提醒我给王五打电话"]
    filled = _run(["chat", "--json", "--user", "alice"], "\n".join(lines) + "\n", db)
    assert "文件已保存" in filled.stdout
    exports = tmp_path / "exports" / "alice"
    assert list(exports.iterdir())
    values = ["示例科技有限公司", "91350100M000100Y43", "lisi@example.com", "example.cn", "王五"]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    assert not any(v.encode() in on_disk for v in values)  # sealed at rest
    with sqlite3.connect(db) as conn:  # the ciphertexts the test can see before
        sealed = [
            str(row[0])[-40:].encode()
            for sql in ("SELECT state FROM sessions", "SELECT data FROM filings",
                        "SELECT user_name || payload FROM reminders")
            for row in conn.execute(sql)
        ]  # fmt: skip
    assert len(sealed) >= 3 and all(token in on_disk for token in sealed)

    forgot = _run(["chat", "--json", "--user", "alice"], "/forget\n确认删除\n", db)
    assert "已删除" in forgot.stdout
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    for token in sealed:
        assert token not in on_disk, token
    assert not exports.exists()
