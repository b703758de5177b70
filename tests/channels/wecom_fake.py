"""A local fake of WeCom's AI-bot long-connection service, on 127.0.0.1.

It speaks the frames of the official SDK (wecom-aibot-python-sdk 1.0.2): `aibot_subscribe`
with {bot_id, secret} answered by an ack (853000 for wrong credentials), `ping` acks,
callbacks it pushes (`aibot_msg_callback`, `aibot_event_callback`), and acks for every
`aibot_respond_msg` / `aibot_respond_welcome_msg` / `aibot_send_msg` it records.

Template cards are checked as WeCom documents them (智能机器人 模板卡片类型, document 101032):
a `button_interaction` card has a title or text, 1 to 6 buttons with distinct keys of at most
1,024 bytes, and a task_id of at most 128 bytes of [0-9A-Za-z_-@]; a card press is pushed as
the documented `template_card_event`, and `aibot_respond_update_msg` is taken only on such an
event's req_id within 5 s of it. A card that breaks a rule is refused with errcode 40058
(不合法的参数), the code WeCom gives for an invalid parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

BOT_ID, SECRET = "aib-test", "s3cret"
INVALID = 40058
UPDATE_WINDOW = 5.0  # seconds after a card event in which its card may be updated
_TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")


@dataclass
class FakeWecom:
    """The service: what clients sent, and ways to push frames or misbehave."""

    bot_id: str = BOT_ID
    secret: str = SECRET
    answer_pings: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: int = 0
    clients: list[ServerConnection] = field(default_factory=list)
    # Card events pushed and not yet answered: req_id -> when.
    card_events: dict[str, float] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    _server: Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"ws://{host}:{port}"

    async def start(self) -> None:
        self._server = await serve(self._client, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _client(self, ws: ServerConnection) -> None:
        self.clients.append(ws)
        try:
            async for raw in ws:
                frame = json.loads(raw)
                async with self._changed:
                    self.received.append(frame)
                    self._changed.notify_all()
                await self._answer(ws, frame)
        except ConnectionClosed:
            pass  # a drop the test made, or the client going away
        finally:
            with contextlib.suppress(ValueError):
                self.clients.remove(ws)

    async def _answer(self, ws: ServerConnection, frame: dict[str, Any]) -> None:
        req_id = frame["headers"]["req_id"]
        cmd = frame.get("cmd")
        if cmd == "aibot_subscribe":
            body = frame.get("body") or {}
            ok = body.get("bot_id") == self.bot_id and body.get("secret") == self.secret
            if ok:
                self.subscriptions += 1
                await self._kick_others(ws)
            await ws.send(_ack(req_id, 0 if ok else 853000, "ok" if ok else "invalid secret"))
            if not ok:
                await ws.close()
        elif cmd == "ping":
            if self.answer_pings:
                await ws.send(_ack(req_id, 0, "ok"))
        else:
            problem = self._card_problem(frame)
            if problem:
                self.refused.append({**frame, "problem": problem})
            await ws.send(_ack(req_id, INVALID if problem else 0, problem or "ok"))

    def _card_problem(self, frame: dict[str, Any]) -> str:
        """What is wrong with a card frame ("" when nothing is, or it carries no card)."""
        body = frame.get("body") or {}
        if frame.get("cmd") == "aibot_respond_update_msg":
            pushed = self.card_events.pop(frame["headers"]["req_id"], None)
            if pushed is None:
                return "not the req_id of a template_card_event"
            if time.monotonic() - pushed > UPDATE_WINDOW:
                return "card update later than 5 s after its event"
            if body.get("response_type") != "update_template_card":
                return "response_type must be update_template_card"
            userids = body.get("userids", [])
            if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
                return "userids must be a list of userids"
            return card_problem(body.get("template_card"))
        if body.get("msgtype") == "template_card":
            return card_problem(body.get("template_card"))
        return ""

    async def _kick_others(self, newest: ServerConnection) -> None:
        """A second subscription of the same bot takes over: the older one is told, then closed."""
        for other in [c for c in self.clients if c is not newest]:
            await other.send(json.dumps(event_frame("disconnected_event")))
            await other.close()

    # ---- pushing ------------------------------------------------------------------------

    async def push(self, frame: dict[str, Any] | str | bytes) -> None:
        """Send a frame (or anything, to test bad frames) to every connected client."""
        data = frame if isinstance(frame, str | bytes) else json.dumps(frame, ensure_ascii=False)
        for ws in list(self.clients):
            await ws.send(data)

    async def first(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first frame the clients sent that `match` accepts, waiting for it."""

        def found() -> dict[str, Any] | None:
            return next((f for f in self.received if match(f)), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        frame = found()
        assert frame is not None
        return frame

    def cards(self) -> list[dict[str, Any]]:
        """Every template card the clients sent (as replies, on their own or as updates)."""
        found = []
        for frame in self.received:
            card = (frame.get("body") or {}).get("template_card")
            if isinstance(card, dict):
                found.append(card)
        return found

    async def press(
        self,
        card: dict[str, Any],
        button: int,
        *,
        user: str = "zhangsan",
        group: str | None = None,
    ) -> dict[str, Any]:
        """Press a button of a card, as WeCom reports it; returns the event frame pushed."""
        frame = card_event_frame(card["task_id"], card["button_list"][button]["key"], user, group)
        self.card_events[frame["headers"]["req_id"]] = time.monotonic()
        await self.push(frame)
        return frame

    async def drop(self) -> None:
        """Close every client connection abruptly (a network drop)."""
        for ws in list(self.clients):
            await ws.close(code=1011)

    async def wait_for(self, count: int, cmd: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first `count` frames with `cmd` the clients sent, waiting for them."""

        def matching() -> list[dict[str, Any]]:
            return [f for f in self.received if f.get("cmd") == cmd]

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(matching()) >= count), timeout
            )
        return matching()[:count]


def _ack(req_id: str, errcode: int, errmsg: str) -> str:
    return json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg})


def text_frame(
    text: str,
    *,
    user: str = "zhangsan",
    group: str | None = None,
    msgid: str | None = None,
) -> dict[str, Any]:
    """An `aibot_msg_callback` with a text message (in a group when `group` is set)."""
    body: dict[str, Any] = {
        "msgid": msgid or secrets.token_hex(8),
        "aibotid": BOT_ID,
        "chattype": "group" if group else "single",
        "from": {"userid": user},
        "msgtype": "text",
        "text": {"content": text},
    }
    if group:
        body["chatid"] = group
    return {"cmd": "aibot_msg_callback", "headers": {"req_id": secrets.token_hex(8)}, "body": body}


def event_frame(eventtype: str, user: str = "zhangsan") -> dict[str, Any]:
    """An `aibot_event_callback` (enter_chat, disconnected_event, ...)."""
    body = {
        "msgid": secrets.token_hex(8),
        "aibotid": BOT_ID,
        "chattype": "single",
        "from": {"userid": user},
        "msgtype": "event",
        "event": {"eventtype": eventtype},
    }
    return {
        "cmd": "aibot_event_callback",
        "headers": {"req_id": secrets.token_hex(8)},
        "body": body,
    }


def card_event_frame(
    task_id: str, key: str, user: str = "zhangsan", group: str | None = None
) -> dict[str, Any]:
    """An `aibot_event_callback` for a pressed button of a button_interaction card."""
    body: dict[str, Any] = {
        "msgid": secrets.token_hex(8),
        "create_time": int(time.time()),
        "aibotid": BOT_ID,
        "chattype": "group" if group else "single",
        "from": {"userid": user},
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {
                "card_type": "button_interaction",
                "event_key": key,
                "task_id": task_id,
            },
        },
    }
    if group:
        body["chatid"] = group
    return {
        "cmd": "aibot_event_callback",
        "headers": {"req_id": secrets.token_hex(8)},
        "body": body,
    }


def card_problem(card: Any) -> str:
    """What makes a button_interaction card invalid for WeCom ("" when nothing does)."""
    if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
        return "not a button_interaction card"
    title = (card.get("main_title") or {}).get("title")
    if not title and not card.get("sub_title_text"):
        return "main_title.title or sub_title_text is required"
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        return "button_list must hold 1 to 6 buttons"
    keys = [b.get("key") for b in buttons if isinstance(b, dict)]
    if len(keys) != len(buttons) or not all(isinstance(k, str) and k for k in keys):
        return "every button needs a key"
    if len(set(keys)) != len(keys) or any(len(str(k).encode()) > 1024 for k in keys):
        return "button keys must be distinct and at most 1024 bytes"
    if not all(isinstance(b.get("text"), str) and b["text"] for b in buttons):
        return "every button needs a text"
    if not isinstance(card.get("task_id"), str) or not _TASK_ID.fullmatch(card["task_id"]):
        return "task_id must be 1 to 128 bytes of [0-9A-Za-z_-@]"
    return ""


@dataclass
class FakeGroupRobot:
    """A group robot webhook on 127.0.0.1 with WeCom's limits: always HTTP 200 and an errcode."""

    per_minute: int = 20
    posted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    url: str = ""
    _runner: Any = None

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: Any) -> Any:
        from aiohttp import web

        if request.query.get("key") != "robot-key":
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = await request.json()
        content = (body.get("markdown") or {}).get("content", "")
        if len(content.encode()) > 4096:
            self.refused.append(40058)
            return web.json_response({"errcode": 40058, "errmsg": "content exceed max length"})
        if len(self.posted) >= self.per_minute:
            self.refused.append(45009)
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.posted.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})
