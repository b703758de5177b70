"""Checks for what a user types in the filing dialogue: a normalised value, or an InputError.

Every public function takes the user's text, caps its length before any other work, and raises
nothing but InputError (reason + a valid, obviously fake example). Personal numbers (ID, mobile,
e-mail) come back masked only: the bot pre-checks a filing, it never submits one, so it has no
use for the full number after this check (PIPL art. 28 treats ID data as sensitive, facts 64).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from datetime import date
from functools import cache
from typing import Literal
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import carrier as phone_carrier
from publicsuffixlist import PublicSuffixList
from pydantic import BaseModel, ConfigDict, Field
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

from bot.dialogue.rules import (
    load_domain_suffixes,
    load_province_rules,
    normalize_suffix,
    province_for_id_prefix,
    suffix_verdict,
)
from bot.errors import InputError
from bot.privacy import mask_email, mask_id_number, mask_mobile

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

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RE = re.compile(f"[{_CJK}]")
# Zero-width characters ride along when text is copied from web pages and chat apps: drop them.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IdCardInfo(_Result):
    """What the dialogue keeps of a resident ID number: never the full number."""

    masked: str  # 110***********002X: first 3 + last 4
    region_prefix: str  # first two digits (GB/T 2260 province code)
    province: str | None  # None for 港澳台居民居住证 numbers (81/82/83)
    birth_date: date
    age: int
    gender: Literal["男", "女"]
    warnings: list[str] = Field(default_factory=list)


class MobileInfo(_Result):
    """A checked mainland mobile number, masked (the bot never texts the user)."""

    masked: str  # 138****5678
    prefix: str  # first three digits, e.g. 138
    carrier: str | None  # by number range; ported numbers keep their old range
    warnings: list[str] = Field(default_factory=list)


class EmailInfo(_Result):
    """A checked e-mail address, masked."""

    masked: str  # z***@example.com
    domain: str


class CreditCodeInfo(_Result):
    """A checked 统一社会信用代码 (public business data, so kept in full)."""

    code: str
    authority: str | None  # 登记管理部门 from the 1st character, e.g. 9 -> 工商
    category: str | None  # 机构类别 from the 2nd character, e.g. 91 -> 企业
    region_code: str  # characters 3-8
    province: str | None


class DomainInfo(_Result):
    """One registrable domain ready for filing."""

    domain: str  # Unicode form, lower case: 例子.中国
    ascii: str  # punycode form: xn--fsqu00a.xn--fiqs8s
    suffix: str  # without the dot: com, com.cn, 中国
    warnings: list[str] = Field(default_factory=list)


class SiteNameInfo(_Result):
    """A website name that passed the blocking rules, with what may still be questioned."""

    name: str
    warnings: list[str] = Field(default_factory=list)


# --- shared helpers -------------------------------------------------------------------------


def _prepare(
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
    text = text.translate(_INVISIBLE)
    if nfkc:  # full-width digits and letters (１３８, ＠) become ASCII
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if not text:
        raise InputError(f"请填写{what}。", example)
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) in _CONTROL_CATEGORIES and c not in allowed for c in text):
        raise InputError(f"{what}里有无法识别的控制字符，请直接输入文字。", example)
    return text


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _count_cjk(text: str) -> int:
    return len(_CJK_RE.findall(text))


# --- people ---------------------------------------------------------------------------------

_NAME_DOTS = str.maketrans(dict.fromkeys("•‧∙⋅・.", "·"))
_CHINESE_NAME = re.compile(f"[{_CJK}]+(?:·[{_CJK}]+)*")
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_NAME = re.compile(f"[{_LATIN}]+(?:(?: |-|'|\\. ?)[{_LATIN}]+)*\\.?")


def check_person_name(text: str) -> str:
    """A person's name: 2-20 Chinese characters (with · for minority names) or Latin letters."""
    name = _prepare(text, what="姓名", example=EXAMPLE_NAME, limit=100)
    name = re.sub(r"\s+", " ", name)
    if _count_cjk(name):
        name = name.replace(" ", "").translate(_NAME_DOTS)
    if not 2 <= len(name) <= 20:
        raise InputError("姓名应为 2-20 个字，请填写证件上的姓名。", EXAMPLE_NAME)
    if _has_digit(name):
        raise InputError("姓名里不能有数字，请填写证件上的姓名。", EXAMPLE_NAME)
    if _CHINESE_NAME.fullmatch(name) or _LATIN_NAME.fullmatch(name):
        return name
    if _count_cjk(name) and re.search(f"[{_LATIN}]", name):
        raise InputError("姓名请只用汉字，或只用英文字母（外籍人士），不要混写。", EXAMPLE_NAME)
    raise InputError("姓名里不能有表情或符号；少数民族姓名中间的点请用「·」。", "阿依古丽·买买提")


