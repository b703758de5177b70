"""People: names, resident ID numbers, mobile numbers and e-mail addresses."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from phonenumbers import carrier as phone_carrier
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError

from bot.dialogue.rules import (
    load_province_rules,
    province_for_id_prefix,
)
from bot.dialogue.validators._common import (
    CJK,
    EXAMPLE_EMAIL,
    EXAMPLE_ID,
    EXAMPLE_MOBILE,
    EXAMPLE_NAME,
    EmailInfo,
    IdCardInfo,
    MobileInfo,
    count_cjk,
    has_digit,
    prepare,
)
from bot.dialogue.validators.domains import domain_labels
from bot.errors import InputError
from bot.privacy import mask_email, mask_id_number, mask_mobile

# --- people ---------------------------------------------------------------------------------

_NAME_DOTS = str.maketrans(dict.fromkeys("•‧∙⋅・.", "·"))
_CHINESE_NAME = re.compile(f"[{CJK}]+(?:·[{CJK}]+)*")
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_NAME = re.compile(f"[{_LATIN}]+(?:(?: |-|'|\\. ?)[{_LATIN}]+)*\\.?")


def check_person_name(text: str) -> str:
    """A person's name: 2-20 Chinese characters (with · for minority names) or Latin letters."""
    name = prepare(text, what="姓名", example=EXAMPLE_NAME, limit=100)
    name = re.sub(r"\s+", " ", name)
    if count_cjk(name):
        name = name.replace(" ", "").translate(_NAME_DOTS)
    if not 2 <= len(name) <= 20:
        raise InputError("姓名应为 2-20 个字，请填写证件上的姓名。", EXAMPLE_NAME)
    if has_digit(name):
        raise InputError("姓名里不能有数字，请填写证件上的姓名。", EXAMPLE_NAME)
    if _CHINESE_NAME.fullmatch(name) or _LATIN_NAME.fullmatch(name):
        return name
    if count_cjk(name) and re.search(f"[{_LATIN}]", name):
        raise InputError("姓名请只用汉字，或只用英文字母（外籍人士），不要混写。", EXAMPLE_NAME)
    raise InputError("姓名里不能有表情或符号；少数民族姓名中间的点请用「·」。", "阿依古丽·买买提")


# ID numbers: region (6) + birth date (8) + sequence (3) + check digit (GB 11643).
_HMT_PREFIXES = {"81": "香港", "82": "澳门", "83": "台湾"}  # 港澳台居民居住证 numbers


def check_id_number(text: str, *, today: date) -> IdCardInfo:
    """An 18-digit resident ID number, checked with stdnum.cn.ric; returned masked."""
    number = prepare(text, what="身份证号", example=EXAMPLE_ID, limit=40)
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
    raw = prepare(text, what="手机号", example=EXAMPLE_MOBILE, limit=40)
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
    address = prepare(text, what="邮箱地址", example=EXAMPLE_EMAIL, limit=254)
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
    labels = domain_labels(domain, example=EXAMPLE_EMAIL)
    top = labels[-1][0]
    if len(top) < 2 or top.isdigit():
        raise InputError("邮箱域名的后缀不对，请检查「.」后面的部分。", EXAMPLE_EMAIL)
    return EmailInfo(masked=mask_email(f"{local}@{domain}"), domain=domain)
