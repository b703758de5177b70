"""Validators: valid values pass normalised; bad input gets a reason and a valid example."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from bot.dialogue import validators as v
from bot.errors import InputError

TODAY = date(2026, 11, 27)

# Region codes that exist (GB/T 2260); 440305 (南山区) only since 1983, which the validator
# accepts for any birth year, since codes are assigned at registration, not at birth.
ID_REGIONS = {"110105": "北京", "310101": "上海", "440305": "广东", "500103": "重庆"}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def reason_of(call: Callable[[], object]) -> str:
    """Run a validator that must fail; return its reason."""
    with pytest.raises(InputError) as err:
        call()
    assert err.value.example, "every error shows a valid example"
    return err.value.reason


# --- strategies -----------------------------------------------------------------------------


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    """A resident ID built from a real region, a past birth date and the library's check digit."""
    region = draw(st.sampled_from(sorted(ID_REGIONS)))
    birth = draw(st.dates(min_value=date(1910, 1, 1), max_value=TODAY))
    body = f"{region}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + ric.calc_check_digit(body + "0")


@st.composite
def valid_credit_codes(draw: st.DrawFn) -> str:
    """A 统一社会信用代码 from a real authority/category and region, with its check digit."""
    head = draw(st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "53"]))
    region = draw(st.sampled_from(["110105", "350100", "440300", "310115", "650102"]))
    org = draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    body = head + region + org
    return body + uscc.calc_check_digit(body)


def _one_char_changed(data: st.DataObject, value: str, alphabet: str) -> str:
    index = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != value[index]]))
    return value[:index] + replacement + value[index + 1 :]


# --- resident ID ----------------------------------------------------------------------------


@given(valid_ids())
def test_valid_ids_pass(number: str) -> None:
    info = v.check_id_number(number, today=TODAY)
    assert info.masked == number[:3] + "*" * 11 + number[-4:]
    assert info.province == ID_REGIONS[number[:6]]
    assert info.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert info.gender == ("男" if int(number[16]) % 2 else "女")
    assert 0 <= info.age <= 120
    # The full number must not survive anywhere in the result.
    assert number not in info.model_dump_json()


@given(valid_ids(), st.data())
def test_one_changed_character_fails(number: str, data: st.DataObject) -> None:
    changed = _one_char_changed(data, number, "0123456789X")
    with pytest.raises(InputError):
        v.check_id_number(changed, today=TODAY)


def test_id_accepts_spaces_dashes_lowercase_x_and_full_width_digits() -> None:
    for text in [
        "110105 19491231 002x",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２Ｘ",
    ]:
        assert v.check_id_number(text, today=TODAY).masked == "110***********002X"


def test_standard_sample_id() -> None:
    info = v.check_id_number(v.EXAMPLE_ID, today=TODAY)
    assert (info.province, info.birth_date, info.gender) == ("北京", date(1949, 12, 31), "女")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("11010519491231002", "18 位"),
        ("110105491231002", "15 位"),
        ("11010519491231002Y", "X"),
        ("110105194912310021", "校验位"),
    ],
)
def test_bad_ids(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_id_number(text, today=TODAY))


def _with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def test_id_with_a_bad_birth_date() -> None:
    number = _with_check_digit("11010519491331002")  # month 13, checksum still right
    assert "出生日期" in reason_of(lambda: v.check_id_number(number, today=TODAY))
    future = _with_check_digit("11010520300101002")
    assert "晚于今天" in reason_of(lambda: v.check_id_number(future, today=TODAY))


def test_id_with_a_region_that_never_existed() -> None:
    number = _with_check_digit("99999919900101002")
    assert "地区码" in reason_of(lambda: v.check_id_number(number, today=TODAY))


def test_minor_gets_a_warning_naming_province_rules() -> None:
    info = v.check_id_number(_with_check_digit("32010220150615123"), today=TODAY)
    assert info.age == 11 and info.province == "江苏"
    assert any("江苏" in w and "18" in w for w in info.warnings)


def test_age_counts_the_birthday() -> None:
    number = _with_check_digit("11010520081128002")  # 18 tomorrow
    assert v.check_id_number(number, today=TODAY).age == 17
    assert v.check_id_number(number, today=date(2026, 11, 28)).age == 18