# ID numbers: region (6) + birth date (8) + sequence (3) + check digit (GB 11643).
_HMT_PREFIXES = {"81": "香港", "82": "澳门", "83": "台湾"}  # 港澳台居民居住证 numbers


def check_id_number(text: str, *, today: date) -> IdCardInfo:
    """An 18-digit resident ID number, checked with stdnum.cn.ric; returned masked."""
    number = _prepare(text, what="身份证号", example=EXAMPLE_ID, limit=40)
    number = re.sub(r"[\s-]", "", number).upper()
    if len(number) == 15 and number.isdecimal():
        raise InputError("这是已停用的 15 位老身份证号，请填写 18 位的身份证号。", EXAMPLE_ID)
    if len(number) != 18:
        raise InputError(f"身份证号应为 18 位，您填写的是 {len(number)} 位。", EXAMPLE_ID)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InputError("身份证号前 17 位都是数字，最后一位是数字或字母 X。", EXAMPLE_ID)
    try:
        ric.validate(number)
    except InvalidChecksum:
        raise InputError(
            "身份证号的校验位（最后一位）对不上，可能有一位输错了，请逐位核对。", EXAMPLE_ID
        ) from None
    except InvalidComponent:
        _check_id_parts(number)
    except ValidationError:
        raise InputError("这不是有效的身份证号，请逐位核对。", EXAMPLE_ID) from None
    birth = ric.get_birth_date(number)
    if birth > today:
        raise InputError("身份证号里的出生日期（第 7-14 位）晚于今天，请核对。", EXAMPLE_ID)
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age > 120:
        raise InputError("身份证号里的出生日期（第 7-14 位）不合理，请核对。", EXAMPLE_ID)
    prefix = number[:2]
    province = province_for_id_prefix(prefix)
    warnings = []
    if prefix in _HMT_PREFIXES:
        warnings.append(
            f"这是港澳台居民居住证号码（{_HMT_PREFIXES[prefix]}）。"
            "能否用它备案各接入商规定不同，请先向接入商确认。"
        )
    if age < 18:
        warnings.append(_minor_warning(province.name if province else None))
    return IdCardInfo(
        masked=mask_id_number(number),
        region_prefix=prefix,
        province=province.name if province else None,
        birth_date=birth,
        age=age,
        gender="男" if int(number[16]) % 2 else "女",
        warnings=warnings,
    )


def _check_id_parts(number: str) -> None:
    """stdnum found a bad part: say which, or accept a region code it judged by birth year."""
    try:
        ric.get_birth_date(number)
    except InvalidComponent:
        raise InputError(
            "身份证号里的出生日期（第 7-14 位）不是有效日期，请核对。", EXAMPLE_ID
        ) from None
    if number[:2] in _HMT_PREFIXES:
        return
    # stdnum also rejects a region code created after the birth year, but a code is assigned
    # when the card is issued, not at birth (stdnum's own docstring says as much): so a
    # 南山区 (440305) card of someone born in 1975 is real. Accept any code that ever existed.
    parts = numdb.get("cn/loc").info(number[:6])
    if not any("county" in props for _, props in parts):
        raise InputError("身份证号的前 6 位（地区码）不存在，请核对。", EXAMPLE_ID) from None


