"""Dates users give without a year (「1月15号」): which year they mean, or that we must ask.

On 2 December, 「1月15号改名」 for a planned change is next January; for a change already made
it is last January. Reading every such date in the current year put planned events in the past
and reported their deadlines as missed. Shared by the dialogue and the event reader.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

# When the event's tense is unknown, the nearer reading is taken only if it is this near and
# the other at least twice as far; otherwise the user is asked.
CLEARLY_NEAR_DAYS = 120

_PLANNED_RE = re.compile(
    r"要|将|准备|计划|打算|预计|预定|会在|下个?月|明年|下周|之后|以后|planned|will"
)
# 「已备案」「过户」「通过」 say nothing about when a change happens: 已 and 过 alone do not count.
_HAPPENED_RE = re.compile(r"已经|已(?=[改换变更完办])|了|刚|上个?月|去年|happened|already")


class Tense(StrEnum):
    """Whether the event a date belongs to is still to come or already happened."""

    PLANNED = "planned"
    HAPPENED = "happened"
    UNKNOWN = "unknown"


def tense_of(text: str) -> Tense:
    """The tense a message puts its event in; a plan word wins over 了 (「定了下月要改」)."""
    if _PLANNED_RE.search(text):
        return Tense.PLANNED
    if _HAPPENED_RE.search(text):
        return Tense.HAPPENED
    return Tense.UNKNOWN


def resolve_year(month: int, day: int, today: date, tense: Tense) -> date | None:
    """The date meant by month/day: the next one for a plan, the last one for a past event,
    the clearly nearer one otherwise; None when that is ambiguous (ask). ValueError if the
    day never exists (2月30日)."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue  # 2月29日 outside a leap year
    if not candidates:
        raise ValueError(f"{month}月{day}日 does not exist")
    future = min((d for d in candidates if d >= today), default=None)
    past = max((d for d in candidates if d <= today), default=None)
    if tense is Tense.PLANNED:
        return future
    if tense is Tense.HAPPENED:
        return past
    if future is None or past is None or future == past:
        return future or past
    ahead, behind = (future - today).days, (today - past).days
    if ahead <= CLEARLY_NEAR_DAYS and behind >= 2 * ahead:
        return future
    if behind <= CLEARLY_NEAR_DAYS and ahead >= 2 * behind:
        return past
    return None