def test_hong_kong_macau_taiwan_permit_numbers_pass_with_a_warning() -> None:
    info = v.check_id_number(_with_check_digit("81000019900615123"), today=TODAY)
    assert info.province is None and info.warnings


# --- credit code ----------------------------------------------------------------------------


@given(valid_credit_codes())
def test_valid_credit_codes_pass(code: str) -> None:
    info = v.check_credit_code(code.lower())
    assert info.code == code
    assert info.region_code == code[2:8]
    assert info.authority is not None and info.category is not None


@given(valid_credit_codes(), st.data())
def test_credit_code_with_one_changed_character_fails(code: str, data: st.DataObject) -> None:
    changed = _one_char_changed(data, code, USCC_ALPHABET)
    with pytest.raises(InputError):
        v.check_credit_code(changed)


# GB 32100 authorities A, N and Y, which stdnum's format check lacks (the validator checks
# their check digit itself): each with a wrong last character.
ANY_BODIES = {"A": "A1110105MA0000000", "N": "N2110105MA0000000", "Y": "Y1110105MA0000000"}


def _wrong_check(body: str) -> str:
    right = uscc.calc_check_digit(body)
    return body + USCC_ALPHABET[(USCC_ALPHABET.index(right) + 1) % len(USCC_ALPHABET)]


@given(valid_credit_codes(), st.sampled_from(USCC_ALPHABET))
@hypothesis_example(_wrong_check(ANY_BODIES["A"]), "0")
@hypothesis_example(_wrong_check(ANY_BODIES["N"]), "0")
@hypothesis_example(_wrong_check(ANY_BODIES["Y"]), "0")
def test_credit_code_with_a_wrong_check_digit_fails(code: str, last: str) -> None:
    if code[0] not in ANY_BODIES:  # a generated code: give it a wrong last character
        assume(last != code[-1])
        code = code[:-1] + last
    assert uscc.calc_check_digit(code[:-1]) != code[-1]
    with pytest.raises(InputError, match="校验位"):
        v.check_credit_code(code)


@pytest.mark.parametrize("body", ANY_BODIES.values())
def test_credit_code_of_authority_a_n_y_with_its_check_digit_passes(body: str) -> None:
    info = v.check_credit_code(body + uscc.calc_check_digit(body))
    assert info.code == body + uscc.calc_check_digit(body)


def test_sample_credit_code() -> None:
    info = v.check_credit_code(v.EXAMPLE_CREDIT_CODE)
    assert (info.authority, info.category, info.province) == ("工商", "企业", "福建")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("91350100M000100Y4", "18 位"),
        ("123456789012345", "15 位"),
        ("91350100O000100Y43", "I、O、Z、S、V"),
        ("91350100M000100Y44", "校验位"),
        ("9135A100M000100Y43", "前 8 位"),
    ],
)
def test_bad_credit_codes(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_credit_code(text))


def test_credit_code_of_an_agricultural_collective() -> None:
    body = "N2110105MA0000000"  # GB 32100 authority N, which stdnum's format check lacks
    info = v.check_credit_code(body + uscc.calc_check_digit(body))
    assert (info.authority, info.category) == ("农业", "村级集体经济组织")


# --- mobile, e-mail -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "008613800138000"]
)
def test_mobile_forms(text: str) -> None:
    info = v.check_mobile(text)
    assert (info.masked, info.prefix, info.carrier) == ("138****8000", "138", "中国移动")
    assert "13800138000" not in info.model_dump_json()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("010-66411166", "固定电话"),
        ("+1 650 253 0000", "+86"),
        ("1380013800", "11 位"),
        ("138001380001", "11 位"),
        ("手机13800138000", "数字"),
    ],
)
def test_bad_mobiles(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_mobile(text))


def test_virtual_operator_number_warns() -> None:
    assert v.check_mobile("17012345678").warnings


