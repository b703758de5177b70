"""The dialogue reads as written for this user: fixed numbering, notice first, fitting texts."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from tests.dialogue.test_dialogue import ENTERPRISE, PERSONAL
from tests.drivers import EngineChat

NUMBER = re.compile(r"（(\d+)/(\d+)）")


def _numbers(replies: list[str]) -> list[tuple[int, int]]:
    return [(int(m.group(1)), int(m.group(2))) for r in replies if (m := NUMBER.search(r))]


@pytest.mark.parametrize("answers", [PERSONAL, ENTERPRISE], ids=["person", "company"])
def test_the_total_is_fixed_once_the_subject_type_is_chosen(app: App, answers: list[str]) -> None:
    chat = EngineChat(app.engine)
    seen = _numbers(chat.say("/filing"))
    for text in answers:
        seen += _numbers(chat.say(text))
    after_choice = seen[1:]
    assert len({total for _, total in after_choice}) == 1
    numbers = [n for n, _ in after_choice]
    assert numbers == sorted(set(numbers))  # always forward, never the same number twice
    assert numbers[-1] <= after_choice[0][1]


def test_edit_asks_the_slot_with_its_own_number(app: App) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    first: dict[str, int] = {}
    for text in PERSONAL[:12]:
        for reply in chat.say(text):
            if (m := NUMBER.search(reply)) and "手机号" in reply:
                first["mobile"] = int(m.group(1))
    [(number, _)] = _numbers(chat.say("/edit 手机号")[-1:])
    assert number == first["mobile"]


@pytest.mark.parametrize(
    ("answers", "first_personal"),
    [(PERSONAL, "你的姓名"), (ENTERPRISE, "法定代表人的姓名")],
    ids=["person", "company"],
)
def test_the_privacy_notice_comes_before_the_first_name(
    app: App, answers: list[str], first_personal: str
) -> None:
    chat = EngineChat(app.engine)
    transcript = chat.say("/filing")
    for text in answers:
        transcript += chat.say(text)
    joined = "\n".join(transcript)
    assert joined.index("接下来要填个人信息") < joined.index(first_personal)
    assert joined.count("接下来要填个人信息") == 1


def test_names_are_masked_in_the_summary(app: App) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    replies: list[str] = []
    for text in ENTERPRISE:
        replies = chat.say(text)
    summary = "\n".join(replies)
    assert "法定代表人：王*" in summary and "网站负责人：李*" in summary
    assert "王五" not in summary and "李四" not in summary


def _transcript(app: App, answers: list[str]) -> tuple[EngineChat, str]:
    chat = EngineChat(app.engine)
    replies = chat.say("/filing")
    for text in answers:
        replies += chat.say(text)
    return chat, "\n".join(replies)


def test_a_company_is_asked_about_its_licence_not_your_id(app: App) -> None:
    _, company = _transcript(app, ENTERPRISE[:22])
    assert "单位证件（营业执照等）上的住所" in company
    assert "你的身份证上的地址" not in company
    assert "张三的读书笔记" not in company and "个人博客" not in company
    assert "域名的实名持有人是这家单位吗" in company


def test_a_person_is_not_offered_company_sites(app: App) -> None:
    chat, person = _transcript(app, PERSONAL[:16])
    assert "你的身份证上的地址" in person and "营业执照" not in person
    labels = [c.label for c in chat.last[-1].choices]
    assert "企业官网或产品介绍" not in labels and "在线卖东西（电商）" not in labels
    assert "个人博客或学习笔记" in labels


def test_a_hidden_option_typed_by_name_is_still_understood(app: App) -> None:
    chat, _ = _transcript(app, PERSONAL[:16])
    # A person who types 电商 must hear why it does not fit, not "pick an option".
    after = chat.say("电商")[-1]
    assert "网站内容涉及下面这些吗" in after
    # ... but a number picks only among the options shown.
    chat.say("/back")
    labels = [c.label for c in chat.last[-1].choices]
    chat.say(str(len(labels) + 1))
    assert "网站主要做什么" in chat.say("/status")[0]


def test_no_reply_tells_a_terminal_user_to_click(app: App) -> None:
    chat = EngineChat(app.engine, channel="terminal")
    replies = chat.say("/filing") + chat.say("随便") + chat.say("9")
    for text in PERSONAL:
        replies += chat.say(text)
    replies += chat.say("确认") + chat.say("备案要多久啊我说") + chat.say("我刚收到管局的短信")
    for reply in replies:
        assert not re.search(r"点按钮|点选|点「|点下面", reply), reply


@pytest.mark.parametrize(
    ("typed", "province"),
    [("深圳", "广东"), ("苏州市", "江苏"), ("海淀区", "北京"), ("延边", "吉林"), ("义乌", "浙江")],
)
def test_a_city_names_its_province_and_says_so(app: App, typed: str, province: str) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    chat.say("个人")
    chat.say("中国大陆居民身份证")
    replies = chat.say(typed)
    assert f"按{province}记下了" in replies[0] and "/back" in replies[0]
    assert "服务器在哪里" in replies[-1]
    assert f"备案省份：{province}" in "\n".join(chat.say("/status") + _summary(chat))


def _summary(chat: EngineChat) -> list[str]:
    replies: list[str] = []
    for text in PERSONAL[3:]:
        replies = chat.say(text)
    return replies


@pytest.mark.parametrize(
    ("typed", "days", "approximate"),
    [
        ("大概50天", 50, True),
        ("还剩300多天", 300, True),
        ("一年多", 365, True),
        ("还剩200天", 200, False),
    ],
)
def test_fuzzy_numbers_are_read_and_said_back(
    app: App, typed: str, days: int, approximate: bool
) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    for text in PERSONAL[:6]:
        chat.say(text)
    replies = chat.say(typed)
    assert "服务器的公网 IP" in replies[-1]
    said = "\n".join(replies[:-1])
    assert (f"按 {days} 天记下了" in said) is approximate


@pytest.mark.parametrize("typed", ["不到30天", "快一年", "将近两个月"])
def test_an_amount_below_an_unknown_number_is_asked(app: App, typed: str) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    for text in PERSONAL[:6]:
        chat.say(text)
    [reply] = chat.say(typed)
    assert "没有说出具体多少天" in reply and "剩多少天" in reply


def test_every_required_question_can_say_why_it_is_needed() -> None:
    from bot.dialogue.forms import load_forms

    spec = load_forms()["filing"]
    assert [s.name for s in spec.slots if not s.optional and not s.help.strip()] == []


EVERYDAY = [
    ("服务商", "服务器是哪家的"),
    ("实名", "域名实名认证"),
    ("网站内容", "网站主要做什么"),
    ("主体", "主体是个人"),
]


@pytest.mark.parametrize(("everyday", "asked"), EVERYDAY)
def test_edit_knows_everyday_names(app: App, everyday: str, asked: str) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    for text in PERSONAL:
        chat.say(text)
    assert asked in chat.say(f"/edit {everyday}")[-1]


def test_skip_on_a_required_question_says_why(app: App) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    for text in PERSONAL[:4]:
        chat.say(text)
    reply = chat.say("/skip")[0]
    assert "必填" in reply and "接入商提交" in reply


def test_status_after_cancel_says_what_was_kept(app: App) -> None:
    chat = EngineChat(app.engine)
    chat.say("/filing")
    for text in PERSONAL[:5]:
        chat.say(text)
    header = chat.say("/status")[0].splitlines()[0]
    assert header.count("ICP备案资料预审") == 1
    chat.say("/cancel")
    kept = chat.say("/status")[0]
    assert "已填 5/22" in kept and "/filing" in kept
