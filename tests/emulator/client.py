"""Emulator state and the in-process API that tests use to play the user side."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456789:TEST-emulator-token_0123456789abcdef"
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def compute_entities(text: str) -> list[JSON]:
    """bot_command and mention entities the way Telegram marks them (UTF-16 offsets)."""
    spans = [(m.start(), m.end(), "bot_command") for m in _COMMAND.finditer(text)]
    spans += [(m.start(), m.end(), "mention") for m in _MENTION.finditer(text)]
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in sorted(spans)
    ]


@dataclass
class EmuUser:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JSON:
        """The Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if value := getattr(self, key):
                data[key] = value
        return data


@dataclass
class EmuChat:
    """A private chat, group or supergroup, with the bot's standing in it."""

    id: int
    type: str
    title: str | None = None
    user: EmuUser | None = None
    bot_admin: bool = False
    blocked: bool = False
    admins: set[int] = field(default_factory=set)

    def to_dict(self) -> JSON:
        """The Bot API ``Chat`` object."""
        if self.user is None:
            return {"id": self.id, "type": self.type, "title": self.title or ""}
        data = {"id": self.id, "type": "private", **self.user.to_dict()}
        for key in ("is_bot", "language_code"):
            data.pop(key, None)
        return data


@dataclass
class UploadedFile:
    """A file the bot uploaded."""

    filename: str
    content: bytes
    mime_type: str | None = None
    file_id: str = ""


