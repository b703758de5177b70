"""Reading a message: its language, the question inside a long one, English words."""

from __future__ import annotations

import pytest

from bot.faq.english import EnglishTokenizer
from bot.faq.focus import split_question
from bot.faq.language import language_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("备案要多久", "zh"),
        ("ICP备案要多久", "zh"),
        ("我的website需要备案吗", "zh"),
        ("備案號是什麼", "zh"),
        ("备案 how long", "zh"),
        ("how long does ICP filing take", "en"),
        ("How long does ICP备案 take?", "en"),
        ("can a foreign company get an ICP filing", "en"),
        ("ICP license", "en"),
        ("Wie lange dauert die ICP Anmeldung?", "other"),
        ("Comment obtenir une licence ICP pour mon site ?", "other"),
        ("¿Cuánto tarda el registro ICP?", "other"),
        ("ICPの申請はどのくらいかかりますか", "other"),
        ("ICP 등록은 얼마나 걸리나요", "other"),
        ("Сколько длится регистрация ICP?", "other"),
        ("12345", "zh"),
    ],
)
def test_language_of_short_and_mixed_messages(text: str, expected: str) -> None:
    assert language_of(text) == expected


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (
            "我在阿里云买了服务器，域名在腾讯云注册的。备案提交三天了。请问备案期间可以解析吗？",
            "备案期间可以解析吗？",
        ),
        ("公司上个月刚注册。服务器在香港。这种情况要备案吗", "这种情况要备案吗"),
        (
            "I bought a server in Shanghai on Alibaba Cloud. My company is in Germany. "
            "Can a foreign company get an ICP filing?",
            "Can a foreign company get an ICP filing?",
        ),
        ("管局打电话来了。但是我没接到。怎么办", "怎么办"),
    ],
)
def test_the_question_is_found_after_the_background(text: str, question: str) -> None:
    asked, background = split_question(text)
    assert asked == question
    assert background


@pytest.mark.parametrize(
    "text", ["备案要多久", "备案要多久？要准备什么？", "我想备案。", "how long does it take?"]
)
def test_a_message_that_is_all_question_has_no_background(text: str) -> None:
    assert split_question(text) == (text.strip(), "")


def test_english_words_are_stemmed_stop_words_dropped_synonyms_mapped() -> None:
    tokenizer = EnglishTokenizer({"licence": "license"})
    assert tokenizer.tokens("Do I need an ICP licence?") == tokenizer.tokens("need ICP license")
    assert tokenizer.tokens("filed") == tokenizer.tokens("filing")
    # "without a filing" is not "with a filing".
    assert "without" in tokenizer.tokens("hosting without filing")
