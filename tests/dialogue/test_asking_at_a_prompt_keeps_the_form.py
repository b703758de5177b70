"""Whatever kind of question a user types at whatever kind of prompt, the form stays put.

The reply answers the question (or says it cannot and that nothing was recorded), the same
prompt comes again, the form's progress is what it was, and the next real answer moves on.
The questions include ones that name an option of the prompt (「抖音企业号认证要多少钱」 at
「个人，还是企业？」) and ones without a question mark or 吗, which once were taken as answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import Settings
from tests.conftest import CACHE_DIR
from tests.dialogue.test_dialogue import ENTERPRISE, PERSONAL
from tests.drivers import EngineChat

# kind of prompt -> (what leads there, words of the prompt, a valid answer)
PROMPTS: dict[str, tuple[list[str], str, str]] = {
    "choice: subject": (["/filing"], "个人，还是企业", "个人"),
    "choice: identity": (["/filing", *PERSONAL[:1]], "身份证件", "中国大陆居民身份证"),
    "choice: server": (["/filing", *PERSONAL[:3]], "服务器在哪里", "中国大陆"),
    "choice: provider": (["/filing", *PERSONAL[:4]], "服务器是哪家的", "腾讯云"),
    "choice: domain holder": (["/filing", *PERSONAL[:13]], "实名持有人", "一致"),
    "province": (["/filing", *PERSONAL[:2]], "哪个省", "广东"),
    "duration": (["/filing", *PERSONAL[:5]], "买了多久", "1年"),
    "ip": (["/filing", *PERSONAL[:7]], "公网 IP", "1.2.3.4"),
    "name: person": (["/filing", *PERSONAL[:8]], "姓名", "张三"),
    "name: company": (["/filing", *ENTERPRISE[:8]], "单位名称", "示例科技有限公司"),
    "mobile": (["/filing", *PERSONAL[:10]], "手机号", "13800138000"),
    "domain": (["/filing", *PERSONAL[:12]], "域名是", "example.com"),
    "site name": (["/filing", *PERSONAL[:15]], "网站名称", "张三的读书笔记"),
    "free text": (["/filing", *PERSONAL[:15], "张三的读书笔记", "其他"], "备注", "记录我读过的书"),
    "date": (["/change", "主体信息", "计划中，还没发生"], "哪一天", "2027-03-01"),
}

QUESTIONS = [
    "备案期间网站能访问吗",  # 吗
    "备案要多久？",  # a question mark
    "变更备案怎么弄",  # 怎么 in the middle
    "个人备案需要准备什么材料",  # 什么, no mark
    "阿里云初审一般几天",  # 几天, names a provider
    "小白求问，网站备案大致流程能讲一下吗🙏",  # 吗 before an emoji
    "人臉識別過不了 怎麼辦",  # traditional characters
    "How long does ICP filing take?",
    "can a foreign company file",
]
COMMANDS = ["/help", "/lang zh", "/nosuchcommand"]

# Questions that name an option of the prompt they are typed at.
NAMING_AN_OPTION = [
    ("choice: subject", "以个人名义备案需要提供什么文件"),
    ("choice: subject", "抖音企业号认证要多少钱"),
    ("choice: subject", "公司注销流程"),
    ("choice: subject", "怎么查自己的备案号"),
    ("choice: subject", "服务内容选了「其他」，要写备注吗"),
    ("choice: identity", "护照怎么办理"),
    ("choice: identity", "香港的轻量服务器能不备案直接上线吗"),
    ("choice: server", "cloudflare + 美国vps 建站，用不用备案"),
    ("choice: server", "香港服务器哪家便宜"),
    ("choice: provider", "阿里云账号是个人认证的，能给公司备案吗"),
    ("choice: provider", "腾讯云换服务器ip，备案号会变吗"),
    ("choice: domain holder", "主体负责人必须是法人吗"),
    ("name: person", "公司最多可以备案多少个网站"),
    ("name: person", "附近有什么好吃的火锅"),
    ("name: person", "个人备案材料清单发一下"),
    ("site name", "个人能备案几个域名"),
    ("site name", "备按一般几天能好啊"),
    # Found by bench_load among 5,015 filers: an either-or question, and 「会怎样」.
    ("site name", "通信地址写现在住的地方还是身份证上的"),
    ("site name", "底部挂主体备案号还是网站备案号"),
    ("site name", "公安备案不做会怎样"),
    ("domain", "修改域名要重新备案吗"),
]

_users = count()


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One app for the module; every test talks as a user of its own."""
    path: Path = tmp_path_factory.mktemp("asking") / "beian.db"
    app = build_app(Settings(_env_file=None, db_path=path, cache_dir=CACHE_DIR))
    yield app
    app.storage.close()