def test_email() -> None:
    info = v.check_email("ZhangSan@Example.COM")
    assert (info.masked, info.domain) == ("Z***@example.com", "example.com")
    assert v.check_email("a@例子.中国").domain == "例子.中国"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("zhang san@example.com", "空格"),
        ("zhangsan.example.com", "@"),
        ("a@@example.com", "@"),
        ("zhangsan@中国", "完整的邮箱域名"),
        ("zhangsan@qq", "完整的邮箱域名"),
        ("张三@example.com", "英文字母"),
        ("a@exa_mple.com", "域名"),
    ],
)
def test_bad_emails(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_email(text))


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("张三", "张三"),
        ("欧阳 娜娜", "欧阳娜娜"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("John  Smith", "John Smith"),
        ("Jean-Luc O'Neil", "Jean-Luc O'Neil"),
    ],
)
def test_person_names(text: str, name: str) -> None:
    assert v.check_person_name(text) == name


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("张", "2-20"),
        ("张三3", "数字"),
        ("张三😀", "符号"),
        ("张John", "不要混写"),
        ("张" * 21, "2-20"),
    ],
)
def test_bad_person_names(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_person_name(text))


def test_company_names() -> None:
    assert v.check_company_name("示例科技（北京）有限公司") == "示例科技（北京）有限公司"
    assert "数字" in reason_of(lambda: v.check_company_name("12345678"))
    assert "汉字" in reason_of(lambda: v.check_company_name("Example Ltd"))
    assert "4-60" in reason_of(lambda: v.check_company_name("示例"))
    assert "符号" in reason_of(lambda: v.check_company_name("示例😀科技公司"))


# --- IP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("１.２.３.４", "1.2.3.4"),
        ("2400:da00::6666", "2400:da00::6666"),
        ("[2400:DA00:0::6666]", "2400:da00::6666"),
    ],
)
def test_public_ips(text: str, value: str) -> None:
    assert v.check_ip(text) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.0.0.1", "内网"),
        ("172.16.5.4", "内网"),
        ("192.168.1.1", "内网"),
        ("fd12::1", "内网"),
        ("127.0.0.1", "回环"),
        ("::1", "回环"),
        ("169.254.0.1", "链路本地"),
        ("fe80::1", "链路本地"),
        ("224.0.0.1", "组播"),
        ("ff02::1", "组播"),
        ("240.0.0.1", "保留"),
        ("0.0.0.0", "未指定"),
        ("::", "未指定"),
        ("192.0.2.1", "文档示例"),
        ("198.51.100.1", "文档示例"),
        ("203.0.113.1", "文档示例"),
        ("2001:db8::1", "文档示例"),
        ("100.64.0.1", "CGNAT"),
        ("::ffff:192.168.1.1", "内网"),
        ("1.2.3.4:8080", "端口"),
        ("1.2.3.0/24", "掩码"),
        ("256.1.1.1", "有效的 IP"),
        ("1.2.3", "有效的 IP"),
        ("example.com", "有效的 IP"),
    ],
)
def test_bad_ips(text: str, words: str) -> None:
    assert words in reason_of(lambda: v.check_ip(text))


# --- domains --------------------------------------------------------------------------------


def _domains(text: str, province: str | None = None, subject: str = "personal") -> list[str]:
    return [d.domain for d in v.check_domains(text, province=province, subject_type=subject)]


def test_url_reduced_to_registrable_domain() -> None:
    (info,) = v.check_domains("https://www.Example.com/path?q=1", province=None, subject_type="x")
    assert (info.domain, info.ascii, info.suffix) == ("example.com", "example.com", "com")
    assert info.warnings  # tells the user the www was dropped


def test_idn_both_ways() -> None:
    for text in ["例子.中国", "www.例子.中国", "xn--fsqu00a.xn--fiqs8s", "http://例子。中国/"]:
        (info,) = v.check_domains(text, province="北京", subject_type="enterprise")
        assert (info.domain, info.ascii, info.suffix) == (
            "例子.中国",
            "xn--fsqu00a.xn--fiqs8s",
            "中国",
        )


def test_several_domains_split_and_deduplicated() -> None:
    text = "a.com，b.cn、a.com\nwww.b.cn; c.com.cn  d.net"
    assert _domains(text, subject="enterprise") == ["a.com", "b.cn", "c.com.cn", "d.net"]


def test_personal_filing_warns_about_extra_domains() -> None:
    first, second = v.check_domains("a.com b.com", province=None, subject_type="personal")
    assert not first.warnings and any("新增网站" in w for w in second.warnings)


