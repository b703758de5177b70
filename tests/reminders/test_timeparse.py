"""Chinese time expressions: what is read, and what gets a question instead of a guess."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest

from bot.reminders.timeparse import Direction, Need, ParsedTime, TimeQuestion, parse_when
from tests.reminders.conftest import shanghai

NOW = shanghai(2026, 11, 25, 10, 0)


def moment(text: str, now: datetime = NOW) -> datetime:
    result = parse_when(text, now, need=Need.MOMENT, direction=Direction.PAST)
    assert isinstance(result, ParsedTime), result
    return result.at


def day(text: str, direction: Direction = Direction.ANY) -> date:
    result = parse_when(text, NOW, need=Need.DAY, direction=direction)
    assert isinstance(result, ParsedTime), result
    return result.day


def question(text: str, need: Need = Need.MOMENT, direction: Direction = Direction.PAST) -> str:
    result = parse_when(text, NOW, need=need, direction=direction)
    assert isinstance(result, TimeQuestion), result
    return result.problem


def test_the_issue_examples() -> None:
    assert moment("我昨天下午3点收到管局的短信") == shanghai(2026, 11, 24, 15, 0)
    assert day("3天前提交的初审") == date(2026, 11, 22)
    assert day("11月20日收到的") == date(2026, 11, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2小时前收到短信", shanghai(2026, 11, 25, 8, 0)),  # jionlp says 07:00; ours is exact
        ("半小时前", shanghai(2026, 11, 25, 9, 30)),
        ("三个小时前收到", shanghai(2026, 11, 25, 7, 0)),
        ("45分钟前", shanghai(2026, 11, 25, 9, 15)),
        ("我刚收到管局的短信", NOW),
        ("今天早上9点半收到的", shanghai(2026, 11, 25, 9, 30)),
        ("2026-11-24 21:15 收到", shanghai(2026, 11, 24, 21, 15)),
    ],
)
def test_moments(text: str, expected: datetime) -> None:
    assert moment(text) == expected


def test_no_time_expression_is_none() -> None:
    assert parse_when("收到管局短信了", NOW, need=Need.MOMENT) is None


def test_a_part_of_the_day_is_not_precise_enough_for_the_sms_window() -> None:
    assert question("昨天下午收到的") == "need_hour"
    assert question("11月20日收到短信") == "need_hour"


def test_a_whole_month_is_not_a_day() -> None:
    assert question("服务器明年3月到期", Need.DAY, Direction.ANY) == "need_day"


def test_two_times_are_ambiguous() -> None:
    result = parse_when("昨天或者前天下午3点收到", NOW, need=Need.MOMENT)
    assert isinstance(result, TimeQuestion) and result.problem == "several"
    assert "昨天" in result.phrase


def test_a_report_in_the_future_is_questioned() -> None:
    assert question("明天下午3点收到短信") == "future"


def test_a_reported_date_without_a_year_is_the_last_such_day() -> None:
    # Said in January 2027 about 20 Nov: a report is in the past, so last November.
    for text in ("11月20日收到", "12月31号收到的短信", "十一月二十日提交的"):
        result = parse_when(
            text, shanghai(2027, 1, 5, 10), need=Need.DAY, direction=Direction.PAST
        )
        assert isinstance(result, ParsedTime) and result.day.year == 2026, (text, result)
    assert day("2027年1月5日", Direction.ANY) == date(2027, 1, 5)
    # a year that is written is kept, even when it makes the report a future one
    written = parse_when(
        "2027年11月20日收到", shanghai(2027, 1, 5, 10), need=Need.DAY, direction=Direction.PAST
    )
    assert isinstance(written, TimeQuestion) and written.problem == "future"


def test_filing_numbers_and_long_digit_runs_are_not_read_as_times() -> None:
    assert parse_when("号是 粤ICP备2026012345号-1", NOW, need=Need.DAY) is None
    assert parse_when("订单号 20261125000123", NOW, need=Need.DAY) is None


def test_a_duration_next_to_a_date_is_not_a_second_time() -> None:
    assert day("服务器是今年3月1日买的，买了1年") == date(2026, 3, 1)
    assert question("3天", Need.DAY, Direction.ANY) == "not_a_moment"


def test_jionlp_is_imported_only_when_a_time_is_parsed_and_prints_nothing() -> None:
    code = (
        "import sys\n"
        "import bot.reminders.intake, bot.reminders.sender\n"
        "assert 'jionlp' not in sys.modules, 'imported at start-up'\n"
        "from datetime import datetime, UTC\n"
        "from bot.reminders.timeparse import parse_when, Need\n"
        "parse_when('昨天下午3点', datetime(2026, 11, 25, tzinfo=UTC), need=Need.MOMENT)\n"
        "assert 'jionlp' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # its banner would break `chat --json`
