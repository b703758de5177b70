"""The filing dialogue as a user lives it, through the real engine and a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.messages import ChatKind
from tests.conftest import CACHE_DIR, sqlite_db
from tests.drivers import EngineChat

PERSONAL = [
    "个人", "中国大陆居民身份证", "广东", "中国大陆", "腾讯云", "1年", "200天", "1.2.3.4",
    "张三", "440305199001010018", "13800138000", "zhangsan@example.com", "example.com",
    "一致", "超过3天", "张三的读书笔记", "个人博客或学习笔记", "都不涉及", "都在", "从没备过案",
]  # fmt: skip
ENTERPRISE = [
    "企业", "是，在大陆注册", "上海", "中国大陆", "阿里云", "2年", "300天", "8.8.8.8",
    "示例科技有限公司", "91350100M000100Y43", "王五", "不是，填别人", "不是，另有负责人", "李四",
    "/skip",
    "还没有", "13912345678", "lisi@example.com", "example.cn", "一致", "超过3天",
    "示例科技产品介绍", "企业官网或产品介绍", "/skip", "都不涉及", "都在", "从没备过案",
]  # fmt: skip


@pytest.fixture
def chat(app: App) -> EngineChat:
    return EngineChat(app.engine)


def fill(chat: EngineChat, answers: list[str]) -> list[str]:
    """Start /filing and give every answer; returns the replies to the last one."""
    chat.say("/filing")
    replies: list[str] = []
    for text in answers:
        replies = chat.say(text)
    return replies


def test_personal_filing_end_to_end(chat: EngineChat, app: App) -> None:
    replies = fill(chat, PERSONAL)
    summary = "\n".join(replies)
    assert "请核对你的资料" in summary
    assert "440***********0018" in summary and "138****8000" in summary
    assert "440305199001010018" not in summary and "13800138000" not in summary
    report = "\n".join(chat.say("确认无误，生成预审报告"))
    assert "【预审报告】" in report and "【材料清单】" in report and "【时间预估】" in report
    assert "没有发现会被直接驳回的问题" in report
    assert "身份证原件" in report
    # the full ID number and mobile are not stored anywhere in the database
    sqlite_db(app.storage).conn.commit()
    raw = Path(app.settings.db_path).read_bytes()
    for wal in Path(app.settings.db_path).parent.glob("*.db-wal"):
        raw += wal.read_bytes()
    assert b"440305199001010018" not in raw and b"13800138000" not in raw


def test_enterprise_filing_end_to_end_reports_blocking_problems(chat: EngineChat) -> None:
    fill(chat, ENTERPRISE)
    report = "\n".join(chat.say("确认"))
    assert "会被驳回的问题" in report
    assert "主体负责人不是法定代表人，上海不受理" in report  # Shanghai is a "must" province
    assert "授权书还没准备" in report
    assert "授权书" in report.split("【材料清单】")[1]


@pytest.mark.parametrize(
    ("prefix", "bad", "reason", "good"),
    [
        (PERSONAL[:7], "192.168.1.10", "内网", "1.2.3.4"),
        (PERSONAL[:7], "abc", "IP", "1.2.3.4"),
        (PERSONAL[:9], "11010519491231002Y", "身份证", "440305199001010018"),
        (PERSONAL[:10], "010-12345678", "手机", "13800138000"),
        (PERSONAL[:11], "not-an-email", "邮箱", "a@example.com"),
        (PERSONAL[:12], "example.io", ".io", "example.com"),
        (PERSONAL[:15], "张三科技有限公司", "有限公司", "张三的读书笔记"),
        (PERSONAL[:2], "火星", "省", "广东"),
        (PERSONAL[:5], "很久", "时长", "1年"),
        (PERSONAL[:0], "随便", "选项", "个人"),
    ],
)
def test_each_invalid_answer_gets_reason_example_and_the_same_question(
    chat: EngineChat, prefix: list[str], bad: str, reason: str, good: str
) -> None:
    chat.say("/filing")
    asked = ""
    for text in prefix:
        asked = chat.say(text)[-1]
    if not prefix:
        asked = chat.say("/status")[0].split("下一个问题：")[1]
    [reply] = chat.say(bad)
    assert reason in reply
    # One example (a choice question shows its options instead), and the question once, short.
    assert reply.count("例如") == (0 if "选项" in reason else 1)
    question = asked.splitlines()[0].split("）", 1)[-1]
    assert reply.count(question.split("？")[0]) == 1  # the same question again
    assert len(reply.splitlines()) <= 3 + len(chat.last[0].choices)
    assert "（" in chat.say(good)[-1]  # the state was kept: the next question comes


def test_a_question_in_the_middle_is_answered_and_the_form_resumes(chat: EngineChat) -> None:
    chat.say("/filing")
    chat.say("个人")
    replies = chat.say("备案期间要解析吗？")
    assert "来源：" in replies[0]
    assert "回到刚才的问题" in replies[1] and "身份证件" in replies[1]
    assert "省" in chat.say("中国大陆居民身份证")[-1]


def test_back_edit_and_plain_word_corrections(chat: EngineChat) -> None:
    fill(chat, PERSONAL[:13])  # up to the domain
    assert "实名持有人" in chat.say("/back")[-1] or "域名" in chat.say("/status")[0]
    chat.say("example.com")
    assert "手机号" in chat.say("/edit 手机号")[-1]
    # after the corrected answer the form continues where it was
    assert "实名持有人" in chat.say("13912345678")[-1]
    assert "域名" in chat.say("改一下域名")[-1]
    assert "实名持有人" in chat.say("example.net")[-1]
    status = chat.say("/status")[0]
    assert "已完成" in status


def test_skip_only_for_optional_questions(chat: EngineChat) -> None:
    fill(chat, PERSONAL[:9])  # the next question is the optional ID number
    assert "已跳过" in chat.say("/skip")[0]
    assert "必填项" in chat.say("/skip")[0]  # the mobile number is required


def test_cancel_keeps_the_data_and_filing_resumes(chat: EngineChat) -> None:
    fill(chat, PERSONAL[:5])
    assert "已暂停" in chat.say("/cancel")[0]
    assert "来源：" in chat.say("备案要多久")[0]  # plain FAQ again
    chat.send("/filing")
    assert any("继续" in c.label for c in chat.last[0].choices)
    replies = chat.say("1")
    assert "接着上次" in replies[0] and "买了多久" in replies[-1]


def test_two_filings_for_one_user(chat: EngineChat, app: App) -> None:
    fill(chat, PERSONAL[:13])
    chat.say("/cancel")
    chat.send("/filing")
    new = [c for c in chat.last[0].choices if "新建" in c.label]
    chat.say(new[0].value)
    chat.say("企业")
    chat.say("/cancel")
    chat.send("/filing")
    labels = [c.label for c in chat.last[0].choices]
    assert "继续：example.com" in labels and len(labels) == 3
    rows = sqlite_db(app.storage).execute("SELECT count(*) FROM filings").fetchone()[0]
    assert rows == 2


def test_filing_in_a_group_points_to_a_private_chat(app: App) -> None:
    group = EngineChat(app.engine, chat_id="-1", kind=ChatKind.GROUP)
    [pointer] = group.send("/filing")
    assert pointer.deep_link == "filing" and "私聊" in pointer.text
    assert sqlite_db(app.storage).execute("SELECT count(*) FROM filings").fetchone()[0] == 0


def test_export_gives_masked_json_and_markdown(chat: EngineChat) -> None:
    fill(chat, PERSONAL)
    chat.say("确认")
    [export] = chat.send("/export")
    assert export.document is not None
    data = json.loads(export.document.content)
    assert data["answers"]["mobile"]["shown"] == "138****8000"
    assert "13800138000" not in export.document.content.decode()
    assert "【预审报告】" in export.text


def test_planned_change_is_due_thirty_days_before(chat: EngineChat) -> None:
    chat.say("/change")
    chat.say("主体信息")
    chat.say("计划中，还没发生")
    explanation, clock = chat.say("2027-03-01")
    assert "提前 30 天" in explanation and "2027年1月30日" in explanation
    assert "提醒你" in clock  # the reminders took the deadline over
    assert "主体信息变更备案" in chat.say("/reminders")[0]


@pytest.mark.parametrize("ahead", [45, 200, 330])
def test_planned_change_on_a_year_less_date_is_never_past(chat: EngineChat, ahead: int) -> None:
    planned = date.today() + timedelta(days=ahead)
    chat.say("/change")
    chat.say("主体信息")
    chat.say("计划中，还没发生")
    replies = chat.say(f"{planned.month}月{planned.day}日")
    text = "\n".join(replies)
    assert f"{planned.year}年{planned.month}月{planned.day}日" in text
    assert "已过" not in text and "已超过" not in text


def test_restart_resumes_at_the_same_question_in_a_new_process(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    env = {**os.environ, "BEIAN_DB_PATH": str(db), "BEIAN_CACHE_DIR": str(CACHE_DIR)}

    def run(lines: list[str]) -> list[dict[str, list[dict[str, str]]]]:
        out = subprocess.run(
            [sys.executable, "-m", "bot", "chat", "--json", "--user", "r"],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        ).stdout
        return [json.loads(line) for line in out.splitlines()]

    first = run(["/filing", *PERSONAL[:6]])
    assert "剩" in first[-1]["messages"][-1]["text"]  # asked: days left on the server
    second = run(["/status", "200天"])
    assert "6/" in second[0]["messages"][0]["text"]
    assert "公网 IP" in second[1]["messages"][-1]["text"]


def test_report_past_the_holiday_data_says_it_is_an_estimate(app: App) -> None:
    app.engine.forms.today = lambda: date(2027, 12, 20)
    chat = EngineChat(app.engine)
    fill(chat, PERSONAL)
    report = "\n".join(chat.say("确认"))
    assert "只按周末估算" in report and "2028年" in report


def test_plain_words_start_a_troubleshooting_flow_that_ends_in_steps(chat: EngineChat) -> None:
    first = chat.send("我的短信核验失败了")
    assert first[-1].choices  # the flow's first question, as choices
    replies = chat.say(first[-1].choices[0].label)
    while chat.last[-1].choices and "来源：" not in replies[-1]:
        replies = chat.say(chat.last[-1].choices[0].label)
    assert "来源：" in replies[-1]
    assert "来源：" in chat.say("备案要多久")[0]  # the flow is over: FAQ again


def test_a_faq_answer_offers_the_matching_flow(chat: EngineChat) -> None:
    [answer] = chat.send("/faq sms-not-received")
    assert [c.value for c in answer.choices] == ["/flow sms"]
    assert chat.say("1")[-1]  # picking it by number starts the flow
    assert chat.last[-1].choices


def test_export_asks_which_filing_when_there_are_several(chat: EngineChat) -> None:
    fill(chat, PERSONAL[:14])
    chat.say("/cancel")
    chat.say("/filing new")
    chat.say("企业")
    chat.say("/cancel")
    [which] = chat.send("/export")
    assert len(which.choices) == 2 and which.document is None
    [export] = chat.send(which.choices[0].value)
    assert export.document is not None and "example.com" in export.text


def test_answering_with_the_server_location_is_corrected(chat: EngineChat) -> None:
    fill(chat, PERSONAL[:2])
    [reply] = chat.say("服务器在北京，所以是北京")
    assert "不按服务器所在地" in reply and "例如" in reply
    assert "服务器在哪里" in chat.say("广东")[-1]