def _minor_warning(province: str | None) -> str:
    """Age rules differ by province (facts 34): name the ones the rule table knows."""
    known = [
        f"{p.name}：{p.rules.min_age.note.rstrip('。')}"
        for p in load_province_rules().provinces.values()
        if p.rules.min_age.value
    ]
    first = f"（您的证件属于{province}）" if province else ""
    return (
        f"负责人未满 18 周岁{first}。各省规定不同，例如旧规定中{'；'.join(known)}。"
        "请先向接入商确认。"
    )


# --- contact details ------------------------------------------------------------------------

# Virtual-operator ranges (general knowledge): facts 14 says some virtual and new number ranges
# never receive the MIIT verification SMS.
_VIRTUAL_PREFIXES = ("162", "165", "167", "170", "171")


def check_mobile(text: str) -> MobileInfo:
    """A mainland mobile number (+86, spaces, dashes accepted); returned masked."""
    raw = _prepare(text, what="手机号", example=EXAMPLE_MOBILE, limit=40)
    if not re.fullmatch(r"[0-9+()\s.-]+", raw):
        raise InputError("手机号只能包含数字（可以带 +86、空格或短横线）。", EXAMPLE_MOBILE)
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InputError("这不像一个手机号，请检查后重新输入。", EXAMPLE_MOBILE) from None
    if parsed.country_code != 86:
        raise InputError("请填写中国大陆的手机号（+86）。", EXAMPLE_MOBILE)
    if not phonenumbers.is_valid_number(parsed):
        raise InputError("号码位数或号段不对：大陆手机号是 1 开头的 11 位数字。", EXAMPLE_MOBILE)
    kind = phonenumbers.number_type(parsed)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        raise InputError(
            "这是固定电话号码。这里需要手机号：工信部的核验短信会发到这个号码上。", EXAMPLE_MOBILE
        )
    if kind != phonenumbers.PhoneNumberType.MOBILE:
        raise InputError("这不是手机号，请填写能接收短信的大陆手机号。", EXAMPLE_MOBILE)
    digits = str(parsed.national_number)
    warnings = []
    if digits.startswith(_VIRTUAL_PREFIXES):
        warnings.append(
            "这是虚拟运营商号段，部分虚拟号段收不到工信部的核验短信，建议改用三大运营商的号码。"
        )
    return MobileInfo(
        masked=mask_mobile(digits),
        prefix=digits[:3],
        carrier=phone_carrier.name_for_number(parsed, "zh") or None,
        warnings=warnings,
    )


_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*")


def check_email(text: str) -> EmailInfo:
    """An e-mail address of the usual shape (name@example.com); returned masked."""
    address = _prepare(text, what="邮箱地址", example=EXAMPLE_EMAIL, limit=254)
    if any(c.isspace() for c in address):
        raise InputError("邮箱地址里不能有空格。", EXAMPLE_EMAIL)
    if address.count("@") != 1:
        raise InputError("邮箱地址应包含一个「@」，例如 name@example.com。", EXAMPLE_EMAIL)
    local, domain = address.split("@")
    if not local or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise InputError("「@」前面只能用英文字母、数字和 . _ - + 这些符号。", EXAMPLE_EMAIL)
    domain = domain.rstrip(".").lower()
    if "." not in domain:
        raise InputError(
            "「@」后面应是完整的邮箱域名，例如 example.com 或 qq.com。", EXAMPLE_EMAIL
        )
    labels = _domain_labels(domain, example=EXAMPLE_EMAIL)
    top = labels[-1][0]
    if len(top) < 2 or top.isdigit():
        raise InputError("邮箱域名的后缀不对，请检查「.」后面的部分。", EXAMPLE_EMAIL)
    return EmailInfo(masked=mask_email(f"{local}@{domain}"), domain=domain)


