"""What a rejected value is told, word for word, and where each limit lies: the reply a user
reads names the field and the problem, and a value just inside a limit is accepted."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from stdnum.cn import ric

from bot.dialogue.validators import (
    check_company_name,
    check_credit_code,
    check_domains,
    check_email,
    check_id_number,
    check_mobile,
    check_person_name,
    check_server_term,
    check_site_name,
)
from bot.errors import InputError

TODAY = date(2026, 11, 25)
CODE = "91350100M000100Y43"

UNDER_30 = "服务器剩余不到 30 天：腾讯云要求剩余至少 30 天才能备案，请先续费。"
UNDER_60 = "服务器剩余不到 60 天，审核期间到期会影响备案，建议先续费。"
EXPIRED = "服务器已经到期，到期的服务器不能用于备案，请先续费。"
UNDER_90 = (
    "服务器购买时长不到 90 天：腾讯云要求包年包月且购买至少 90 天（约 3 个月），"
    "按量计费的服务器不能用于备案。"
)


def with_check_digit(first17: str) -> str:
    # stdnum's calc_check_digit ignores the last character of what it is given.
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize(
    ("bought", "left", "warnings"),
    [
        (0, 100, [UNDER_90]),
        (36500, 36500, []),
        (365, -36500, [EXPIRED]),
        (365, 0, [EXPIRED]),
        (365, 1, [UNDER_30]),
        (365, 29, [UNDER_30]),
        (365, 30, [UNDER_60]),
        (365, 59, [UNDER_60]),
        (365, 60, []),
        (89, 200, [UNDER_90]),
        (90, 200, []),
    ],
)
def test_server_terms_get_the_warning_of_their_range(
    bought: int, left: int, warnings: list[str]
) -> None:
    assert check_server_term(bought, left) == warnings


@pytest.mark.parametrize(
    ("bought", "left"), [(-1, 100), (36501, 100), (365, -36501), (365, 36501)]
)
def test_impossible_server_terms_are_refused_with_an_example(bought: int, left: int) -> None:
    with pytest.raises(InputError) as refused:
        check_server_term(bought, left)
    assert refused.value.reason == "天数不合理，请填写服务器购买的总天数和剩余天数。"
    assert refused.value.example == "购买 365 天，剩余 200 天"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "请填写单位名称。"),
        ("12345678", "单位名称不能只有数字，请填写营业执照上的全称。"),
        ("示例公", "单位名称应为 4-60 个字，请填写营业执照上的全称。"),
        ("示" * 61, "单位名称应为 4-60 个字，请填写营业执照上的全称。"),
        ("示" * 201, "单位名称太长了，请检查后重新输入。"),
        ("Example Tech Co", "单位名称应包含汉字，请填写营业执照上的中文全称。"),
        ("示例科技😀有限公司", "单位名称里有不支持的符号或表情，请照营业执照填写。"),
    ],
)
def test_a_refused_company_name_is_told_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InputError) as refused:
        check_company_name(text)
    assert refused.value.reason == reason


def test_company_names_at_the_length_limits_are_accepted_and_spaces_folded() -> None:
    assert check_company_name("示例公司") == "示例公司"
    assert check_company_name("示" * 60) == "示" * 60
    assert check_company_name("示例  科技   有限公司") == "示例 科技 有限公司"


def test_a_credit_code_is_read_through_spaces_and_dashes_up_to_40_characters() -> None:
    assert check_credit_code("9135-0100 M000100Y43").code == CODE
    assert check_credit_code(CODE + " " * 22).code == CODE  # 40 characters
    with pytest.raises(InputError) as refused:
        check_credit_code(CODE + " " * 23)
    assert refused.value.reason == "统一社会信用代码太长了，请检查后重新输入。"
    with pytest.raises(InputError) as empty:
        check_credit_code("  ")
    assert empty.value.reason == "请填写统一社会信用代码。"


def test_an_id_number_with_an_impossible_birth_date_says_which_digits() -> None:
    with pytest.raises(InputError) as refused:
        check_id_number(with_check_digit("11010519491331002"), today=TODAY)
    assert refused.value.reason == "身份证号里的出生日期（第 7-14 位）不是有效日期，请核对。"


def test_an_id_number_with_an_unknown_region_says_which_digits() -> None:
    with pytest.raises(InputError) as refused:
        check_id_number(with_check_digit("99999919900101123"), today=TODAY)
    assert refused.value.reason == "身份证号的前 6 位（地区码）不存在，请核对。"


def test_a_hong_kong_residence_permit_number_is_accepted_with_a_note() -> None:
    info = check_id_number(with_check_digit("81000019900101123"), today=TODAY)
    assert info.province is None and info.region_prefix == "81"
    assert any("港澳台居民居住证" in warning for warning in info.warnings)


def test_a_minor_is_warned_with_the_province_and_the_known_rules() -> None:
    info = check_id_number(with_check_digit("44030520150101123"), today=TODAY)
    (warning,) = info.warnings
    assert warning.startswith("负责人未满 18 周岁（您的证件属于广东）。各省规定不同，例如旧规定中")
    assert warning.endswith("。请先向接入商确认。")
    # One sentence per province rule, joined with 「；」, in Chinese only.
    assert "。；" not in warning and "；" in warning and not re.search("[A-Za-z]", warning)


def test_a_minor_with_a_residence_permit_is_warned_without_a_province() -> None:
    info = check_id_number(with_check_digit("81000020150101123"), today=TODAY)
    minor = [w for w in info.warnings if w.startswith("负责人未满 18 周岁")]
    assert len(minor) == 1 and minor[0].startswith("负责人未满 18 周岁。各省规定不同")


def uscc_with_check_digit(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17 + "0")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "110000000000000",
            "这是旧的 15 位营业执照注册号，请填写执照上 18 位的统一社会信用代码。",
        ),
        (
            "91350100M000100YO3",
            "统一社会信用代码只含数字和大写字母，且不含 I、O、Z、S、V（容易和数字混淆）。",
        ),
        (
            "91350100M000100Y44",
            "统一社会信用代码的校验位（最后一位）对不上，可能有一位输错了，请逐位核对。",
        ),
        (
            "AX350100M000100Y43",
            "统一社会信用代码的前 8 位应为数字（登记部门、类别和地区码），请核对。",
        ),
        (
            "X1350100M000100Y43",
            "统一社会信用代码的前 8 位应为数字（登记部门、类别和地区码），请核对。",
        ),
    ],
)
def test_a_refused_credit_code_is_told_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InputError) as refused:
        check_credit_code(text)
    assert refused.value.reason == reason and refused.value.example == CODE


def test_a_credit_code_of_authority_y_is_checked_by_its_check_digit() -> None:
    good = uscc_with_check_digit("Y1350100M000100Y4")
    assert check_credit_code(good).code == good
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    with pytest.raises(InputError) as refused:
        check_credit_code(bad)
    assert refused.value.reason == "统一社会信用代码的校验位（最后一位）对不上，请逐位核对。"
    assert refused.value.example == CODE


def test_a_credit_code_names_the_province_of_its_region_code() -> None:
    assert check_credit_code(CODE).province == "福建"


def test_an_email_address_is_refused_when_empty_or_longer_than_254_characters() -> None:
    with pytest.raises(InputError) as empty:
        check_email(" ")
    assert empty.value.reason == "请填写邮箱地址。"
    with pytest.raises(InputError) as long:
        check_email("a" * 64 + "@" + "b" * 186 + ".com")  # 255 characters
    assert long.value.reason == "邮箱地址太长了，请检查后重新输入。"
    try:
        check_email("a" * 64 + "@" + "b" * 185 + ".com")  # 254: judged on its parts instead
    except InputError as other:
        assert other.reason != "邮箱地址太长了，请检查后重新输入。"


NATIONAL = "只有国家级单位的网站名称才能以「中国、中华、中央、国家、人民、人大」开头"


@pytest.mark.parametrize(
    ("text", "domains", "reason"),
    [
        ("", [], "请填写网站名称。"),
        ("读" * 51, [], "网站名称太长了，请检查后重新输入。"),
        ("Example.COM", [], "网站名称不能直接用域名，请用能说明网站内容的中文名称。"),
        # A trailing dot hides the domain from its shape: the filed domains still catch it.
        (
            "例子.中国.",
            ["www.例子.中国"],
            "网站名称不能直接用域名，请用能说明网站内容的中文名称。",
        ),
        (
            "www.例子.中国.",
            ["例子.中国"],
            "网站名称不能直接用域名，请用能说明网站内容的中文名称。",
        ),
        ("读书 笔记", [], "网站名称里不能有空格、符号或表情（发现空格）。"),
        ("读书@笔记", [], "网站名称里不能有空格、符号或表情（发现「@」）。"),
        ("ReadingNotes", [], "网站名称不能只有数字或字母，请用中文说明网站内容。"),
        ("读书", [], "网站名称至少要有 3 个汉字。"),
        ("中国读书笔记", [], f"{NATIONAL}。"),
        ("读书BBS交流", [], "个人不能开办论坛（属于电子公告服务），网站名称里请不要用「bbs」。"),
    ],
)
def test_a_refused_site_name_is_told_what_is_wrong(
    text: str, domains: list[str], reason: str
) -> None:
    with pytest.raises(InputError) as refused:
        check_site_name(text, subject_type="personal", domains=domains)
    assert refused.value.reason == reason


def test_site_names_at_the_limits_are_accepted_with_their_warnings() -> None:
    assert check_site_name("读书笔", subject_type="personal", domains=[]).warnings == []
    assert check_site_name("读" * 50, subject_type="personal", domains=[]).name == "读" * 50
    blog = check_site_name("张三的博客", subject_type="personal", domains=[])
    assert blog.warnings == [
        "多个管局会驳回名称含「博客」的个人网站，建议换成「笔记」「随笔」等。"
    ]
    company = check_site_name("中国示例科技产品介绍", subject_type="enterprise", domains=[])
    assert company.warnings == [f"{NATIONAL}；如果贵单位不是国家级单位，会被驳回。"]


@pytest.mark.parametrize("text", ["example.政务.cn", "www.example.政务.cn", "a.b.example.政务.cn"])
def test_a_suffix_on_the_filing_list_but_not_the_public_list_is_the_suffix(text: str) -> None:
    (info,) = check_domains(text, province=None, subject_type="enterprise")
    assert (info.domain, info.suffix) == ("example.政务.cn", "政务.cn")
    assert info.ascii == "example.xn--zfr164b.cn"


def test_a_long_host_with_an_empty_part_is_quoted_to_its_first_60_characters() -> None:
    host = "a" * 50 + "." + "b" * 20 + "..com"
    with pytest.raises(InputError) as refused:
        check_domains(host, province=None, subject_type="enterprise")
    assert refused.value.reason == f"「{host[:60]}」里有连续的点或空的部分。"


def domain_reason(text: str) -> str:
    with pytest.raises(InputError) as refused:
        check_domains(text, province=None, subject_type="enterprise")
    return refused.value.reason


def test_domains_are_read_in_lower_case_without_the_final_dot() -> None:
    (info,) = check_domains("Example.COM.", province=None, subject_type="enterprise")
    assert info.domain == "example.com"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[2001:db8::1]", "「2001:db8::1」是 IP 地址。备案填写的是域名，不是 IP。"),
        ("[1.2.3.4]", "「1.2.3.4」是 IP 地址。备案填写的是域名，不是 IP。"),
        ("nas.home.local", "「nas.home.local」是本地或内部使用的名称，不是可以备案的域名。"),
        ("a" * 297 + ".cn" + "n", "域名太长了，请检查后重新输入。"),  # 301 characters
    ],
)
def test_a_refused_domain_is_told_what_is_wrong(text: str, reason: str) -> None:
    assert domain_reason(text) == reason


def test_a_domain_of_300_characters_is_judged_on_its_parts_not_its_length() -> None:
    assert domain_reason("a" * 296 + ".com") == "域名中用点隔开的每一段最多 63 个字符。"


def test_an_unreadable_url_is_quoted_to_its_first_60_characters() -> None:
    item = "[" + "a" * 70
    assert domain_reason(item) == f"「{item[:60]}」不是有效的域名。"


def reason_of(check: Callable[[str], object], text: str) -> tuple[str, str]:
    with pytest.raises(InputError) as refused:
        check(text)
    return refused.value.reason, refused.value.example


def id_number(text: str) -> object:
    return check_id_number(text, today=TODAY)


EXAMPLE_ID = "11010519491231002X"


@pytest.mark.parametrize(
    ("check", "text", "reason", "example"),
    [
        (check_person_name, "", "请填写姓名。", "张三"),
        (check_person_name, "张" * 101, "姓名太长了，请检查后重新输入。", "张三"),
        (check_person_name, "张" * 21, "姓名应为 2-20 个字，请填写证件上的姓名。", "张三"),
        (check_person_name, "张三3", "姓名里不能有数字，请填写证件上的姓名。", "张三"),
        (
            check_person_name,
            "张San",
            "姓名请只用汉字，或只用英文字母（外籍人士），不要混写。",
            "张三",
        ),
        (
            check_person_name,
            "张三😀",
            "姓名里不能有表情或符号；少数民族姓名中间的点请用「·」。",
            "阿依古丽·买买提",
        ),
        (id_number, "", "请填写身份证号。", EXAMPLE_ID),
        (id_number, "1" * 41, "身份证号太长了，请检查后重新输入。", EXAMPLE_ID),
        (
            id_number,
            "110105491231002",
            "这是已停用的 15 位老身份证号，请填写 18 位的身份证号。",
            EXAMPLE_ID,
        ),
        (id_number, "1101051949123100A", "身份证号应为 18 位，您填写的是 17 位。", EXAMPLE_ID),
        (
            id_number,
            "11010519491231002A",
            "身份证号前 17 位都是数字，最后一位是数字或字母 X。",
            EXAMPLE_ID,
        ),
        (
            id_number,
            "110105194912310021",
            "身份证号的校验位（最后一位）对不上，可能有一位输错了，请逐位核对。",
            EXAMPLE_ID,
        ),
        (
            id_number,
            with_check_digit("11010520261126002"),
            "身份证号里的出生日期（第 7-14 位）晚于今天，请核对。",
            EXAMPLE_ID,
        ),
        (
            id_number,
            with_check_digit("11010519051124002"),
            "身份证号里的出生日期（第 7-14 位）不合理，请核对。",
            EXAMPLE_ID,
        ),
        (check_mobile, "", "请填写手机号。", "13800138000"),
        (check_mobile, "1" * 41, "手机号太长了，请检查后重新输入。", "13800138000"),
        (
            check_mobile,
            "138-0013-800a",
            "手机号只能包含数字（可以带 +86、空格或短横线）。",
            "13800138000",
        ),
        (check_mobile, "+1 650 253 0000", "请填写中国大陆的手机号（+86）。", "13800138000"),
        (
            check_mobile,
            "1380013800",
            "号码位数或号段不对：大陆手机号是 1 开头的 11 位数字。",
            "13800138000",
        ),
        (
            check_mobile,
            "010-62345678",
            "这是固定电话号码。这里需要手机号：工信部的核验短信会发到这个号码上。",
            "13800138000",
        ),
    ],
)
def test_a_refused_person_detail_is_told_what_is_wrong_with_an_example(
    check: Callable[[str], object], text: str, reason: str, example: str
) -> None:
    assert reason_of(check, text) == (reason, example)


def test_person_details_at_their_limits_are_accepted() -> None:
    assert check_person_name("张" * 20) == "张" * 20
    assert check_id_number(EXAMPLE_ID + " " * 22, today=TODAY).masked.endswith("002X")
    # Born 120 years ago today: still accepted; 18 today: no minor warning, 17: warned.
    assert check_id_number(with_check_digit("11010519061125002"), today=TODAY).age == 120
    adult = check_id_number(with_check_digit("44030520081125002"), today=TODAY)
    assert adult.age == 18 and adult.warnings == []
    minor = check_id_number(with_check_digit("44030520081126002"), today=TODAY)
    assert minor.age == 17 and minor.warnings[0].startswith(
        "负责人未满 18 周岁（您的证件属于广东）"
    )
    assert check_mobile("138 0013 8000" + " " * 27).prefix == "138"  # 40 characters
    assert check_id_number(with_check_digit("11010520261125002"), today=TODAY).age == 0


def test_a_line_break_inside_a_one_line_field_is_refused_as_a_control_character() -> None:
    assert (
        reason_of(check_person_name, "张\n三")[0] == "姓名里有无法识别的控制字符，请直接输入文字。"
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("400-812-3123", "这不是手机号，请填写能接收短信的大陆手机号。"),
        ("++", "这不像一个手机号，请检查后重新输入。"),
    ],
)
def test_a_number_that_is_no_mobile_is_told_so(text: str, reason: str) -> None:
    assert reason_of(check_mobile, text) == (reason, "13800138000")
