"""Plain-words detection of the events users report, and the filing-number check.

`detect(text)` recognises statements ("我刚收到管局的短信", "公司昨天改名了", "备案下来了, 号是
粤ICP备2026012345号-1") and leaves questions ("换域名要重新备案吗") to the FAQ: a question,
a negation ("还没收到短信") or a condition ("收到短信后怎么办") is not an event. The time in the
message is read later by timeparse.

Provinces come from knowledge/rules/provinces.yaml through a tiny model of our own: the dialogue
package owns the full rule table, and dialogue and reminders are one layer that must not import
each other.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, ConfigDict

from bot.asking import asks
from bot.content import knowledge_dir, load_yaml
from bot.reminders.models import ChangeWhat, ExpiryWhat


class EventKind(StrEnum):
    """The events a user can report."""

    SMS_RECEIVED = "sms_received"
    SMS_VERIFIED = "sms_verified"
    SUBMITTED = "submitted"
    FIRST_REVIEW_PASSED = "first_review_passed"
    APPROVED = "approved"
    CHANGED = "changed"
    SITE_LIVE = "site_live"
    POLICE_APPROVED = "police_approved"
    EXPIRY = "expiry"
    ORDER_RETURNED = "order_returned"
    REMIND_ME = "remind_me"  # 「明天上午10点提醒我做人脸核验」


@dataclass(frozen=True)
class Detected:
    """An event found in a message, with what the message said about it."""

    kind: EventKind
    text: str
    number: str | None = None
    change: ChangeWhat | None = None
    expiry: ExpiryWhat | None = None
    purchase_months: int | None = None


# ---- provinces ------------------------------------------------------------------------------


class _Province(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    full_name: str
    abbreviation: str


class _ProvinceFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    provinces: dict[str, _Province]


@dataclass(frozen=True)
class Province:
    """A mainland province: its short name (广东) and abbreviation (粤)."""

    name: str
    abbreviation: str


@cache
def provinces() -> tuple[Province, ...]:
    """The 31 provinces from knowledge/rules/provinces.yaml."""
    table = load_yaml(knowledge_dir() / "rules" / "provinces.yaml", _ProvinceFile)
    return tuple(Province(p.name, p.abbreviation) for p in table.provinces.values())


@cache
def _name_index() -> dict[str, Province]:
    table = load_yaml(knowledge_dir() / "rules" / "provinces.yaml", _ProvinceFile)
    index: dict[str, Province] = {}
    for row in table.provinces.values():
        province = Province(row.name, row.abbreviation)
        index[row.full_name] = index[row.name] = province
    return index


def by_abbreviation(char: str) -> Province | None:
    """The province whose abbreviation is `char` (粤 -> 广东)."""
    return next((p for p in provinces() if p.abbreviation == char), None)


def province_named_in(text: str) -> Province | None:
    """A province named in words (「在广东管局备案」): full names and names, never one letter."""
    index = _name_index()
    for key in sorted(index, key=len, reverse=True):
        if key in text:
            return index[key]
    return None


def _name_at_end(head: str) -> tuple[str, Province] | None:
    """「广东」 or 「广东省」 written where the abbreviation belongs: (the name, its province)."""
    index = _name_index()
    for key in sorted(index, key=len, reverse=True):
        if head.endswith(key):
            return key, index[key]
    return None


# ---- the filing number (facts.md 1, 4, 10) --------------------------------------------------

_NUMBER_RE = re.compile(
    r"(?P<head>[\u4e00-\u9fff]{0,4})\s*ICP\s*(?P<type>[备證证])\s*(?P<digits>[0-9]*)\s*"
    r"(?P<hao>号?)(?:\s*-\s*(?P<site>[0-9A-Za-z]*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumberCheck:
    """The result of checking a filing number: `number` when valid, else a reason key."""

    raw: str
    number: str | None = None
    province: Province | None = None
    reason: str | None = None  # province | province_name | hao | digits | suffix | licence
    head: str = ""
    fixed: str | None = None  # the corrected number when the fix is certain


def normalize(text: str) -> str:
    """Full-width letters, digits and dashes to ASCII (ＩＣＰ备１２３ -> ICP备123)."""
    return unicodedata.normalize("NFKC", text).replace("—", "-").replace("–", "-")


# In running text a number needs its digits: 「ICP许可证和ICP备案有啥区别」 and 「我的ICP备案号
# 忘了」 name the thing, not a number, and belong to the FAQ. A number with its digits but a
# slip elsewhere (no 号, 广东 for 粤) is still a number, and check_number says how to fix it.
_MIN_DIGITS = 5


def find_number(text: str, *, min_digits: int = _MIN_DIGITS) -> str | None:
    """The first ICP number in `text`, as written; `min_digits=0` after `/approved`."""
    for match in _NUMBER_RE.finditer(normalize(text)):
        if len(match.group("digits")) >= min_digits:
            return match.group(0).strip()
    return None


def check_number(raw: str) -> NumberCheck:
    """Validate a filing number: province abbreviation + ICP备 + digits + 号 (+ -N)."""
    match = _NUMBER_RE.search(normalize(raw))
    if match is None:
        return NumberCheck(raw=raw, reason="shape")
    head, digits, site = match.group("head"), match.group("digits"), match.group("site")
    shown = match.group(0).strip()
    if match.group("type") != "备":
        return NumberCheck(raw=shown, reason="licence")
    province = by_abbreviation(head[-1:]) if head else None
    if province is None:
        named = _name_at_end(head)
        if named is None:
            return NumberCheck(raw=shown, reason="province", head=head[-1:])
        name, named_province = named
        candidate = shown[shown.index(name) :].replace(name, named_province.abbreviation, 1)
        fixed = check_number(candidate).number or check_number(candidate).fixed
        return NumberCheck(
            raw=shown, reason="province_name", head=name, province=named_province, fixed=fixed
        )
    if not digits:
        return NumberCheck(raw=shown, reason="digits", province=province)
    if site is not None and not site.isdigit():
        return NumberCheck(raw=shown, reason="suffix", province=province)
    number = f"{province.abbreviation}ICP备{digits}号" + (f"-{site}" if site else "")
    if not match.group("hao"):
        return NumberCheck(raw=shown, reason="hao", province=province, fixed=number)
    return NumberCheck(raw=shown, number=number, province=province)


# ---- statements vs questions ---------------------------------------------------------------

# "怎么办 / 怎么做" after a report still reports the event: its reply says what to do.
_HOW_RE = re.compile(r"(怎么|咋)(办|弄|做|搞)|然后呢|下一步")
_NEGATION_RE = re.compile(r"没|未|不到|不了|还不")
_CONDITION_RE = re.compile(
    r"如果|要是|假如|假设|万一|的话|(收到|上线|通过|提交|变更|改名|下来|到期|退回|驳回)了?(之|以)?后|"
    r"短信(之|以)?后|后(怎么|咋|要|多久|需要|还要|会|能|可以|该|是不是)"
)


def _is_question(text: str) -> bool:
    return asks(_HOW_RE.sub("", text))


def _report(text: str) -> bool:
    """A statement (it may end in 「怎么办」): no question, negation or condition."""
    return not (_is_question(text) or _NEGATION_RE.search(text) or _CONDITION_RE.search(text))


_POLICE_RE = re.compile(
    r"公安(联网)?备案.{0,8}(下来|通过|批|拿到|成功|办好|办下来)|公网安备\s*\d{6,}", re.IGNORECASE
)
_APPROVAL_WORDS_RE = re.compile(r"下来|通过|批|拿到|成功|号是|号码是|备案号")
# A number mentioned in trouble is not an approval: 「备案号被注销了」.
_TROUBLE_RE = re.compile(r"注销|撤销|取消|冲突|查不到|被|不是|别人")
_APPROVED_RE = re.compile(
    r"备案.{0,4}(下来了|通过了|批下来|批了|成功了|拿到了|审核通过|审批通过)|拿到.{0,3}备案号"
)
_LIVE_RE = re.compile(r"上线|开通|开始运营|正式运营|正式开放|对外开放")
_SITE_RE = re.compile(r"网站|站点|网页|官网|博客|站")
_SMS_DONE_RE = re.compile(
    r"(核验|验证).{0,3}(完成|好了|通过|成功|做完|弄好|搞定|做好|完了)|"
    r"(完成|做完|做好|搞定|通过)了?.{0,4}(短信)?(核验|验证)"
)
_SMS_RE = re.compile(
    r"(收到|来了|发来|接到|收着)了?.{0,12}短信|短信.{0,8}(来了|收到|到了|发来|发过来)"
)
_SMS_QUESTION_RE = re.compile(r"吗|嘛|多久|什么时候|几点|会不会|能不能|是不是|有没有|为什么|为啥")
_PASSED_RE = re.compile(
    r"初审.{0,4}(通过|过了|审完|完成)|(提交|报送|转|送|递交|推送|转交)(到|至|给)?了?管局|"
    r"(到|进入)了?管局(审核)?"
)
_RESUBMITTED_RE = re.compile(r"重新(提交|交)")
_RETURNED_RE = re.compile(r"(驳回|退回|打回|退单)")
_FILING_CONTEXT_RE = re.compile(r"订单|备案|初审|管局|接入商|申请")
_SUBMITTED_RE = re.compile(
    r"(提交|交)(了|完|好|的).{0,8}(初审|备案|订单|申请|资料)|"
    r"(初审|备案|订单|申请|资料).{0,6}(已经|已)?(提交|交)(了|完|好|上去)|"
    r"(已|已经|刚|刚刚)(提交|交)"
)
_CHANGE_RES: tuple[tuple[ChangeWhat, re.Pattern[str]], ...] = (
    (
        ChangeWhat.SUBJECT,
        re.compile(
            r"(公司|单位|主体|企业|机构).{0,12}(改名|更名|名称.{0,3}(变|改|换)|换.{0,2}名)|"
            r"(法人|法定代表人|负责人).{0,4}(变|换|改)|(主体|单位)信息.{0,4}(变|改)|"
            r"改了?(公司|单位)名"
        ),
    ),
    (
        ChangeWhat.SITE_NAME,
        re.compile(
            r"网站(名称|名字|名).{0,12}(改|换|变)|(改|换|变更|更换)了?.{0,2}网站(名称|名字)"
        ),
    ),
    (
        ChangeWhat.PROVIDER,
        re.compile(
            r"(换|改|迁|转|搬|更换)了?.{0,6}(接入商|服务商|云厂商|阿里云|腾讯云|华为云|百度云|"
            r"百度智能云|京东云|ucloud|七牛)|(接入商|服务商|云厂商).{0,4}(换|改|变)",
            re.IGNORECASE,
        ),
    ),
    (ChangeWhat.DOMAIN, re.compile(r"(换|改|变更|更换)了?.{0,4}域名|域名.{0,12}(换|改|变)")),
    (
        ChangeWhat.IP,
        re.compile(r"(换|改|变更|更换)了?.{0,4}(ip|服务器)|(ip|服务器).{0,12}(换|改|变)", re.I),
    ),
)
_EXPIRY_RE = re.compile(
    r"(服务器|云服务器|主机|ecs|轻量|实例|vps|域名).{0,16}(到期|过期|有效期)", re.IGNORECASE
)
_PURCHASE_RE = re.compile(r"(服务器|主机|ecs|vps|轻量).{0,12}(买|购买|购入|下单)", re.IGNORECASE)
_DURATION_RE = re.compile(r"(?<!\d)(\d{1,2}|一|两|二|三|四|五)\s*(年|个月)(?!\d)")
_CN_SMALL = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5}


def change_what_in(text: str) -> ChangeWhat | None:
    """Which filed item a text talks about changing (or names: 「域名」, 「主体」)."""
    for what, pattern in _CHANGE_RES:
        if pattern.search(text):
            return what
    return what_named(text)


def what_named(text: str) -> ChangeWhat | None:
    """An item named by a single word, as in `/change 域名 12月20日`."""
    words = (
        (ChangeWhat.SITE_NAME, ("网站名称", "网站名", "站名", "site")),
        (ChangeWhat.SUBJECT, ("主体", "公司", "单位", "法人", "负责人", "subject")),
        (ChangeWhat.PROVIDER, ("接入商", "服务商", "云厂商", "provider")),
        (ChangeWhat.DOMAIN, ("域名", "domain")),
        (ChangeWhat.IP, ("ip", "服务器", "IP")),
    )
    lowered = text.lower()
    for what, names in words:
        if any(name.lower() in lowered for name in names):
            return what
    return None


def expiry_what_in(text: str) -> ExpiryWhat | None:
    """Server or domain, by the word used."""
    if "域名" in text or "domain" in text.lower():
        return ExpiryWhat.DOMAIN
    if re.search(r"服务器|主机|ecs|轻量|实例|vps|server", text, re.IGNORECASE):
        return ExpiryWhat.SERVER
    return None


def duration_months(text: str) -> int | None:
    """「买了一年」 -> 12, 「3个月」 -> 3."""
    match = _DURATION_RE.search(text)
    if match is None:
        return None
    token = match.group(1)
    amount = int(token) if token.isdigit() else _CN_SMALL[token]
    return amount * 12 if match.group(2) == "年" else amount


# A request for a reminder of the user's own. 「收到短信后提醒我」 names an event, not a time:
# the reply asks for the time (see asked_replies).
REMIND_RE = re.compile(r"提醒(一下)?我|叫我|告诉我.{0,3}(去|要)|\bremind me\b", re.IGNORECASE)


def detect(text: str) -> Detected | None:
    """The event a message reports, or None (a question, small talk, anything else)."""
    norm = normalize(text)
    if REMIND_RE.search(norm):
        return Detected(EventKind.REMIND_ME, norm)
    number = find_number(norm)
    if _POLICE_RE.search(norm) and _report(norm):
        return Detected(EventKind.POLICE_APPROVED, norm)
    if number is not None and "公网安备" not in norm:
        rest = norm.replace(number, " ")
        if not (_NEGATION_RE.search(rest) or _TROUBLE_RE.search(rest)) and (
            _APPROVAL_WORDS_RE.search(rest) or _report(rest)
        ):
            return Detected(EventKind.APPROVED, norm, number=number)
    if _APPROVED_RE.search(norm) and "公安" not in norm and _report(norm):
        return Detected(EventKind.APPROVED, norm)
    if _SMS_DONE_RE.search(norm) and ("短信" in norm or "核验" in norm) and _report(norm):
        return Detected(EventKind.SMS_VERIFIED, norm)
    if (
        _SMS_RE.search(norm)
        and not _NEGATION_RE.search(norm)
        and not _CONDITION_RE.search(norm)
        and not _SMS_QUESTION_RE.search(norm)
    ):
        return Detected(EventKind.SMS_RECEIVED, norm)
    expiry = _expiry(norm)
    if expiry is not None:
        return expiry
    if _LIVE_RE.search(norm) and _SITE_RE.search(norm) and _report(norm):
        return Detected(EventKind.SITE_LIVE, norm)
    if _PASSED_RE.search(norm) and _report(norm):
        return Detected(EventKind.FIRST_REVIEW_PASSED, norm)
    if _RESUBMITTED_RE.search(norm) and _report(norm):
        return Detected(EventKind.SUBMITTED, norm)
    if _returned(norm):
        return Detected(EventKind.ORDER_RETURNED, norm)
    if _SUBMITTED_RE.search(norm) and _report(norm):
        return Detected(EventKind.SUBMITTED, norm)
    if "解析" not in norm and _report(norm):
        for what, pattern in _CHANGE_RES:
            if pattern.search(norm):
                return Detected(EventKind.CHANGED, norm, change=what)
    return None


# The reason a user quotes comes after these words: 「驳回了，说……」.
_REASON_RE = re.compile(r"[，,。；;：:]?\s*(说|原因|理由|因为|驳回意见|意见是|提示)")


_NOT_RETURNED_RE = re.compile(r"(没|未|不|别)(有|会|要|能)?(被)?(驳回|退回|打回|退单)")


def _returned(norm: str) -> bool:
    """A report of a returned order. A 没 elsewhere is part of the reason the user quotes
    (「没接到核实电话，被驳回了」); only a 没 on the return itself, a question or a condition
    before the quoted reason makes it something else."""
    if not (_RETURNED_RE.search(norm) and _FILING_CONTEXT_RE.search(norm)):
        return False
    head = _REASON_RE.split(norm, maxsplit=1)[0]
    return not (_NOT_RETURNED_RE.search(norm) or _is_question(head) or _CONDITION_RE.search(head))


def _expiry(norm: str) -> Detected | None:
    if _EXPIRY_RE.search(norm) and _report(norm):
        return Detected(EventKind.EXPIRY, norm, expiry=expiry_what_in(norm))
    if _PURCHASE_RE.search(norm) and _report(norm):
        months = duration_months(norm)
        return Detected(EventKind.EXPIRY, norm, expiry=ExpiryWhat.SERVER, purchase_months=months)
    return None