# --- companies ------------------------------------------------------------------------------

# GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》 (general knowledge, not in facts.md):
# character 1 is the registration authority, character 2 the kind of organisation.
_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {}),
}
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def check_credit_code(text: str) -> CreditCodeInfo:
    """An 18-character 统一社会信用代码, checked with stdnum.cn.uscc."""
    code = _prepare(text, what="统一社会信用代码", example=EXAMPLE_CREDIT_CODE, limit=40)
    code = re.sub(r"[\s-]", "", code).upper()
    if len(code) == 15 and code.isdecimal():
        raise InputError(
            "这是旧的 15 位营业执照注册号，请填写执照上 18 位的统一社会信用代码。",
            EXAMPLE_CREDIT_CODE,
        )
    if len(code) != 18:
        raise InputError(
            f"统一社会信用代码应为 18 位，您填写的是 {len(code)} 位。", EXAMPLE_CREDIT_CODE
        )
    if any(c not in _USCC_ALPHABET for c in code):
        raise InputError(
            "统一社会信用代码只含数字和大写字母，且不含 I、O、Z、S、V（容易和数字混淆）。",
            EXAMPLE_CREDIT_CODE,
        )
    try:
        uscc.validate(code)
    except InvalidChecksum:
        raise InputError(
            "统一社会信用代码的校验位（最后一位）对不上，可能有一位输错了，请逐位核对。",
            EXAMPLE_CREDIT_CODE,
        ) from None
    except ValidationError:
        # stdnum wants 8 leading digits, but GB 32100 also has authorities A, N and Y: check
        # those with the library's own check digit instead of rejecting a real code.
        if not (code[0] in "ANY" and code[1:8].isdecimal()):
            raise InputError(
                "统一社会信用代码的前 8 位应为数字（登记部门、类别和地区码），请核对。",
                EXAMPLE_CREDIT_CODE,
            ) from None
        if uscc.calc_check_digit(code) != code[-1]:
            raise InputError(
                "统一社会信用代码的校验位（最后一位）对不上，请逐位核对。", EXAMPLE_CREDIT_CODE
            ) from None
    entry = _AUTHORITIES.get(code[0])
    province = province_for_id_prefix(code[2:4])
    return CreditCodeInfo(
        code=code,
        authority=entry[0] if entry else None,
        category=entry[1].get(code[1]) if entry else None,
        region_code=code[2:8],
        province=province.name if province else None,
    )


_COMPANY_CHARS = re.compile(f"[{_CJK}A-Za-z0-9（）()·&、. -]+")


def check_company_name(text: str) -> str:
    """A company name as on its licence: 4-60 characters, with Chinese characters."""
    # No NFKC here: the name must match the licence character for character, brackets included.
    name = _prepare(text, what="单位名称", example=EXAMPLE_COMPANY, limit=200, nfkc=False)
    name = re.sub(r"\s+", " ", name)
    if name.isdecimal():
        raise InputError("单位名称不能只有数字，请填写营业执照上的全称。", EXAMPLE_COMPANY)
    if not 4 <= len(name) <= 60:
        raise InputError("单位名称应为 4-60 个字，请填写营业执照上的全称。", EXAMPLE_COMPANY)
    if not _count_cjk(name):
        raise InputError("单位名称应包含汉字，请填写营业执照上的中文全称。", EXAMPLE_COMPANY)
    if not _COMPANY_CHARS.fullmatch(name):
        raise InputError("单位名称里有不支持的符号或表情，请照营业执照填写。", EXAMPLE_COMPANY)
    return name


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
    raw = _prepare(text, what="IP 地址", example=EXAMPLE_IP, limit=100)
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


def check_duration_days(text: str) -> int:
    """A length of time in days: "90", "90天", "3个月", "三个月", "1年", "半年"."""
    example = "3个月"
    raw = _prepare(text, what="时长", example=example, limit=20).replace(" ", "")
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


