"""The group robot (群机器人): a webhook URL that posts markdown into one WeCom group.

For groups without the AI bot, a group's reminders go to its robot. WeCom answers every call
with HTTP 200 and `{errcode, errmsg}`, so the error code is what is checked: 45009 is the
robot's 20-messages-a-minute limit (held and retried), 40058 a text over the limit (never
sent: texts are cut to 4,096 bytes first); any other code is final.
"""

from __future__ import annotations

import logging

import httpx

from bot.channels.wecom.frames import markdown_of, split_markdown
from bot.messages import Outgoing, SendError

logger = logging.getLogger(__name__)

MARKDOWN_LIMIT = 4096  # bytes (40058 beyond): texts are cut to it before they are sent
RATE_LIMITED = 45009  # the robot's 20 a minute


class GroupRobot:
    """An Outbox posting to one group's robot webhook."""

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.client = client or httpx.AsyncClient(timeout=10)

    async def send(self, message: Outgoing) -> None:
        """Post the message as markdown, cut under the limit; raise SendError on an errcode."""
        for piece in split_markdown(markdown_of(message), MARKDOWN_LIMIT):
            await self._post({"msgtype": "markdown", "markdown": {"content": piece}})

    async def _post(self, body: dict[str, object]) -> None:
        try:
            response = await self.client.post(self.url, json=body)
            result = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SendError(f"group robot unreachable: {type(exc).__name__}") from None
        errcode = result.get("errcode") if isinstance(result, dict) else None
        if errcode == 0:
            return
        if errcode == RATE_LIMITED:
            raise SendError("group robot: 20 messages a minute reached", retry_after=60)
        logger.warning("group robot refused a message: errcode %s", errcode)
        raise SendError(f"group robot errcode {errcode}", permanent=True)

    async def close(self) -> None:
        """Release the HTTP client."""
        await self.client.aclose()
