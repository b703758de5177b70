"""What only Telegram has, on both stacks, over real HTTP against the Bot API emulator.

The behaviour every channel shares is in test_contract.py. Every test here runs twice (`stack`
is parametrised over ["ptb", "aiogram"] in conftest.py): the user side speaks through the
emulator, the bot is the real composition polling it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.codec import BOT_COMMANDS, CHANNEL
from bot.reminders import QuietHours, ReminderSender
from bot.storage.sqlite import SqliteStorage
from tests.channels.conftest import Talk, settle
from tests.conftest import sqlite_db
from tests.dialogue.test_dialogue import PERSONAL
from tests.emulator import BotApiEmulator, SentMessage


def _texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text or m.caption or "" for m in messages)


async def test_start_greets_and_sets_the_command_menu(alice: Talk, emu: BotApiEmulator) -> None:
    [greeting] = await alice.say("/start")
    assert "你好" in (greeting.text or "") and "/filing" in (greeting.text or "")
    assert greeting.parse_mode is None  # plain text: nothing to escape, nothing to break
    menu = emu.commands()
    assert [c["command"] for c in menu] == [
        "start",
        "help",
        "filing",
        "status",
        "reminders",
        "export",
        "forget",
        "cancel",
        "lang",
    ]
    assert menu == [{"command": c, "description": d} for c, d in BOT_COMMANDS]


async def test_faq_question_is_answered_with_its_source(alice: Talk) -> None:
    [answer] = await alice.say("备案要多久")
    assert "工作日" in (answer.text or "") and "来源：" in (answer.text or "")


async def test_a_pressed_button_is_answered_and_handled_like_the_typed_choice(
    alice: Talk, emu: BotApiEmulator
) -> None:
    [question] = await alice.say("/forget")
    assert [label for label, _ in question.buttons] == ["确认删除", "不删除"]
    [answer] = await alice.press(question, "不删除")
    assert "/filing" in (answer.text or "")  # "不删除" is the choice value /help
    assert emu.answered_callbacks[-1]["text"] is None


async def test_filing_dialogue_with_buttons_to_the_end(alice: Talk, emu: BotApiEmulator) -> None:
    replies = await alice.say("/filing")
    pressed = typed = 0
    for answer in PERSONAL:
        last = replies[-1]
        if answer in dict(last.buttons):
            replies = await alice.press(last, answer)
            pressed += 1
        else:
            replies = await alice.say(answer)
            typed += 1
    assert pressed >= 5 and typed >= 5
    summary = _texts(replies)
    assert "请核对你的资料" in summary
    assert "440***********0018" in summary and "440305199001010018" not in summary
    confirm = next(label for label, _ in replies[-1].buttons if "确认" in label)
    report = _texts(await alice.press(replies[-1], confirm))
    assert "【预审报告】" in report and "【材料清单】" in report
    assert len(emu.answered_callbacks) == pressed + 1

    exported = await alice.say("/export")
    documents = [m for m in exported if m.document is not None]
    assert documents, _texts(exported)
    assert documents[0].document is not None
    assert b"440305199001010018" not in documents[0].document.content


@pytest.mark.parametrize("label", ["确认删除", "不删除"])
async def test_someone_elses_button_in_a_group_changes_nothing(
    emu: BotApiEmulator, bot: TelegramChannel, tg_app: App, label: str
) -> None:
    group = emu.add_group("备案交流群", supergroup=True, bot_admin=True)
    alice, bob = emu.add_user("Alice", username="alice"), emu.add_user("Bob", username="bob")
    for user in (alice, bob):  # both have data in the group
        await Talk(emu, bot, user, group).say("@beian_test_bot 我刚收到管局的短信")
    rows_before = tg_app.storage.reminders.open_for_user("telegram", str(bob.id))
    [question] = await Talk(emu, bot, alice, group).say("/forget@beian_test_bot")
    before = len(emu.sent_messages(group.id))
    data = dict(question.buttons)[label]
    assert data is not None
    emu.press_button(group.id, bob, question.message_id, data)
    await emu.wait_for(lambda: len(emu.answered_callbacks) >= 1)
    await asyncio.sleep(0.3)
    assert emu.answered_callbacks[-1]["text"] == "这个按钮不是给你的。"
    assert len(emu.sent_messages(group.id)) == before  # nothing said, nothing done
    assert tg_app.storage.reminders.open_for_user("telegram", str(bob.id)) == rows_before
    assert tg_app.storage.reminders.open_for_user("telegram", str(alice.id)) != []
    # The user it was offered to can still press it.
    [done] = await Talk(emu, bot, alice, group).press(question, "确认删除")
    assert "已删除" in (done.text or "")
    assert tg_app.storage.reminders.open_for_user("telegram", str(alice.id)) == []
    assert tg_app.storage.reminders.open_for_user("telegram", str(bob.id)) == rows_before


async def test_group_ignores_chatter_and_answers_a_mention_or_a_reply(
    emu: BotApiEmulator, bot: TelegramChannel, tg_app: App
) -> None:
    # As an admin the bot sees every group message (privacy mode lets admins read all).
    group = emu.add_group("备案交流群", supergroup=True, bot_admin=True)
    bob = emu.add_user("Bob", username="bob")
    talk = Talk(emu, bot, bob, group)
    emu.send_message(group.id, bob, "今天天气不错")
    emu.send_message(group.id, bob, "备案要多久")  # a question, but not to the bot
    [answer] = await talk.say("@beian_test_bot 备案要多久")
    assert "工作日" in (answer.text or "")
    assert len(emu.sent_messages(group.id)) == 1
    [again] = await talk.say("那短信核验呢", reply_to=answer.message_id)
    assert again.text and again.text != answer.text
    # Nothing of the chatter was stored.
    rows = sqlite_db(tg_app.storage).execute("SELECT state FROM sessions").fetchall()
    assert not any("天气" in row[0] for row in rows)


async def test_group_filing_gets_a_pointer_and_a_deep_link(
    emu: BotApiEmulator, bot: TelegramChannel
) -> None:
    group = emu.add_group("备案交流群")
    bob = emu.add_user("Bob")  # no username: the mention is a text_mention entity
    talk = Talk(emu, bot, bob, group)
    [pointer] = await talk.say("/filing@beian_test_bot")
    assert "私聊" in (pointer.text or "") and "\n" not in (pointer.text or "").strip()
    urls = [b.get("url") for row in (pointer.reply_markup or {})["inline_keyboard"] for b in row]
    assert "https://t.me/beian_test_bot?start=filing" in urls
    [mention] = pointer.entities or []
    assert mention["type"] == "text_mention" and mention["user"]["id"] == bob.id
    # The deep link opens the private chat with `/start filing`: the dialogue starts there.
    private = Talk(emu, bot, bob, emu.chats[bob.id])
    opened = await private.say("/start filing")
    assert "（1/" in _texts(opened) and opened[-1].buttons


async def test_id_number_in_a_group_is_warned_about_and_deleted_by_an_admin_bot(
    emu: BotApiEmulator, bot: TelegramChannel
) -> None:
    group = emu.add_group("备案交流群", supergroup=True, bot_admin=True)
    carol = emu.add_user("Carol", username="carol")
    talk = Talk(emu, bot, carol, group)
    update = emu.send_message(group.id, carol, "我的身份证 440305199001010018 能备案吗")
    assert update is not None
    user_message = update["message"]["message_id"]
    [warning] = await talk.replies(0)
    assert "身份证号或手机号" in (warning.text or "")
    assert (warning.entities or [])[0]["user"]["id"] == carol.id
    assert (group.id, user_message) in emu.deleted_messages


async def test_mobile_number_warning_without_admin_rights_is_still_sent(
    emu: BotApiEmulator, bot: TelegramChannel
) -> None:
    group = emu.add_group("备案交流群")
    dave = emu.add_user("Dave")
    talk = Talk(emu, bot, dave, group)
    [warning] = await talk.say("@beian_test_bot 我手机 13800138000 收不到短信")
    assert "身份证号或手机号" in (warning.text or "")
    assert emu.deleted_messages == []  # not an admin: Telegram refuses, the bot carries on
    [answer] = await talk.say("/help")
    assert "/filing" in (answer.text or "")


NEVER_QUIET = QuietHours(start=0, end=0)


async def set_sms_clock(talk: Talk, app: App) -> datetime:
    """The user tells the bot the bureau's SMS arrived (/sms); returns the first due time."""
    [confirmation] = await talk.say("/sms@beian_test_bot")
    assert "24 小时" in (confirmation.text or "")
    reader = SqliteStorage(app.settings.db_path).db  # the bot's connection is its thread's
    try:
        query = "SELECT min(due_at) FROM reminders WHERE chat_id = ? AND status = 'pending'"
        row = reader.execute(query, (str(talk.chat.id),)).fetchone()
    finally:
        reader.close()
    return datetime.fromtimestamp(row[0], UTC)


