"""The channel contract: what a user sees the same on every platform, over each `ChatDriver`.

Parametrised over every channel that exists (terminal, Telegram on python-telegram-bot and on
aiogram); a behaviour a platform cannot have (groups on the terminal) is skipped by name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, build_telegram_channel, build_wecom_channel
from bot.config import WecomSettings
from bot.faq.retriever import Retriever
from tests.channels.conftest import fast_limits
from tests.channels.drivers import ChatDriver, TelegramDriver, TerminalDriver, WecomDriver
from tests.channels.wecom_fake import BOT_ID, SECRET, FakeWecom
from tests.emulator import BotApiEmulator

DRIVERS = ["terminal", "telegram-ptb", "telegram-aiogram", "wecom"]
LONG_HELP = "\n\n".join(
    f"第{i}段：备案期间网站要关闭，域名不要解析到未备案的服务器。" * 6 for i in range(40)
)


@pytest.fixture(params=DRIVERS)
def platform(request: pytest.FixtureRequest) -> tuple[str, App, BotApiEmulator | None]:
    """The channel's name, the app it runs on and, for Telegram, the Bot API emulator."""
    if request.param in {"terminal", "wecom"}:
        return request.param, request.getfixturevalue("app"), None
    return request.param, request.getfixturevalue("tg_app"), request.getfixturevalue("emu")


@pytest.fixture
async def driver(
    platform: tuple[str, App, BotApiEmulator | None], tmp_path: Path
) -> AsyncIterator[ChatDriver]:
    """A user of the real composition on one platform."""
    name, app, emu = platform
    if name == "wecom":
        async with wecom_driver(app) as wecom:
            yield wecom
        return
    if emu is None:
        yield TerminalDriver(app, tmp_path / "exports")
        return
    stack = name.removeprefix("telegram-")
    bot = build_telegram_channel(app, stack, limiter=fast_limits, poll_timeout=1)
    await bot.start()
    try:
        yield TelegramDriver(app, stack, emu, bot)
    finally:
        await bot.stop()


@contextlib.asynccontextmanager
async def wecom_driver(app: App) -> AsyncIterator[WecomDriver]:
    """The real WeCom channel, subscribed to a local fake of the long connection."""
    fake = FakeWecom()
    await fake.start()
    wecom = WecomSettings(bot_id=BOT_ID, secret=SECRET, ws_url=fake.url)
    settings = app.settings.model_copy(update={"wecom": wecom})
    bot = build_wecom_channel(App(settings=settings, storage=app.storage, engine=app.engine))
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    await asyncio.wait_for(bot.connection.subscribed.wait(), 5)
    try:
        yield WecomDriver(app, fake, bot)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await fake.close()


def _needs(driver: ChatDriver, capability: str) -> None:
    if not getattr(driver, capability):
        pytest.skip(f"{driver.name}: no {capability.removeprefix('has_')}")


async def test_start_greets_and_names_the_filing_command(driver: ChatDriver) -> None:
    [greeting, *_] = await driver.say("/start")
    assert "你好" in greeting.text and "/filing" in greeting.text


async def test_offered_choices_can_be_picked(driver: ChatDriver) -> None:
    [question] = await driver.say("/forget")
    assert question.choices == ["确认删除", "不删除"]
    [answer] = await driver.pick(question, "不删除")
    assert "/filing" in answer.text  # "不删除" is /help: nothing was deleted
    [again] = await driver.say("/forget")
    assert again.choices == ["确认删除", "不删除"]


