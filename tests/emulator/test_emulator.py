"""Tests of the Bot API emulator: the raw protocol, then both real frameworks against it."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from . import BotApiEmulator, compute_entities

JSON = dict[str, Any]


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emulator:
        yield emulator


@pytest.fixture
async def http(emu: BotApiEmulator) -> AsyncIterator[httpx.AsyncClient]:
    base = f"{emu.base_url}/bot{emu.token}/"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield client


async def call(http: httpx.AsyncClient, method: str, **params: Any) -> tuple[int, JSON]:
    response = await http.post(method, json=params)
    return response.status_code, response.json()


async def test_binds_a_free_port_and_answers_get_me(emu: BotApiEmulator) -> None:
    assert emu.port > 0
    assert emu.base_url == f"http://127.0.0.1:{emu.port}"
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{emu.base_url}/bot{emu.token}/getme")
    me = response.json()["result"]
    assert me["is_bot"] is True
    assert me["username"] == "beian_test_bot"
    assert me["id"] == int(emu.token.split(":")[0])
    assert me["can_read_all_group_messages"] is False
    assert emu.request_counts["getMe"] == 1


async def test_error_shapes(emu: BotApiEmulator, http: httpx.AsyncClient) -> None:
    user = emu.add_user()
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{emu.base_url}/bot1:wrong/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert await call(http, "noSuchMethod") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    cases: dict[str, JSON] = {
        "chat_id is empty": {"text": "x"},
        "chat not found": {"chat_id": 42, "text": "x"},
        "message text is empty": {"chat_id": user.id, "text": "  "},
        "message is too long": {"chat_id": user.id, "text": "长" * 4097},
        "can't parse entities": {"chat_id": user.id, "text": "a<br>b", "parse_mode": "HTML"},
        "is reserved": {"chat_id": user.id, "text": "v1.2", "parse_mode": "MarkdownV2"},
    }
    for description, params in cases.items():
        status, body = await call(http, "sendMessage", **params)
        assert (status, body["ok"], body["error_code"]) == (400, False, 400)
        assert body["description"].startswith("Bad Request: ")
        assert description in body["description"]
    ok_markup = {"chat_id": user.id, "text": "<b>a</b> &lt; b", "parse_mode": "HTML"}
    assert (await call(http, "sendMessage", **ok_markup))[1]["result"]["text"] == "a < b"


async def test_rate_limit_and_blocked(emu: BotApiEmulator, http: httpx.AsyncClient) -> None:
    user = emu.add_user()
    emu.rate_limit(user.id, count=2, retry_after=3)
    for _ in range(2):
        status, body = await call(http, "sendMessage", chat_id=user.id, text="hi")
        assert status == 429
        assert body == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }
    assert (await call(http, "sendMessage", chat_id=user.id, text="hi"))[0] == 200
    emu.block(user.id)
    status, body = await call(http, "sendMessage", chat_id=user.id, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert [s.text for s in emu.sent_messages(user.id)] == ["hi"]


async def test_long_poll_wakes_on_new_update(emu: BotApiEmulator, http: httpx.AsyncClient) -> None:
    user = emu.add_user()
    started = time.monotonic()
    poll = asyncio.create_task(call(http, "getUpdates", timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    emu.send_message(user.id, user, "你好")
    status, body = await poll
    assert status == 200
    assert time.monotonic() - started < 2
    [update] = body["result"]
    assert update["message"]["text"] == "你好"
    assert update["message"]["chat"] == {"id": user.id, "type": "private", "first_name": "Alice"}
    assert isinstance(update["message"]["date"], int)


async def test_long_poll_times_out_empty(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    started = time.monotonic()
    assert (await call(http, "getUpdates", timeout=1))[1] == {"ok": True, "result": []}
    assert 0.9 < time.monotonic() - started < 2
    assert emu.requests[-1].waited > 0.9
    assert emu.emulator_seconds < 0.5


async def test_offset_limit_and_redelivery(emu: BotApiEmulator, http: httpx.AsyncClient) -> None:
    user = emu.add_user()
    ids = [emu.send_message(user.id, user, f"m{i}")["update_id"] for i in range(3)]  # type: ignore[index]
    assert [u["update_id"] for u in (await call(http, "getUpdates"))[1]["result"]] == ids
    result = (await call(http, "getUpdates", offset=ids[1], limit=1))[1]["result"]
    assert [u["update_id"] for u in result] == [ids[1]]
    assert emu.pending_updates == 2
    assert (await call(http, "getUpdates", offset=ids[2] + 1))[1]["result"] == []
    assert emu.pending_updates == 0
    # The same update_id once more: delivered exactly once, whatever the offset.
    first = emu.messages[(user.id, 1)]
    emu.inject_update({"update_id": ids[0], "message": first})
    again = (await call(http, "getUpdates", offset=ids[2] + 1))[1]["result"]
    assert again == [{"update_id": ids[0], "message": first}]
    assert (await call(http, "getUpdates", offset=ids[2] + 1))[1]["result"] == []


async def test_entities_use_utf16_offsets(emu: BotApiEmulator) -> None:
    assert compute_entities("😀 hi @beian_test_bot!") == [
        {"type": "mention", "offset": 6, "length": 15}
    ]
    assert compute_entities("/start@beian_test_bot 备案 /help") == [
        {"type": "bot_command", "offset": 0, "length": 21},
        {"type": "bot_command", "offset": 25, "length": 5},
    ]
    group = emu.add_group("备案群", supergroup=True)
    user = emu.add_user("Bob", username="bob")
    assert emu.send_message(group.id, user, "just chatting") is None  # privacy mode
    update = emu.send_message(group.id, user, "🇨🇳 @beian_test_bot 问")
    assert update is not None
    assert update["message"]["entities"] == [{"type": "mention", "offset": 5, "length": 15}]
    assert update["message"]["chat"]["type"] == "supergroup"
    assert update["message"]["chat"]["id"] < -1_000_000_000_000


async def test_forms_multipart_edits_and_deletes(
    emu: BotApiEmulator, http: httpx.AsyncClient
) -> None:
    user = emu.add_user()
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    form = {"chat_id": str(user.id), "text": "Q?", "reply_markup": json.dumps(markup)}
    sent = (await http.post("sendMessage", data=form)).json()["result"]
    assert sent["reply_markup"] == markup
    assert sent["from"]["is_bot"] is True
    files = {"document": ("报告.txt", b"hello", "text/plain")}
    doc = await http.post("sendDocument", data={"chat_id": user.id, "caption": "c"}, files=files)
    assert doc.json()["result"]["document"]["file_name"] == "报告.txt"
    assert doc.json()["result"]["message_id"] == sent["message_id"] + 1
    [question, document] = emu.sent_messages(user.id)
    assert question.buttons == [("Yes", "yes")]
    assert document.document is not None and document.document.content == b"hello"
    assert document.caption == "c"

    edit = {"chat_id": user.id, "message_id": sent["message_id"], "text": "Q?"}
    status, body = await call(http, "editMessageText", **edit, reply_markup=markup)
    assert status == 400 and "message is not modified" in body["description"]
    edited = (await call(http, "editMessageText", **{**edit, "text": "Done"}))[1]["result"]
    assert edited["text"] == "Done" and "reply_markup" not in edited
    assert question.text == "Done" and len(question.edits) == 1

    group = emu.add_group()
    other = emu.add_user("Carol")
    emu.send_message(group.id, other, "/start")
    status, body = await call(http, "deleteMessage", chat_id=group.id, message_id=1)
    assert (status, body["description"]) == (400, "Bad Request: message can't be deleted")
    emu.set_bot_admin(group.id)
    assert (await call(http, "deleteMessage", chat_id=group.id, message_id=1))[0] == 200
    assert (await call(http, "deleteMessage", chat_id=group.id, message_id=1))[0] == 400
    assert emu.deleted_messages == [(group.id, 1)]


async def test_http_control_surface(emu: BotApiEmulator) -> None:
    async with httpx.AsyncClient(base_url=f"{emu.base_url}/_emulator/") as control:
        await control.post("user", json={"first_name": "Dev", "user_id": 42})
        update = await control.post("message", json={"chat_id": 42, "user_id": 42, "text": "hi"})
        assert update.json()["result"]["message"]["text"] == "hi"
        await control.post(
            f"{emu.base_url}/bot{emu.token}/sendMessage", data={"chat_id": 42, "text": "yo"}
        )
        sent = (await control.get("sent", params={"chat_id": 42})).json()["result"]
        assert [s["text"] for s in sent] == ["yo"]
        assert (await control.get("requests")).json()["result"] == {"sendMessage": 1}


async def test_commands_are_stored_per_scope_and_language(
    emu: BotApiEmulator, http: httpx.AsyncClient
) -> None:
    commands = [{"command": "start", "description": "开始"}]
    assert (await call(http, "setMyCommands", commands=commands, language_code="zh"))[0] == 200
    bad = [{"command": "Start", "description": "x"}]
    assert (await call(http, "setMyCommands", commands=bad))[0] == 400
    assert emu.commands("zh") == commands
    assert (await call(http, "getMyCommands"))[1]["result"] == []
    assert (await call(http, "getMyCommands", language_code="zh"))[1]["result"] == commands


async def test_python_telegram_bot_application(emu: BotApiEmulator) -> None:
    from telegram import ChatMemberAdministrator, InlineKeyboardButton, InlineKeyboardMarkup
    from telegram import Update as PtbUpdate
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("再来", callback_data="again")]])

    async def start(update: PtbUpdate, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"start {context.args}")

    async def echo(update: PtbUpdate, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"echo: {update.effective_message.text}", reply_markup=keyboard
        )

    async def button(update: PtbUpdate, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text(f"pressed {query.data}")

    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(f"{emu.base_url}/bot")
        .base_file_url(f"{emu.base_url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(button))
    user = emu.add_user("Alice")
    group = emu.add_group(bot_admin=True)
    await app.initialize()
    assert app.bot.username == "beian_test_bot"
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        emu.send_message(user.id, user, "/start@beian_test_bot 12")
        emu.send_message(user.id, user, "你好 😀")
        first, second = await emu.wait_for_messages(user.id, 2)
        assert first.text == "start ['12']"
        assert second.text == "echo: 你好 😀" and second.buttons == [("再来", "again")]
        emu.press_button(user.id, user, second.message_id, "again")
        await emu.wait_for(lambda: second.edits)
        assert second.text == "pressed again" and second.reply_markup is None
        assert emu.answered_callbacks[0]["text"] == "ok"

        await app.bot.send_document(user.id, io.BytesIO(b"%PDF"), filename="a.pdf", caption="备案")
        doc = emu.sent_messages(user.id)[-1]
        assert doc.document is not None and doc.document.filename == "a.pdf"
        member = await app.bot.get_chat_member(group.id, app.bot.id)
        assert isinstance(member, ChatMemberAdministrator) and member.can_delete_messages
        assert (await app.bot.get_chat(group.id)).title == group.title

        polls = emu.request_counts["getUpdates"]
        await asyncio.sleep(2)
        assert emu.request_counts["getUpdates"] - polls <= 5
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_aiogram_dispatcher(emu: BotApiEmulator) -> None:
    from aiogram import Bot, Dispatcher, F
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import Command
    from aiogram.types import (
        BufferedInputFile,
        CallbackQuery,
        ChatMemberAdministrator,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        Message,
    )

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="再来", callback_data="again")]]
    )
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    dp = Dispatcher()

    @dp.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer("started")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.reply(f"echo: {message.text}", reply_markup=keyboard)

    @dp.callback_query(F.data == "again")
    async def button(query: CallbackQuery) -> None:
        await query.answer("ok")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"pressed {query.data}")

    user = emu.add_user("Alice")
    group = emu.add_group(bot_admin=True)
    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    try:
        emu.send_message(user.id, user, "/start")
        update = emu.send_message(user.id, user, "你好 😀")
        assert update is not None
        first, second = await emu.wait_for_messages(user.id, 2)
        assert first.text == "started"
        assert second.text == "echo: 你好 😀"
        assert second.reply_to == update["message"]["message_id"]
        emu.press_button(user.id, user, second.message_id, "again")
        await emu.wait_for(lambda: second.edits)
        assert second.text == "pressed again"
        assert emu.answered_callbacks[0]["text"] == "ok"

        await bot.send_document(user.id, BufferedInputFile(b"%PDF", filename="b.pdf"))
        doc = emu.sent_messages(user.id)[-1]
        assert doc.document is not None and doc.document.content == b"%PDF"
        member = await bot.get_chat_member(group.id, bot.id)
        assert isinstance(member, ChatMemberAdministrator)
        assert (await bot.get_chat(group.id)).title == group.title

        polls = emu.request_counts["getUpdates"]
        await asyncio.sleep(2)
        assert emu.request_counts["getUpdates"] - polls <= 5
    finally:
        await dp.stop_polling()
        await polling
