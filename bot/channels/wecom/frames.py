"""The long connection's frames: reading callbacks into `Incoming`, building what we send.

Frames are JSON `{cmd, headers: {req_id}, body}`; acknowledgements carry no `cmd`, only
`{headers: {req_id}, errcode, errmsg}` (wecom-aibot-python-sdk 1.0.2, aibot/types.py WsCmd).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.channels.base import render_plain
from bot.messages import ChatKind, ChatRef, Incoming, Outgoing

CHANNEL = "wecom"
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
ENTER_CHAT = "enter_chat"
CARD_EVENT = "template_card_event"
KICKED = "disconnected_event"
MAX_FRAME_BYTES = 1_000_000  # a callback is a few KB; anything this big is not one
MAX_MARKDOWN_BYTES = 20_480  # per message; longer texts are split


class Frame(BaseModel):
    """One frame as received; `cmd` is None for an acknowledgement."""

    model_config = ConfigDict(extra="ignore")

    cmd: str | None = None
    headers: dict[str, Any] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    errcode: int | None = None
    errmsg: str | None = None

    @property
    def req_id(self) -> str:
        """The request id this frame belongs to ("" when missing)."""
        return str(self.headers.get("req_id", ""))


class BadFrame(ValueError):
    """Not a frame: binary, not JSON, not an object, too big. Logged without content."""


def parse(raw: str | bytes) -> Frame:
    """A received WebSocket message as a Frame, or BadFrame saying what kind of bad."""
    if isinstance(raw, bytes):
        raise BadFrame("binary message")
    if len(raw.encode("utf-8", "replace")) > MAX_FRAME_BYTES:
        raise BadFrame("oversized message")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadFrame("not JSON") from None
    if not isinstance(data, dict):
        raise BadFrame(f"JSON {type(data).__name__}, not an object")
    try:
        return Frame.model_validate(data)
    except ValidationError:
        raise BadFrame("malformed frame") from None


def new_req_id(prefix: str) -> str:
    """A fresh request id, prefixed like the SDK's (`ping_…`, `aibot_subscribe_…`)."""
    return f"{prefix}_{secrets.token_hex(8)}"


def request(
    cmd: str, body: dict[str, Any] | None = None, req_id: str | None = None
) -> dict[str, Any]:
    """A frame to send."""
    frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id or new_req_id(cmd)}}
    if body is not None:
        frame["body"] = body
    return frame


def stream(req_id: str, stream_id: str, content: str, *, finish: bool) -> dict[str, Any]:
    """A reply on a callback's req_id: the whole text so far (WeCom replaces the bubble)."""
    body = {"msgtype": "stream", "stream": {"id": stream_id, "finish": finish, "content": content}}
    return request(RESPOND, body, req_id)


def welcome(req_id: str, content: str) -> dict[str, Any]:
    """The one reply allowed to enter_chat, within 5 s of it."""
    return request(RESPOND_WELCOME, {"msgtype": "text", "text": {"content": content}}, req_id)


