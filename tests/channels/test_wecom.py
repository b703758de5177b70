"""The WeCom channel over a real WebSocket to a local fake of the long-connection service."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app, build_wecom_channel
from bot.channels.wecom import frames
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.connection import WecomAuthError, WecomKicked
from bot.config import Settings, WecomSettings
from bot.messages import ChatKind, ChatRef, Choice, Incoming, Outgoing
from tests.channels.wecom_fake import (
    BOT_ID,
    SECRET,
    FakeGroupRobot,
    FakeWecom,
    card_event_frame,
    card_problem,
    event_frame,
    text_frame,
)
from tests.conftest import CACHE_DIR, sqlite_db


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = Settings(_env_file=None, db_path=tmp_path / "w.db", cache_dir=CACHE_DIR)
    return build_app(settings)


def _channel(app: App, fake: FakeWecom, secret: str = SECRET, **options: Any) -> WecomChannel:
    options.setdefault("engine", app.engine)
    return WecomChannel(
        store=app.storage.inbox,
        url=fake.url,
        bot_id=BOT_ID,
        secret=secret,
        bot_name="备案助手",
        welcome="你好，我是备案助手。",
        error_text="出错了",
        busy_text="太快了",
        unreadable_text=app.engine.replies.media_unreadable,
        **options,
    )


@contextlib.asynccontextmanager
async def running(channel: WecomChannel) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(channel.run(stop))
    await asyncio.wait_for(channel.connection.subscribed.wait(), 5)
    try:
        yield task
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


def _streams(fake: FakeWecom, req_id: str) -> list[dict[str, Any]]:
    return [
        f["body"]["stream"]
        for f in fake.received
        if f.get("cmd") == "aibot_respond_msg"
        and f["headers"]["req_id"] == req_id
        and f["body"]["msgtype"] == "stream"
    ]


async def _reply_to(fake: FakeWecom, frame: dict[str, Any], count: int = 1) -> list[str]:
    before = len([f for f in fake.received if f.get("cmd") == "aibot_respond_msg"])
    await fake.push(frame)
    await fake.wait_for(before + count, "aibot_respond_msg", timeout=15)
    streams = _streams(fake, frame["headers"]["req_id"])
    assert all(s["finish"] is True for s in streams)
    return [s["content"] for s in streams]


async def test_a_question_is_answered_as_a_finished_stream_on_its_req_id(
    app: App, fake: FakeWecom
) -> None:
    async with running(_channel(app, fake)):
        [answer] = await _reply_to(fake, text_frame("备案要多久"))
    assert "工作日" in answer and "来源：" in answer
    [subscribe] = [f for f in fake.received if f.get("cmd") == "aibot_subscribe"]
    assert subscribe["body"] == {"bot_id": BOT_ID, "secret": SECRET}


def _as(msgtype: str, content: dict[str, Any], text: str = "备案要多久") -> dict[str, Any]:
    """A text callback turned into another message type with the same question."""
    frame = text_frame(text)
    del frame["body"]["text"]
    frame["body"] |= {"msgtype": msgtype, msgtype: content}
    return frame


@pytest.mark.parametrize(
    ("msgtype", "content"),
    [
        # WeCom sends a voice message's transcript, not the audio.
        ("voice", {"content": "备案要多久"}),
        # Text and an image in one message: the text is the question.
        ("mixed", {"msg_item": [{"msgtype": "image", "image": {"url": "https://x/1.png"}},
                                {"msgtype": "text", "text": {"content": "备案要多久"}}]}),
    ],
    ids=["voice", "mixed"],
)  # fmt: skip
async def test_a_voice_or_mixed_message_is_answered_from_its_text(
    app: App, fake: FakeWecom, msgtype: str, content: dict[str, Any]
) -> None:
    async with running(_channel(app, fake)):
        [answer] = await _reply_to(fake, _as(msgtype, content))
    assert "工作日" in answer


async def test_wrong_credentials_stop_with_a_message_instead_of_retrying(
    app: App, fake: FakeWecom
) -> None:
    channel = _channel(app, fake, secret="wrong")
    with pytest.raises(WecomAuthError, match="BEIAN_WECOM__SECRET"):
        await asyncio.wait_for(channel.start(), 5)
    await asyncio.sleep(1.5)  # longer than the first backoff: no second attempt
    assert len([f for f in fake.received if f.get("cmd") == "aibot_subscribe"]) == 1


@pytest.mark.parametrize(
    "text", ["@备案助手 备案要多久", "@备案助手备案要多久", "@Beian 备案要多久"]
)
async def test_in_a_group_the_mention_is_stripped(app: App, fake: FakeWecom, text: str) -> None:
    async with running(_channel(app, fake)):
        [answer] = await _reply_to(fake, text_frame(text, group="wrkgrp1"))
    assert "工作日" in answer


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("@备案助手 @张三 备案要多久", "备案要多久"),
        ("@张三 @备案助手 备案要多久", "备案要多久"),
        # WeCom separates a mention from what follows with U+2005, not always a space.
        ("@张三\u2005@备案助手\u2005备案要多久", "备案要多久"),
        ("备案要多久 @备案助手", "备案要多久"),
        ("备案要多久？@张三 @备案助手", "备案要多久？@张三"),
        ("备案要多久 @张三 @备案助手", "备案要多久"),
        ("@Beian @李四 备案要多久", "备案要多久"),
        # Inside the sentence another member's @name is what the question is about.
        ("@备案助手 问下 @张三 的备案号", "问下 @张三 的备案号"),
        ("请问 @备案助手 备案要多久", "请问 备案要多久"),
        ("@备案助手 邮箱 a@example.com 能用吗", "邮箱 a@example.com 能用吗"),
    ],
)
def test_the_names_around_a_group_question_are_taken_out(text: str, question: str) -> None:
    found = frames.incoming(frames.Frame.model_validate(text_frame(text, group="g")), "备案助手")
    assert found is not None and found.text == question
    private = frames.incoming(frames.Frame.model_validate(text_frame(text)), "备案助手")
    assert private is not None and private.text == text  # no @name needed, none is cut


async def test_a_message_delivered_twice_is_answered_once(app: App, fake: FakeWecom) -> None:
    async with running(_channel(app, fake)):
        frame = text_frame("备案要多久", msgid="same-msgid")
        await _reply_to(fake, frame)
        again = text_frame("备案要多久", msgid="same-msgid")
        await fake.push(again)
        await asyncio.sleep(1.0)
        assert _streams(fake, again["headers"]["req_id"]) == []


@pytest.mark.parametrize(
    "bad",
    [
        "not json at all",
        "[1, 2, 3]",
        "42",
        b"\x00\xff binary",
        '{"cmd": "what_is_this", "headers": {}}',
        "x" * 1_100_000,
    ],
)
async def test_bad_frames_are_skipped_and_the_connection_stays_up(
    app: App, fake: FakeWecom, bad: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    channel = _channel(app, fake)
    async with running(channel):
        await fake.push(bad)
        [answer] = await _reply_to(fake, text_frame("备案要多久"))
        assert "工作日" in answer
        assert channel.connection.connects == 1
    if isinstance(bad, str) and bad.startswith("not json"):
        assert "not json at all" not in caplog.text  # logged without its content


async def test_a_drop_is_followed_by_a_reconnect_and_answers_go_on(
    app: App, fake: FakeWecom
) -> None:
    channel = _channel(app, fake)
    async with running(channel):
        await fake.drop()
        for _ in range(100):
            if channel.connection.connects == 2 and channel.is_alive():
                break
            await asyncio.sleep(0.05)
        assert channel.connection.connects == 2
        [answer] = await _reply_to(fake, text_frame("备案要多久"))
        assert "工作日" in answer


async def test_pings_go_out_and_two_unanswered_ones_mean_a_new_connection(
    app: App, fake: FakeWecom
) -> None:
    channel = _channel(app, fake, heartbeat=0.2, ack_timeout=0.2)
    async with running(channel):
        await fake.wait_for(2, "ping")
        assert channel.connection.connects == 1
        fake.answer_pings = False
        for _ in range(100):
            if channel.connection.connects >= 2:
                break
            await asyncio.sleep(0.05)
        assert channel.connection.connects >= 2


async def test_a_second_process_with_the_same_bot_kicks_the_first(
    app: App, fake: FakeWecom, tmp_path: Path
) -> None:
    first = _channel(app, fake)
    second_app = build_app(
        Settings(_env_file=None, db_path=tmp_path / "second.db", cache_dir=CACHE_DIR)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(first.run(stop))
    await asyncio.wait_for(first.connection.subscribed.wait(), 5)
    async with running(_channel(second_app, fake)):
        with pytest.raises(WecomKicked):
            await asyncio.wait_for(task, 5)
        await asyncio.sleep(1.5)
        assert fake.subscriptions == 2  # the kicked one did not come back


async def test_enter_chat_gets_the_welcome_on_its_req_id(app: App, fake: FakeWecom) -> None:
    async with running(_channel(app, fake)):
        frame = event_frame("enter_chat")
        await fake.push(frame)
        [welcome] = await fake.wait_for(1, "aibot_respond_welcome_msg")
    assert welcome["headers"]["req_id"] == frame["headers"]["req_id"]
    assert "备案助手" in welcome["body"]["text"]["content"]


async def test_an_image_gets_a_reply_that_the_bot_reads_text(app: App, fake: FakeWecom) -> None:
    frame = text_frame("ignored")
    frame["body"]["msgtype"] = "image"
    frame["body"]["image"] = {"url": "https://example.com/a.png"}
    del frame["body"]["text"]
    async with running(_channel(app, fake)):
        [reply] = await _reply_to(fake, frame)
    assert "文字" in reply


async def test_choices_too_long_for_buttons_are_numbered_and_a_number_picks_one(
    app: App, fake: FakeWecom
) -> None:
    async with running(_channel(app, fake)):
        _, question = await _reply_to(fake, text_frame("我要备案"), count=2)
        # 「其他组织（事业单位、社会团体等）」 is longer than a WeCom button's text.
        assert "1. 个人" in question and "3. 其他组织" in question
        [next_question] = await _reply_to(fake, text_frame("1"))
    assert "身份证件" in next_question


async def test_a_reminder_goes_out_with_send_msg_to_its_chat_naming_the_user(
    app: App, fake: FakeWecom
) -> None:
    channel = _channel(app, fake)
    async with running(channel):
        chat = ChatRef(channel="wecom", chat_id="wrkgrp1", kind=ChatKind.GROUP)
        await channel.outbox.send(
            Outgoing(chat=chat, text="⏰ 提醒：做人脸核验", mention_user_id="zhangsan")
        )
        [sent] = await fake.wait_for(1, "aibot_send_msg")
    assert sent["body"]["chatid"] == "wrkgrp1" and sent["body"]["msgtype"] == "markdown"
    assert sent["body"]["markdown"]["content"].startswith("<@zhangsan> ⏰ 提醒")


async def test_a_long_answer_is_split_under_the_markdown_limit(app: App, fake: FakeWecom) -> None:
    from bot.channels.wecom import frames

    pieces = frames.split_markdown(("长句子" * 50 + "\n") * 200)
    assert len(pieces) > 1
    assert all(len(p.encode()) <= frames.MAX_MARKDOWN_BYTES for p in pieces)
    assert "".join(pieces) == ("长句子" * 50 + "\n") * 200


def test_the_command_without_credentials_exits_2_saying_what_to_set(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("BEIAN_WECOM")}
    env |= {"BEIAN_DB_PATH": str(tmp_path / "c.db"), "BEIAN_CACHE_DIR": str(CACHE_DIR)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "wecom"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "BEIAN_WECOM__BOT_ID" in result.stderr and "BEIAN_WECOM__SECRET" in result.stderr


# The SDK imports websockets' legacy client, which warns on import.
SDK_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SDK_WARNINGS
def test_our_commands_are_the_official_sdks() -> None:
    """The frame names come from wecom-aibot-python-sdk 1.0.2 (aibot.types.WsCmd)."""
    from aibot.types import EventType, WsCmd  # type: ignore[import-untyped]  # the SDK ships no types

    from bot.channels.wecom import frames

    assert frames.SUBSCRIBE == WsCmd.SUBSCRIBE and frames.PING == WsCmd.HEARTBEAT
    assert frames.MSG_CALLBACK == WsCmd.CALLBACK and frames.EVENT_CALLBACK == WsCmd.EVENT_CALLBACK
    assert frames.RESPOND == WsCmd.RESPONSE and frames.RESPOND_WELCOME == WsCmd.RESPONSE_WELCOME
    assert frames.SEND == WsCmd.SEND_MSG and EventType.EnterChat.value == frames.ENTER_CHAT
    assert frames.RESPOND_UPDATE == WsCmd.RESPONSE_UPDATE
    assert EventType.TemplateCardEvent.value == frames.CARD_EVENT


@SDK_WARNINGS
def test_our_cards_are_the_sdks_button_interaction_cards() -> None:
    from aibot.types import TemplateCardType

    from bot.channels.wecom.cards import BUTTON_INTERACTION

    assert TemplateCardType.ButtonInteraction.value == BUTTON_INTERACTION


@SDK_WARNINGS
def test_the_fakes_callbacks_are_what_the_sdk_dispatches() -> None:
    """The official SDK's own frame handler reads the fake's frames as text and enter_chat."""
    from aibot.message_handler import MessageHandler  # type: ignore[import-untyped]  # the SDK ships no types

    class Recorder:
        def __init__(self) -> None:
            self.events: list[str] = []

        def emit(self, name: str, frame: dict[str, Any]) -> None:
            self.events.append(name)

    class Quiet:
        def __getattr__(self, name: str) -> Any:
            return lambda *args: None

    recorder = Recorder()
    handler = MessageHandler(Quiet())
    handler.handle_frame(text_frame("备案要多久", group="wrkgrp1"), recorder)
    handler.handle_frame(event_frame("enter_chat"), recorder)
    handler.handle_frame(card_event_frame("task1", "key1", group="wrkgrp1"), recorder)
    assert recorder.events == [
        "message", "message.text", "event", "event.enter_chat",
        "event", "event.template_card_event",
    ]  # fmt: skip


def _sdk_frames(
    calls: Callable[[Any], Awaitable[None]],
) -> list[tuple[str, dict[str, Any], str]]:
    """(req_id, body, cmd) of every frame the official SDK's client sends in `calls(client)`,
    caught where it would reach the socket."""
    import asyncio as aio

    from aibot.client import WSClient  # type: ignore[import-untyped]  # the SDK ships no types
    from aibot.types import WSClientOptions

    sent: list[tuple[str, dict[str, Any], str]] = []

    async def capture() -> None:
        client = WSClient(WSClientOptions(bot_id=BOT_ID, secret=SECRET))

        async def send_reply(req_id: str, body: dict[str, Any], cmd: str) -> dict[str, Any]:
            sent.append((req_id, body, cmd))
            return {}

        client._ws_manager.send_reply = send_reply
        await calls(client)

    aio.run(capture())
    return sent


@SDK_WARNINGS
def test_a_stream_reply_is_the_frame_the_sdk_builds() -> None:
    """Our stream frame equals the one the SDK's reply_stream sends (cmd, req_id, body)."""

    async def calls(client: Any) -> None:
        await client.reply_stream({"headers": {"req_id": "r1"}}, "s1", "答案", finish=True)

    [(req_id, body, cmd)] = _sdk_frames(calls)
    ours = frames.stream("r1", "s1", "答案", finish=True)
    assert ours == {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}


