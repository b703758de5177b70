"""Dates without a year: the next one for a plan, the last one for a past event, else ask."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dates import Tense, resolve_year, tense_of

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("month", "day", "tense", "expected"),
    [
        (1, 15, Tense.PLANNED, date(2027, 1, 15)),
        (1, 15, Tense.HAPPENED, date(2026, 1, 15)),
        (1, 15, Tense.UNKNOWN, date(2027, 1, 15)),  # 44 days ahead vs 321 behind
        (11, 20, Tense.PLANNED, date(2027, 11, 20)),
        (11, 20, Tense.HAPPENED, date(2026, 11, 20)),
        (11, 20, Tense.UNKNOWN, date(2026, 11, 20)),  # 12 days behind
        (12, 2, Tense.PLANNED, TODAY),
        (12, 2, Tense.HAPPENED, TODAY),
        (12, 25, Tense.HAPPENED, date(2025, 12, 25)),
        (6, 1, Tense.UNKNOWN, None),  # half a year either way: ask
        (2, 28, Tense.PLANNED, date(2027, 2, 28)),
    ],
)
def test_resolve_year(month: int, day: int, tense: Tense, expected: date | None) -> None:
    assert resolve_year(month, day, TODAY, tense) == expected


@pytest.mark.parametrize(("month", "day"), [(2, 30), (4, 31), (2, 29)])
def test_a_day_that_does_not_exist_near_today_is_an_error(month: int, day: int) -> None:
    with pytest.raises(ValueError):
        resolve_year(month, day, TODAY, Tense.PLANNED)


def test_february_29_in_a_leap_year() -> None:
    assert resolve_year(2, 29, date(2028, 1, 10), Tense.PLANNED) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("text", "tense"),
    [
        ("公司1月15号要改名", Tense.PLANNED),
        ("准备1月15日换接入商", Tense.PLANNED),
        ("已经定了下个月改名", Tense.PLANNED),
        ("公司11月20号改名了", Tense.HAPPENED),
        ("上个月20号已经换了服务商", Tense.HAPPENED),
        ("公司1月15号改名", Tense.UNKNOWN),
        ("已备案的网站1月15号改名", Tense.UNKNOWN),
        ("域名1月15号过户", Tense.UNKNOWN),
        ("公司已改名", Tense.HAPPENED),
    ],
)
def test_tense_of(text: str, tense: Tense) -> None:
    assert tense_of(text) == tense
