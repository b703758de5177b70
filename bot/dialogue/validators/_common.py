"""What every validator shares: examples, result models, input preparation."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.errors import InputError

# Examples shown with every error: valid, and obviously not anybody's real data.
EXAMPLE_NAME = "张三"
EXAMPLE_ID = "11010519491231002X"  # the sample number printed in GB 11643
EXAMPLE_MOBILE = "13800138000"
EXAMPLE_EMAIL = "zhangsan@example.com"
EXAMPLE_CREDIT_CODE = "91350100M000100Y43"
EXAMPLE_COMPANY = "示例科技有限公司"
EXAMPLE_IP = "1.2.3.4"
EXAMPLE_DOMAIN = "example.com"
EXAMPLE_SITE_NAME = {"personal": "张三的读书笔记", "enterprise": "示例科技产品介绍"}

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
CJK_RE = re.compile(f"[{CJK}]")
# Zero-width characters ride along when text is copied from web pages and chat apps: drop them.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


class Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IdCardInfo(Result):
    """What the dialogue keeps of a resident ID number: never the full number."""

    masked: str  # 110***********002X: first 3 + last 4
    region_prefix: str  # first two digits (GB/T 2260 province code)
    province: str | None  # None for 港澳台居民居住证 numbers (81/82/83)
    birth_date: date
    age: int
    gender: Literal["男", "女"]
    warnings: list[str] = Field(default_factory=list)


class MobileInfo(Result):
    """A checked mainland mobile number, masked (the bot never texts the user)."""

    masked: str  # 138****5678
    prefix: str  # first three digits, e.g. 138
    carrier: str | None  # by number range; ported numbers keep their old range
    warnings: list[str] = Field(default_factory=list)


class EmailInfo(Result):
    """A checked e-mail address, masked."""

    masked: str  # z***@example.com
    domain: str


class CreditCodeInfo(Result):
    """A checked 统一社会信用代码 (public business data, so kept in full)."""

    code: str
    authority: str | None  # 登记管理部门 from the 1st character, e.g. 9 -> 工商
    category: str | None  # 机构类别 from the 2nd character, e.g. 91 -> 企业
    region_code: str  # characters 3-8
    province: str | None


class DomainInfo(Result):
    """One registrable domain ready for filing."""

    domain: str  # Unicode form, lower case: 例子.中国
    ascii: str  # punycode form: xn--fsqu00a.xn--fiqs8s
    suffix: str  # without the dot: com, com.cn, 中国
    warnings: list[str] = Field(default_factory=list)


class SiteNameInfo(Result):
    """A website name that passed the blocking rules, with what may still be questioned."""

    name: str
    warnings: list[str] = Field(default_factory=list)


# --- shared helpers -------------------------------------------------------------------------


def prepare(
    text: str,
    *,
    what: str,
    example: str,
    limit: int,
    nfkc: bool = True,
    multiline: bool = False,
) -> str:
    """Cap the length first, drop invisible characters, normalise, strip, reject control chars."""
    if len(text) > limit:
        raise InputError(f"{what}太长了，请检查后重新输入。", example)
    text = text.translate(INVISIBLE)
    if nfkc:  # full-width digits and letters (１３８, ＠) become ASCII
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if not text:
        raise InputError(f"请填写{what}。", example)
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) in CONTROL_CATEGORIES and c not in allowed for c in text):
        raise InputError(f"{what}里有无法识别的控制字符，请直接输入文字。", example)
    return text


def has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def count_cjk(text: str) -> int:
    return len(CJK_RE.findall(text))
