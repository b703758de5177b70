"""Engine transcripts: commands, FAQ answers, "did you mean", bad input, group etiquette."""

import pytest

from bot.app import App
from bot.messages import ChatKind
from tests.conftest import sqlite_db
from tests.drivers import EngineChat


@pytest.fixture
def chat(app: App) -> EngineChat:
    return EngineChat(app.engine)


def test_start_and_help_explain_what_the_bot_does(chat: EngineChat) -> None:
    assert "备案" in chat.say("/start")[0]
    help_text = chat.say("/help")[0]
    assert "/filing" in help_text and "/forget" in help_text


def test_help_lists_every_command_a_user_can_type(chat: EngineChat, app: App) -> None:
    help_text = chat.say("/help")[0]
    # /faq and /flow are what buttons send, not commands to type.
    typed = app.engine.command_names - {"faq", "flow"}
    assert typed, "no commands registered"
    missing = sorted(name for name in typed if f"/{name}" not in help_text)
    assert missing == []


def test_a_question_gets_an_answer_ending_with_its_source(chat: EngineChat) -> None:
    [reply] = chat.say("个人备案要准备什么材料")
    assert "身份证" in reply
    assert reply.splitlines()[-1].startswith("来源：")


def test_off_topic_question_gets_the_polite_scope_reply(chat: EngineChat) -> None:
    [reply] = chat.say("今天股票涨了吗")
    assert "ICP 备案" in reply and "来源" not in reply


@pytest.mark.parametrize(
    "question",
    [
        "个人网站备案需要多久？",
        "备案号到底咋回事",
        "管局那边一直没动静",
        "do I need to file my domain",
    ],
)
def test_a_filing_question_is_never_told_it_is_outside_the_scope(
    chat: EngineChat, app: App, question: str
) -> None:
    [reply] = chat.send(question)
    replies = app.engine.replies
    for scope in (replies.out_of_scope, replies.en.out_of_scope):
        assert scope.splitlines()[0] not in reply.text
    # An answer, a menu, or the honest "no sure answer": each names a way on.
    assert (
        reply.choices
        or "来源" in reply.text
        or "Source:" in reply.text
        or "换个说法" in (reply.text)
        or "another way" in reply.text
    )


def test_a_number_picks_one_of_the_offered_choices(chat: EngineChat, app: App) -> None:
    replies = chat.send("/forget")
    assert [c.label for c in replies[0].choices] == ["确认删除", "不删除"]
    [reply] = chat.say("2")
    assert "/filing" in reply  # "不删除" shows the help


def test_a_number_out_of_range_says_which_numbers_are_valid(chat: EngineChat) -> None:
    chat.send("/forget")
    [reply] = chat.say("7")
    assert "1 到 2" in reply
    # the choices are still open afterwards
    assert "/filing" in chat.say("2")[0]


def test_faq_command_shows_an_entry_and_rejects_unknown_ids(chat: EngineChat) -> None:
    assert "来源：" in chat.say("/faq total-time")[0]
    assert "没有找到" in chat.say("/faq no-such-entry")[0]


def test_unknown_command_is_named_in_the_reply(chat: EngineChat) -> None:
    assert "/frobnicate" in chat.say("/frobnicate")[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "没有收到文字"),
        ("   \n\t ", "没有收到文字"),
        ("😀😀😀🎉", "没有我能读懂的文字"),
        ("x" * 100_000, "消息太长"),
        ("\x00\x01\x02", "没有收到文字"),
    ],
)
def test_bad_input_gets_a_clear_reply_and_the_next_message_works(
    chat: EngineChat, text: str, expected: str
) -> None:
    assert expected in chat.say(text)[0]
    assert "来源：" in chat.say("备案要多久")[0]


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE sessions; --",
        "<script>alert(1)</script>",
        "备案\x00要多久",
        "{{7*7}} ${jndi:x}",
    ],
)
def test_injection_looking_text_is_just_text(chat: EngineChat, app: App, text: str) -> None:
    assert chat.say(text)  # a reply, no exception
    assert sqlite_db(app.storage)["sessions"].exists()
    assert "来源：" in chat.say("备案要多久")[0]


