"""A question typed at a form prompt is answered or declined, never stored as the answer."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.asking import is_question_form
from tests.dialogue.test_dialogue import ENTERPRISE, PERSONAL, fill
from tests.drivers import EngineChat

# (answers before the prompt, the prompt's words, a valid answer)
PROMPTS = [
    (ENTERPRISE[:2], "省", "上海"),
    (ENTERPRISE[:7], "IP", "8.8.8.8"),
    (ENTERPRISE[:8], "单位", "示例科技有限公司"),
    (ENTERPRISE[:10], "法定代表人", "王五"),
    (ENTERPRISE[:16], "手机", "13912345678"),
    (ENTERPRISE[:18], "域名", "example.cn"),
    (PERSONAL[:8], "姓名", "张三"),
    (PERSONAL[:15], "名称", "张三的读书笔记"),
    (PERSONAL[:16], "网站主要做什么", "个人博客或学习笔记"),
]
QUESTIONS = [
    "名字里带英文字母可以吗",
    "这个能不能用英文",
    "ICP许可证和ICP备案有啥区别",
    "这里怎么填",
    "必须填真实的？",
    "要不要写全称呢",
    "can I use English letters here?",
    "What does this field mean",
]


@pytest.mark.parametrize(("before", "prompt", "valid"), PROMPTS)
@pytest.mark.parametrize("question", QUESTIONS)
def test_question_at_a_prompt_is_not_stored(
    app: App, before: list[str], prompt: str, valid: str, question: str
) -> None:
    chat = EngineChat(app.engine)
    asked = fill(chat, before)[-1]
    assert prompt in asked
    replies = chat.say(question)
    assert prompt in replies[-1] and "回到刚才的问题" in replies[-1]  # the same prompt again
    assert question not in chat.say("/status")[0]
    # the prompt still takes a real answer, and the form moves on (a number may be skipped)
    assert _number(chat.say(valid)[-1]) > _number(asked)


def _number(prompt: str) -> int:
    found = re.search(r"（(\d+)/\d+）", prompt)
    assert found, prompt
    return int(found.group(1))


def test_an_unsure_side_question_says_it_was_not_stored(chat: EngineChat) -> None:
    fill(chat, ENTERPRISE[:8])
    reply = chat.say("名字里带英文字母可以吗")[0]
    assert "没有把它记作「单位名称」" in reply


def test_a_side_question_the_faq_knows_is_answered(chat: EngineChat) -> None:
    fill(chat, ENTERPRISE[:8])
    replies = chat.say("备案期间网站能不能访问？")
    assert "来源：" in replies[0]


@pytest.mark.parametrize(
    "answer",
    ["教大家如何做菜的个人博客", "记录什么是好设计", "分享Python学习心得"],
)
def test_an_answer_holding_a_question_word_is_not_a_question(answer: str) -> None:
    assert not is_question_form(answer)


@pytest.mark.parametrize(
    "question",
    [*QUESTIONS, "请问个人能备案吗", "是否需要幕布。", "有没有模板", "行吗", "Is a VPN ok?"],
)
def test_question_forms(question: str) -> None:
    assert is_question_form(question)


@pytest.fixture
def chat(app: App) -> EngineChat:
    return EngineChat(app.engine)
