"""English questions: word tokens, stop words dropped, Snowball stems, synonyms mapped."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
# Words that say nothing about which topic is asked; "not", "no", "without" stay because
# "without a filing" and "with a filing" are different questions.
_STOP_WORDS = frozenset(
    """a an the is are was were be been being am do does did doing have has had having i me
    my we our you your he she it its they them their this that these those there here of in
    on at to for from by with as about into over under and or but if then so than too very
    can could will would should shall may might must just also please hi hello thanks thank
    any some what which who whom whose how when where why get got getting s t ll ve re m d
    """.split()  # noqa: SIM905 - a word list reads better as one string
)
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


class EnglishTokenizer:
    """The English side of the index; `synonyms` map a stemmed word to its canonical stem."""

    def __init__(self, synonyms: dict[str, str]) -> None:
        self.synonyms = {_stem(k.casefold()): _stem(v.casefold()) for k, v in synonyms.items()}

    def tokens(self, text: str) -> list[str]:
        """Lower-cased words without stop words, stemmed, synonyms mapped."""
        text = unicodedata.normalize("NFKC", text[:2000]).casefold()
        out = []
        for word in _WORD.findall(text):
            if word in _STOP_WORDS:
                continue
            stem = _stem(word)
            out.append(self.synonyms.get(stem, stem))
        return out