async def test_a_long_reply_arrives_whole_within_the_platform_limit(
    driver: ChatDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = driver.app.engine
    monkeypatch.setattr(engine, "replies", engine.replies.model_copy(update={"help": LONG_HELP}))
    parts = await driver.say("/help")
    if driver.max_length is not None:
        assert len(parts) > 1 and all(len(p.text) <= driver.max_length for p in parts)
    joined = "".join(p.text for p in parts)
    assert "".join(joined.split()) == "".join(LONG_HELP.split())  # nothing lost, in order


async def test_a_group_hears_only_what_is_addressed_to_the_bot(driver: ChatDriver) -> None:
    _needs(driver, "has_groups")
    assert await driver.say_in_group("备案要多久", addressed=False) == []
    [answer] = await driver.say_in_group("备案要多久", addressed=True)
    assert "工作日" in answer.text


async def test_personal_data_in_a_group_gets_a_warning_not_an_answer(driver: ChatDriver) -> None:
    _needs(driver, "has_groups")
    for text in ("我的身份证 440305199001010018 能备案吗", "手机 13800138000 收不到验证码"):
        # Where the bot hears only @mentions, the @mention is what brings the number to it.
        [warning] = await driver.say_in_group(text, addressed=not driver.sees_unaddressed)
        assert "身份证号或手机号" in warning.text and "私聊" in warning.text
        assert "440305199001010018" not in warning.text and "13800138000" not in warning.text


async def test_a_message_delivered_twice_is_handled_once(driver: ChatDriver) -> None:
    _needs(driver, "redelivers")
    [answer] = await driver.say_twice("备案要多久")
    assert "工作日" in answer.text


async def test_an_engine_error_costs_one_apology_and_the_next_message_works(
    driver: ChatDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index corrupted")

    retriever: Retriever = driver.app.engine.retriever
    with monkeypatch.context() as patch:
        patch.setattr(retriever, "match", broken)
        [apology] = await driver.say("备案要多久")
    assert apology.text == driver.app.engine.replies.error
    [answer] = await driver.say("备案要多久")
    assert "工作日" in answer.text


async def _set_sms_clock(driver: ChatDriver, in_group: bool) -> datetime:
    """The user reports the bureau's SMS; returns when its first reminder falls due."""
    if in_group:
        [confirmation] = await driver.say_in_group("/sms", addressed=True)
    else:
        [confirmation] = await driver.say("/sms")
    assert "24 小时" in confirmation.text
    return datetime.now(UTC) + timedelta(hours=12, minutes=1)


@pytest.mark.parametrize("in_group", [False, True], ids=["private", "group"])
async def test_a_reminder_reaches_the_chat_it_was_set_in(
    driver: ChatDriver, in_group: bool
) -> None:
    if in_group:
        _needs(driver, "has_groups")
    due = await _set_sms_clock(driver, in_group)
    assert await driver.reminders_due(due - timedelta(hours=1), in_group) == []
    [reminder] = await driver.reminders_due(due, in_group)
    assert "短信" in reminder.text and reminder.choices  # done / snooze / cancel
    if in_group:
        assert await driver.reminders_due(due, in_group=False) == []


def _stored_for(app: App, user_id: str) -> dict[str, int]:
    """Rows naming `user_id` in every table with a user_id column (read from the schema)."""
    conn = app.storage.db.conn  # type: ignore[attr-defined]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        table: conn.execute(
            f'SELECT count(*) FROM "{table}" WHERE user_id = ?', (user_id,)
        ).fetchone()[0]
        for table in tables
        if "user_id" in [c[1] for c in conn.execute(f"PRAGMA table_info('{table}')")]
    }


@pytest.mark.parametrize("how", ["text_mention", "reply", "mention"])
async def test_a_group_message_for_another_member_gets_no_reply_and_stores_nothing(
    driver: ChatDriver, how: str
) -> None:
    _needs(driver, "has_groups")
    if how not in driver.for_another:
        pytest.skip(f"{driver.name}: a group message reaches the bot only when it is addressed")
    replies, writer = await driver.say_for_another("备案要多久", how)
    assert replies == []
    stored = _stored_for(driver.app, writer)
    assert "sessions" in stored and set(stored.values()) == {0}, stored
    inbox = driver.app.storage.db.conn.execute("SELECT count(*) FROM inbox")  # type: ignore[attr-defined]
    assert inbox.fetchone()[0] == 0  # handled: the update's body is gone


@pytest.mark.parametrize("bot_first", [True, False], ids=["bot-first", "other-first"])
async def test_a_group_message_for_the_bot_and_another_member_is_answered(
    driver: ChatDriver, bot_first: bool
) -> None:
    _needs(driver, "has_groups")
    [answer] = await driver.say_to_bot_and_another("备案要多久", bot_first=bot_first)
    assert "工作日" in answer.text
