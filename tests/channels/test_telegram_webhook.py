"""Webhook mode: the Starlette app's checks, then both stacks behind uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.app import App
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.webhook import (
    MAX_BODY_BYTES,
    SECRET_HEADER,
    build_webhook_app,
    webhook_paths,
    webhook_server,
)
from bot.storage.base import StorageUnavailable
from tests.channels.conftest import fast_limits, settle
from tests.emulator import BotApiEmulator

SECRET = "s3cret-token_0123"


class FakeTarget:
    """Records what the webhook feeds; rejects updates marked bad."""

    def __init__(self) -> None:
        self.fed: list[dict[str, Any]] = []
        self.full = False

    async def feed(self, update: dict[str, Any]) -> None:
        if "bad" in update:
            raise ValueError("not a Telegram update: 1 invalid field(s)")
        if self.full:
            raise StorageUnavailable("database or disk is full")
        self.fed.append(update)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "queued_updates": len(self.fed)}


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, FakeTarget]]:
    target = FakeTarget()
    app = build_webhook_app(target, SECRET, webhook_paths("https://bot.example.com/hook/tg"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http, target


async def test_the_secret_token_header_is_required(
    client: tuple[httpx.AsyncClient, FakeTarget],
) -> None:
    http, target = client
    update = {"update_id": 1, "message": {}}
    missing = await http.post("/telegram", json=update)
    wrong = await http.post("/telegram", json=update, headers={SECRET_HEADER: "guess"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert SECRET_HEADER in missing.text
    assert target.fed == []
    ok = await http.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
    also = await http.post("/hook/tg", json={"update_id": 2}, headers={SECRET_HEADER: SECRET})
    assert (ok.status_code, also.status_code) == (200, 200)
    assert [u["update_id"] for u in target.fed] == [1, 2]


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "integer update_id"),
        (b'{"update_id": "7"}', "integer update_id"),
        (b'{"update_id": 7, "bad": true}', "not a Telegram update"),
    ],
)
async def test_a_bad_body_gets_400_with_a_sentence(
    client: tuple[httpx.AsyncClient, FakeTarget], body: bytes, sentence: str
) -> None:
    http, target = client
    response = await http.post("/telegram", content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert response.text.startswith("Bad Request: ") and sentence in response.text
    assert response.text.endswith(".")
    assert target.fed == []


async def test_a_body_over_1_mb_gets_413_and_is_not_read(
    client: tuple[httpx.AsyncClient, FakeTarget],
) -> None:
    http, target = client
    padding = "x" * MAX_BODY_BYTES
    declared = await http.post(
        "/telegram", json={"update_id": 9, "pad": padding}, headers={SECRET_HEADER: SECRET}
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b'{"update_id": 10, "pad": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    streamed = await http.post("/telegram", content=chunks(), headers={SECRET_HEADER: SECRET})
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert declared.text.startswith("Payload Too Large: ") and declared.text.endswith(".")
    assert target.fed == []
    just_under = {"update_id": 11, "pad": "x" * (MAX_BODY_BYTES - 100)}
    ok = await http.post("/telegram", json=just_under, headers={SECRET_HEADER: SECRET})
    assert ok.status_code == 200 and [u["update_id"] for u in target.fed] == [11]


async def test_an_update_the_database_cannot_keep_gets_503_so_telegram_sends_it_again(
    client: tuple[httpx.AsyncClient, FakeTarget],
) -> None:
    http, target = client
    target.full = True
    refused = await http.post("/telegram", json={"update_id": 5}, headers={SECRET_HEADER: SECRET})
    assert refused.status_code == 503 and refused.text.startswith("Service Unavailable: ")
    target.full = False  # the disk is back: Telegram's resend is taken
    taken = await http.post("/telegram", json={"update_id": 5}, headers={SECRET_HEADER: SECRET})
    assert taken.status_code == 200 and [u["update_id"] for u in target.fed] == [5]


async def test_healthz(client: tuple[httpx.AsyncClient, FakeTarget]) -> None:
    http, _ = client
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert (await http.get("/telegram")).status_code == 405


@pytest.fixture
async def webhook_bot(
    tg_app: App, stack: str, emu: BotApiEmulator
) -> AsyncIterator[tuple[TelegramChannel, str]]:
    """The bot in webhook mode behind uvicorn on a free port; yields (channel, webhook URL)."""
    from bot.app import build_telegram_channel

    channel = build_telegram_channel(tg_app, stack, limiter=fast_limits)
    await channel.start(polling=False)
    public = "https://bot.example.com/telegram"
    await channel.set_webhook(public, SECRET)
    server = webhook_server(channel, public, SECRET, "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield channel, f"http://127.0.0.1:{port}/telegram"
    server.should_exit = True
    await serving
    await channel.stop()


async def test_updates_posted_to_the_webhook_are_answered_once(
    webhook_bot: tuple[TelegramChannel, str], emu: BotApiEmulator
) -> None:
    channel, url = webhook_bot
    assert emu.webhook_url == "https://bot.example.com/telegram"
    user = emu.add_user("Hook")
    # The emulator does not push webhooks: take its update and POST it like Telegram would.
    update = emu.send_message(user.id, user, "备案要多久")
    assert update is not None
    headers = {SECRET_HEADER: SECRET}
    async with httpx.AsyncClient() as http:
        first = await http.post(url, json=update, headers=headers)
        again = await http.post(url, json=update, headers=headers)  # Telegram's resend
        assert (first.status_code, again.status_code) == (200, 200)
        [answer] = await emu.wait_for_messages(user.id)
        await settle(channel)
        assert "来源：" in (answer.text or "")
        assert len(emu.sent_messages(user.id)) == 1
        broken = {"update_id": 999, "message": {"text": "no chat, no date"}}
        rejected = await http.post(url, json=broken, headers=headers)
        assert rejected.status_code == 400 and "not a Telegram update" in rejected.text
        health = (await http.get(url.replace("/telegram", "/healthz"))).json()
    assert health["status"] == "ok" and health["bot"] == "beian_test_bot"
