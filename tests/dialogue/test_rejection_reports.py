"""A reported rejection gets its fix first, then the offer of reminders; never a clock alone."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.messages import ChatKind
from tests.drivers import EngineChat

REASON_QUESTION = "驳回意见里说的是哪一类问题"


def _open(app: App) -> set[str]:
    return {r.kind for r in app.storage.reminders.open_for_user("test", "u1")}


@pytest.mark.parametrize(
    ("report", "fix"),
    [
        ("管局驳回了，说负责人电话没接", "保持手机畅通"),
        ("没接到核实电话，备案被驳回了", "保持手机畅通"),
        ("初审被退回，理由是域名持有人和主体不一致", "过户"),
        ("备案被驳回了，说域名有问题", None),
        ("备案订单被打回来了，说证件扫描件不清晰", "用证件原件重新拍"),
        ("订单被驳回了，原因是材料不合格", "用证件原件重新拍"),
        ("被驳回了，说填的地址和证件不一致，备案要重新提交吗", "照着证件原件逐字改"),
    ],
)
def test_a_report_with_its_reason_gets_the_fix_then_the_offer(
    app: App, report: str, fix: str | None
) -> None:
    chat = EngineChat(app.engine)
    replies = chat.say(report)
    text = "\n".join(replies)
    assert "从你的话里看出" in text
    assert REASON_QUESTION not in text
    if fix is None:  # "域名有问题" needs one more question: which domain problem
        assert "域名问题更接近哪一种" in replies[-1]
        replies = chat.say("持有人不是备案主体")
        fix = "过户"
    assert fix in "\n".join(replies[:-1])
    assert "要我记下这次退回吗" in replies[-1]
    assert _open(app) == set()  # nothing is scheduled until the user asks for it
    chat.say("1")
    assert _open(app) == {"idle_order"}


@pytest.mark.parametrize(
    "report", ["订单被退回了", "备案被驳回了", "初审没通过，被打回了", "刚刚备案被退回，咋办"]
)
def test_a_report_without_a_reason_asks_for_it(app: App, report: str) -> None:
    chat = EngineChat(app.engine)
    replies = chat.say(report)
    assert REASON_QUESTION in replies[-1]
    assert [c.label for c in chat.last[-1].choices][:2] == [
        "网站名称不合规",
        "证件扫描件不清晰或水印不对",
    ]
    assert _open(app) == set()
    replies = chat.say("网站名称不合规")
    replies = chat.say("企业或其他单位")
    assert "单位网站的名称这样改" in replies[0]


@pytest.mark.parametrize(
    "text",
    ["如果备案被驳回了怎么办", "备案会不会被驳回", "订单还没被退回", "驳回后多久能重新提交"],
)
def test_questions_about_rejection_are_not_reports(app: App, text: str) -> None:
    chat = EngineChat(app.engine)
    reply = "\n".join(chat.say(text))
    assert "从你的话里看出" not in reply and "记下了" not in reply
    assert _open(app) == set()


def test_the_reply_names_no_provider_the_user_did_not_name(app: App) -> None:
    chat = EngineChat(app.engine)
    chat.say("订单被退回了，说网站名称不合规")
    chat.say("个人")
    recorded = "\n".join(chat.say("1"))
    assert "记下了" in recorded
    assert "阿里云会删除" not in recorded and "阿里云的期限是 45 天" in recorded


def test_in_a_group_the_fix_is_given_and_more_questions_go_private(app: App) -> None:
    group = EngineChat(app.engine, chat_id="g1", kind=ChatKind.GROUP)
    fixed = "\n".join(group.say("@bot 备案被驳回了，说核实电话没接到", mention=True))
    assert "保持手机畅通" in fixed
    asks = "\n".join(group.say("@bot 备案被驳回了", mention=True))
    assert "私聊" in asks and REASON_QUESTION not in asks
