"""Slot validators by name: each turns the user's text into a stored answer or an InputError."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from bot.dates import Tense, resolve_year
from bot.dialogue import validators as v
from bot.dialogue.rules import find_province, province_for_place
from bot.errors import InputError
from bot.privacy import mask_name


class Answer(BaseModel):
    """What a slot keeps: the value rules use, the text shown back, warnings for the report."""

    value: Any
    shown: str
    warnings: list[str] = Field(default_factory=list)
    # Said once, right after the answer is taken (「深圳」 was read as 广东); not kept.
    note: str = Field(default="", exclude=True)


Validator = Callable[[str, dict[str, Any], date], Answer]


def _subject(values: dict[str, Any]) -> str:
    answer = values.get("subject_type")
    return str(answer["value"]) if answer else "personal"


def _province_name(values: dict[str, Any]) -> str | None:
    answer = values.get("province")
    return str(answer["shown"]) if answer else None


_SERVER_WORDS = re.compile(r"服务器|机房|节点|地域|可用区|云")


def province(text: str, values: dict[str, Any], today: date) -> Answer:
    """A mainland province by name or abbreviation."""
    if _SERVER_WORDS.search(text):
        # Many guides (the seed article too) still say the server's location decides.
        raise InputError(
            "管局按备案主体证件上的地址确定，不按服务器所在地：很多教程还写着按服务器，"
            "那是旧说法（腾讯云网站备案文档「主体信息」 https://cloud.tencent.com/document/"
            "product/243 ）。请填你的身份证（单位填营业执照）地址所在的省。",
            "广东",
        )
    found = find_province(text.strip()[:20])
    if found is not None:
        return Answer(value=found.code, shown=found.name)
    place = province_for_place(text.strip().removesuffix("的"))
    if place is None:
        raise InputError(
            "没认出这个省份。请填写证件地址所在的省、自治区或直辖市（港澳台不能办 ICP 备案）。",
            "广东",
        )
    name, where = place
    note = f"「{name}」在{where.name}，备案省份按{where.name}记下了。不对的话发 /back 重填。"
    return Answer(value=where.code, shown=where.name, note=note)


def ip_address(text: str, values: dict[str, Any], today: date) -> Answer:
    """A public IPv4 or IPv6 address."""
    address = v.check_ip(text)
    return Answer(value=address, shown=address)


def duration(text: str, values: dict[str, Any], today: date) -> Answer:
    """A length of time, kept in days; an approximate one is said back to be checked."""
    days, approximate = v.read_duration(text)
    if not approximate:
        return Answer(value=days, shown=f"{days} 天")
    note = f"「{text.strip()}」按 {days} 天记下了。差得多的话发 /back 重填。"
    return Answer(value=days, shown=f"约 {days} 天", note=note)


def person_name(text: str, values: dict[str, Any], today: date) -> Answer:
    """A person's name, shown masked (张*明) like every other personal value."""
    name = v.check_person_name(text)
    return Answer(value=name, shown=mask_name(name))


def id_number(text: str, values: dict[str, Any], today: date) -> Answer:
    """A resident ID: checked, then only the masked form, region and age are kept."""
    info = v.check_id_number(text, today=today)
    kept = {"masked": info.masked, "province": info.province, "age": info.age}
    return Answer(value=kept, shown=info.masked, warnings=list(info.warnings))


def mobile(text: str, values: dict[str, Any], today: date) -> Answer:
    """A mainland mobile number, kept masked."""
    info = v.check_mobile(text)
    return Answer(value=info.masked, shown=info.masked, warnings=list(info.warnings))


def email(text: str, values: dict[str, Any], today: date) -> Answer:
    """An e-mail address, kept masked."""
    info = v.check_email(text)
    return Answer(value=info.masked, shown=info.masked)


def company_name(text: str, values: dict[str, Any], today: date) -> Answer:
    """A company name as on the business licence."""
    name = v.check_company_name(text)
    return Answer(value=name, shown=name)


def credit_code(text: str, values: dict[str, Any], today: date) -> Answer:
    """A unified social credit code (public business data, kept as is)."""
    info = v.check_credit_code(text)
    return Answer(value={"code": info.code, "province": info.province}, shown=info.code)