@dataclass
class SentMessage:
    """One message the bot sent; edits update it in place and are listed in ``edits``."""

    chat_id: int
    message_id: int
    method: str
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    reply_to: int | None = None
    entities: list[JSON] | None = None
    document: UploadedFile | None = None
    caption: str | None = None
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """(text, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data")) for row in rows for b in row]


@dataclass
class RequestRecord:
    """One Bot API request as the emulator saw it."""

    method: str
    params: JSON
    time: float
    status: int = 200
    duration: float = 0.0
    waited: float = 0.0


@dataclass
class Fault:
    """A scripted error answer for the next ``remaining`` matching calls."""

    methods: frozenset[str]
    chat_id: int | None
    remaining: int
    code: int
    description: str
    parameters: JSON | None = None


class EmulatorState:
    """Everything the emulator knows, plus the test-side (user side) API."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "beian_test_bot",
        bot_name: str = "Beian Test Bot",
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.bot = EmuUser(int(token.split(":")[0]), bot_name, bot_username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, EmuChat] = {}
        self.messages: dict[tuple[int, int], JSON] = {}
        self.sent: list[SentMessage] = []
        self.answered_callbacks: list[JSON] = []
        self.deleted_messages: list[tuple[int, int]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.my_commands: dict[tuple[str, str], list[JSON]] = {}
        self.requests: list[RequestRecord] = []
        self.files: dict[str, UploadedFile] = {}
        self.webhook_url = ""
        self._updates: list[JSON] = []  # pending, sorted by update_id
        self._once: list[JSON] = []  # re-used update_ids: delivered once, ignoring offset
        self._next_update_id = 1
        self._next_message_id: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._callbacks: dict[str, bool] = {}  # callback_query id -> answered
        self._faults: list[Fault] = []
        self._waiters: list[asyncio.Future[None]] = []

    # -- change notification -------------------------------------------------------------

    def _notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def _wait_change(self, timeout: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return it; TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if value := predicate():
                return value
            if (remaining := deadline - loop.time()) <= 0:
                raise TimeoutError(f"emulator: condition not met within {timeout}s")
            await self._wait_change(remaining)

    # -- users and chats -----------------------------------------------------------------

    def add_user(
        self,
        first_name: str = "Alice",
        *,
        user_id: int | None = None,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> EmuUser:
        """Create a user and the private chat with the bot (chat id == user id)."""
        uid = user_id if user_id is not None else 100_000 + next(self._ids)
        user = EmuUser(uid, first_name, username, last_name, language_code)
        self.users[uid] = user
        self.chats[uid] = EmuChat(uid, "private", user=user)
        return user

    def add_group(
        self,
        title: str = "Test group",
        *,
        chat_id: int | None = None,
        supergroup: bool = False,
        bot_admin: bool = False,
    ) -> EmuChat:
        """Create a group (negative id) or a supergroup (-100... id) the bot is in."""
        n = next(self._ids)
        cid = chat_id if chat_id is not None else (-1_001_000_000_000 - n if supergroup else -n)
        chat = EmuChat(cid, "supergroup" if supergroup else "group", title, bot_admin=bot_admin)
        self.chats[cid] = chat
        return chat

    def set_bot_admin(self, chat_id: int, admin: bool = True) -> None:
        """Make the bot an administrator of a group (or take it back)."""
        self.chats[chat_id].bot_admin = admin

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks the bot (or the bot is kicked from the group): sends answer 403."""
        self.chats[chat_id].blocked = blocked

    def inject_error(
        self,
        methods: str | Iterable[str],
        code: int,
        description: str,
        *,
        count: int = 1,
        chat_id: int | None = None,
        parameters: JSON | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``methods`` (for ``chat_id``) with an error."""
        names = frozenset([methods] if isinstance(methods, str) else methods)
        self._faults.append(Fault(names, chat_id, count, code, description, parameters))

    def rate_limit(
        self,
        chat_id: int,
        count: int = 1,
        retry_after: int = 1,
        methods: Iterable[str] = ("sendMessage",),
    ) -> None:
        """Answer the next ``count`` sends to ``chat_id`` with 429 and retry_after."""
        desc = f"Too Many Requests: retry after {retry_after}"
        params = {"retry_after": retry_after}
        self.inject_error(methods, 429, desc, count=count, chat_id=chat_id, parameters=params)

    # -- user side: producing updates ----------------------------------------------------

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _store(self, msg: JSON) -> None:
        key = (msg["chat"]["id"], msg["message_id"])
        self.messages[key] = msg
        nxt = self._next_message_id.get(key[0], 1)
        self._next_message_id[key[0]] = max(nxt, key[1] + 1)

    def inject_update(self, update: JSON) -> JSON:
        """Queue a raw update; an already used update_id is delivered once more, as is."""
        update = {"update_id": self._next_update_id, **update}
        uid = update["update_id"]
        reused = uid < self._next_update_id
        if reused:
            self._once.append(update)
        else:
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
        self._next_update_id = max(self._next_update_id, uid + 1)
        if msg := update.get("message"):
            self._store(msg)
        if query := update.get("callback_query"):
            self._callbacks.setdefault(str(query["id"]), False)
        self._notify()
        return update

    def send_message(
        self,
        chat_id: int | EmuChat,
        user: EmuUser,
        text: str,
        reply_to_message_id: int | None = None,
    ) -> JSON | None:
        """The user writes ``text``; returns the Update, or None if privacy mode hides it."""
        chat = self.chats[chat_id.id if isinstance(chat_id, EmuChat) else chat_id]
        msg: JSON = {
            "message_id": self._new_message_id(chat.id),
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": int(time.time()),
            "text": text,
        }
        if entities := compute_entities(text):
            msg["entities"] = entities
        replied = None
        if reply_to_message_id is not None:
            replied = self.messages[(chat.id, reply_to_message_id)]
            msg["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        self._store(msg)
        visible = (
            chat.type == "private"
            or not self.privacy_mode
            or chat.bot_admin
            or text.startswith("/")
            or f"@{self.bot.username}".lower() in text.lower()
            or (replied is not None and replied.get("from", {}).get("id") == self.bot.id)
        )
        return self.inject_update({"message": msg}) if visible else None

    def press_button(
        self, chat_id: int | EmuChat, user: EmuUser, message_id: int, callback_data: str
    ) -> JSON:
        """The user presses an inline button of a message; returns the callback_query Update."""
        cid = chat_id.id if isinstance(chat_id, EmuChat) else chat_id
        msg = self.messages.get((cid, message_id))
        if msg is None:
            raise KeyError(f"emulator: no message {message_id} in chat {cid}")
        rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
        datas = [b.get("callback_data") for row in rows for b in row]
        if callback_data not in datas:
            raise ValueError(f"emulator: message {message_id} has no button {callback_data!r}")
        query = {
            "id": str(4_200_000_000 + next(self._ids)),
            "from": user.to_dict(),
            "chat_instance": str(abs(cid) * 7919 + 17),
            "message": msg,
            "data": callback_data,
        }
        return self.inject_update({"callback_query": query})

    # -- reading what the bot did --------------------------------------------------------

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent, oldest first (to one chat, or to all)."""
        return [s for s in self.sent if chat_id is None or s.chat_id == chat_id]

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot sent at least ``count`` messages to ``chat_id``; return all."""

        def ready() -> list[SentMessage] | None:
            msgs = self.sent_messages(chat_id)
            return msgs if len(msgs) >= count else None

        try:
            return await self.wait_for(ready, timeout)
        except TimeoutError:
            got = [s.text or s.caption for s in self.sent_messages(chat_id)]
            raise TimeoutError(
                f"emulator: wanted {count} messages to {chat_id}, got {got}"
            ) from None

    def commands(self, language_code: str = "", scope: str = "default") -> list[JSON]:
        """Commands set with setMyCommands for a scope key ('default', 'chat:ID', ...)."""
        return self.my_commands.get((scope, language_code), [])

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by an offset."""
        return len(self._updates) + len(self._once)

    @property
    def request_counts(self) -> Counter[str]:
        """Number of requests per Bot API method."""
        return Counter(r.method for r in self.requests)

    @property
    def emulator_seconds(self) -> float:
        """Time the emulator spent serving requests, long-poll waiting excluded."""
        return sum(r.duration - r.waited for r in self.requests)
