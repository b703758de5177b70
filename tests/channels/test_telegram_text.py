"""Splitting at Telegram's 4096 limit without breaking words, numbers or links."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram.text import split_text, utf16_len, utf16_slice


def test_short_text_is_one_chunk() -> None:
    assert split_text("备案要多久？") == ["备案要多久？"]
    assert split_text("  \n ") == []


def test_utf16_counts_emoji_twice() -> None:
    assert utf16_len("a😀b") == 4
    assert utf16_slice("😀 @bot hi", 3, 4) == "@bot"


def test_paragraphs_are_preferred() -> None:
    first, second = "第一段。" * 600, "第二段。" * 600
    chunks = split_text(f"{first}\n\n{second}")
    assert chunks == [first, second]


def test_chinese_without_punctuation_splits_between_characters() -> None:
    text = "备" * 5000
    chunks = split_text(text)
    assert [len(c) for c in chunks] == [4096, 904]


def test_words_and_links_are_not_broken() -> None:
    link = "https://beian.miit.gov.cn/#/Integrated/index"
    text = " ".join([link] * 200)  # about 9 000 characters, spaces only between links
    chunks = split_text(text)
    assert len(chunks) == 3
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert all(set(c.split(" ")) == {link} for c in chunks)


def test_a_run_longer_than_the_limit_is_cut_hard() -> None:
    chunks = split_text("x" * 9000)
    assert [len(c) for c in chunks] == [4096, 4096, 808]


def test_emoji_are_counted_in_utf16_units() -> None:
    chunks = split_text("😀" * 3000)  # 6000 UTF-16 units
    assert [utf16_len(c) for c in chunks] == [4096, 1904]


@given(st.text(alphabet=st.sampled_from("备案 ab1.\n。😀-/:"), max_size=12000))
def test_chunks_fit_and_lose_only_whitespace(text: str) -> None:
    chunks = split_text(text, limit=1000)
    assert all(0 < utf16_len(c) <= 1000 for c in chunks)
    squash = re.compile(r"\s+")
    assert squash.sub("", "".join(chunks)) == squash.sub("", text)
