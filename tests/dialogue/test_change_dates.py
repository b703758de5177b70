"""The change form's date: a year-less date follows the answer to 「已经发生还是计划中」."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.dialogue.slots import day
from bot.errors import InputError

TODAY = date(2026, 12, 2)


def timing(value: str | None) -> dict[str, Any]:
    return {} if value is None else {"timing": {"value": value, "shown": value}}


@pytest.mark.parametrize(
    ("text", "when", "expected"),
    [
        ("1月15日", "planned", "2027-01-15"),
        ("1月15号", "planned", "2027-01-15"),
        ("1/15", "planned", "2027-01-15"),
        ("12月20日", "planned", "2026-12-20"),
        ("11月20日", "happened", "2026-11-20"),
        ("1月15日", "happened", "2026-01-15"),
        ("12-1", "happened", "2026-12-01"),
        ("今天", "planned", "2026-12-02"),
        ("2027-03-01", "planned", "2027-03-01"),
    ],
)
def test_year_less_dates_follow_the_timing(text: str, when: str, expected: str) -> None:
    assert day(text, timing(when), TODAY).value == expected


@pytest.mark.parametrize(
    ("text", "when", "said"),
    [
        ("2026-11-01", "planned", "已经过去了"),
        ("3天前", "planned", "已经过去了"),
        ("昨天", "planned", "已经过去了"),
        ("2027-01-15", "happened", "还没到"),
        ("10天后", "happened", "还没到"),
    ],
)
def test_a_date_against_the_timing_is_refused_with_the_way_out(
    text: str, when: str, said: str
) -> None:
    with pytest.raises(InputError) as caught:
        day(text, timing(when), TODAY)
    assert said in caught.value.reason and "/back" in caught.value.reason


def test_a_year_less_date_half_a_year_away_asks_for_the_year() -> None:
    with pytest.raises(InputError) as caught:
        day("6月1日", timing(None), TODAY)
    assert "年份" in caught.value.reason


@pytest.mark.parametrize("text", ["2月30日", "13月1日", "4/31"])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        day(text, timing("planned"), TODAY)