def test_bad_input_leaves_the_conversation_state_as_it_was(chat: EngineChat, app: App) -> None:
    chat.send("/forget")  # choices are pending now
    before = sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall()
    chat.say("😀")
    chat.say("x" * 5000)
    assert sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall() == before


def test_group_chatter_is_ignored_and_not_stored(app: App) -> None:
    group = EngineChat(app.engine, chat_id="-100", kind=ChatKind.GROUP)
    assert group.say("大家好，今天吃什么") == []
    assert group.say("备案要多久") == []
    assert sqlite_db(app.storage).execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_group_answers_mentions_replies_and_commands(app: App) -> None:
    group = EngineChat(app.engine, chat_id="-100", kind=ChatKind.GROUP)
    assert "来源：" in group.say("备案要多久", mention=True)[0]
    assert "来源：" in group.say("备案期间要解析吗", reply_to_bot=True)[0]
    assert "/filing" in group.say("/help")[0]


def test_personal_data_in_a_group_gets_a_warning_and_a_delete(app: App) -> None:
    group = EngineChat(app.engine, chat_id="-100", kind=ChatKind.GROUP)
    [warning] = group.send("我的身份证 11010519491231002X 手机 13812345678")
    assert "撤回" in warning.text and "@alice" in warning.text
    assert warning.delete_message_id == "m1" and warning.mention_user_id == "u1"
    assert sqlite_db(app.storage).execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_forget_deletes_the_users_state(chat: EngineChat, app: App) -> None:
    chat.send("/forget")
    assert sqlite_db(app.storage).execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    [reply] = chat.say("1")
    assert "已删除" in reply
    assert sqlite_db(app.storage).execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def test_a_due_reminder_rides_on_the_terminal_reply_and_its_buttons_work(app: App) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.reminders import ReminderSender

    now = [datetime(2026, 11, 27, 2, 0, tzinfo=UTC)]  # 10:00 in Shanghai
    app.engine.clock = lambda: now[0]
    service = ReminderSender(app.storage.reminders, {}, clock=lambda: now[0])
    app.engine.inline_due = service.collect_due
    chat = EngineChat(app.engine)
    assert "24 小时" in chat.say("我刚收到管局的短信")[0]
    assert all("提醒" not in r for r in chat.say("备案要多久")[1:])  # nothing due yet
    now[0] += timedelta(hours=12, minutes=1)
    replies = chat.send("备案要多久")
    assert len(replies) == 2 and "短信" in replies[0].text  # the reminder, then the answer
    assert replies[0].choices  # "已完成核验" as a button / numbered option
    assert "时钟已停止" in chat.say("1")[0]  # the number picked the reminder's button
    assert "短信核验" not in chat.say("/reminders")[0]
    now[0] += timedelta(hours=9)
    assert len(chat.send("备案要多久")) == 1  # done: the 20 h and 23 h reminders are gone


def test_a_bug_costs_one_reply_not_the_state(
    chat: EngineChat, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat.say("/filing")
    chat.say("个人")
    before = sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.engine.forms, "handle", broken)
    assert "出了问题" in chat.say("中国大陆居民身份证")[0]
    assert sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall() == before
    monkeypatch.undo()
    assert "省" in chat.say("中国大陆居民身份证")[-1]  # the same question still waits


@pytest.mark.parametrize(
    "text", ["ICP许可证和ICP备案有啥区别", "我的ICP备案号忘了", "粤ICP备案号怎么查"]
)
def test_words_about_a_filing_number_go_to_the_faq(chat: EngineChat, app: App, text: str) -> None:
    reply = "\n".join(chat.say(text))
    assert "格式不对" not in reply and "恭喜" not in reply
    assert app.storage.reminders.open_for_user("test", "u1") == []


