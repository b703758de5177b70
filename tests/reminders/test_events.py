"""Plain-words detection (statements yes, questions no) and the filing-number check."""

from __future__ import annotations

import pytest

from bot.reminders.events import (
    EventKind,
    check_number,
    detect,
    find_number,
    province_named_in,
)
from bot.reminders.models import ChangeWhat, ExpiryWhat


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("我刚收到管局的短信", EventKind.SMS_RECEIVED),
        ("工信部的核验短信来了", EventKind.SMS_RECEIVED),
        ("收到短信了，怎么办", EventKind.SMS_RECEIVED),
        ("短信核验完成了", EventKind.SMS_VERIFIED),
        ("已经完成短信核验", EventKind.SMS_VERIFIED),
        ("公司昨天改名了", EventKind.CHANGED),
        ("备案下来了, 号是 粤ICP备2026012345号-1", EventKind.APPROVED),
        ("粤ICP备2026012345号-1", EventKind.APPROVED),
        ("备案通过了", EventKind.APPROVED),
        ("3天前提交的初审", EventKind.SUBMITTED),
        ("备案订单提交了", EventKind.SUBMITTED),
        ("初审通过了", EventKind.FIRST_REVIEW_PASSED),
        ("已经提交到管局了", EventKind.FIRST_REVIEW_PASSED),
        ("订单被驳回了", EventKind.ORDER_RETURNED),
        ("网站上周五上线了", EventKind.SITE_LIVE),
        ("公安备案昨天通过了", EventKind.POLICE_APPROVED),
        ("服务器2027年3月1日到期", EventKind.EXPIRY),
        ("域名明年5月1日过期", EventKind.EXPIRY),
    ],
)
def test_statements_are_events(text: str, kind: EventKind) -> None:
    found = detect(text)
    assert found is not None and found.kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "换域名要重新备案吗",
        "收到短信后怎么核验",
        "还没收到短信",
        "收不到管局短信怎么办",
        "备案要多久",
        "粤ICP备2026012345号怎么挂",
        "我的备案号粤ICP备2026012345号被注销了",
        "网站上线后多久要公安备案",
        "备案还没下来",
        "服务器什么时候到期",
        "域名解析改了",
        "你好",
        "",
    ],
)
def test_questions_negations_and_small_talk_are_not(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("公司昨天改名了", ChangeWhat.SUBJECT),
        ("法人上周换了", ChangeWhat.SUBJECT),
        ("网站名称12月1日改了", ChangeWhat.SITE_NAME),
        ("域名12月20日要换", ChangeWhat.DOMAIN),
        ("下个月换到腾讯云", ChangeWhat.PROVIDER),
        ("昨天换了服务器IP", ChangeWhat.IP),
    ],
)
def test_what_changed(text: str, what: ChangeWhat) -> None:
    found = detect(text)
    assert found is not None and found.change is what


def test_expiry_what_and_purchase() -> None:
    found = detect("服务器是今年3月1日买的，买了一年")
    assert found is not None and found.expiry is ExpiryWhat.SERVER
    assert found.purchase_months == 12
    found = detect("域名2027年5月1日到期")
    assert found is not None and found.expiry is ExpiryWhat.DOMAIN


@pytest.mark.parametrize(
    "number",
    ["粤ICP备2026012345号-1", "京ICP备16020626号", "京ICP备04000001号-1", "沪ICP备14011813号"],
)
def test_valid_numbers(number: str) -> None:
    check = check_number(number)
    assert check.number == number and check.province is not None


def test_full_width_and_spaces_are_normalised() -> None:
    check = check_number("粤ＩＣＰ备２０２６０１２３４５号－１")
    assert check.number == "粤ICP备2026012345号-1"
    assert check_number("粤 icp 备 2026012345 号-1").number == "粤ICP备2026012345号-1"


@pytest.mark.parametrize(
    ("raw", "reason", "fixed"),
    [
        ("广东ICP备2026012345号-1", "province_name", "粤ICP备2026012345号-1"),
        ("港ICP备2026012345号", "province", None),
        ("ICP备2026012345号", "province", None),
        ("粤ICP备2026012345", "hao", "粤ICP备2026012345号"),
        ("粤ICP备号", "digits", None),
        ("粤ICP备2026012345号-a", "suffix", None),
        ("京ICP证030173号-1", "licence", None),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str, fixed: str | None) -> None:
    check = check_number(raw)
    assert check.number is None
    assert check.reason == reason
    assert check.fixed == fixed


def test_province_named_in_words_only() -> None:
    found = province_named_in("在广东管局备案的")
    assert found is not None and found.abbreviation == "粤"
    assert province_named_in("新网站上线") is None  # 新 alone is not 新疆


@pytest.mark.parametrize(
    "text",
    [
        "ICP许可证和ICP备案有啥区别",
        "我的ICP备案号忘了",
        "粤ICP备案号怎么查",
        "ICP备案号要放在网站哪里",
        "京ICP证和京ICP备有什么不同",
        "备案号是粤ICP备号吗",
        "ＩＣＰ备案号在哪看",
    ],
)
def test_words_about_the_number_are_not_a_number(text: str) -> None:
    assert find_number(text) is None
    found = detect(text)
    assert found is None or found.number is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("号是粤ICP备2026012345号-1，下来了", "粤ICP备2026012345号-1"),
        ("ICP备案号：京ICP备16020626号", "京ICP备16020626号"),
        ("拿到了，广东ICP备2026012345号", "粤ICP备2026012345号"),
    ],
)
def test_a_number_with_its_digits_is_found_even_after_words(text: str, number: str) -> None:
    found = find_number(text)
    assert found is not None
    check = check_number(found)
    assert number in {check.number, check.fixed}