# --- domains --------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,，、;；|]+")
_ASCII_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_IDN_LABEL = re.compile(f"[{_CJK}a-z0-9-]+")
# Names that only ever resolve inside a network (RFC 6761 / RFC 6762 and common habits).
_LOCAL_SUFFIXES = (
    "localhost",
    "local",
    "lan",
    "internal",
    "intranet",
    "test",
    "invalid",
    "example",
)
MAX_DOMAINS = 10  # a company files at most 10 websites per order, one domain each (facts 25)


@cache
def _psl() -> PublicSuffixList:
    # ICANN section only: a private suffix such as github.io is not a domain anyone can file.
    return PublicSuffixList(only_icann=True)


def check_domains(text: str, *, province: str | None, subject_type: str) -> list[DomainInfo]:
    """One or more domains or URLs, reduced to registrable domains and checked for filing."""
    raw = _prepare(text, what="域名", example=EXAMPLE_DOMAIN, limit=4000, multiline=True)
    items = [item for item in _SEPARATORS.split(raw.replace("。", ".")) if item]
    if not items:
        raise InputError("请填写域名，多个域名用空格或逗号隔开。", EXAMPLE_DOMAIN)
    if len(items) > MAX_DOMAINS:
        raise InputError(
            f"一次最多填写 {MAX_DOMAINS} 个域名（一个备案订单最多 10 个网站，每个网站一个域名）。",
            EXAMPLE_DOMAIN,
        )
    found: dict[str, DomainInfo] = {}
    for item in items:
        info = _check_domain(item, province=province, subject_type=subject_type)
        found.setdefault(info.ascii, info)
    domains = list(found.values())
    if subject_type == "personal" and len(domains) > 1:
        # Tencent: individuals file 1 website per order, 1 domain per website (facts 25).
        note = (
            "个人备案一次通常只能报备 1 个网站、1 个域名；"
            "其余域名请在备案成功后以「新增网站」办理。"
        )
        domains = [domains[0]] + [
            d.model_copy(update={"warnings": [*d.warnings, note]}) for d in domains[1:]
        ]
    return domains


def _check_domain(item: str, *, province: str | None, subject_type: str) -> DomainInfo:
    """One domain or URL -> its registrable domain, checked."""
    if len(item) > 300:
        raise InputError("域名太长了，请检查后重新输入。", EXAMPLE_DOMAIN)
    host = _host_of(item.lower())
    if _is_ip(host):
        raise InputError(f"「{host}」是 IP 地址。备案填写的是域名，不是 IP。", EXAMPLE_DOMAIN)
    host = host.rstrip(".")
    if host == "localhost" or ("." in host and host.rsplit(".", 1)[-1] in _LOCAL_SUFFIXES):
        raise InputError(f"「{host}」是本地或内部使用的名称，不是可以备案的域名。", EXAMPLE_DOMAIN)
    if "." not in host:
        raise InputError(
            f"「{host[:60]}」缺少后缀，请填写完整的域名（例如 .com、.cn 结尾）。", EXAMPLE_DOMAIN
        )
    labels = _domain_labels(host, example=EXAMPLE_DOMAIN)
    unicode_host = ".".join(u for _, u in labels)
    registrable = _psl().privatesuffix(unicode_host)
    suffix = _psl().publicsuffix(unicode_host)
    if registrable is None or suffix is None:
        raise InputError(f"「{unicode_host}」只是域名后缀，请填写完整的域名。", EXAMPLE_DOMAIN)
    suffix, registrable = _longest_known_suffix(unicode_host, suffix, registrable)
    label = registrable[: -len(suffix) - 1]
    verdict = suffix_verdict(suffix, province, subject_type=subject_type, label=label)
    if not verdict.filable:
        raise InputError(f"「{registrable}」不能备案：{verdict.error}", EXAMPLE_DOMAIN)
    warnings = list(verdict.warnings)
    if registrable != unicode_host:
        warnings.insert(0, f"已按主域名「{registrable}」处理（备案时填写主域名）。")
    ascii_form = ".".join(a for a, _ in labels[-registrable.count(".") - 1 :])
    return DomainInfo(domain=registrable, ascii=ascii_form, suffix=suffix, warnings=warnings)