@SDK_WARNINGS
def test_card_frames_are_the_frames_the_sdk_builds() -> None:
    """A card reply, a card sent on its own and a card update: each equals the SDK's own
    frame (reply_template_card, send_message, update_template_card) for the same card."""
    from bot.channels.wecom.cards import CardOffers

    chat = ChatRef(channel="wecom", chat_id="zhangsan")
    choices = [Choice(label="确认删除", value="/forget confirm")]
    card = CardOffers().card(Outgoing(chat=chat, text="确定吗？", choices=choices))

    async def calls(client: Any) -> None:
        await client.reply_template_card({"headers": {"req_id": "r1"}}, card)
        await client.update_template_card({"headers": {"req_id": "r2"}}, card, ["lisi"])
        await client.update_template_card({"headers": {"req_id": "r3"}}, card)
        await client.send_message("zhangsan", {"msgtype": "template_card", "template_card": card})

    sent = _sdk_frames(calls)
    ours = [
        frames.card_reply("r1", card),
        frames.update_card("r2", card, ["lisi"]),
        frames.update_card("r3", card),
        frames.send_card("zhangsan", card),
    ]
    for frame, (req_id, body, cmd) in zip(ours, sent, strict=True):
        if cmd == frames.SEND:  # the SDK makes up its own req_id for a message of its own
            req_id = frame["headers"]["req_id"]
        assert frame == {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}


