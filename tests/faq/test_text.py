"""Normalisation: what users type is reduced to one comparable form."""

from bot.faq.text import normalize


def test_full_width_becomes_half_width_and_case_folds() -> None:
    assert normalize("ＩＣＰ备案　ＤＮＳ") == "icp备案 dns"


def test_traditional_becomes_simplified() -> None:
    assert normalize("備案號碼要多久") == "备案号码要多久"


def test_punctuation_and_emoji_become_spaces() -> None:
    assert normalize("备案？？😀要多久！！") == "备案 要多久"


def test_typos_are_fixed_before_tokenising() -> None:
    assert normalize("备按要多久", {"备按": "备案"}) == "备案要多久"


def test_control_characters_do_not_survive() -> None:
    assert "\x00" not in normalize("备案\x00要多久\x07")
