"""Cuts a long answer to what the question needs; the rest waits for 更多 / more."""

from __future__ import annotations

from collections.abc import Callable

# An answer of more lines than this is cut: the first line (the answer itself) plus the
# lines that share the most words with the question, in their original order.
MAX_LINES = 6
KEPT_DETAILS = 4


def brief(answer: str, question: str, tokens: Callable[[str], list[str]]) -> tuple[str, str]:
    """(what to show now, what 更多 shows later); the second is '' when nothing was cut."""
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    if len(lines) <= MAX_LINES:
        return answer.strip(), ""
    asked = set(tokens(question))
    details = list(enumerate(lines[1:], start=1))
    # Ties keep the earlier line: the entry's author put the important details first.
    ranked = sorted(details, key=lambda d: (-len(asked & set(tokens(d[1]))), d[0]))
    keep = {i for i, _ in ranked[:KEPT_DETAILS]} | {0}
    shown = "\n".join(line for i, line in enumerate(lines) if i in keep)
    rest = "\n".join(line for i, line in enumerate(lines) if i not in keep)
    return shown, rest