@pytest.fixture
async def robot() -> AsyncIterator[FakeGroupRobot]:
    service = FakeGroupRobot()
    await service.start()
    yield service
    await service.close()


async def test_a_bound_groups_reminders_go_to_its_robot_as_markdown(
    app: App, fake: FakeWecom, robot: FakeGroupRobot
) -> None:
    wecom = WecomSettings(
        bot_id=BOT_ID, secret=SECRET, ws_url=fake.url, webhook_url=robot.url,
        webhook_key="robot-key", webhook_chat="robot-group",
    )  # fmt: skip
    settings = app.settings.model_copy(update={"wecom": wecom})
    channel = build_wecom_channel(App(settings=settings, storage=app.storage, engine=app.engine))
    async with running(channel):
        group = ChatRef(channel="wecom", chat_id="robot-group", kind=ChatKind.GROUP)
        long_text = "⏰ 提醒：" + "续费服务器。" * 900  # over 4,096 bytes: cut, never refused
        await channel.outbox.send(Outgoing(chat=group, text=long_text, mention_user_id="lisi"))
        other = ChatRef(channel="wecom", chat_id="other-group", kind=ChatKind.GROUP)
        await channel.outbox.send(Outgoing(chat=other, text="⏰ 提醒：做人脸核验"))
        [sent] = await fake.wait_for(1, "aibot_send_msg")  # an unbound group: the AI bot
    assert sent["body"]["chatid"] == "other-group"
    assert len(robot.posted) >= 2 and robot.refused == []
    contents = [p["markdown"]["content"] for p in robot.posted]
    assert contents[0].startswith("<@lisi> ⏰ 提醒")
    assert all(len(c.encode()) <= 4096 for c in contents)


