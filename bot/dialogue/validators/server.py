"""The server: public IP address, purchased term, lengths of time."""

from __future__ import annotations

import ipaddress
import re

from bot.dialogue.validators._common import (
    EXAMPLE_IP,
    prepare,
)
from bot.errors import InputError

# --- server ---------------------------------------------------------------------------------

_IP_RANGES: list[tuple[str, str]] = [
    # Checked before the generic ipaddress flags so each gets its own reason.
    ("192.0.2.0/24", "这是文档示例专用地址（TEST-NET-1），不是真实服务器的地址。"),
    ("198.51.100.0/24", "这是文档示例专用地址（TEST-NET-2），不是真实服务器的地址。"),
    ("203.0.113.0/24", "这是文档示例专用地址（TEST-NET-3），不是真实服务器的地址。"),
    ("2001:db8::/32", "这是文档示例专用的 IPv6 地址，不是真实服务器的地址。"),
    ("100.64.0.0/10", "这是运营商级 NAT（CGNAT）的共享地址，不是公网地址。"),
    ("10.0.0.0/8", "这是内网地址（10.x.x.x），请填写服务器的公网 IP。"),
    ("172.16.0.0/12", "这是内网地址（172.16-31.x.x），请填写服务器的公网 IP。"),
    ("192.168.0.0/16", "这是内网地址（192.168.x.x），请填写服务器的公网 IP。"),
    ("fc00::/7", "这是 IPv6 内网地址（fc00::/7），请填写服务器的公网 IP。"),
]
_IP_NETWORKS = [(ipaddress.ip_network(net), reason) for net, reason in _IP_RANGES]


def check_ip(text: str) -> str:
    """A public IPv4 or IPv6 address of the server (private, reserved and test ranges rejected)."""
    raw = prepare(text, what="IP 地址", example=EXAMPLE_IP, limit=100)
    raw = raw.replace("。", ".").strip("[]")
    if "/" in raw:
        raise InputError("请填写单个 IP 地址，不要带「/」和掩码。", EXAMPLE_IP)
    if re.fullmatch(r"[0-9.]+:[0-9]+", raw):
        raise InputError("请只填写 IP 地址，不要带端口号（冒号和后面的数字）。", EXAMPLE_IP)
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise InputError(
            "这不是有效的 IP 地址。IPv4 是用点隔开的 4 组 0-255 的数字。", EXAMPLE_IP
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    reason = _ip_problem(address)
    if reason:
        raise InputError(reason, EXAMPLE_IP)
    return address.compressed


def _ip_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why `address` cannot be a server's public address, or ""."""
    for network, reason in _IP_NETWORKS:
        if address.version == network.version and address in network:
            return reason
    if address.is_unspecified:
        return "这是未指定地址（0.0.0.0 或 ::），请填写服务器的公网 IP。"
    if address.is_loopback:
        return "这是本机回环地址（如 127.0.0.1），请填写服务器的公网 IP。"
    if address.is_link_local:
        return "这是链路本地地址（169.254.x.x 或 fe80::），请填写服务器的公网 IP。"
    if address.is_multicast:
        return "这是组播地址，不能作为服务器地址。"
    if address.is_reserved:
        return "这是保留地址，不能作为服务器地址。"
    if not address.is_global:
        return "这不是公网地址，请在云服务器控制台查看「公网 IP」。"
    return ""


def check_server_term(bought_days: int, days_left: int) -> list[str]:
    """Warnings about a server's purchase length and time left (facts 26)."""
    if not 0 <= bought_days <= 36500 or not -36500 <= days_left <= 36500:
        raise InputError(
            "天数不合理，请填写服务器购买的总天数和剩余天数。", "购买 365 天，剩余 200 天"
        )
    warnings = []
    if days_left <= 0:
        warnings.append("服务器已经到期，到期的服务器不能用于备案，请先续费。")
    elif days_left < 30:
        warnings.append("服务器剩余不到 30 天：腾讯云要求剩余至少 30 天才能备案，请先续费。")
    elif days_left < 60:
        # Provider review (1-4 working days) plus bureau review (up to 20, Zhejiang 30 working
        # days, facts 16-17) can take 6-7 weeks; expiring mid-review hurts (facts 26).
        warnings.append("服务器剩余不到 60 天，审核期间到期会影响备案，建议先续费。")
    if bought_days < 90:
        warnings.append(
            "服务器购买时长不到 90 天：腾讯云要求包年包月且购买至少 90 天（约 3 个月），"
            "按量计费的服务器不能用于备案。"
        )
    return warnings


_DURATION = re.compile(r"([0-9]+|[一二两三四五六七八九十]+|半)\s*(天|日|个?月|年)?")
_CN_NUMBERS = {c: i for i, c in enumerate("零一二三四五六七八九十")} | {"两": 2}


# Words around a number. 「还剩200天」 is exact; 「大概50天」 is 50; 「300多天」, 「一年多」 and
# 「超过300天」 are at least that, which is what a check against a minimum needs. 「不到30天」 and
# 「快一年」 are under an unknown amount: read as the number they would pass a check they fail,
# so they get a question.
_PLAIN = re.compile(r"^(?:还剩下?|剩下?|还有|一共|总共|买了|已经)+|了$")
_ABOUT = re.compile(r"^(?:大概|大约|差不多|约|估计|应该)+|(?:左右|上下|吧)+$")
_AT_LEAST = re.compile(
    r"^(?:超过|多于|至少)(.+)$|^(.+?)(?:多|以上|\+)(天|日|个?月|年)?$|^(.+?(?:天|个?月|年))多$"
)
_UNDER = re.compile(r"不到|不足|少于|快|将近|接近|以内|以下")


def check_duration_days(text: str) -> int:
    """A length of time in days: "90", "90天", "3个月", "三个月", "1年", "半年"."""
    return read_duration(text)[0]


def read_duration(text: str) -> tuple[int, bool]:
    """(days, approximate): also 「大概50天」 (50) and 「300多天」 (at least 300)."""
    example = "3个月"
    raw = prepare(text, what="时长", example=example, limit=20).replace(" ", "")
    if _UNDER.search(raw):
        raise InputError(
            f"「{raw}」没有说出具体多少天。控制台里能看到准确的到期日，请填一个数，例如「25天」。",
            "25天",
        )
    plain = _PLAIN.sub("", raw)
    bare = _ABOUT.sub("", plain)
    at_least = _AT_LEAST.fullmatch(bare)
    if at_least:
        first, number, unit, with_unit = at_least.groups()
        bare = first or with_unit or f"{number}{unit or ''}"
    return _exact_duration(bare, example), bare != plain


def _exact_duration(raw: str, example: str) -> int:
    match = _DURATION.fullmatch(raw)
    if not match:
        raise InputError("请填写时长，例如「90天」「3个月」或「1年」。", example)
    amount, unit = match.groups()
    if amount == "半":
        if unit != "年":
            raise InputError("请填写时长，例如「90天」「3个月」或「1年」。", example)
        return 182
    if amount.isdecimal():
        number = int(amount)
    elif len(amount) == 1:
        number = _CN_NUMBERS[amount]
    elif len(amount) <= 3 and amount.count("十") == 1:  # 十二, 二十, 二十四
        tens, _, units = amount.partition("十")
        number = _CN_NUMBERS.get(tens, 1) * 10 + _CN_NUMBERS.get(units, 0)
    else:
        raise InputError("请用阿拉伯数字填写时长，例如「90天」。", example)
    days = number * {"年": 365, "月": 30, "个月": 30}.get(unit or "天", 1)
    if not 0 < days <= 36500:
        raise InputError("时长不合理，请重新填写。", example)
    return days