def at_prompt(app: App, kind: str) -> tuple[EngineChat, str]:
    """A new user whose form is waiting at `kind`'s prompt; returns the chat and the prompt."""
    lead, words, _ = PROMPTS[kind]
    chat = EngineChat(app.engine, user_id=f"asker{next(_users)}")
    asked = ""
    for text in lead:
        asked = chat.say(text)[-1]
    assert words in asked, asked
    return chat, asked


def _number(prompt: str) -> int:
    found = re.search(r"（(\d+)/\d+）", prompt)
    assert found, prompt
    return int(found.group(1))


def check_form_stays(app: App, kind: str, question: str, replies_say: str) -> None:
    chat, asked = at_prompt(app, kind)
    words, valid = PROMPTS[kind][1], PROMPTS[kind][2]
    progress = chat.say("/status")[0]
    replies = chat.say(question)
    first = "\n".join(replies[:-1])
    assert re.search(replies_say, first), replies
    # the same prompt again, and the question was not taken as its answer
    assert "回到刚才的问题" in replies[-1] and words in replies[-1], replies
    assert chat.say("/status")[0] == progress
    # the prompt still takes its answer, and the form moves on from there
    after = chat.say(valid)[-1]
    assert words not in after
    if kind != "date":  # the change form ends at its date
        assert _number(after) > _number(asked)


# What shows the question was handled: an answer with its source, or that nothing was recorded.
HANDLED = r"来源：|没有把它记作|Source:"


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("kind", list(PROMPTS))
def test_a_question_at_any_prompt_is_answered_and_the_prompt_asked_again(
    shared_app: App, kind: str, question: str
) -> None:
    check_form_stays(shared_app, kind, question, HANDLED)


@pytest.mark.parametrize(("kind", "question"), NAMING_AN_OPTION)
def test_a_question_naming_an_option_or_fitting_the_field_is_not_the_answer(
    shared_app: App, kind: str, question: str
) -> None:
    check_form_stays(shared_app, kind, question, HANDLED)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["choice: subject", "name: person", "domain", "date"])
def test_a_command_at_a_prompt_is_answered_and_the_prompt_asked_again(
    shared_app: App, kind: str, command: str
) -> None:
    check_form_stays(shared_app, kind, command, r"我能做的事|中文|/nosuchcommand")


@pytest.mark.parametrize(
    ("kind", "answer", "shown"),
    [
        ("choice: subject", "我是个人", "身份证件"),
        ("choice: subject", "我们是公司", "大陆注册"),
        ("choice: subject", "还是个人吧", "身份证件"),
        ("choice: subject", "我还是选个人", "身份证件"),
        ("choice: server", "服务器在国内", "服务器是哪家的"),
        ("choice: provider", "用的是阿里云", "买了多久"),
        ("choice: provider", "腾讯云？", "买了多久"),
        ("site name", "记录什么是好设计", "网站主要做什么"),
        ("free text", "教大家怎么做菜的美食笔记", "涉及"),
    ],
)
def test_an_answer_in_a_few_words_is_still_taken(
    shared_app: App, kind: str, answer: str, shown: str
) -> None:
    chat, _ = at_prompt(shared_app, kind)
    assert shown in chat.say(answer)[-1]


def test_a_question_at_the_summary_is_answered_and_the_confirm_asked_again(
    shared_app: App,
) -> None:
    chat, _ = at_prompt(shared_app, "choice: subject")
    for text in PERSONAL:
        chat.say(text)
    replies = chat.say("个人备案材料清单发一下")
    assert "来源：" in replies[0]
    assert "确认无误" in replies[-1]
    assert "【预审报告】" in "\n".join(chat.say("确认"))


def test_editing_by_plain_words_still_works(shared_app: App) -> None:
    chat, _ = at_prompt(shared_app, "site name")
    assert "域名是" in chat.say("改一下域名")[-1]


def test_in_a_troubleshooting_flow_a_question_naming_the_case_is_the_answer(
    shared_app: App,
) -> None:
    chat = EngineChat(shared_app.engine, user_id=f"asker{next(_users)}")
    assert "哪种情况" in chat.say("我的短信核验失败了")[-1]
    replies = chat.say("备案要多久")  # about something else: answered, the case asked again
    assert "来源：" in replies[0] and "哪种情况" in replies[-1]
    assert "哪种手机号" in chat.say("一直没收到短信怎么办")[-1]
