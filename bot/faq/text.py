"""Chinese text normalisation and tokenisation for retrieval: NFKC, simplified, jieba, synonyms."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import unicodedata
from functools import cache
from pathlib import Path

import opencc

# jieba 0.42 imports the deprecated pkg_resources only to open its own files, which costs
# ~0.1 s at start-up and a DeprecationWarning; without it jieba opens them by path instead.
_saved = sys.modules.get("pkg_resources")
sys.modules["pkg_resources"] = None  # type: ignore[assignment]
try:
    import jieba
finally:
    if _saved is None:
        del sys.modules["pkg_resources"]
    else:
        sys.modules["pkg_resources"] = _saved

logger = logging.getLogger(__name__)

_PUNCT_RE = re.compile(r"[^\w\u4e00-\u9fff.\-]+", re.UNICODE)
_ASCII_WORD_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
_MAX_QUERY_CHARS = 500

_t2s = opencc.OpenCC("t2s")


def _conversion_keys(converter: opencc.OpenCC) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """What a text must contain for `converter` to change it: (characters, phrases).

    OpenCC rewrites only substrings that are keys of its dictionaries. A text that contains no
    single-character key and none of the longer keys that lack such a character is returned
    as it is, so the conversion (pure Python, a fifth of the tokenizer's time) can be skipped
    for it: most questions are simplified already. None when the library keeps its
    dictionaries in another shape than opencc-python-reimplemented 0.1.7 does; then every
    text is converted.
    """
    try:
        keys = [
            key
            for group in converter._dict_chain_data
            for _max_len, _min_len, mapping in group
            for key in mapping
        ]
    except (AttributeError, TypeError, ValueError):
        return None
    if not all(isinstance(key, str) and key for key in keys):
        return None
    characters = frozenset(key for key in keys if len(key) == 1)
    return characters, tuple(k for k in keys if len(k) > 1 and characters.isdisjoint(k))


_T2S_KEYS = _conversion_keys(_t2s)


def _may_convert(text: str) -> bool:
    """False only when t2s would return `text` unchanged (see `_conversion_keys`)."""
    if _T2S_KEYS is None:
        return True
    characters, phrases = _T2S_KEYS
    return not characters.isdisjoint(text) or any(phrase in text for phrase in phrases)


@cache
def _tw2s() -> opencc.OpenCC:
    """Taiwan phrasing (伺服器, 網域, 軟體) needs phrase conversion, not only characters.

    Loaded on first use and applied only to text with traditional characters, so mainland
    wording such as 资讯网 is never touched and simplified-only sessions never pay for it.
    """
    return opencc.OpenCC("tw2sp")


def normalize(text: str, typos: dict[str, str] | None = None) -> str:
    """Full-width to half-width, case-folded, simplified Chinese, common typos fixed."""
    text = unicodedata.normalize("NFKC", text[:_MAX_QUERY_CHARS]).casefold()
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    if _may_convert(text):
        simplified = _t2s.convert(text)
        text = _tw2s().convert(text) if simplified != text else simplified
    for wrong, right in (typos or {}).items():
        text = text.replace(wrong, right)
    return _PUNCT_RE.sub(" ", text).strip()


class Tokenizer:
    """jieba with a trimmed dictionary, the filing user dictionary and the synonym table."""

    def __init__(
        self,
        *,
        userdict: Path,
        synonyms: dict[str, str],
        typos: dict[str, str],
        filler_words: frozenset[str],
        corpus: str,
        cache_dir: Path,
    ) -> None:
        self.synonyms = synonyms
        self.typos = typos
        self.filler_words = filler_words
        dictionary = _trimmed_dictionary(cache_dir, corpus)
        self._jieba = jieba.Tokenizer(dictionary=str(dictionary))
        self._jieba.tmp_dir = str(cache_dir)
        # jieba logs at INFO on every load; its messages are noise in a chat terminal.
        jieba.setLogLevel(logging.WARNING)
        # jieba leaves a file it opened itself unclosed; hand it one we close.
        with userdict.open("rb") as words:
            self._jieba.load_userdict(words)
        for word in synonyms:
            if not _ASCII_WORD_RE.match(word):
                self._jieba.add_word(word, freq=2000)

    def tokens(self, text: str) -> list[str]:
        """Normalise, segment, map synonyms to their canonical form, drop fillers."""
        out: list[str] = []
        for token in self._jieba.cut_for_search(normalize(text, self.typos), HMM=True):
            token = token.strip(" .-")
            if not token:
                continue
            token = self.synonyms.get(token, token)
            if token in self.filler_words:
                continue
            out.append(token)
        return out


def _trimmed_dictionary(cache_dir: Path, corpus: str) -> Path:
    """A copy of jieba's dictionary cut to frequent words plus every word the knowledge uses.

    Stock jieba loads 350,000 words in about 1.5 s; frequent words are enough to segment
    what users type, and every word that occurs in the knowledge base is kept so that
    matching is unaffected.
    """
    stock = Path(jieba.__file__).parent / "dict.txt"
    key = f"{FREQUENT_WORD_MIN}\n{corpus}".encode()
    target = cache_dir / f"jieba-dict-{hashlib.sha256(key).hexdigest()[:16]}.txt"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    must_keep = _ngrams(normalize_corpus(corpus))
    kept: list[str] = []
    with stock.open(encoding="utf-8") as lines:
        for line in lines:
            word, freq, *_ = line.split(" ")
            if int(freq) >= FREQUENT_WORD_MIN or word in must_keep:
                kept.append(line)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(target)
    logger.info("trimmed jieba dictionary to %d words", len(kept))
    return target


def normalize_corpus(corpus: str) -> str:
    """The knowledge text as the tokenizer will see it (no length cap)."""
    return "\n".join(normalize(line) for line in corpus.splitlines())


def _ngrams(text: str, longest: int = 6) -> set[str]:
    """Every substring of 1..longest characters of each word-run in `text`."""
    grams: set[str] = set()
    for run in text.split():
        for size in range(1, longest + 1):
            grams.update(run[i : i + size] for i in range(len(run) - size + 1))
    return grams


# Chosen with benchmarks/bench_faq.py and `beian-bot eval`: at 200, 1,000 and 3,000 the eval
# accuracy is the same (3,000: 95.1% top-1), while 3,000 keeps ~8,000 words and loads fastest.
FREQUENT_WORD_MIN = 3000