@pytest.mark.parametrize(("errcode", "permanent"), [(45009, False), (93000, True)])
async def test_the_robots_errcode_decides_not_the_http_status(
    robot: FakeGroupRobot, errcode: int, permanent: bool
) -> None:
    from bot.channels.wecom.group_robot import GroupRobot
    from bot.messages import SendError

    if errcode == 45009:
        robot.per_minute = 0
        sender = GroupRobot(robot.url + "?key=robot-key")
    else:
        sender = GroupRobot(robot.url + "?key=wrong")
    group = ChatRef(channel="wecom", chat_id="g", kind=ChatKind.GROUP)
    with pytest.raises(SendError) as caught:
        await sender.send(Outgoing(chat=group, text="⏰ 提醒"))
    await sender.close()
    assert caught.value.permanent is permanent
    assert (caught.value.retry_after > 0) is (not permanent)


async def test_messages_kept_at_a_stop_are_answered_once_after_the_restart(
    app: App, fake: FakeWecom
) -> None:
    """Their req_ids died with the old connection: the answers go out with aibot_send_msg."""

    class SlowEcho:
        def handle(self, msg: Incoming) -> list[Outgoing]:
            time.sleep(0.03)
            return [Outgoing(chat=msg.chat, text=f"echo {msg.text}")]

    users, texts = [f"u{n}" for n in range(4)], ["一", "二", "三"]
    pushed = [text_frame(t, user=u) for t in texts for u in users]
    first = _channel(app, fake, engine=SlowEcho(), grace=0.0)
    async with running(first):
        for frame in pushed:
            await fake.push(frame)
        seen = "SELECT count(*) FROM seen_updates WHERE channel = 'wecom'"
        while sqlite_db(app.storage).execute(seen).fetchone()[0] < len(pushed):
            await asyncio.sleep(0.01)
        await fake.push(pushed[0])  # a redelivery is not kept twice
    kept = app.storage.inbox.waiting("wecom")
    assert 0 < len(kept) < len(pushed)
    second = _channel(app, fake, engine=SlowEcho())
    async with running(second):
        for _ in range(500):
            if not app.storage.inbox.waiting("wecom") and not second.inbox.queues.pending:
                break
            await asyncio.sleep(0.01)
    for user in users:
        streamed = [
            f["body"]["stream"]["content"]
            for f in fake.received
            if f.get("cmd") == "aibot_respond_msg"
            and any(
                p["headers"]["req_id"] == f["headers"]["req_id"]
                and p["body"]["from"]["userid"] == user
                for p in pushed
            )
        ]
        sent = [
            f["body"]["markdown"]["content"]
            for f in fake.received
            if f.get("cmd") == "aibot_send_msg" and f["body"]["chatid"] == user
        ]
        assert streamed + sent == [f"echo {t}" for t in texts], user


