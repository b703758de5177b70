"""Whether a message asks something: shared by the FAQ, the dialogue and the event reader.

Two strengths. `asks` is broad (any question word): it picks the question sentence out of a
long message and tells a report from a question. `is_question_form` is strict (a question
mark, a final 吗, an opening or a fixed question phrase): at a form prompt it decides that a
reply is a question and not the answer, so words that also occur in answers (「如何」 in a site
description) do not count there.
"""

from __future__ import annotations

import re

_CUES_ZH = re.compile(
    r"[？?]|[吗嘛么]|呢\s*[。！!]*\s*$|怎样|如何|能不能|能否|可不可以|可以吗|是否|要不要|需不需要|"
    r"用不用|多久|多长时间|几天|哪里|哪儿|哪个|哪些|为什么|为啥|咋|啥时候|有没有|会不会|是不是|还是"
)
# Words an English question opens with.
_EN_OPENERS = "how|what|can|could|do|does|did|is|are|should|will|would|why|where|when|which"
_CUES_EN = re.compile(rf"\?|^\s*({_EN_OPENERS}|any|anyone)\b", re.I)
_FORM_ZH = re.compile(
    r"[？?]\s*$|[吗嘛呢么]\s*[。！!～~]*\s*$"
    r"|^(请问|想问|问一下|求问|怎么|怎样|为什么|为啥|如何|能否|是否|什么是|啥是|哪些|哪里|在哪)"
    # anywhere in the message, so not repeated among the openings above
    r"|能不能|可不可以|是不是|要不要|需不需要|有没有|会不会|行不行|可以吗|行吗"
    r"|怎么办|咋办|怎么填|怎么写|咋填|咋写|什么意思|啥意思|有啥|是什么|是啥|多久|多长时间|多少钱"
)
_FORM_EN = re.compile(rf"\?\s*$|^\s*({_EN_OPENERS})\s", re.I)


def asks(text: str) -> bool:
    """Whether `text` holds any question word, in Chinese or English."""
    return bool(_CUES_ZH.search(text) or _CUES_EN.search(text))


def is_question_form(text: str) -> bool:
    """Whether `text` is put as a question (not merely holding a question word)."""
    stripped = text.strip()
    return bool(_FORM_ZH.search(stripped) or _FORM_EN.search(stripped))
