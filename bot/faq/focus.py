"""Finds the question in a long message: people write background first, then ask.

"我在阿里云买了服务器，域名在腾讯云，备案提交三天了。请问备案期间可以解析吗？" is about DNS during
filing; the purchase and the provider are background. The question sentence is weighted over
the rest, and the rest still counts (the provider, 个人/企业, the province).
"""

from __future__ import annotations

import re

from bot.asking import asks

# Sentence ends, an English full stop before a space, and line breaks (chat messages rarely
# punctuate).
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])(?![。！？!?；;])|(?<=\.)\s+|\n")
# What follows these words is the question itself, whatever came before them.
_LEAD_IN = re.compile(r"(请问|想问一下|想问|问一下|求问|求助|\bbut\b|my question is)", re.I)


def split_question(text: str) -> tuple[str, str]:
    """(the question, the background); the background is '' when the message is one ask."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) < 2:
        return text.strip(), ""
    asking = [s for s in sentences if asks(s)]
    if not asking or len(asking) == len(sentences):
        return text.strip(), ""
    question = " ".join(asking)
    lead = _LEAD_IN.search(question)
    if lead and lead.end() < len(question) - 4:
        question = question[lead.end() :].strip(" ，,:：")
    background = " ".join(s for s in sentences if s not in asking)
    return question, background