# ---- choices as button cards --------------------------------------------------------------

FORGET_TITLE = "确定要删除我保存的你的全部数据吗？"


def _sent(cmd: str, req_id: str | None = None) -> Any:
    def match(frame: dict[str, Any]) -> bool:
        return frame.get("cmd") == cmd and req_id in (None, frame["headers"]["req_id"])

    return match


async def _card_reply(fake: FakeWecom, frame: dict[str, Any]) -> dict[str, Any]:
    """The template card the bot answered `frame` with (on its req_id)."""
    await fake.push(frame)
    reply = await fake.first(_sent("aibot_respond_msg", frame["headers"]["req_id"]), 15)
    assert reply["body"]["msgtype"] == "template_card"
    card: dict[str, Any] = reply["body"]["template_card"]
    return card


def _buttons(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["button_list"]]


async def _sends(fake: FakeWecom, count: int, timeout: float = 15) -> list[str]:
    """What the first `count` aibot_send_msg frames say (markdown text, or a card's title)."""
    frames = await fake.wait_for(count, "aibot_send_msg", timeout)
    texts = []
    for frame in frames:
        body = frame["body"]
        if body["msgtype"] == "markdown":
            texts.append(body["markdown"]["content"])
        else:
            texts.append(body["template_card"]["main_title"]["title"])
    return texts