def send_markdown(chat_id: str, content: str) -> dict[str, Any]:
    """A message the bot sends on its own (a reminder) to a user or a group chat."""
    return request(
        SEND, {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": content}}
    )


def card_reply(req_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """A template card as the reply to a message callback (on its req_id)."""
    return request(RESPOND, {"msgtype": "template_card", "template_card": card}, req_id)


def send_card(chat_id: str, card: dict[str, Any]) -> dict[str, Any]:
    """A template card the bot sends on its own to a user or a group chat."""
    body = {"chatid": chat_id, "msgtype": "template_card", "template_card": card}
    return request(SEND, body)


def update_card(
    req_id: str, card: dict[str, Any], userids: list[str] | None = None
) -> dict[str, Any]:
    """The answer to a card event (within 5 s, on its req_id): the card put in its place,
    for `userids` only when given, else for everyone who has it."""
    body: dict[str, Any] = {"response_type": "update_template_card", "template_card": card}
    if userids:
        body["userids"] = userids
    return request(RESPOND_UPDATE, body, req_id)


def markdown_of(message: Outgoing) -> str:
    """A message the bot sends on its own as markdown: choices numbered, the user named."""
    text = render_plain(message)
    return f"<@{message.mention_user_id}> {text}" if message.mention_user_id else text


def chat_id_of(body: dict[str, Any]) -> str:
    """The chat a callback belongs to: the group's chatid, else the sender's userid."""
    sender = str((body.get("from") or {}).get("userid", ""))
    return str(body.get("chatid") or sender) if body.get("chattype") == "group" else sender


def split_markdown(text: str, limit: int = MAX_MARKDOWN_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut at line ends where possible."""
    pieces, current = [], ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one line longer than a message: cut by characters
            cut = len(line.encode()[:limit].decode("utf-8", "ignore"))
            pieces += [current, line[:cut]] if current else [line[:cut]]
            current, line = "", line[cut:]
        if len((current + line).encode()) > limit:
            pieces.append(current)
            current = ""
        current += line
    return [p for p in [*pieces, current] if p.strip()] or [""]


def incoming(frame: Frame, bot_name: str) -> Incoming | None:
    """A message callback as the engine's Incoming; None for what carries no text."""
    body = frame.body or {}
    sender = str((body.get("from") or {}).get("userid", ""))
    group = body.get("chattype") == "group"
    chat_id = chat_id_of(body)
    if not sender or not chat_id:
        return None
    text = _text_of(body)
    if text is None:
        return None
    if group:
        text = _strip_mention(text, bot_name)
    kind = ChatKind.GROUP if group else ChatKind.PRIVATE
    return Incoming(
        chat=ChatRef(channel=CHANNEL, chat_id=chat_id, kind=kind),
        user_id=sender,
        user_name=sender,
        text=text,
        # WeCom delivers group messages only when the bot is @mentioned.
        mentioned=group,
        message_id=str(body.get("msgid", "")) or None,
    )


def _text_of(body: dict[str, Any]) -> str | None:
    msgtype = body.get("msgtype")
    if msgtype == "text":
        return str((body.get("text") or {}).get("content", ""))
    if msgtype == "voice":  # WeCom sends the transcript
        return str((body.get("voice") or {}).get("content", ""))
    if msgtype == "mixed":
        items = (body.get("mixed") or {}).get("msg_item") or []
        texts = [
            str((item.get("text") or {}).get("content", ""))
            for item in items
            if isinstance(item, dict) and item.get("msgtype") == "text"
        ]
        return "\n".join(t for t in texts if t)
    return None


# An @name as WeCom writes it: up to the next space (WeCom puts U+2005 after a mention).
_LEADING_NAME = re.compile(r"@\S+\s+")
_TRAILING_NAME = re.compile(r"\s+@\S+$")


def _strip_mention(text: str, bot_name: str) -> str:
    """「@备案助手 @张三 备案要多久」 -> 「备案要多久」: the question without the @names.

    WeCom leaves every @name in a group message's text, the bot's among them, in front of the
    question or behind it. Those only say who the message is for, so they go; the bot's own
    @name goes wherever it stands. An @name inside a sentence (「问下 @张三 的备案号」) is part
    of what is said and stays.
    """
    rest, named = text.strip(), f"@{bot_name}" if bot_name else ""
    while rest.startswith("@"):
        if named and rest.startswith(named):  # also glued to the question: 「@备案助手备案…」
            rest = rest[len(named) :].lstrip()
        elif found := _LEADING_NAME.match(rest):
            rest = rest[found.end() :]
        else:
            break
    while True:
        if named and rest.endswith(named):
            rest = rest[: -len(named)].rstrip()
        elif found := _TRAILING_NAME.search(rest):
            rest = rest[: found.start()]
        else:
            break
    if named:
        rest = re.sub(rf"(?<!\S){re.escape(named)}(?!\S)\s*", "", rest)
    return rest.strip()


class CardClick(BaseModel):
    """A button pressed on a card: which card (task_id), which button (key), who, where."""

    task_id: str
    key: str
    user_id: str
    chat: ChatRef


def card_click(frame: Frame) -> CardClick | None:
    """The press a template_card_event reports; None when a field it needs is missing.

    The documented shape nests the press under `event.template_card_event`; it is also read
    from `event` itself, where some deliveries are reported to put it."""
    body = frame.body or {}
    event = body.get("event")
    if not isinstance(event, dict):
        return None
    nested = event.get(CARD_EVENT)
    detail = nested if isinstance(nested, dict) else event
    task_id, key = detail.get("task_id"), detail.get("event_key")
    user = str((body.get("from") or {}).get("userid") or "")
    chat_id = chat_id_of(body)
    if not isinstance(task_id, str) or not isinstance(key, str) or not user or not chat_id:
        return None
    kind = ChatKind.GROUP if body.get("chattype") == "group" else ChatKind.PRIVATE
    chat = ChatRef(channel=CHANNEL, chat_id=chat_id, kind=kind)
    return CardClick(task_id=task_id, key=key, user_id=user, chat=chat)


def pressed(click: CardClick, value: str, message_id: str | None) -> Incoming:
    """A pressed button as the engine's Incoming: the choice's value, as if typed."""
    return Incoming(
        chat=click.chat,
        user_id=click.user_id,
        user_name=click.user_id,
        text=value,
        # The card is the bot's own message: in a group, pressing on it addresses the bot.
        reply_to_bot=True,
        message_id=message_id,
    )


def media_kind(frame: Frame) -> str | None:
    """image / file for a message the bot cannot read as text."""
    msgtype = (frame.body or {}).get("msgtype")
    return str(msgtype) if msgtype in {"image", "file", "video"} else None


def event_type(frame: Frame) -> str | None:
    """The event of an event callback (enter_chat, template_card_event, disconnected_event)."""
    event = (frame.body or {}).get("event")
    return (
        str(event.get("eventtype")) if isinstance(event, dict) and event.get("eventtype") else None
    )