def domains(text: str, values: dict[str, Any], today: date) -> Answer:
    """One or more domains, reduced to registrable domains and checked against suffix rules."""
    found = v.check_domains(text, province=_province_name(values), subject_type=_subject(values))
    names = [d.domain for d in found]
    warnings = [w for d in found for w in d.warnings]
    return Answer(value=names, shown="、".join(names), warnings=warnings)


def site_name(text: str, values: dict[str, Any], today: date) -> Answer:
    """A website name, checked against the naming rules."""
    subject: Literal["personal", "enterprise"] = (
        "personal" if _subject(values) == "personal" else "enterprise"
    )
    domain_answer = values.get("domains")
    domain_names = list(domain_answer["value"]) if domain_answer else []
    info = v.check_site_name(text, subject_type=subject, domains=domain_names)
    return Answer(value=info.name, shown=info.name, warnings=list(info.warnings))


def free_text(text: str, values: dict[str, Any], today: date) -> Answer:
    """A short free-text remark."""
    cleaned = " ".join(text.split())
    if len(cleaned) < 4:
        raise InputError(
            "写得太短了，请用一两句话说明。", "个人学习笔记，分享编程心得，不涉及新闻等内容"
        )
    if len(cleaned) > 300:
        raise InputError("请控制在 300 字以内。", "个人学习笔记，分享编程心得，不涉及新闻等内容")
    return Answer(value=cleaned, shown=cleaned)


_ISO_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[月/.-](\d{1,2})[日号]?$")
_RELATIVE = re.compile(r"^(\d{1,3})\s*天(前|后|以后|之后|以前|之前)$")
_WORDS = {"今天": 0, "昨天": -1, "前天": -2, "明天": 1, "后天": 2}


def day(text: str, values: dict[str, Any], today: date) -> Answer:
    """A calendar date: 2026-12-01, 12月1日, 今天, 3天前, 10天后; a year-less date is read
    as the next one for a planned change and the last one for a change already made."""
    example = "2026-12-01"
    raw = text.strip().replace(" ", "")[:20]
    timing = (values.get("timing") or {}).get("value")
    # The form asks 「已经发生还是计划中」 before the date; a bare date carries no tense itself.
    tense = Tense(timing) if timing in {"planned", "happened"} else Tense.UNKNOWN
    found: date | None = None
    try:
        if raw in _WORDS:
            found = today + timedelta(days=_WORDS[raw])
        elif match := _ISO_DATE.match(raw):
            found = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _MONTH_DAY.match(raw):
            found = resolve_year(int(match[1]), int(match[2]), today, tense)
            if found is None:
                raise InputError(
                    f"「{raw}」是今年还是明年（或去年）？请带上年份。",
                    f"{today.year + 1}-{match[1]}-{match[2]}",
                )
        elif match := _RELATIVE.match(raw):
            offset = int(match[1])
            found = today + timedelta(
                days=-offset if match[2] in {"前", "以前", "之前"} else offset
            )
    except ValueError as exc:
        raise InputError("这个日期不存在，请检查月份和日期。", example) from exc
    if found is None:
        raise InputError(
            "没看懂这个日期。请写成年-月-日，或「12月1日」「3天前」「10天后」。", example
        )
    shown = f"{found.year}年{found.month}月{found.day}日"
    if abs((found - today).days) > 3 * 365:
        raise InputError("这个日期离今天太远了，请确认年份。", example)
    if timing == "planned" and found < today:
        raise InputError(
            f"{shown} 已经过去了，但你说这个变化还在计划中。请给计划的日期，"
            "或发 /back 改成「已经发生了」。",
            (today + timedelta(days=40)).isoformat(),
        )
    if timing == "happened" and found > today:
        raise InputError(
            f"{shown} 还没到，但你说这个变化已经发生了。请给发生的日期，"
            "或发 /back 改成「计划中」。",
            (today - timedelta(days=3)).isoformat(),
        )
    return Answer(value=found.isoformat(), shown=shown)


VALIDATORS: dict[str, Validator] = {
    "province": province,
    "ip": ip_address,
    "duration": duration,
    "person_name": person_name,
    "id_number": id_number,
    "mobile": mobile,
    "email": email,
    "company_name": company_name,
    "credit_code": credit_code,
    "domains": domains,
    "site_name": site_name,
    "text": free_text,
    "date": day,
}
