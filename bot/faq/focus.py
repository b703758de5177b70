"""Finds the question in a long message: people write background first, then ask.

"我在阿里云买了服务器，域名在腾讯云，备案提交三天了。请问备案期间可以解析吗？" is about DNS during
filing; the purchase and the provider are background. The question sentence is weighted over
the rest, and the rest still counts (the provider, 个人/企业, the province).
"""

from __future__ import annotations

import re

# Sentence ends, an English full stop before a space, and line breaks (chat messages rarely
# punctuate).
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])(?![。！？!?；;])|(?<=\.)\s+|\n")
_ASKS_ZH = re.compile(
    r"[？?]|[吗么呢嘛]\s*[。！!]*\s*$|怎么|怎样|如何|能不能|能否|可不可以|可以吗|是否|要不要|需不需要|"
    r"用不用|多久|多长时间|几天|哪里|哪儿|哪个|什么|为什么|为啥|咋|有没有|会不会|还是"
)
_ASKS_EN = re.compile(
    r"\?|^\s*(how|what|can|could|do|does|did|is|are|should|will|would|why|where|when|which|"
    r"any|anyone)\b",
    re.I,
)
# What follows these words is the question itself, whatever came before them.
_LEAD_IN = re.compile(r"(请问|想问一下|想问|问一下|求问|求助|\bbut\b|my question is)", re.I)


def split_question(text: str) -> tuple[str, str]:
    """(the question, the background); the background is '' when the message is one ask."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) < 2:
        return text.strip(), ""
    asking = [s for s in sentences if _ASKS_ZH.search(s) or _ASKS_EN.search(s)]
    if not asking or len(asking) == len(sentences):
        return text.strip(), ""
    question = " ".join(asking)
    lead = _LEAD_IN.search(question)
    if lead and lead.end() < len(question) - 4:
        question = question[lead.end() :].strip(" ，,:：")
    background = " ".join(s for s in sentences if s not in asking)
    return question, background
