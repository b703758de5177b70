"""Which language a question is in: Chinese, English, or another one we cannot answer in.

Written by hand, not with a detector library: the bot needs only these three outcomes, in
microseconds, on messages of a few words that mix 备案 with English. Statistical detectors
(langdetect, lingua) are unreliable on such short mixed text, and lingua's models alone
would exceed the bot's memory budget; fastText's model would have to be downloaded.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en", "other"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
# Scripts of languages we do not answer in: Hangul, Cyrillic, Greek, Arabic, Hebrew, Thai,
# Devanagari and the other Indic scripts.
_OTHER_SCRIPT = re.compile(
    r"[\uac00-\ud7af\u1100-\u11ff\u0400-\u04ff\u0370-\u03ff\u0600-\u06ff\u0590-\u05ff"
    r"\u0e00-\u0e7f\u0900-\u0dff]"
)
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_ENGLISH_WORDS = frozenset(
    """the a an is are do does can i my to for of in on how what when why where which need
    get it be will should with without we our you your have has there this that
    """.split()  # noqa: SIM905 - a word list reads better as one string
)
# Function words of the Latin-script languages foreigners in China write in most often.
_OTHER_LATIN_WORDS = frozenset(
    """le la les des est une un pour que avec dans sur
    der die das ist und ein eine nicht ich wie für mit
    el los las es una por para como qué con del
    o os uma não são com
    il che sono della
    yang dan untuk tidak bisa apa
    cho của là không được có
    """.split()  # noqa: SIM905 - French, German, Spanish, Portuguese, Italian, Indonesian, Vietnamese
)


def language_of(text: str) -> Language:
    """'zh' when Chinese carries the message, 'en' for English, 'other' for anything else."""
    han = len(_HAN.findall(text))
    kana = len(_KANA.findall(text))
    if kana >= 2 and kana * 5 >= han:
        return "other"
    words = [w.casefold() for w in _LATIN_WORD.findall(text)]
    others = len(_OTHER_SCRIPT.findall(text))
    # A Chinese character carries about as much as an English word: "ICP备案要多久" is
    # Chinese, "how long does ICP备案 take" is English.
    if han and han >= len(words) and han >= others:
        return "zh"
    if others > len("".join(words)):
        return "other"
    if not words:
        return "zh"
    english = sum(w in _ENGLISH_WORDS for w in words)
    foreign = sum(w in _OTHER_LATIN_WORDS for w in words)
    if foreign > english or (foreign and re.search(r"[\u00c0-\u024f]", text)):
        return "other"
    return "en"
