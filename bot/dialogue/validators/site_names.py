"""Website names, checked against the naming rules of the article and facts 38-39."""

from __future__ import annotations

import re
from typing import Literal

from bot.dialogue.rules import (
    normalize_suffix,
)
from bot.dialogue.validators._common import (
    CJK,
    EXAMPLE_SITE_NAME,
    SiteNameInfo,
    count_cjk,
    prepare,
)
from bot.errors import InputError

# --- website names --------------------------------------------------------------------------

# Only national-level units may start a name with these (facts 38).
_NATIONAL_PREFIXES = ("中国", "中华", "中央", "国家", "人民", "人大")
# Personal sites may not use enterprise-like words: the article names 有限公司 and 资讯网
# (「个人备案不能涉及企业性质词汇」); 公司, 集团 and 企业 are the same kind of word.
_COMPANY_WORDS = ("有限公司", "公司", "集团", "企业", "资讯网")
# Not named by a source, but enterprise-sounding: a warning only.
_COMPANY_LIKE_WORDS = ("工作室", "官网", "官方")
# Individuals cannot run forums, which count as 电子公告服务 (facts 37).
_FORUM_WORDS = ("论坛", "社区", "bbs")
# The article's tip: 门户 and 平台 may be read as commercial services.
_COMMERCIAL_WORDS = ("门户", "平台")
_LOOKS_LIKE_DOMAIN = re.compile(r"[\w-]+(\.[\w-]+)+")
_SITE_NAME_CHARS = re.compile(f"[{CJK}A-Za-z0-9]+")


def check_site_name(
    text: str, *, subject_type: Literal["personal", "enterprise"], domains: list[str]
) -> SiteNameInfo:
    """A website name checked against the naming rules (facts 38-39, the article)."""
    example = EXAMPLE_SITE_NAME.get(subject_type, EXAMPLE_SITE_NAME["personal"])
    name = prepare(text, what="网站名称", example=example, limit=50)
    lowered = name.lower()
    filed = {normalize_suffix(d).removeprefix("www.") for d in domains}
    as_domain = normalize_suffix(name).removeprefix("www.")
    if as_domain in filed or _LOOKS_LIKE_DOMAIN.fullmatch(lowered):
        raise InputError("网站名称不能直接用域名，请用能说明网站内容的中文名称。", example)
    if not _SITE_NAME_CHARS.fullmatch(name):
        bad = next(c for c in name if not _SITE_NAME_CHARS.fullmatch(c))
        shown = "空格" if bad.isspace() else f"「{bad}」"
        raise InputError(f"网站名称里不能有空格、符号或表情（发现{shown}）。", example)
    if not count_cjk(name):
        raise InputError("网站名称不能只有数字或字母，请用中文说明网站内容。", example)
    if count_cjk(name) < 3:
        raise InputError("网站名称至少要有 3 个汉字。", example)
    warnings: list[str] = []
    if name.startswith(_NATIONAL_PREFIXES):
        national = "只有国家级单位的网站名称才能以「中国、中华、中央、国家、人民、人大」开头"
        if subject_type == "personal":
            raise InputError(f"{national}。", example)
        # A company whose registered name itself starts with 中国 is a national-level unit, and
        # the dialogue cannot tell it from others: warn instead of blocking.
        warnings.append(f"{national}；如果贵单位不是国家级单位，会被驳回。")
    if subject_type == "personal":
        word = next((w for w in _COMPANY_WORDS if w in name), None)
        if word:
            raise InputError(f"个人网站的名称不能带「{word}」这类企业性质的词。", example)
        word = next((w for w in _FORUM_WORDS if w in lowered), None)
        if word:
            raise InputError(
                f"个人不能开办论坛（属于电子公告服务），网站名称里请不要用「{word}」。", example
            )
        if "博客" in name:
            warnings.append("多个管局会驳回名称含「博客」的个人网站，建议换成「笔记」「随笔」等。")
        warnings += [
            f"「{w}」听起来像企业，个人网站可能被要求修改名称。"
            for w in _COMPANY_LIKE_WORDS
            if w in name
        ]
    else:
        word = next((w for w in _FORUM_WORDS if w in lowered), None)
        if word:
            warnings.append(
                f"名称含「{word}」：论坛属于电子公告服务，有些省份已不再批准论坛类网站，请先向接入商确认。"
            )
    warnings += [
        f"「{w}」可能被认为是经营性服务，建议换成更具体的说法。"
        for w in _COMMERCIAL_WORDS
        if w in name
    ]
    return SiteNameInfo(name=name, warnings=warnings)
