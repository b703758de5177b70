"""Bot API JSON <-> Incoming / Outgoing, shared by the python-telegram-bot and aiogram stacks.

Both stacks hand their updates over as Bot API JSON (PTB `Update.to_dict()`, aiogram
`Update.model_dump(by_alias=True)`), so one set of functions decides what a message means
(who sent it, whether the bot was addressed) and how a reply looks (keyboard, deep link,
mention). The stacks cannot drift apart because neither owns any of this.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.channels.base import BUTTON_TTL, EXPIRED_BUTTON, NOT_YOUR_BUTTON
from bot.channels.telegram.text import CAPTION_LIMIT, split_text, utf16_len
from bot.messages import ChatKind, ChatRef, Choice, Incoming, Outgoing

JSON = dict[str, Any]
CHANNEL = "telegram"
# Telegram keeps undelivered updates for a day; anything older is not worth answering.
MAX_UPDATE_AGE = 24 * 3600
ALLOWED_UPDATES = ["message", "callback_query"]

# setMyCommands, in menu order (zh-CN descriptions; Telegram allows 1-256 characters).
BOT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "开始：我能帮你做什么"),
    ("help", "全部命令和用法"),
    ("filing", "开始备案资料预审（私聊）"),
    ("status", "查看备案资料填写进度"),
    ("reminders", "查看我的提醒"),
    ("export", "导出备案资料（个人信息已打码）"),
    ("forget", "删除我保存的你的全部数据"),
    ("cancel", "暂停当前的填写"),
    ("lang", "回答语言：/lang zh 中文，/lang en English"),
)
DEEP_LINK_LABEL = "➡️ 私聊我继续"
_CALLBACK_LIMIT = 64  # bytes of callback_data
_KEY_PREFIX = "#k:"
_START_PAYLOAD = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is (from getMe): needed to spot mentions, replies and deep links."""

    id: int
    username: str

    def deep_link(self, payload: str) -> str:
        """https://t.me/<bot>?start=<payload> (payload limited to Telegram's alphabet)."""
        return f"https://t.me/{self.username}?start={_START_PAYLOAD.sub('_', payload)[:64]}"


class CallbackKeys:
    """Choice values as callback_data, bound to the user they were offered to.

    A choice for one user (every reply and reminder names its user) gets an opaque token: the
    bot keeps which user, which value and until when, so a press by anyone else, or after the
    offer expired (or a restart forgot it), changes nothing. A value offered to no one in
    particular goes as it is when it fits in 64 bytes, else as a short key.
    """

    def __init__(self, capacity: int = 10_000, ttl: float = BUTTON_TTL) -> None:
        self.capacity, self.ttl = capacity, ttl
        self._values: OrderedDict[str, tuple[str, str | None, float]] = OrderedDict()

    def encode(self, value: str, for_user: str | None = None) -> str:
        """callback_data for a choice value (offered to `for_user`, if given)."""
        if for_user is None:
            if len(value.encode()) <= _CALLBACK_LIMIT and not value.startswith(_KEY_PREFIX):
                return value
            key = _KEY_PREFIX + hashlib.sha256(value.encode()).hexdigest()[:24]
        else:
            key = _KEY_PREFIX + secrets.token_urlsafe(18)
        self._values[key] = (value, for_user, time.monotonic() + self.ttl)
        self._values.move_to_end(key)
        while len(self._values) > self.capacity:
            self._values.popitem(last=False)
        return key

    def decode(self, data: str, presser: str | None = None) -> str | None:
        """The choice value for callback_data; None when expired or never offered."""
        return self.resolve(data, presser)[0]

    def resolve(self, data: str, presser: str | None) -> tuple[str | None, str | None]:
        """(value, None) for a valid press, else (None, what to tell the presser)."""
        if not data.startswith(_KEY_PREFIX):
            return data, None
        stored = self._values.get(data)
        if stored is None or stored[2] < time.monotonic():
            return None, EXPIRED_BUTTON
        value, owner, _ = stored
        if owner is not None and owner != presser:
            return None, NOT_YOUR_BUTTON
        return value, None


# ---- platform update -> Incoming ------------------------------------------------------------


def update_chat_id(update: JSON) -> int | None:
    """The chat an update belongs to: updates of one chat are handled in order."""
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    chat = (message or {}).get("chat") or {}
    chat_id = chat.get("id")
    return int(chat_id) if chat_id is not None else None