def test_too_many_domains() -> None:
    text = " ".join(f"site{i}.com" for i in range(11))
    assert "10" in reason_of(lambda: v.check_domains(text, province=None, subject_type="x"))


@pytest.mark.parametrize(
    ("text", "province", "subject", "words"),
    [
        ("a.io", None, "personal", ".io"),
        ("a.io", "北京", "enterprise", ".io"),
        ("a.me", "北京", "personal", "北京"),
        ("a.asia", "北京", "enterprise", "北京"),
        ("a.org", None, "enterprise", ".org"),
        ("a.org", "重庆", "personal", ".org"),
        ("x.gov.cn", None, "personal", "党政机关"),
        ("a.notatld", None, "personal", "notatld"),
        ("user.github.io", None, "personal", ".io"),
        ("1.2.3.4", None, "personal", "IP"),
        ("http://[2400:da00::6666]/", None, "personal", "IP"),
        ("localhost", None, "personal", "本地"),
        ("nas.local", None, "personal", "本地"),
        ("example", None, "personal", "后缀"),
        ("com.cn", None, "personal", "只是域名后缀"),
        # Suffixes only the filing list knows (the public suffix list lacks them).
        ("政务.cn", None, "government", "只是域名后缀"),
        ("公益.cn", None, "other", "只是域名后缀"),
        ("https://政务.cn/", None, "government", "只是域名后缀"),
        ("a..com", None, "personal", "连续的点"),
        ("-a.com", None, "personal", "短横线"),
        ("a_b.com", None, "personal", "短横线"),
        ("☃.com", None, "personal", "汉字"),
        ("a" * 64 + ".com", None, "personal", "63"),
        ("中国人.com", "北京", "personal", "中国"),
        ("，、", None, "personal", "域名"),
    ],
)
def test_bad_domains(text: str, province: str | None, subject: str, words: str) -> None:
    reason = reason_of(lambda: v.check_domains(text, province=province, subject_type=subject))
    assert words in reason


def test_domain_warnings() -> None:
    (me,) = v.check_domains("a.me", province=None, subject_type="personal")
    assert any("北京" in w for w in me.warnings)
    (red,) = v.check_domains("a.red", province="北京", subject_type="personal")
    assert any("白名单" in w for w in red.warnings)
    (game,) = v.check_domains("mygame.com", province="上海", subject_type="personal")
    assert any("game" in w for w in game.warnings)
    (gov,) = v.check_domains("中国人.com", province="北京", subject_type="government")
    assert gov.domain == "中国人.com"
    (under,) = v.check_domains("某市.政务.cn", province=None, subject_type="government")
    assert (under.domain, under.suffix) == ("某市.政务.cn", "政务.cn")


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True))
def test_url_decorations_do_not_change_the_domain(label: str) -> None:
    plain = v.check_domains(f"{label}.com", province=None, subject_type="personal")
    dressed = v.check_domains(
        f"HTTPS://www.{label.upper()}.com:8443/a/b?c=d#e", province=None, subject_type="personal"
    )
    assert [d.domain for d in plain] == [d.domain for d in dressed] == [f"{label}.com"]


# --- website names --------------------------------------------------------------------------


def _site(text: str, subject: Any = "personal", domains: list[str] | None = None) -> Any:
    return v.check_site_name(text, subject_type=subject, domains=domains or [])


def test_good_site_names() -> None:
    assert _site("张三的读书笔记").warnings == []
    assert _site("我的Python学习笔记").name == "我的Python学习笔记"


@pytest.mark.parametrize(
    ("text", "subject", "words"),
    [
        ("读书", "personal", "3 个汉字"),
        ("abc123", "personal", "数字或字母"),
        ("example.com", "personal", "域名"),
        ("中国读书笔记", "personal", "国家级"),
        ("中华美食笔记", "personal", "国家级"),
        ("张三科技有限公司", "personal", "有限公司"),
        ("张三的公司介绍", "personal", "公司"),
        ("张三集团展示", "personal", "集团"),
        ("张三资讯网", "personal", "资讯网"),
        ("张三的技术论坛", "personal", "论坛"),
        ("张三的学习社区", "personal", "社区"),
        ("张三的读书笔记!", "personal", "符号"),
        ("张三的 笔记", "personal", "空格"),
        ("张三的笔记😀", "personal", "表情"),
    ],
)
def test_bad_site_names(text: str, subject: str, words: str) -> None:
    assert words in reason_of(lambda: _site(text, subject))