async def send_due(app: App, bot: TelegramChannel, at: datetime) -> None:
    """One pass of the reminder sender, on its own connection, through the bot's outbox."""
    storage = SqliteStorage(app.settings.db_path)
    try:
        service = ReminderSender(
            storage.reminders, {CHANNEL: bot.outbox}, clock=lambda: at, quiet=NEVER_QUIET
        )
        await service.run_until_idle()
    finally:
        storage.close()


async def test_a_reminder_set_in_a_group_is_delivered_there_mentioning_the_user(
    emu: BotApiEmulator, bot: TelegramChannel, tg_app: App
) -> None:
    group = emu.add_group("备案交流群", supergroup=True)
    bob = emu.add_user("Bob")
    due = await set_sms_clock(Talk(emu, bot, bob, group), tg_app)
    before = len(emu.sent_messages(group.id))
    await send_due(tg_app, bot, due + timedelta(seconds=1))
    [reminder] = emu.sent_messages(group.id)[before:]
    assert "短信" in (reminder.text or "") and (reminder.text or "").startswith("@Bob")
    [mention] = reminder.entities or []
    assert (mention["type"], mention["offset"]) == ("text_mention", 0)
    assert mention["user"]["id"] == bob.id
    assert reminder.buttons  # done / snooze / cancel
    assert emu.sent_messages(bob.id) == []