def _chat_ref(chat: JSON) -> ChatRef | None:
    kind = {"private": ChatKind.PRIVATE, "group": ChatKind.GROUP, "supergroup": ChatKind.GROUP}
    if chat.get("type") not in kind:
        return None  # channels: the bot does not take part in them
    return ChatRef(channel=CHANNEL, chat_id=str(chat["id"]), kind=kind[chat["type"]])


def _display_name(user: JSON) -> str:
    if user.get("username"):
        return str(user["username"])
    return " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k))


# What may stand between the mentions a message starts or ends with: 「@a @b，问题」.
_BETWEEN_MENTIONS = frozenset(" \t\n\u00a0\u2005\u3000,，、:：")


def _char_spans(text: str, entities: list[JSON]) -> list[tuple[JSON, int, int]]:
    """Each entity with its (start, end) as `str` indices, converted from UTF-16 offsets."""
    units = [0]  # units[i]: UTF-16 units before character i
    for char in text:
        units.append(units[-1] + (2 if ord(char) > 0xFFFF else 1))
    index = {unit: i for i, unit in enumerate(units)}
    spans = []
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            continue
        start, end = index.get(offset), index.get(offset + length)
        if start is not None and end is not None and start < end:
            spans.append((entity, start, end))
    return sorted(spans, key=lambda span: span[1])


def _mention_runs(text: str, mentions: list[tuple[int, int]]) -> tuple[int, int]:
    """(head, tail): `text[:head]` and `text[tail:]` are nothing but @mentions and separators.

    Mentions in front of or behind the question only say who it is for; cut, they leave the
    question the retriever can match. A mention inside a sentence (「问下 @dave 的备案号」) is
    part of what is said, so it stays.
    """
    starts = {start: end for start, end in mentions}
    ends = {end: start for start, end in mentions}
    head = 0
    while True:
        while head < len(text) and text[head] in _BETWEEN_MENTIONS:
            head += 1
        if head not in starts:
            break
        head = starts[head]
    tail = len(text)
    while tail > head:
        while tail > head and text[tail - 1] in _BETWEEN_MENTIONS:
            tail -= 1
        if tail not in ends or ends[tail] < head:
            break
        tail = ends[tail]
    return head, max(head, tail)


def _addressing(text: str, entities: list[JSON], me: BotIdentity) -> tuple[str, bool, bool]:
    """(the question without the mentions around it, mentioned, command for another bot).

    The bot's own mention is cut wherever it is: it names the addressee, never part of the
    question. Other members' mentions are cut where a message starts or ends with them.
    """
    spans = _char_spans(text, entities)
    mentioned, own, mentions = False, [], []
    for entity, start, end in spans:
        kind = entity.get("type")
        if kind == "mention":
            mine = text[start:end].lower() == f"@{me.username}".lower()
        elif kind == "text_mention":
            mine = (entity.get("user") or {}).get("id") == me.id
        else:
            continue
        mentioned = mentioned or mine
        mentions.append((start, end))
        if mine:
            own.append((start, end))
    head, tail = _mention_runs(text, mentions)
    for entity, start, end in spans:
        # 「/start@other_bot」, also behind a leading mention: the remaining text's command.
        command, _, addressee = text[start:end].partition("@")
        if entity.get("type") != "bot_command" or start not in {0, head}:
            continue
        if command and addressee and addressee.lower() != me.username.lower():
            return text, mentioned, True
    if not mentions:
        return text, mentioned, False
    kept, at = [], head
    for start, end in own:
        if head <= start and end <= tail:
            kept.append(text[at:start])
            at = end
    kept.append(text[at:tail])
    return re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip(), mentioned, False


def message_to_incoming(
    message: JSON, me: BotIdentity, update_id: int | None = None, now: float | None = None
) -> Incoming | None:
    """A user's message as Incoming; None for what the bot never looks at.

    Ignored: other bots, channel posts, messages older than a day, and commands addressed to
    another bot (`/start@other_bot`). Everything else goes to the engine, which applies the
    group etiquette itself.
    """
    sender, chat = message.get("from") or {}, _chat_ref(message.get("chat") or {})
    if chat is None or not sender or sender.get("is_bot"):
        return None
    if (now or time.time()) - float(message.get("date") or 0) > MAX_UPDATE_AGE:
        return None
    text = message.get("text") or message.get("caption") or ""
    entities = message.get("entities") or message.get("caption_entities") or []
    text, mentioned, foreign_command = _addressing(text, entities, me)
    if foreign_command:
        return None
    replied_to = (message.get("reply_to_message") or {}).get("from") or {}
    return Incoming(
        chat=chat,
        user_id=str(sender["id"]),
        user_name=_display_name(sender),
        text=text,
        mentioned=mentioned,
        reply_to_bot=replied_to.get("id") == me.id,
        message_id=str(message["message_id"]),
        raw={"update_id": update_id, "chat_type": (message.get("chat") or {}).get("type")},
    )


