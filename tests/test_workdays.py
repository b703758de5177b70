"""Working-day arithmetic on the official calendar, operator schedules, and past the data."""

from datetime import date
from pathlib import Path

from bot.workdays import add_workdays, is_workday


def test_national_day_holiday_is_skipped(tmp_path: Path) -> None:
    # 2025-10-01..08 are days off; Saturday 2025-10-11 is an adjusted working day.
    result = add_workdays(date(2025, 9, 30), 1, folder=tmp_path)
    assert result.day == date(2025, 10, 9) and not result.approximate
    assert is_workday(date(2025, 10, 11), folder=tmp_path) == (True, False)


def test_past_the_calendar_data_counts_weekends_only_and_says_so(tmp_path: Path) -> None:
    result = add_workdays(date(2030, 12, 27), 5, folder=tmp_path)  # a Friday
    assert result.day == date(2031, 1, 3)
    assert result.approximate


def test_an_operator_schedule_fills_a_missing_year(tmp_path: Path) -> None:
    (tmp_path / "2031.yaml").write_text(
        "source: test\nholidays: [2031-01-01]\nworkdays: [2031-01-04]\n", encoding="utf-8"
    )
    assert is_workday(date(2031, 1, 1), folder=tmp_path) == (False, False)
    assert is_workday(date(2031, 1, 4), folder=tmp_path) == (True, False)  # a Saturday
    # Thu 1/2, Fri 1/3, the working Saturday 1/4, Mon 1/6: the fourth working day is Monday.
    result = add_workdays(date(2030, 12, 31), 4, folder=tmp_path)
    assert (result.day, result.approximate) == (date(2031, 1, 6), False)
