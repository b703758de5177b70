"""A local fake of WeCom's AI-bot long-connection service, on 127.0.0.1.

It speaks the frames of the official SDK (wecom-aibot-python-sdk 1.0.2): `aibot_subscribe`
with {bot_id, secret} answered by an ack (853000 for wrong credentials), `ping` acks,
callbacks it pushes (`aibot_msg_callback`, `aibot_event_callback`), and acks for every
`aibot_respond_msg` / `aibot_respond_welcome_msg` / `aibot_send_msg` it records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

BOT_ID, SECRET = "aib-test", "s3cret"


@dataclass
class FakeWecom:
    """The service: what clients sent, and ways to push frames or misbehave."""

    bot_id: str = BOT_ID
    secret: str = SECRET
    answer_pings: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: int = 0
    clients: list[ServerConnection] = field(default_factory=list)
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
            await ws.send(_ack(req_id, 0, "ok"))

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
