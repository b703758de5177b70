"""aiohttp server speaking the Telegram Bot API over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from .client import JSON, EmuChat, EmulatorState, RequestRecord, SentMessage, UploadedFile
from .markup import render


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated list of names."""
    return tuple(text.split())


API_METHODS = _words(
    "getMe getUpdates setWebhook deleteWebhook getWebhookInfo logOut close setMyCommands "
    "getMyCommands deleteMyCommands sendMessage editMessageText editMessageReplyMarkup "
    "answerCallbackQuery sendChatAction sendDocument deleteMessage getChat getChatMember "
    "getChatAdministrators"
)
CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)
ADMIN_RIGHTS = _words(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
    "can_change_info can_invite_users can_post_stories can_edit_stories can_delete_stories "
    "can_send_welcome_messages can_pin_messages"
)
GIFT_TYPES = _words(
    "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def bad(description: str) -> ApiError:
    """A 400 Bad Request."""
    return ApiError(400, f"Bad Request: {description}")


class Params:
    """Request parameters from the query string, JSON, urlencoded or multipart bodies."""

    def __init__(self, data: JSON) -> None:
        self.data = data
        self.waited = 0.0

    def opt_int(self, key: str) -> int | None:
        """An optional integer."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {key} specified") from None

    def req_int(self, key: str) -> int:
        """A required integer."""
        if (value := self.opt_int(key)) is None:
            raise bad(f"{key} is empty")
        return value

    def opt_str(self, key: str) -> str | None:
        """An optional string."""
        value = self.data.get(key)
        return None if value is None else str(value)

    def opt_bool(self, key: str) -> bool:
        """A boolean, false when absent."""
        return self.data.get(key) in (True, 1, "true", "True", "1")

    def opt_obj(self, key: str) -> Any:
        """A JSON object or array, JSON-decoded when it came inside a form field."""
        value = self.data.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad(f"can't parse {key} JSON object") from None
        return value


def _check_markup(markup: Any) -> JSON | None:
    """Validate reply_markup; returns it when it belongs in the Message (inline only)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad("BUTTON_DATA_INVALID")
    return markup if "inline_keyboard" in markup else None


def _scope_key(scope: JSON | None) -> str:
    """'default', 'all_private_chats', 'chat:ID', 'chat_member:ID:USER' ..."""
    scope = scope or {"type": "default"}
    ids = [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
    return ":".join([scope.get("type", "default"), *ids])


class BotApiEmulator(EmulatorState):
    """A Telegram Bot API server for tests: ``async with BotApiEmulator() as emu: ...``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._poll_generation = 0
        self._api: dict[str, tuple[str, Callable[[Params], Awaitable[Any]]]] = {
            name.lower(): (name, getattr(self, "api_" + re.sub("([A-Z])", r"_\1", name).lower()))
            for name in API_METHODS
        }

    @property
    def base_url(self) -> str:
        """The Bot API root, without ``/bot``."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> BotApiEmulator:
        """Bind the port (a free one when ``port=0``) and serve."""
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/_emulator/{action}", self._control)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """End pending long polls and close the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- HTTP plumbing -------------------------------------------------------------------

    async def _params(self, request: web.Request) -> Params:
        data: JSON = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad("can't parse JSON body") from None
                data.update(body if isinstance(body, dict) else {})
            else:
                for key, value in (await request.post()).items():
                    data[key] = value
                    if isinstance(value, web.FileField):
                        with value.file:
                            content = value.file.read()
                        data[key] = UploadedFile(value.filename, content, value.content_type)
        return Params(data)

    async def _handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        record_method = request.match_info["method"]
        params = Params({})
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if (entry := self._api.get(record_method.lower())) is None:
                raise ApiError(404, "Not Found")
            record_method, handler = entry
            params = await self._params(request)
            self._check_faults(record_method, params.data.get("chat_id"))
            status, body = 200, {"ok": True, "result": await handler(params)}
        except ApiError as err:
            status = err.code
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
        duration = time.perf_counter() - started
        arrived = time.time() - duration
        self.requests.append(
            RequestRecord(record_method, params.data, arrived, status, duration, params.waited)
        )
        self._notify()
        return web.json_response(body, status=status)

    def _check_faults(self, method: str, chat_id: Any) -> None:
        for fault in self._faults:
            if method in fault.methods and fault.chat_id in (None, _as_int(chat_id)):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise ApiError(fault.code, fault.description, fault.parameters)

    async def _control(self, request: web.Request) -> web.Response:
        """A small HTTP control surface for standalone use (see README)."""
        action = request.match_info["action"]
        body: JSON = await request.json() if request.can_read_body else dict(request.query)
        if action == "user":
            result: Any = self.add_user(**body).to_dict()
        elif action == "group":
            result = self.add_group(**body).to_dict()
        elif action in ("message", "button"):
            user = self.users[int(body.pop("user_id"))]
            send = self.send_message if action == "message" else self.press_button
            result = send(user=user, **body)
        elif action == "update":
            result = self.inject_update(body)
        elif action == "sent":
            chat_id = int(body["chat_id"]) if "chat_id" in body else None
            result = [
                {**asdict(s), "document": s.document and s.document.filename}
                for s in self.sent_messages(chat_id)
            ]
        elif action == "requests":
            result = dict(self.request_counts)
        else:
            raise web.HTTPNotFound()
        return web.json_response({"ok": True, "result": result})

    # -- helpers for the API methods -----------------------------------------------------

    def _chat(self, p: Params) -> EmuChat:
        chat_id = _as_int(p.data.get("chat_id"))
        if p.data.get("chat_id") in (None, ""):
            raise bad("chat_id is empty")
        if chat_id is None or chat_id not in self.chats:
            raise bad("chat not found")
        return self.chats[chat_id]

    def _send_chat(self, p: Params) -> EmuChat:
        chat = self._chat(p)
        if chat.blocked:
            why = "blocked by the user" if chat.user else f"kicked from the {chat.type} chat"
            raise ApiError(403, f"Forbidden: bot was {why}")
        return chat

    def _check_text(self, text: str, parse_mode: str | None, caption: bool = False) -> str:
        try:
            plain = render(text, parse_mode)
        except ValueError as err:
            raise bad(f"can't parse entities: {err}") from None
        if not caption and not plain.strip():
            raise bad("message text is empty")
        if len(plain) > (1024 if caption else 4096):
            raise bad("message caption is too long" if caption else "message is too long")
        return plain

    def _bot_message(self, chat: EmuChat, p: Params, method: str, **content: Any) -> SentMessage:
        reply_to = p.opt_int("reply_to_message_id")
        allow = p.opt_bool("allow_sending_without_reply")
        if isinstance(rp := p.opt_obj("reply_parameters"), dict):
            reply_to, allow = rp.get("message_id"), bool(rp.get("allow_sending_without_reply"))
        replied = self.messages.get((chat.id, reply_to or 0))
        if reply_to and replied is None and not allow:
            raise bad("message to be replied not found")
        markup = p.opt_obj("reply_markup")
        inline = _check_markup(markup)
        msg: JSON = {
            "message_id": self._new_message_id(chat.id),
            "from": self.bot.to_dict(),
            "chat": chat.to_dict(),
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if replied:
            msg["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        if inline:
            msg["reply_markup"] = inline
        self._store(msg)
        sent = SentMessage(
            chat.id,
            msg["message_id"],
            method,
            text=p.opt_str("text"),
            parse_mode=p.opt_str("parse_mode"),
            reply_markup=markup,
            reply_to=replied["message_id"] if replied else None,
            entities=p.opt_obj("entities"),
        )
        self.sent.append(sent)
        return sent

    def _edit(self, p: Params, method: str, **content: Any) -> JSON | bool:
        markup = p.opt_obj("reply_markup")
        inline = _check_markup(markup)
        change: JSON = {"method": method, "reply_markup": markup, **content}
        if inline_id := p.opt_str("inline_message_id"):
            self.sent.append(SentMessage(0, 0, method, edits=[{**change, "inline": inline_id}]))
            return True
        chat = self._chat(p)
        msg = self.messages.get((chat.id, p.req_int("message_id")))
        if msg is None:
            raise bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot.id:
            raise bad("message can't be edited")
        if "text" in content and "text" not in msg:
            raise bad("there is no text in the message to edit")
        new = {**msg, **{k: v for k, v in content.items() if k == "text"}}
        new.pop("reply_markup", None)
        if inline:
            new["reply_markup"] = inline
        if new == msg:
            raise bad(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self.messages[(chat.id, msg["message_id"])] = new
        for sent in self.sent:
            if (sent.chat_id, sent.message_id) == (chat.id, msg["message_id"]):
                sent.edits.append(change)
                sent.reply_markup = markup
                if "text" in content:
                    sent.text, sent.parse_mode = p.opt_str("text"), p.opt_str("parse_mode")
        return new

    def _member(self, chat: EmuChat, user_id: int) -> JSON:
        user = self.bot if user_id == self.bot.id else self.users.get(user_id)
        if user is None:
            raise bad("user not found")
        admin = chat.bot_admin if user is self.bot else user_id in chat.admins
        if not admin or chat.type == "private":
            return {"status": "member", "user": user.to_dict()}
        rights = {right: True for right in ADMIN_RIGHTS}
        return {
            "status": "administrator",
            "user": user.to_dict(),
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
            **rights,
        }

    # -- Bot API methods -----------------------------------------------------------------

    async def api_get_me(self, p: Params) -> JSON:
        return {
            **self.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_get_updates(self, p: Params) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.opt_int("offset") or 0
        limit = min(max(p.opt_int("limit") or 100, 1), 100)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll is answered with 409, as Telegram does
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(p.opt_int("timeout") or 0, 0)
        while not self._once and not self._updates and not self._closing:
            if (remaining := deadline - loop.time()) <= 0:
                break
            waiting_since = loop.time()
            await self._wait_change(remaining)
            p.waited += loop.time() - waiting_since
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        batch = sorted(self._once + self._updates, key=lambda u: u["update_id"])[:limit]
        self._once = [u for u in self._once if all(u is not b for b in batch)]
        return batch

    async def api_set_webhook(self, p: Params) -> bool:
        self.webhook_url = p.opt_str("url") or ""
        return True

    async def api_delete_webhook(self, p: Params) -> bool:
        self.webhook_url = ""
        if p.opt_bool("drop_pending_updates"):
            self._updates, self._once = [], []
        return True

    async def api_get_webhook_info(self, p: Params) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates,
        }

    async def api_log_out(self, p: Params) -> bool:
        return True

    async def api_close(self, p: Params) -> bool:
        return True

    async def api_set_my_commands(self, p: Params) -> bool:
        commands = p.opt_obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands is empty" if commands is None else "BOT_COMMANDS_TOO_MUCH")
        for cmd in commands:
            if not _COMMAND_NAME.fullmatch(str(cmd.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise bad("command description must be non-empty")
        key = (_scope_key(p.opt_obj("scope")), p.opt_str("language_code") or "")
        self.my_commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def api_get_my_commands(self, p: Params) -> list[JSON]:
        return self.commands(p.opt_str("language_code") or "", _scope_key(p.opt_obj("scope")))

    async def api_delete_my_commands(self, p: Params) -> bool:
        key = (_scope_key(p.opt_obj("scope")), p.opt_str("language_code") or "")
        self.my_commands.pop(key, None)
        return True

    async def api_send_message(self, p: Params) -> JSON:
        chat = self._send_chat(p)
        text = self._check_text(p.opt_str("text") or "", p.opt_str("parse_mode"))
        sent = self._bot_message(chat, p, "sendMessage", text=text)
        return self.messages[(chat.id, sent.message_id)]

    async def api_send_document(self, p: Params) -> JSON:
        chat = self._send_chat(p)
        doc = p.data.get("document")
        if isinstance(doc, str) and doc.startswith("attach://"):
            doc = p.data.get(doc.removeprefix("attach://"))
        elif isinstance(doc, str):
            doc = self.files.get(doc)
            if doc is None:
                raise bad("wrong file identifier/HTTP URL specified")
        if not isinstance(doc, UploadedFile):
            raise bad("there is no document in the request")
        doc.file_id = doc.file_id or f"DOC{len(self.files) + 1:06d}"
        self.files[doc.file_id] = doc
        caption = p.opt_str("caption")
        plain = self._check_text(caption, p.opt_str("parse_mode"), True) if caption else None
        info: JSON = {"file_id": doc.file_id, "file_unique_id": "U" + doc.file_id}
        info |= {"file_name": doc.filename, "file_size": len(doc.content)}
        if doc.mime_type:
            info["mime_type"] = doc.mime_type
        sent = self._bot_message(chat, p, "sendDocument", document=info, caption=plain)
        sent.document, sent.caption = doc, caption
        return self.messages[(chat.id, sent.message_id)]

    async def api_edit_message_text(self, p: Params) -> JSON | bool:
        text = self._check_text(p.opt_str("text") or "", p.opt_str("parse_mode"))
        return self._edit(p, "editMessageText", text=text, parse_mode=p.opt_str("parse_mode"))

    async def api_edit_message_reply_markup(self, p: Params) -> JSON | bool:
        return self._edit(p, "editMessageReplyMarkup")

    async def api_answer_callback_query(self, p: Params) -> bool:
        query_id = p.opt_str("callback_query_id") or ""
        if self._callbacks.get(query_id, True):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        self._callbacks[query_id] = True
        self.answered_callbacks.append(
            {
                "callback_query_id": query_id,
                "text": p.opt_str("text"),
                "show_alert": p.opt_bool("show_alert"),
                "url": p.opt_str("url"),
                "cache_time": p.opt_int("cache_time"),
            }
        )
        return True

    async def api_send_chat_action(self, p: Params) -> bool:
        chat = self._send_chat(p)
        if (action := p.opt_str("action")) not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    async def api_delete_message(self, p: Params) -> bool:
        chat = self._chat(p)
        key = (chat.id, p.req_int("message_id"))
        if (msg := self.messages.get(key)) is None:
            raise bad("message to delete not found")
        own = msg.get("from", {}).get("id") == self.bot.id
        if chat.type != "private" and not own and not chat.bot_admin:
            raise bad("message can't be deleted")
        del self.messages[key]
        self.deleted_messages.append(key)
        for sent in self.sent:
            sent.deleted = sent.deleted or (sent.chat_id, sent.message_id) == key
        return True

    async def api_get_chat(self, p: Params) -> JSON:
        gifts = dict.fromkeys(GIFT_TYPES, False)
        return {
            **self._chat(p).to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def api_get_chat_member(self, p: Params) -> JSON:
        return self._member(self._chat(p), p.req_int("user_id"))

    async def api_get_chat_administrators(self, p: Params) -> list[JSON]:
        chat = self._chat(p)
        if chat.type == "private":
            raise bad("there are no administrators in the private chat")
        ids = sorted(chat.admins) + ([self.bot.id] if chat.bot_admin else [])
        return [self._member(chat, uid) for uid in ids]


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
