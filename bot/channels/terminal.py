"""The terminal chat: interactive (line editing, history, Ctrl-D) and `--json` line mode."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.channels.base import render_plain
from bot.engine.core import Engine
from bot.messages import ChatKind, ChatRef, Incoming, Outgoing
from bot.privacy import contains_personal_data

CHANNEL = "terminal"


def chat_of(user_id: str) -> ChatRef:
    """The terminal user's one private chat."""
    return ChatRef(channel=CHANNEL, chat_id=user_id, kind=ChatKind.PRIVATE)


def _incoming(user_id: str, text: str) -> Incoming:
    chat = chat_of(user_id)
    return Incoming(chat=chat, user_id=user_id, user_name=user_id, text=text)


def export_folder(exports: Path, user_id: str) -> Path:
    """Where one user's exports go: their own folder, so /forget can remove exactly theirs."""
    return exports / (re.sub(r"[^A-Za-z0-9_.-]", "_", user_id).strip(".") or "_")


def _forget_exports(folder: Path) -> Callable[[str, str], None]:
    def forget(channel: str, user_id: str) -> None:
        """/forget: the user's export files go with their rows."""
        if channel == CHANNEL:
            shutil.rmtree(folder, ignore_errors=True)

    return forget


def save_documents(messages: list[Outgoing], folder: Path) -> list[Outgoing]:
    """Write attached files (exports) to `folder` and say where, since a terminal has no files."""
    out = []
    for message in messages:
        if message.document is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / message.document.filename
            path.write_bytes(message.document.content)
            message = message.model_copy(
                update={"text": f"{message.text}\n\n（文件已保存：{path}）"}
            )
        out.append(message)
    return out


def message_json(messages: list[Outgoing]) -> str:
    """The `chat --json` line for one user message: every reply, in order."""
    payload = {
        "messages": [{"text": m.text, "choices": [c.label for c in m.choices]} for m in messages]
    }
    return json.dumps(payload, ensure_ascii=False)


def run_json(
    engine: Engine,
    user_id: str,
    stdin: TextIO,
    stdout: TextIO,
    exports: Path,
) -> int:
    """One JSON line out for every line in; due reminders ride on that line (Engine.inline_due)."""
    folder = export_folder(exports, user_id)
    engine.on_forget.append(_forget_exports(folder))
    for line in stdin:
        replies = engine.handle(_incoming(user_id, line.rstrip("\n")))
        stdout.write(message_json(save_documents(replies, folder)) + "\n")
        stdout.flush()
    return 0


def run_interactive(
    engine: Engine,
    user_id: str,
    history_file: Path,
    exports: Path,
    poll_due: Callable[[], list[Outgoing]] | None = None,
    poll_seconds: float = 30.0,
) -> int:
    """A REPL with readline editing and history; Ctrl-D or /quit leaves.

    With `poll_due`, a reminder that falls due while the user is idle is printed right away.
    """
    _enable_readline(history_file)
    folder = export_folder(exports, user_id)
    engine.on_forget += [_forget_exports(folder), _forget_history(history_file)]
    # One lock: the engine and the poller share one SQLite connection.
    lock = threading.Lock()
    stopped = threading.Event()
    if poll_due is not None:
        threading.Thread(
            target=_poll_loop, args=(poll_due, lock, stopped, poll_seconds), daemon=True
        ).start()
    with lock:
        print(render_plain(engine.handle(_incoming(user_id, "/start"))[0]))
    print("（输入问题后回车；Ctrl-D 退出）")
    try:
        return _repl(engine, user_id, folder, lock)
    finally:
        stopped.set()


def _poll_loop(
    poll_due: Callable[[], list[Outgoing]],
    lock: threading.Lock,
    stopped: threading.Event,
    seconds: float,
) -> None:
    while not stopped.wait(seconds):
        with lock:
            due = poll_due()
        for reminder in due:
            print("\n" + render_plain(reminder) + "\n你> ", end="", flush=True)


def _repl(engine: Engine, user_id: str, exports: Path, lock: threading.Lock) -> int:
    while True:
        try:
            line = input("\n你> ")
        except EOFError:
            print("\n再见！")
            return 0
        except KeyboardInterrupt:
            print()
            continue
        _forget_if_personal(line)
        if line.strip() in {"/quit", "/exit"}:
            print("再见！")
            return 0
        with lock:
            replies = engine.handle(_incoming(user_id, line))
        for reply in save_documents(replies, exports):
            print("\n" + render_plain(reply))


def _enable_readline(history_file: Path) -> None:
    """Line editing and a persistent history where the platform has readline."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return
    history_file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history_file)
    readline.set_history_length(1000)
    import atexit

    atexit.register(_save_history, readline, history_file)


def _forget_history(history_file: Path) -> Callable[[str, str], None]:
    def forget(channel: str, user_id: str) -> None:
        """/forget: what the user typed is gone from the line history and its file."""
        with contextlib.suppress(ImportError):
            import readline

            readline.clear_history()
        with contextlib.suppress(OSError):
            history_file.write_bytes(b"")

    return forget


def _forget_if_personal(line: str) -> None:
    """Keep ID and mobile numbers out of the history file: it is a log on disk."""
    if not contains_personal_data(line):
        return
    try:
        import readline
    except ImportError:
        return
    length = readline.get_current_history_length()
    if length:
        readline.remove_history_item(length - 1)


def _save_history(readline_module: object, history_file: Path) -> None:
    with contextlib.suppress(OSError):
        readline_module.write_history_file(history_file)  # type: ignore[attr-defined]
