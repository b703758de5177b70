"""Webhook mode: a Starlette app for Telegram's POSTs (secret-token checked) and /healthz.

The route checks and parses the update and has the channel keep it in the database, then
answers 200 at once: Telegram resends an update that is not answered within about a minute,
and never one it got 200 for, so 200 means "kept", not "handled".
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any, Protocol
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.storage.base import StorageUnavailable

logger = logging.getLogger(__name__)
JSON = dict[str, Any]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"
# No Telegram update comes near 1 MB (a message is at most 4,096 characters, media are file
# ids); a bigger body is a client error or an attack on memory, refused before it is read.
MAX_BODY_BYTES = 1_048_576


class WebhookTarget(Protocol):
    """A started channel, as the webhook sees it."""

    async def feed(self, update: JSON) -> None:
        """Keep one update (returns once it is committed); ValueError when it is not one."""
        ...

    def health(self) -> JSON:
        """The /healthz body."""
        ...


def webhook_paths(url: str) -> list[str]:
    """Where to listen: /telegram, and the public URL's path when that differs."""
    path = urlparse(url).path.rstrip("/")
    return [DEFAULT_PATH] + ([path] if path and path != DEFAULT_PATH else [])


def build_webhook_app(
    target: WebhookTarget, secret: str, paths: list[str] | None = None
) -> Starlette:
    """POST /telegram (403 without the right secret, 400 for a bad body) and GET /healthz."""
    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse(f"Forbidden: missing or wrong {SECRET_HEADER} header.", 403)
        body = await _body_within(request, MAX_BODY_BYTES)
        if body is None:
            return PlainTextResponse(
                f"Payload Too Large: a Telegram update is at most {MAX_BODY_BYTES} bytes.", 413
            )
        try:
            update = json.loads(body)
        except ValueError:
            return PlainTextResponse("Bad Request: the body is not JSON.", 400)
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            return PlainTextResponse(
                "Bad Request: the body must be a Telegram Update, a JSON object with an "
                "integer update_id.",
                400,
            )
        try:
            await target.feed(update)
        except ValueError as exc:
            return PlainTextResponse(f"Bad Request: {exc}.", 400)
        except StorageUnavailable:
            # Not kept, so not 200: Telegram sends the update again later.
            logger.warning(
                "webhook update %s refused: the database cannot save", update["update_id"]
            )
            return PlainTextResponse("Service Unavailable: cannot save updates right now.", 503)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return JSONResponse(target.health())

    routes = [Route(p, telegram, methods=["POST"]) for p in paths or [DEFAULT_PATH]]
    return Starlette(routes=[*routes, Route("/healthz", healthz, methods=["GET"])])


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` (by header or by reading)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller owns SIGINT/SIGTERM.

    uvicorn's handlers re-raise the signal when `serve()` returns, which kills the process
    before the channel's stop can finish (and keep) the queued updates."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def webhook_server(
    target: WebhookTarget, url: str, secret: str, host: str, port: int
) -> uvicorn.Server:
    """A uvicorn server for the webhook app; it serves until `server.should_exit` is set."""
    app = build_webhook_app(target, secret, webhook_paths(url))
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_level="warning", access_log=False
    )
    return _Server(config)
