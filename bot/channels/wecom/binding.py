"""`beian-bot wecom bind-group`: which group chat's reminders go through which group robot.

Bindings are kept in the database (`Storage.group_robots`), the webhook URL sealed because its
`key` is the robot's secret; nothing here prints or logs a key, only its last four characters.
A running `beian-bot wecom` reads them when it connects, so a change reaches it at its next
start (or when another worker takes over the long connection).
"""

from __future__ import annotations

import sys
import unicodedata
from urllib.parse import parse_qs, urlsplit

from bot.channels.wecom.frames import CHANNEL
from bot.config import Settings
from bot.errors import BeianError
from bot.storage.base import GroupRobotStore, open_storage

WEBHOOK_HOST = "qyapi.weixin.qq.com"
WEBHOOK_PATH = "/cgi-bin/webhook/send"
EXAMPLE = f"https://{WEBHOOK_HOST}{WEBHOOK_PATH}?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
MAX_CHAT_ID = 128


class BadBinding(BeianError):
    """A chat id or webhook URL an operator gave that cannot be bound (says what is wrong)."""


def check_chat_id(chat_id: str) -> str:
    """The group's chat id, stripped; BadBinding when empty, too long or with control chars."""
    chat_id = chat_id.strip()
    if not chat_id:
        raise BadBinding(
            "群聊 id 是空的：请给出要绑定的群的 chatid（机器人在群里收到的消息里有）。"
        )
    if len(chat_id) > MAX_CHAT_ID or any(
        unicodedata.category(c).startswith(("C", "Z")) for c in chat_id
    ):
        raise BadBinding(
            f"群聊 id 不对：应为不超过 {MAX_CHAT_ID} 个字符、不含空格和控制字符的 chatid，"
            "例如 wrkSFfCgAAxxxx。"
        )
    return chat_id


def check_webhook(url: str) -> str:
    """The URL when it is a group robot's send URL with a key (or, for tests, a loopback
    http URL with a key); BadBinding saying what is wrong and what a right one looks like."""
    url = url.strip()
    wrong = (
        f"群机器人的 Webhook 地址不对（{{}}）。应为群设置 → 群机器人里复制的地址，形如 {EXAMPLE}"
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadBinding(wrong.format("不是一个网址")) from None
    local = parts.scheme == "http" and parts.hostname == "127.0.0.1"
    if not local:
        if parts.scheme != "https" or parts.hostname != WEBHOOK_HOST or port not in (None, 443):
            raise BadBinding(wrong.format(f"应以 https://{WEBHOOK_HOST} 开头"))
        if parts.path != WEBHOOK_PATH:
            raise BadBinding(wrong.format(f"路径应为 {WEBHOOK_PATH}"))
    if parts.username is not None or parts.fragment:
        raise BadBinding(wrong.format("地址里不应有用户名或 #"))
    keys = parse_qs(parts.query).get("key", [])
    if len(keys) != 1 or not keys[0].strip() or any(c.isspace() for c in keys[0]):
        raise BadBinding(wrong.format("缺少 key=… 参数"))
    return url


def masked(url: str) -> str:
    """The URL with its key cut to the last four characters: safe to print."""
    parts = urlsplit(url)
    query = []
    for item in parts.query.split("&"):
        name, sep, value = item.partition("=")
        query.append(
            f"{name}={'…' + value[-4:] if len(value) > 8 else '…'}"
            if sep and name == "key"
            else item
        )
    return parts._replace(query="&".join(query)).geturl()


def bind_group(store: GroupRobotStore, chat_id: str, url: str) -> str:
    """Bind the robot to the group; what to tell the operator."""
    chat_id, url = check_chat_id(chat_id), check_webhook(url)
    new = store.bind(CHANNEL, chat_id, url)
    done = "已绑定" if new else "已更新"
    return (
        f"{done}：群 {chat_id} 的提醒改由群机器人发送（{masked(url)}）。"
        "正在运行的 beian-bot wecom 在下次启动时读取。"
    )


def remove_group(store: GroupRobotStore, chat_id: str) -> tuple[bool, str]:
    """Unbind the group's robot; (whether there was one, what to tell the operator)."""
    chat_id = check_chat_id(chat_id)
    if store.unbind(CHANNEL, chat_id):
        return (
            True,
            f"已解除群 {chat_id} 的群机器人绑定；其提醒改由智能机器人发送（下次启动时生效）。",
        )
    return False, f"群 {chat_id} 没有用 bind-group 绑定的群机器人，没有改动。"


def list_groups(store: GroupRobotStore, settings: Settings) -> list[str]:
    """One line per bound group: its chat id and the robot's URL with the key masked."""
    lines = [f"{chat_id}\t{masked(url)}" for chat_id, url in store.all(CHANNEL).items()]
    wecom = settings.wecom
    if wecom.webhook_url and wecom.webhook_chat:
        lines.append(
            f"{wecom.webhook_chat}\t{masked(wecom.webhook_url)}"
            "\t（来自 BEIAN_WECOM__WEBHOOK_URL；同一个群以 bind-group 的绑定为准）"
        )
    return lines or ["还没有绑定群机器人。绑定：beian-bot wecom bind-group 群聊ID WEBHOOK地址"]


def run_bind_group(
    chat_id: str | None, url: str | None, *, show: bool, remove: str | None, settings: Settings
) -> int:
    """`beian-bot wecom bind-group CHAT_ID URL | --list | --remove CHAT_ID`; the exit code."""
    if sum([show, remove is not None, chat_id is not None or url is not None]) != 1:
        raise BadBinding(
            "用法：beian-bot wecom bind-group 群聊ID WEBHOOK地址；"
            "beian-bot wecom bind-group --list；beian-bot wecom bind-group --remove 群聊ID"
        )
    if not show and remove is None and (chat_id is None or url is None):
        raise BadBinding(
            f"要给出群聊 id 和群机器人的 Webhook 地址，例如：bind-group wrkSFfCgAAxxxx {EXAMPLE}"
        )
    if chat_id is not None:
        check_chat_id(chat_id)  # before opening the database: a typo costs nothing
    if url is not None:
        check_webhook(url)
    storage = open_storage(settings)
    try:
        store = storage.group_robots
        if show:
            print("\n".join(list_groups(store, settings)))
            return 0
        if remove is not None:
            removed, told = remove_group(store, remove)
            print(told, file=sys.stdout if removed else sys.stderr)
            return 0 if removed else 1
        assert chat_id is not None and url is not None
        print(bind_group(store, chat_id, url))
        return 0
    finally:
        storage.close()