def test_forget_scrubs_the_open_database_files(app: App) -> None:
    """While the bot keeps running: neither the main file nor the WAL keeps the values."""
    from pathlib import Path

    from tests.dialogue.test_dialogue import ENTERPRISE

    chat = EngineChat(app.engine)
    for text in ["/filing", *ENTERPRISE, "确认"]:
        chat.say(text)
    db = Path(app.settings.db_path)

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))

    values = ["示例科技有限公司", "91350100M000100Y43", "example.cn", "示例科技产品介绍"]
    for value in values:  # sealed at rest: never plaintext, even before /forget
        assert value.encode() not in on_disk(), value
    sealed = [
        row[0][-40:].encode()
        for table, column in [("sessions", "state"), ("filings", "data"), ("filings", "label")]
        for row in sqlite_db(app.storage).execute(f"SELECT {column} FROM {table}").fetchall()
    ]
    assert sealed and all(token in on_disk() for token in sealed)
    chat.say("/forget")
    assert "已删除" in chat.say("确认删除")[0]
    for token in sealed:  # the ciphertext is gone too: a leaked key later opens nothing
        assert token not in on_disk(), token


@pytest.mark.parametrize("typed", ["确认删除", "确认", "是", "yes", "1"])
def test_the_forget_confirmation_can_be_typed(app: App, typed: str) -> None:
    chat = EngineChat(app.engine, channel="terminal")
    chat.say("我刚收到管局的短信")
    assert app.storage.reminders.open_for_user("terminal", "u1") != []
    chat.say("/forget")
    assert "已删除" in chat.say(typed)[0]
    assert app.storage.reminders.open_for_user("terminal", "u1") == []


@pytest.mark.parametrize("typed", ["不", "算了", "删除吧我想想"])
def test_anything_else_after_forget_deletes_nothing(app: App, typed: str) -> None:
    chat = EngineChat(app.engine, channel="terminal")
    chat.say("我刚收到管局的短信")
    chat.say("/forget")
    chat.say(typed)
    assert app.storage.reminders.open_for_user("terminal", "u1") != []


@pytest.mark.parametrize(
    "payload",
    ["forget", "forget confirm", "remind done 1", "filing x", "../../etc", "确认删除", "a" * 300],
)
def test_a_deep_link_payload_other_than_filing_only_greets(app: App, payload: str) -> None:
    """A start link carries no authority: whoever crafted it, anything but `filing` (which
    opens the presser's own form in private) gets the greeting and changes nothing."""
    chat = EngineChat(app.engine)
    chat.send("备案要多久")
    before = sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall()
    [reply] = chat.send(f"/start {payload}")
    assert reply.text == app.engine.replies.start.format(bot_name=app.engine.bot_name).strip()
    assert not reply.choices
    assert sqlite_db(app.storage).execute("SELECT state FROM sessions").fetchall() == before


def test_the_filing_deep_link_opens_the_form_only_in_private(app: App) -> None:
    group = EngineChat(app.engine, chat_id="-100", kind=ChatKind.GROUP)
    in_group = group.send("/start filing")
    assert len(in_group) == 1 and "（1/" not in in_group[0].text
    private = EngineChat(app.engine).send("/start filing")
    assert private[-1].text.startswith("（1/")


def test_the_turn_that_handles_a_kept_update_drops_it_with_the_state_it_saved(app: App) -> None:
    """If the process dies after the turn commits, the update is not handled a second time
    (the answer given to 主体类型 would be taken as the next question's answer)."""
    from bot.messages import ChatRef, Incoming

    inbox = app.storage.inbox
    chat = ChatRef(channel="telegram", chat_id="42", kind=ChatKind.PRIVATE)
    for update_id, text in [("1", "/filing"), ("2", "个人")]:
        inbox.accept("telegram", update_id, "42", "{}")
        app.engine.handle(Incoming(chat=chat, user_id="42", text=text, update_id=update_id))
        assert inbox.waiting("telegram") == []
    state = app.storage.sessions.load("telegram", "42", "42")
    assert state is not None and "个人" in state
