"""Telegram text rules: UTF-16 lengths and offsets, and splitting at the 4096 limit.

Replies go out as plain text (no parse_mode), so nothing has to be escaped and no user
text can break the markup; a mention is a `text_mention` entity, not markup. What is left
is splitting: a chunk ends at a paragraph, a line, a sentence, a space or between two CJK
characters, never inside a word, a number or a link, unless one such run is itself longer
than the limit.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# Break points, best first. Each pattern matches the text just *before* a break.
_BREAKS = (
    re.compile(r"\n\s*\n"),  # paragraph
    re.compile(r"\n"),  # line
    re.compile(r"[。！？；!?;…]+[”」』）)]?\s*|[.](?=\s)\s*"),  # sentence
    re.compile(r"[，、,：:]\s*|\s+"),  # clause or space
)
# A run that must not be cut: letters, digits and the punctuation inside links and numbers.
_UNBREAKABLE = re.compile(r"[A-Za-z0-9_@#%&=+\-./:?~]")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring an entity (offset, length in UTF-16 units) covers."""
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def _prefix_fitting(text: str, limit: int) -> int:
    """How many characters of `text` fit into `limit` UTF-16 units."""
    if len(text) * 2 <= limit:  # every character is at most two units
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_point(text: str, window: int) -> int:
    """Where to end the first chunk: a character index in (0, window]."""
    head = text[:window]
    # A good break in the second half beats a better kind of break near the start.
    floor = window // 2
    for pattern in _BREAKS:
        ends = [m.end() for m in pattern.finditer(head) if m.end() > floor]
        if ends:
            return ends[-1]
    for index in range(window, 0, -1):
        # Between two characters that are not both part of one word, number or link.
        if not (
            _UNBREAKABLE.match(text[index - 1]) and _UNBREAKABLE.match(text[index : index + 1])
        ):
            return index
    return window  # a single "word" longer than the limit: nothing better exists


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split into chunks of at most `limit` UTF-16 units; whitespace at the cuts is dropped."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        cut = _cut_point(rest, max(1, _prefix_fitting(rest, limit)))
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    if rest:
        chunks.append(rest)
    return chunks
