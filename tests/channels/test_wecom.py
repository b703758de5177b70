"""The WeCom channel over a real WebSocket to a local fake of the long-connection service."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app, build_wecom_channel
from bot.channels.wecom import frames
from bot.channels.wecom.channel import WecomChannel
from bot.channels.wecom.connection import WecomAuthError, WecomKicked
from bot.config import Settings, WecomSettings
from bot.messages import ChatKind, ChatRef, Incoming, Outgoing
from tests.channels.wecom_fake import (
    BOT_ID,
    SECRET,
    FakeGroupRobot,
    FakeWecom,
    event_frame,
    text_frame,
)
from tests.conftest import CACHE_DIR, sqlite_db


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    service = FakeWecom()
    await service.start()
    yield service
    await service.close()


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
        if f.get("cmd") == "aibot_respond_msg" and f["headers"]["req_id"] == req_id
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


async def test_choices_are_numbered_and_a_number_picks_one(app: App, fake: FakeWecom) -> None:
    async with running(_channel(app, fake)):
        await _reply_to(fake, text_frame("我要备案"), count=2)
        [question] = await _reply_to(fake, text_frame("/forget"))
        assert "1. 确认删除" in question
        [done] = await _reply_to(fake, text_frame("1"))
    assert "已删除" in done


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
    assert recorder.events == ["message", "message.text", "event", "event.enter_chat"]


@SDK_WARNINGS
def test_a_stream_reply_is_the_frame_the_sdk_builds() -> None:
    """Our stream frame equals the one the SDK's reply_stream sends (cmd, req_id, body)."""
    import asyncio as aio

    from aibot.client import WSClient  # type: ignore[import-untyped]  # the SDK ships no types
    from aibot.types import WSClientOptions

    from bot.channels.wecom import frames

    sent: list[tuple[str, dict[str, Any], str]] = []

    async def capture() -> None:
        client = WSClient(WSClientOptions(bot_id=BOT_ID, secret=SECRET))

        async def send_reply(req_id: str, body: dict[str, Any], cmd: str) -> dict[str, Any]:
            sent.append((req_id, body, cmd))
            return {}

        client._ws_manager.send_reply = send_reply
        await client.reply_stream({"headers": {"req_id": "r1"}}, "s1", "答案", finish=True)

    aio.run(capture())
    [(req_id, body, cmd)] = sent
    ours = frames.stream("r1", "s1", "答案", finish=True)
    assert ours == {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}


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