def callback_to_incoming(
    query: JSON, me: BotIdentity, keys: CallbackKeys, update_id: int | None = None
) -> tuple[Incoming | None, str | None]:
    """A pressed button as the typed choice, or (None, why not: expired, someone else's)."""
    message, sender = query.get("message") or {}, query.get("from") or {}
    chat = _chat_ref(message.get("chat") or {})
    presser = str(sender["id"]) if sender.get("id") is not None else None
    value, refusal = keys.resolve(str(query.get("data") or ""), presser)
    if chat is None or not sender or value is None:
        return None, refusal or EXPIRED_BUTTON
    return Incoming(
        chat=chat,
        user_id=str(sender["id"]),
        user_name=_display_name(sender),
        text=value,
        # The button sits on the bot's own message: in a group that addresses the bot.
        reply_to_bot=True,
        raw={"update_id": update_id, "callback_query_id": query.get("id")},
    ), None


# ---- Outgoing -> Bot API parameters ---------------------------------------------------------


def _rows(choices: list[Choice], keys: CallbackKeys, for_user: str | None) -> list[list[JSON]]:
    """Short labels share a row (up to three, about 16 characters); long ones stand alone."""
    rows: list[list[JSON]] = []
    width = 0
    for choice in choices:
        button = {"text": choice.label, "callback_data": keys.encode(choice.value, for_user)}
        if rows and len(rows[-1]) < 3 and width + len(choice.label) <= 16:
            rows[-1].append(button)
            width += len(choice.label)
        else:
            rows.append([button])
            width = len(choice.label)
    return rows


def reply_markup(message: Outgoing, me: BotIdentity, keys: CallbackKeys) -> JSON | None:
    """The inline keyboard: choices as callback buttons, a deep link as a URL button."""
    rows = _rows(message.choices, keys, message.for_user_id)
    if message.deep_link:
        rows.append([{"text": DEEP_LINK_LABEL, "url": me.deep_link(message.deep_link)}])
    return {"inline_keyboard": rows} if rows else None


def with_mention(message: Outgoing) -> tuple[str, list[JSON]]:
    """The text and a `text_mention` entity that notifies `mention_user_id`.

    The engine writes `@name` into the text where the user is addressed; that span becomes
    the mention. When the text has none, `@name ` is put in front.
    """
    text = message.text
    if not message.mention_user_id or not message.mention_user_id.lstrip("-").isdigit():
        return text, []
    name = message.mention_user_name or "你"
    tag = f"@{name}"
    index = text.find(tag)
    if index < 0:
        text, index = f"{tag} {text}", 0
    user = {"id": int(message.mention_user_id), "is_bot": False, "first_name": name}
    entity = {
        "type": "text_mention",
        "offset": utf16_len(text[:index]),
        "length": utf16_len(tag),
        "user": user,
    }
    return text, [entity]


def split_outgoing(message: Outgoing) -> list[Outgoing]:
    """One Outgoing per Telegram message: text chunks of <= 4096, the file last.

    The first part keeps the mention and the deletion, the last the buttons and deep link,
    so a retry of one part (after a 429) never repeats another.
    """
    limit = CAPTION_LIMIT if message.document else 4096
    if utf16_len(message.text) <= limit:
        return [message]
    chunks = split_text(message.text)
    tail_fields = {"choices": message.choices, "deep_link": message.deep_link}
    parts = [message.model_copy(update={"text": chunk, "document": None}) for chunk in chunks]
    for part in parts[1:]:
        part.mention_user_id = part.mention_user_name = part.delete_message_id = None
    for part in parts[:-1]:
        part.choices, part.deep_link = [], None
    if message.document:
        parts.append(
            Outgoing(chat=message.chat, text="", document=message.document, **tail_fields)
        )
        parts[-2].choices, parts[-2].deep_link = [], None
    return parts