async def test_a_chat_that_blocked_the_bot_has_its_reminders_paused(
    emu: BotApiEmulator, bot: TelegramChannel, tg_app: App
) -> None:
    carol = emu.add_user("Carol")
    due = await set_sms_clock(Talk(emu, bot, carol, emu.chats[carol.id]), tg_app)
    emu.block(carol.id)
    await send_due(tg_app, bot, due + timedelta(seconds=1))
    statuses = [row[0] for row in sqlite_db(tg_app.storage).execute(
        "SELECT status FROM reminders WHERE chat_id = ? ORDER BY due_at", (str(carol.id),)
    )]  # fmt: skip
    assert statuses[0] == "failed" and set(statuses[1:]) == {"paused"}
    assert len(emu.sent_messages(carol.id)) == 1  # only the confirmation


async def test_a_reply_to_a_chat_that_blocked_the_bot_pauses_its_reminders(
    emu: BotApiEmulator, bot: TelegramChannel, tg_app: App
) -> None:
    dan = emu.add_user("Dan")
    await set_sms_clock(Talk(emu, bot, dan, emu.chats[dan.id]), tg_app)
    emu.block(dan.id)  # between his next message and the bot's reply
    emu.send_message(dan.id, dan, "/help")
    query = "SELECT count(*) FROM reminders WHERE chat_id = ? AND status = 'paused'"
    reader = SqliteStorage(tg_app.settings.db_path).db
    try:
        while not reader.execute(query, (str(dan.id),)).fetchone()[0]:
            await asyncio.sleep(0.01)
    finally:
        reader.close()
    await settle(bot)
    assert len(emu.sent_messages(dan.id)) == 1  # only the confirmation


async def test_a_429_delays_only_the_chat_it_concerns(
    emu: BotApiEmulator, bot: TelegramChannel
) -> None:
    slow = emu.add_user("Slow")
    fast = emu.add_user("Fast")
    emu.rate_limit(slow.id, count=1, retry_after=1)
    started = time.monotonic()
    emu.send_message(slow.id, slow, "/help")
    emu.send_message(fast.id, fast, "/help")
    await emu.wait_for_messages(fast.id, 1)
    fast_time = time.monotonic() - started
    await emu.wait_for_messages(slow.id, 1, timeout=5)
    slow_time = time.monotonic() - started
    assert fast_time < 0.9 <= 1.0 <= slow_time
    await settle(bot)


async def test_messages_of_one_chat_keep_their_order(alice: Talk, emu: BotApiEmulator) -> None:
    questions = ["/help", "备案要多久", "/start", "备案期间要解析吗", "/help"]
    for text in questions:
        emu.send_message(alice.chat.id, alice.user, text)
    replies = await emu.wait_for_messages(alice.chat.id, len(questions))
    texts = [m.text or "" for m in replies]
    assert "/forget" in texts[0] and "来源：" in texts[1] and "你好" in texts[2]
    assert "来源：" in texts[3] and texts[4] == texts[0]


async def test_twenty_chats_at_once_each_get_their_answer(
    emu: BotApiEmulator, bot: TelegramChannel
) -> None:
    users = [emu.add_user(f"U{i}") for i in range(20)]
    for user in users:
        emu.send_message(user.id, user, "备案要多久")
    await asyncio.gather(*(emu.wait_for_messages(u.id, 1) for u in users))
    await settle(bot)
    assert all(len(emu.sent_messages(u.id)) == 1 for u in users)