def test_site_name_equal_to_a_filed_domain() -> None:
    reason = reason_of(lambda: _site("例子网站.中国", domains=["xn--fsqu00a.xn--fiqs8s"]))
    assert "域名" in reason


def test_site_name_warnings() -> None:
    assert any("博客" in w for w in _site("张三的技术博客").warnings)
    assert any("平台" in w for w in _site("示例产品展示平台", "enterprise").warnings)
    assert any("门户" in w for w in _site("示例科技门户网", "enterprise").warnings)
    assert any("论坛" in w for w in _site("示例技术论坛", "enterprise").warnings)
    assert any("国家级" in w for w in _site("中国示例集团官网", "enterprise").warnings)
    # Enterprise sites may carry company words.
    assert _site("示例科技有限公司官网", "enterprise").warnings == []


# --- server term and durations --------------------------------------------------------------


def test_server_term() -> None:
    assert v.check_server_term(365, 200) == []
    assert any("90 天" in w for w in v.check_server_term(60, 200))
    assert any("30 天" in w for w in v.check_server_term(365, 20))
    assert any("到期" in w for w in v.check_server_term(365, 0))
    assert "天数" in reason_of(lambda: v.check_server_term(-1, 10))


@pytest.mark.parametrize(
    ("text", "days"),
    [("90", 90), ("90天", 90), ("3个月", 90), ("三个月", 90), ("1年", 365), ("半年", 182)],
)
def test_durations(text: str, days: int) -> None:
    assert v.check_duration_days(text) == days


# --- every validator, any text --------------------------------------------------------------

VALIDATORS: dict[str, Callable[[str], object]] = {
    "person_name": v.check_person_name,
    "id_number": lambda t: v.check_id_number(t, today=TODAY),
    "mobile": v.check_mobile,
    "email": v.check_email,
    "credit_code": v.check_credit_code,
    "company_name": v.check_company_name,
    "ip": v.check_ip,
    "domains_beijing": lambda t: v.check_domains(t, province="北京", subject_type="personal"),
    "domains": lambda t: v.check_domains(t, province=None, subject_type="enterprise"),
    "site_name": lambda t: v.check_site_name(t, subject_type="personal", domains=["a.com"]),
    "site_name_company": lambda t: v.check_site_name(t, subject_type="enterprise", domains=[]),
    "duration": v.check_duration_days,
}

NASTY = [
    "",
    " ",
    "\x00",
    "13800138000\x00",
    "\x1b[31m",
    "😀" * 5,
    "👨‍👩‍👧",
    "a" * 100_000,
    "例" * 100_000,
    "\u202e" + "moc.elpmaxe",
    "'; DROP TABLE users; --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "http://[::1",
    "https://",
    "xn--",
    "xn--zzzzzz.com",
    "a." * 200,
    "ﷺ" * 40,
    "١٣٨٠٠١٣٨٠٠٠",
]


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_nasty_input_gets_an_input_error_or_a_value(name: str, text: str) -> None:
    try:
        VALIDATORS[name](text)
    except InputError as err:
        assert err.reason and err.example


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=150)
@given(text=st.text())
def test_random_text_only_ever_raises_input_error(name: str, text: str) -> None:
    try:
        VALIDATORS[name](text)
    except InputError as err:
        assert err.reason and err.example


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(lambda s: s + "."))
def test_the_example_given_is_itself_valid(name: str, text: str) -> None:
    try:
        VALIDATORS[name](text)
    except InputError as err:
        if name.startswith("site_name"):
            return  # the example is for the subject type, not for this domain list
        VALIDATORS[name](err.example)


def test_site_name_examples_are_valid() -> None:
    for subject, example in v.EXAMPLE_SITE_NAME.items():
        assert v.check_site_name(example, subject_type=subject, domains=[]).warnings == []  # type: ignore[arg-type]
