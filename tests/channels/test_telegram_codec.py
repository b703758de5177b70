"""Bot API JSON -> Incoming and Outgoing -> Bot API parameters, without any framework."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.channels.base import EXPIRED_BUTTON, NOT_YOUR_BUTTON
from bot.channels.telegram.codec import (
    BotIdentity,
    CallbackKeys,
    callback_to_incoming,
    message_to_incoming,
    reply_markup,
    split_outgoing,
    update_chat_id,
    with_mention,
)
from bot.messages import ChatKind, ChatRef, Choice, Document, Outgoing
from tests.emulator import compute_entities

ME = BotIdentity(id=42, username="beian_test_bot")
ALICE: dict[str, Any] = {"id": 7, "is_bot": False, "first_name": "Alice", "username": "alice"}
GROUP = {"id": -100123, "type": "supergroup", "title": "备案群"}


def message(text: str, chat: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    msg = {
        "message_id": 5,
        "from": ALICE,
        "chat": chat or {"id": 7, "type": "private", "first_name": "Alice"},
        "date": int(time.time()),
        "text": text,
        **extra,
    }
    if entities := compute_entities(text):
        msg["entities"] = entities
    return msg


def test_private_message() -> None:
    incoming = message_to_incoming(message("备案要多久"), ME, update_id=9)
    assert incoming is not None
    assert incoming.chat == ChatRef(channel="telegram", chat_id="7", kind=ChatKind.PRIVATE)
    assert (incoming.user_id, incoming.user_name, incoming.text) == ("7", "alice", "备案要多久")
    assert (incoming.mentioned, incoming.reply_to_bot, incoming.message_id) == (False, False, "5")
    assert incoming.raw == {"update_id": 9, "chat_type": "private"}


def test_group_mention_is_detected_and_taken_out_of_the_text() -> None:
    incoming = message_to_incoming(message("😀 @Beian_Test_Bot 备案要多久", GROUP), ME)
    assert incoming is not None and incoming.chat.kind is ChatKind.GROUP
    assert incoming.mentioned and incoming.text == "😀 备案要多久"
    other = message_to_incoming(message("@someone_else 你好", GROUP), ME)
    assert other is not None and not other.mentioned


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("@beian_test_bot @dave_member 备案要多久", "备案要多久"),
        ("@dave_member @beian_test_bot 备案要多久", "备案要多久"),
        ("@dave_member，@beian_test_bot：备案要多久", "备案要多久"),
        ("备案要多久？ @dave_member @beian_test_bot", "备案要多久？"),
        ("@dave_member 备案要多久 @beian_test_bot", "备案要多久"),
        ("@beian_test_bot 𝟘😀 备案要多久 @dave_member", "𝟘😀 备案要多久"),
        # Inside the sentence another member's mention is what the question is about.
        ("@beian_test_bot 问下 @dave_member 的备案号", "问下 @dave_member 的备案号"),
        ("请问 @beian_test_bot 备案要多久", "请问 备案要多久"),
        ("@beian_test_bot @dave_member", ""),
    ],
)
def test_the_mentions_around_the_question_are_taken_out(text: str, question: str) -> None:
    incoming = message_to_incoming(message(text, GROUP), ME)
    assert incoming is not None and incoming.mentioned
    assert incoming.text == question


def test_a_text_mention_around_the_question_is_taken_out() -> None:
    # A member without a username is mentioned by name: Telegram marks it as a text_mention.
    text = "Dave @beian_test_bot 备案要多久"
    entities = [
        {"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 9}},
        {"type": "mention", "offset": 5, "length": 15},
    ]
    incoming = message_to_incoming(message(text, GROUP) | {"entities": entities}, ME)
    assert incoming is not None and incoming.mentioned and incoming.text == "备案要多久"
    bot_by_name = [{"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 42}}]
    msg = message("备案助手 备案要多久", GROUP) | {"entities": bot_by_name}
    incoming = message_to_incoming(msg, ME)
    assert incoming is not None and incoming.mentioned and incoming.text == "备案要多久"


def test_a_message_for_another_member_is_not_addressed_to_the_bot() -> None:
    """Cutting the mentions changes the text only: whom a message is for stays as it was."""
    for text in ("@dave_member 备案要多久", "备案要多久 @dave_member"):
        incoming = message_to_incoming(message(text, GROUP), ME)
        assert incoming is not None and not incoming.mentioned and incoming.text == "备案要多久"
    entity = {"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 9}}
    incoming = message_to_incoming(message("Dave 备案要多久", GROUP) | {"entities": [entity]}, ME)
    assert incoming is not None and not incoming.mentioned and incoming.text == "备案要多久"


def test_a_command_for_another_bot_behind_a_mention_is_ignored() -> None:
    assert message_to_incoming(message("@dave_member /start@other_bot", GROUP), ME) is None
    own = message_to_incoming(message("@beian_test_bot /status", GROUP), ME)
    assert own is not None and own.text == "/status"


def test_text_mention_of_the_bot_counts() -> None:
    entity = {"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 42}}
    msg = message("备案助手 在吗", GROUP, entities=[entity])
    incoming = message_to_incoming(msg, ME)
    assert incoming is not None and incoming.mentioned


def test_reply_to_the_bot() -> None:
    bot_message = {"message_id": 1, "from": {"id": 42, "is_bot": True}, "chat": GROUP}
    incoming = message_to_incoming(message("那然后呢", GROUP, reply_to_message=bot_message), ME)
    assert incoming is not None and incoming.reply_to_bot


def test_ignored_messages() -> None:
    assert message_to_incoming(message("/start@other_bot", GROUP), ME) is None
    assert message_to_incoming(message("hi", {"id": -5, "type": "channel"}), ME) is None
    assert message_to_incoming(message("hi", **{"from": {"id": 9, "is_bot": True}}), ME) is None
    stale = message("hi", date=int(time.time()) - 25 * 3600)
    assert message_to_incoming(stale, ME) is None
    own = message_to_incoming(message("/start@beian_test_bot filing", GROUP), ME)
    assert own is not None and own.text == "/start@beian_test_bot filing"


def test_photo_caption_is_the_text() -> None:
    msg = message("")
    del msg["text"]
    msg["caption"] = "这张截图什么意思"
    incoming = message_to_incoming(msg, ME)
    assert incoming is not None and incoming.text == "这张截图什么意思"


def test_callback_query_is_the_typed_choice() -> None:
    keys = CallbackKeys()
    query = {"id": "77", "from": ALICE, "message": message("选一个", GROUP), "data": "个人"}
    incoming, refusal = callback_to_incoming(query, ME, keys, update_id=3)
    assert incoming is not None and refusal is None
    assert (incoming.text, incoming.reply_to_bot, incoming.message_id) == ("个人", True, None)
    assert update_chat_id({"update_id": 3, "callback_query": query}) == GROUP["id"]


def test_long_choice_values_get_short_keys() -> None:
    keys = CallbackKeys(capacity=2)
    short, long = "/faq total-time", "/faq " + "很长的条目编号" * 5
    assert keys.encode(short) == short
    key = keys.encode(long)
    assert len(key.encode()) <= 64 and keys.decode(key) == long
    keys.encode("#k:looks-like-a-key")  # mapped too, so it cannot be mistaken
    keys.encode("/faq " + "另一个很长的条目编号" * 5)  # capacity 2: the first key is forgotten
    assert keys.decode(key) is None
    query = {"id": "1", "from": ALICE, "message": message("x"), "data": key}
    assert callback_to_incoming(query, ME, keys) == (None, EXPIRED_BUTTON)
    assert "失效" in EXPIRED_BUTTON


@pytest.mark.parametrize(
    "value", ["/forget yes", "确认删除", "/remind cancel 3", "/faq " + "长" * 40]
)
def test_a_button_offered_to_one_user_is_refused_to_everyone_else(value: str) -> None:
    keys = CallbackKeys()
    data = keys.encode(value, for_user=str(ALICE["id"]))
    assert value not in data and len(data.encode()) <= 64  # opaque: the value is not in it
    bob = {**ALICE, "id": ALICE["id"] + 1, "first_name": "Bob"}
    pressed_by_bob = {"id": "2", "from": bob, "message": message("x", GROUP), "data": data}
    assert callback_to_incoming(pressed_by_bob, ME, keys) == (None, NOT_YOUR_BUTTON)
    pressed_by_alice = {**pressed_by_bob, "from": ALICE}
    incoming, refusal = callback_to_incoming(pressed_by_alice, ME, keys)
    assert incoming is not None and incoming.text == value and refusal is None


@pytest.mark.parametrize("data", ["#k:never-offered", "#k:" + "x" * 24])
def test_a_token_never_offered_or_expired_is_refused(data: str) -> None:
    keys = CallbackKeys(ttl=0.0)
    expired = keys.encode("/forget yes", for_user=str(ALICE["id"]))
    for token in (data, expired):
        query = {"id": "3", "from": ALICE, "message": message("x"), "data": token}
        assert callback_to_incoming(query, ME, keys) == (None, EXPIRED_BUTTON)


def chat(kind: ChatKind = ChatKind.PRIVATE) -> ChatRef:
    return ChatRef(channel="telegram", chat_id="7", kind=kind)


def test_choices_and_deep_link_become_an_inline_keyboard() -> None:
    keys = CallbackKeys()
    choices = [Choice(label="个人", value="个人"), Choice(label="企业", value="企业")]
    choices.append(Choice(label="其他组织（事业单位、社会团体等）", value="其他"))
    out = Outgoing(chat=chat(), text="主体？", choices=choices, deep_link="filing")
    markup = reply_markup(out, ME, keys)
    assert markup == {
        "inline_keyboard": [
            [{"text": "个人", "callback_data": "个人"}, {"text": "企业", "callback_data": "企业"}],
            [{"text": "其他组织（事业单位、社会团体等）", "callback_data": "其他"}],
            [{"text": "➡️ 私聊我继续", "url": "https://t.me/beian_test_bot?start=filing"}],
        ]
    }
    assert reply_markup(Outgoing(chat=chat(), text="x"), ME, keys) is None


def test_mention_becomes_a_text_mention_entity() -> None:
    warning = Outgoing(
        chat=chat(ChatKind.GROUP),
        text="😀@Bob 请删除",
        mention_user_id="9",
        mention_user_name="Bob",
    )
    text, [entity] = with_mention(warning)
    assert text == "😀@Bob 请删除"
    assert (entity["offset"], entity["length"], entity["user"]["id"]) == (2, 4, 9)
    reminder = warning.model_copy(update={"text": "明天截止"})
    text, [entity] = with_mention(reminder)
    assert text == "@Bob 明天截止" and entity["offset"] == 0
    assert with_mention(Outgoing(chat=chat(), text="hi")) == ("hi", [])


def test_split_outgoing_keeps_mention_first_and_buttons_last() -> None:
    out = Outgoing(
        chat=chat(ChatKind.GROUP),
        text="@Bob " + "备案" * 3000,
        choices=[Choice(label="好", value="ok")],
        mention_user_id="9",
        mention_user_name="Bob",
        delete_message_id="3",
        deep_link="filing",
    )
    first, second = split_outgoing(out)
    assert (first.mention_user_id, first.delete_message_id, first.choices) == ("9", "3", [])
    assert (second.mention_user_id, second.delete_message_id) == (None, None)
    assert second.choices == out.choices and second.deep_link == "filing"
    assert first.text + second.text == out.text


def test_a_document_with_a_long_text_goes_after_it() -> None:
    doc = Document(filename="资料.txt", content=b"x")
    out = Outgoing(chat=chat(), text="说明" * 600, document=doc)
    parts = split_outgoing(out)
    assert [p.document for p in parts] == [None, doc]
    short = out.model_copy(update={"text": "你的资料"})
    assert split_outgoing(short) == [short]