async def test_choices_come_as_a_button_card_and_a_typed_number_still_picks(
    app: App, fake: FakeWecom
) -> None:
    async with running(_channel(app, fake)):
        card = await _card_reply(fake, text_frame("/forget"))
        assert card["main_title"]["title"] == FORGET_TITLE
        assert card["sub_title_text"] == "包括填写中的备案资料和所有提醒，删除后无法恢复。"
        assert _buttons(card) == ["确认删除", "不删除"]
        [done] = await _reply_to(fake, text_frame("1"))
    assert "已删除" in done
    assert fake.refused == []  # every card frame was one WeCom takes


async def test_a_press_updates_the_card_at_once_and_the_answer_comes_with_send_msg(
    app: App, fake: FakeWecom
) -> None:
    async with running(_channel(app, fake)):
        card = await _card_reply(fake, text_frame("/forget"))
        event = await fake.press(card, 0)
        update = await fake.first(_sent("aibot_respond_update_msg", event["headers"]["req_id"]))
        settled = update["body"]["template_card"]
        assert "userids" not in update["body"]  # everyone's copy shows the choice
        assert settled["task_id"] == card["task_id"]
        assert _buttons(settled) == ["确认删除"]
        assert "已选择：确认删除" in settled["sub_title_text"]
        [answer] = await _sends(fake, 1)
        assert "已删除" in answer
        again = await fake.press(card, 1)  # the other button, after the choice was made
        await fake.first(_sent("aibot_respond_update_msg", again["headers"]["req_id"]))
        await asyncio.sleep(0.5)
    assert len([f for f in fake.received if f.get("cmd") == "aibot_send_msg"]) == 1
    assert fake.refused == []


