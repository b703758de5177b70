"""Mainland working days: chinese-calendar, operator schedules, weekends-only past both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import chinese_calendar
from pydantic import BaseModel, ConfigDict

from bot.content import knowledge_dir, load_yaml


class HolidaySchedule(BaseModel):
    """knowledge/holidays/YYYY.yaml: one year's official schedule added by an operator."""

    model_config = ConfigDict(extra="forbid")

    source: str
    holidays: list[date]
    workdays: list[date]


@dataclass(frozen=True)
class WorkdayCount:
    """A date reached by counting working days, and whether a guess was involved."""

    day: date
    # True when some day counted lies past every known holiday schedule: weekends only.
    approximate: bool


@cache
def _extra_schedules(folder: Path) -> dict[int, HolidaySchedule]:
    schedules: dict[int, HolidaySchedule] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.stem.isdigit():
            schedules[int(path.stem)] = load_yaml(path, HolidaySchedule)
    return schedules


def is_workday(day: date, folder: Path | None = None) -> tuple[bool, bool]:
    """(is it a mainland working day, was that only guessed from the weekday)."""
    extra = _extra_schedules(folder or knowledge_dir() / "holidays").get(day.year)
    if extra is not None:
        if day in extra.workdays:
            return True, False
        if day in extra.holidays:
            return False, False
        return day.weekday() < 5, False
    try:
        return bool(chinese_calendar.is_workday(day)), False
    except NotImplementedError:
        # The package has no data for this year yet: never crash, assume weekends only.
        return day.weekday() < 5, True


def add_workdays(start: date, count: int, folder: Path | None = None) -> WorkdayCount:
    """The date `count` working days after `start` (start itself not counted)."""
    day, approximate, left = start, False, count
    while left > 0:
        day += timedelta(days=1)
        working, guessed = is_workday(day, folder)
        approximate = approximate or guessed
        left -= working
    return WorkdayCount(day=day, approximate=approximate)


APPROXIMATE_NOTE = (
    "（{year} 年的法定节假日安排我还没有数据，这个日期只按周末估算，实际可能更晚。）"
)