def _host_of(item: str) -> str:
    """The host part of a URL or bare domain ("https://www.a.com:8080/x" -> "www.a.com")."""
    if _is_ip(item.strip("[]")):
        return item.strip("[]")
    try:
        parts = urlsplit(item if "//" in item else "//" + item)
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise InputError(f"「{item[:60]}」不是有效的域名。", EXAMPLE_DOMAIN)
    return host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _domain_labels(host: str, *, example: str) -> list[tuple[str, str]]:
    """Split a lower-case host into (ascii, unicode) labels, or explain what is wrong with it."""
    labels: list[tuple[str, str]] = []
    for label in host.split("."):
        if not label:
            raise InputError(f"「{host[:60]}」里有连续的点或空的部分。", example)
        try:
            if label.startswith("xn--"):
                ascii_label, unicode_label = label, label.encode("ascii").decode("idna")
            elif label.isascii():
                ascii_label = unicode_label = label
            elif _IDN_LABEL.fullmatch(label):
                ascii_label, unicode_label = label.encode("idna").decode("ascii"), label
            else:
                raise InputError(
                    f"「{label[:30]}」里有不能用在域名里的字符：域名只能包含字母、数字、短横线和汉字。",
                    example,
                )
        except UnicodeError:
            raise InputError(f"「{label[:30]}」不是有效的域名部分。", example) from None
        if len(ascii_label) > 63:
            raise InputError("域名中用点隔开的每一段最多 63 个字符。", example)
        if not _ASCII_LABEL.fullmatch(ascii_label):
            raise InputError(
                f"「{label[:30]}」不是有效的域名部分：只能用字母、数字和短横线，且不能以短横线开头或结尾。",
                example,
            )
        labels.append((ascii_label, unicode_label))
    if sum(len(a) + 1 for a, _ in labels) - 1 > 253:
        raise InputError("域名太长了（最多 253 个字符）。", example)
    return labels


def _longest_known_suffix(host: str, suffix: str, registrable: str) -> tuple[str, str]:
    """Prefer a longer suffix from the filing list that the public suffix list lacks (政务.cn)."""
    labels = host.split(".")
    national = load_domain_suffixes().national
    for start in range(1, len(labels) - 1):
        candidate = ".".join(labels[start:])
        if len(candidate) <= len(suffix):
            break
        if candidate in national:
            return candidate, ".".join(labels[start - 1 :])
    return suffix, registrable


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
_SITE_NAME_CHARS = re.compile(f"[{_CJK}A-Za-z0-9]+")


def check_site_name(
    text: str, *, subject_type: Literal["personal", "enterprise"], domains: list[str]
) -> SiteNameInfo:
    """A website name checked against the naming rules (facts 38-39, the article)."""
    example = EXAMPLE_SITE_NAME.get(subject_type, EXAMPLE_SITE_NAME["personal"])
    name = _prepare(text, what="网站名称", example=example, limit=50)
    lowered = name.lower()
    filed = {normalize_suffix(d).removeprefix("www.") for d in domains}
    as_domain = normalize_suffix(name).removeprefix("www.")
    if as_domain in filed or _LOOKS_LIKE_DOMAIN.fullmatch(lowered):
        raise InputError("网站名称不能直接用域名，请用能说明网站内容的中文名称。", example)
    if not _SITE_NAME_CHARS.fullmatch(name):
        bad = next(c for c in name if not _SITE_NAME_CHARS.fullmatch(c))
        shown = "空格" if bad.isspace() else f"「{bad}」"
        raise InputError(f"网站名称里不能有空格、符号或表情（发现{shown}）。", example)
    if not _count_cjk(name):
        raise InputError("网站名称不能只有数字或字母，请用中文说明网站内容。", example)
    if _count_cjk(name) < 3:
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