async def test_a_press_by_another_group_member_is_refused_on_their_copy_only(
    app: App, fake: FakeWecom
) -> None:
    async with running(_channel(app, fake)):
        card = await _card_reply(fake, text_frame("@备案助手 /forget", group="wrkgrp1"))
        event = await fake.press(card, 0, user="lisi", group="wrkgrp1")
        update = await fake.first(_sent("aibot_respond_update_msg", event["headers"]["req_id"]))
        assert update["body"]["userids"] == ["lisi"]
        refused = update["body"]["template_card"]
        assert "这个按钮不是给你的。" in refused["sub_title_text"]
        assert _buttons(refused) == ["确认删除", "不删除"]  # zhangsan's choice stays open
        await asyncio.sleep(0.5)
        assert not [f for f in fake.received if f.get("cmd") == "aibot_send_msg"]
        await fake.press(card, 0, user="zhangsan", group="wrkgrp1")
        [sent] = await fake.wait_for(1, "aibot_send_msg", 15)
    assert sent["body"]["chatid"] == "wrkgrp1"
    assert "已删除" in sent["body"]["markdown"]["content"]


@pytest.mark.parametrize("group", [None, "wrkgrp1"])
async def test_a_button_the_bot_does_not_know_gets_the_expired_reply(
    app: App, fake: FakeWecom, group: str | None
) -> None:
    """A card from before a restart, or a key that was never offered."""
    async with running(_channel(app, fake)):
        await fake.push(card_event_frame("old-task", "old-key", user="lisi", group=group))
        [sent] = await fake.wait_for(1, "aibot_send_msg")
    text = sent["body"]["markdown"]["content"]
    assert "按钮已失效，请重新发送命令。" in text
    assert sent["body"]["chatid"] == (group or "lisi")
    assert text.startswith("<@lisi>") is (group is not None)


class Offering:
    """An engine that answers every message with the same choices."""

    def __init__(self, text: str, labels: list[str]) -> None:
        self.text, self.labels = text, labels

    def handle(self, msg: Incoming) -> list[Outgoing]:
        choices = [Choice(label=label, value=f"/pick {i}") for i, label in enumerate(self.labels)]
        return [Outgoing(chat=msg.chat, text=self.text, choices=choices, for_user_id=msg.user_id)]


@pytest.mark.parametrize(
    ("text", "labels", "as_card"),
    [
        ("选一个：", [f"选项{n}" for n in range(6)], True),
        ("选一个：", [f"选项{n}" for n in range(7)], False),  # 7 buttons: one too many
        ("选一个：", ["正好十个字的一个选项", "十一个字的选项超出了呀"], False),
        ("标题" * 13, ["是", "否"], True),  # 26 characters: a title
        ("标题" * 13 + "长", ["是", "否"], False),  # 27, with no sentence end to cut at
        ("选一个：\n" + "说明" * 56, ["是", "否"], True),  # 112 characters under the title
        ("选一个：\n" + "说明" * 56 + "长", ["是", "否"], False),
    ],
)
async def test_choices_beyond_wecoms_card_limits_stay_numbered(
    app: App, fake: FakeWecom, text: str, labels: list[str], as_card: bool
) -> None:
    async with running(_channel(app, fake, engine=Offering(text, labels))):
        frame = text_frame("你好")
        await fake.push(frame)
        reply = await fake.first(_sent("aibot_respond_msg", frame["headers"]["req_id"]), 15)
    body = reply["body"]
    assert body["msgtype"] == ("template_card" if as_card else "stream")
    if as_card:
        assert _buttons(body["template_card"]) == labels
    else:
        assert f"1. {labels[0]}" in body["stream"]["content"]
    assert fake.refused == []


async def test_a_kept_reply_with_choices_goes_as_a_card_with_send_msg(
    app: App, fake: FakeWecom
) -> None:
    channel = _channel(app, fake)
    async with running(channel):
        chat = ChatRef(channel="wecom", chat_id="zhangsan")
        choices = [Choice(label="确认删除", value="/forget confirm")]
        await channel.outbox.send(Outgoing(chat=chat, text=FORGET_TITLE, choices=choices))
        [sent] = await fake.wait_for(1, "aibot_send_msg")
        assert sent["body"]["msgtype"] == "template_card"
        await fake.press(sent["body"]["template_card"], 0)
        [_, answer] = await _sends(fake, 2)
    assert "已删除" in answer


