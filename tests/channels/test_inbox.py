"""The shared bridge on both stacks with a scripted engine: typing, files, splitting, failures."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.channels.inbox import BACKLOG_LIMIT
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.stack_aiogram import AiogramChannel
from bot.channels.telegram.stack_ptb import PtbChannel
from bot.messages import Choice, Document, Incoming, Outgoing
from bot.storage.sqlite import SqliteStorage
from tests.channels.conftest import Talk, fast_limits, settle
from tests.emulator import BotApiEmulator

Script = Callable[[Incoming], list[Outgoing]]


@dataclass
class ScriptedEngine:
    """Answers with `script(msg)` after `delay` seconds (the real engine is synchronous too)."""

    script: Script
    delay: float = 0.0
    seen: list[Incoming] = field(default_factory=list)

    def handle(self, msg: Incoming) -> list[Outgoing]:
        self.seen.append(msg)
        time.sleep(self.delay)
        return self.script(msg)


def echo(msg: Incoming) -> list[Outgoing]:
    return [Outgoing(chat=msg.chat, text=f"echo {msg.text}")]


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine(echo)


@pytest.fixture
async def scripted_bot(
    stack: str, emu: BotApiEmulator, engine: ScriptedEngine
) -> AsyncIterator[TelegramChannel]:
    channel_class = {"ptb": PtbChannel, "aiogram": AiogramChannel}[stack]
    storage = SqliteStorage(":memory:")
    channel = channel_class(
        token=emu.token,
        api_root=emu.base_url + "/",
        engine=engine,
        store=storage.inbox,
        error_text="抱歉，出了问题。",
        busy_text="太快了",
        limiter=fast_limits,
        typing_delay=0.25,
        poll_timeout=1,
    )
    await channel.start()
    yield channel
    await channel.stop()
    storage.close()


@pytest.fixture
def user(emu: BotApiEmulator, scripted_bot: TelegramChannel) -> Talk:
    person = emu.add_user("Erin")
    return Talk(emu, scripted_bot, person, emu.chats[person.id])


async def test_typing_is_shown_only_when_the_reply_takes_a_while(
    user: Talk, emu: BotApiEmulator, engine: ScriptedEngine
) -> None:
    await user.say("快")
    assert emu.chat_actions == []
    engine.delay = 0.6
    [reply] = await user.say("慢")
    assert reply.text == "echo 慢"
    assert emu.chat_actions == [(user.chat.id, "typing")]


async def test_a_long_reply_is_split_with_the_buttons_on_the_last_part(
    user: Talk, engine: ScriptedEngine
) -> None:
    long_text = ("备案需要准备身份证、域名证书和网站负责人的手机号。" * 20 + "\n\n") * 20
    choices = [Choice(label="知道了", value="ok")]
    engine.script = lambda msg: [Outgoing(chat=msg.chat, text=long_text, choices=choices)]
    parts = await user.say("材料")
    assert len(parts) == 3
    assert all(len(p.text or "") <= 4096 for p in parts)
    assert [bool(p.buttons) for p in parts] == [False, False, True]
    assert "".join(p.text or "" for p in parts).replace("\n", "") == long_text.replace("\n", "")


async def test_an_export_arrives_as_a_file(user: Talk, engine: ScriptedEngine) -> None:
    doc = Document(
        filename="备案资料.txt", content="域名：example.com".encode(), mime_type="text/plain"
    )
    engine.script = lambda msg: [Outgoing(chat=msg.chat, text="你的资料（已打码）", document=doc)]
    [sent] = await user.say("/export")
    assert sent.document is not None
    assert (sent.document.filename, sent.document.content) == ("备案资料.txt", doc.content)
    assert sent.caption == "你的资料（已打码）"


async def test_an_engine_failure_gets_the_error_reply_and_the_bot_goes_on(
    user: Talk, engine: ScriptedEngine, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(msg: Incoming) -> list[Outgoing]:
        raise RuntimeError("bug")

    engine.script = broken
    with caplog.at_level(logging.ERROR):
        [sorry] = await user.say("你好")
    assert sorry.text == "抱歉，出了问题。"
    assert "engine failed" in caplog.text
    engine.script = echo
    assert [m.text for m in await user.say("再试")] == ["echo 再试"]


async def test_a_blocked_chat_is_logged_and_others_are_served(
    emu: BotApiEmulator, scripted_bot: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    gone, other = emu.add_user("Gone"), emu.add_user("Other")
    emu.block(gone.id)
    with caplog.at_level(logging.WARNING):
        emu.send_message(gone.id, gone, "hi")
        while "not delivered" not in caplog.text:
            await asyncio.sleep(0.01)
    assert "blocked" in caplog.text
    emu.send_message(other.id, other, "hi")
    [reply] = await emu.wait_for_messages(other.id)
    assert reply.text == "echo hi"
    await settle(scripted_bot)


async def test_an_expired_button_is_answered_and_not_guessed(
    user: Talk, emu: BotApiEmulator, engine: ScriptedEngine, scripted_bot: TelegramChannel
) -> None:
    value = "/faq " + "很长的编号" * 10
    engine.script = lambda msg: [
        Outgoing(chat=msg.chat, text="选吧", choices=[Choice(label="这个", value=value)])
    ]
    [question] = await user.say("问")
    scripted_bot.keys = type(scripted_bot.keys)()  # as after a restart
    emu.press_button(user.chat.id, user.user, question.message_id, question.buttons[0][1] or "")
    await emu.wait_for(lambda: emu.answered_callbacks)
    await settle(scripted_bot)
    assert "失效" in (emu.answered_callbacks[0]["text"] or "")
    assert [m.text for m in engine.seen] == ["问"]


def hooked(
    stack: str, emu: BotApiEmulator, engine: ScriptedEngine, storage: SqliteStorage, **options: Any
) -> TelegramChannel:
    """A channel fed only through `feed`, as in webhook mode (start it with polling=False)."""
    channel_class = {"ptb": PtbChannel, "aiogram": AiogramChannel}[stack]
    return channel_class(
        token=emu.token, api_root=emu.base_url, engine=engine, store=storage.inbox,
        error_text="抱歉", busy_text="太快了", limiter=fast_limits, **options,
    )  # fmt: skip


async def test_updates_not_started_at_a_stop_are_kept_and_handled_once_at_the_next_start(
    stack: str, emu: BotApiEmulator, tmp_path: Path
) -> None:
    """A webhook answered 200 for each: after the stop only the database has them."""
    engine = ScriptedEngine(echo, delay=0.02)

    def run(storage: SqliteStorage) -> TelegramChannel:
        return hooked(stack, emu, engine, storage, grace=0.0)

    users = [emu.add_user(f"U{n}") for n in range(6)]
    texts = [f"m{k}" for k in range(5)]
    storage = SqliteStorage(tmp_path / "bot.db")
    first = run(storage)
    await first.start(polling=False)
    updates = [emu.send_message(user.id, user, text) for text in texts for user in users]
    # Posted at once, as Telegram does over several connections; each one twice (a resend).
    await asyncio.gather(*(first.feed(u) for u in updates for _ in range(2) if u is not None))
    await first.stop()
    storage.close()
    storage = SqliteStorage(tmp_path / "bot.db")  # as after a restart
    kept = storage.inbox.waiting("telegram")
    assert 0 < len(kept) < len(users) * len(texts)
    second = run(storage)
    await second.start(polling=False)
    for user in users:
        await emu.wait_for_messages(user.id, count=len(texts))
    await settle(second)
    await second.stop()
    for user in users:
        assert [m.text for m in emu.sent_messages(user.id)] == [f"echo {t}" for t in texts]
    assert storage.inbox.waiting("telegram") == []
    storage.close()


async def test_a_flooding_chat_gets_one_notice_and_its_backlog_while_others_stay_fast(
    stack: str, emu: BotApiEmulator, engine: ScriptedEngine
) -> None:
    """2,000 messages in ten seconds used to mean 2,000 answers over half an hour."""
    engine.delay = 0.1  # slower than taking updates in, as sending at 1 message/s per chat is
    storage = SqliteStorage(":memory:")
    scripted_bot = hooked(stack, emu, engine, storage)
    await scripted_bot.start(polling=False)
    flooder, other = emu.add_user("Flood"), emu.add_user("Calm")
    burst = [emu.send_message(flooder.id, flooder, f"m{n}") for n in range(300)]
    flood = asyncio.gather(*(scripted_bot.feed(u) for u in burst if u is not None))
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    calm = emu.send_message(other.id, other, "备案要多久")
    assert calm is not None
    await scripted_bot.feed(calm)
    [answer] = await emu.wait_for_messages(other.id)
    waited = loop.time() - asked
    await flood
    await settle(scripted_bot, timeout=30)
    got = [m.text or "" for m in emu.sent_messages(flooder.id)]  # all text: None fails int()
    assert answer.text == "echo 备案要多久" and waited < 1.0
    assert got.count("太快了") == 1
    echoes = [int(t.removeprefix("echo m")) for t in got if t != "太快了"]
    # The backlog in order from the first (plus the one in hand), the rest dropped.
    assert echoes == list(range(len(echoes)))
    assert BACKLOG_LIMIT <= len(echoes) <= BACKLOG_LIMIT + 2
    # Caught up, the chat is served again (and a resend of a dropped update stays dropped).
    await scripted_bot.feed(burst[-1] or {})
    again = emu.send_message(flooder.id, flooder, "还在吗")
    assert again is not None
    await scripted_bot.feed(again)
    await settle(scripted_bot)
    assert [m.text for m in emu.sent_messages(flooder.id)][-1] == "echo 还在吗"
    assert len(emu.sent_messages(flooder.id)) == len(got) + 1
    await scripted_bot.stop()
    storage.close()