def test_the_fake_refuses_cards_wecom_refuses() -> None:
    good: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": "选一个"},
        "button_list": [{"text": "是", "key": "k1"}],
        "task_id": "t_1-@",
    }
    assert card_problem(good) == ""
    too_many = {**good, "button_list": [{"text": str(n), "key": str(n)} for n in range(7)]}
    assert "1 to 6" in card_problem(too_many)
    assert "task_id" in card_problem({**good, "task_id": "带中文"})
    assert "distinct" in card_problem({**good, "button_list": [good["button_list"][0]] * 2})


# ---- beian-bot wecom bind-group -----------------------------------------------------------


def _cli(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    from bot.cli import main

    monkeypatch.setenv("BEIAN_DB_PATH", str(app.settings.db_path))
    monkeypatch.setenv("BEIAN_CACHE_DIR", str(CACHE_DIR))
    code = main(["wecom", "bind-group", *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_group_bound_with_the_command_gets_its_reminders_through_its_robot(
    app: App,
    fake: FakeWecom,
    robot: FakeGroupRobot,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = robot.url + "?key=robot-key"
    code, out, _ = _cli(app, monkeypatch, capsys, "wrkbound", url)
    assert code == 0 and "wrkbound" in out and "robot-key" not in out
    code, out, _ = _cli(app, monkeypatch, capsys, "--list")
    assert code == 0 and out.startswith("wrkbound\t") and "…-key" in out
    assert "robot-key" not in out
    wecom = WecomSettings(bot_id=BOT_ID, secret=SECRET, ws_url=fake.url)
    settings = app.settings.model_copy(update={"wecom": wecom})
    channel = build_wecom_channel(App(settings=settings, storage=app.storage, engine=app.engine))
    async with running(channel):
        group = ChatRef(channel="wecom", chat_id="wrkbound", kind=ChatKind.GROUP)
        await channel.outbox.send(Outgoing(chat=group, text="⏰ 提醒：续费服务器"))
    [posted] = robot.posted
    assert posted["markdown"]["content"] == "⏰ 提醒：续费服务器"
    assert not [f for f in fake.received if f.get("cmd") == "aibot_send_msg"]
    assert _cli(app, monkeypatch, capsys, "--remove", "wrkbound")[0] == 0
    code, _, err = _cli(app, monkeypatch, capsys, "--remove", "wrkbound")
    assert code == 1 and "没有" in err
    assert "还没有绑定" in _cli(app, monkeypatch, capsys, "--list")[1]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["wrk1", "http://example.com/cgi-bin/webhook/send?key=k"], "https://qyapi.weixin.qq.com"),
        (["wrk1", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"], "key="),
        (["wrk1", "https://qyapi.weixin.qq.com/cgi-bin/other?key=k"], "/cgi-bin/webhook/send"),
        (["wrk1", "https://qyapi.weixin.qq.com.evil.cn/cgi-bin/webhook/send?key=k"], "https://"),
        (["wrk1", "http://[::1"], "不是一个网址"),
        (["  ", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"], "群聊 id 是空的"),
        (["wrk 1", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"], "群聊 id 不对"),
        (["wrk1"], "Webhook 地址"),
        ([], "用法"),
        (["--list", "--remove", "wrk1"], "用法"),
    ],
)
def test_bind_group_refuses_what_it_cannot_bind_saying_what_is_right(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    said: str,
) -> None:
    code, out, err = _cli(app, monkeypatch, capsys, *argv)
    assert code == 2 and said in err and out == ""
    assert "Traceback" not in err
    assert app.storage.group_robots.all("wecom") == {}


def test_a_real_webhook_url_is_accepted_and_printed_without_its_key() -> None:
    from bot.channels.wecom.binding import check_webhook, masked

    key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"
    assert check_webhook(url) == url
    assert key not in masked(url) and masked(url).endswith("key=…5aaa")
