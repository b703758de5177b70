"""Chinese time expressions ("昨天下午3点", "3天前", "11月20日") -> an aware time, or a question.

Library choice: jionlp (`jionlp.ner.extract_time`, which finds the expression inside a sentence
and parses it with `parse_time`). It is maintained, pure Python, handles relative days, weekdays,
parts of the day, Chinese numerals and lunar dates, and returns the *span* an expression covers
(「昨天下午」 = 13:00-17:59, "blur"), which is what lets us ask instead of guess. The alternatives
are weaker for zh-CN: dateparser has no span and guesses a time of day; cn2date/timefhuman-style
packages are unmaintained. Two jionlp quirks are handled here: "N小时前" comes back an hour off,
so exact offsets (N分钟前, N小时前, 半小时前, 刚刚) are parsed locally first; and importing it
prints a banner on stdout, which would break `chat --json`, so the import is silenced.

jionlp costs about 0.5 s and 47 MB to import, so it is imported on the first time expression,
not at start-up: FAQ-only use and the reminder sender never load it.

Every time is read as Shanghai wall-clock time and returned in UTC. Anything vague (a part of
the day when the hour matters, a whole month when the day matters, two expressions, a future
time for something that already happened) returns a `TimeQuestion`, never a guess.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.dates import Tense, resolve_year
from bot.reminders.models import DAY_REMINDER_TIME, SHANGHAI, local_day

logger = logging.getLogger(__name__)

_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9, "十": 10}
_OFFSET_RE = re.compile(
    r"(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3}|半)\s*个?\s*(?P<unit>小时|钟头|分钟|分)\s*"
    r"(?:以前|之前|前)"
)
_NOW_RE = re.compile(r"刚刚|刚才|现在|此刻|这会儿?|刚收到")
# Things that look like numbers but are not times: ICP numbers, URLs, long digit runs (phone
# numbers, order ids). Removed before extraction so they are never read as a year or a date.
_NOT_TIME_RE = re.compile(
    r"[^\s]{0,3}ICP\s*[备证]\s*\d+\s*号?(?:\s*-\s*\d+)?|https?://\S+|\d{7,}", re.IGNORECASE
)
# 「1月15号」 names no year; 「下个月15号」, 「去年1月15号」, 「2027年1月15号」 do.
_YEARLESS_RE = re.compile(r"^[^年上下本这今明去前后个]*月[^年上下本这今明去前后个]*[日号]?$")
# A past event may be reported a few minutes "in the future" by clock skew; tolerate it.
_SKEW = timedelta(minutes=10)


class Need(StrEnum):
    """How precise the caller needs the time to be."""

    MOMENT = "moment"  # to the hour: the SMS window
    DAY = "day"  # a calendar day: changes, expiry dates, go-live


class Direction(StrEnum):
    """Whether the event must lie in the past (a report) or may lie anywhere."""

    PAST = "past"
    ANY = "any"


@dataclass(frozen=True)
class ParsedTime:
    """A time the user gave: `at` (UTC) and its Shanghai calendar day."""

    at: datetime
    day: date


@dataclass(frozen=True)
class TimeQuestion:
    """The expression was vague: why (`problem`, a key of the `questions` texts) and the phrase."""

    problem: str
    phrase: str = ""


_lock = threading.Lock()
_jionlp: Any = None


def _load_jionlp() -> Any:
    """Import jionlp once, with its stdout banner swallowed."""
    global _jionlp
    if _jionlp is None:
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp

        _jionlp = jionlp
    return _jionlp


def parse_when(
    text: str,
    now: datetime,
    *,
    need: Need,
    direction: Direction = Direction.ANY,
    tense: Tense = Tense.UNKNOWN,
) -> ParsedTime | TimeQuestion | None:
    """The one time expression in `text`; None if there is none; a question if it is vague.

    `tense` says which year a date without one is in (a report is always in the past)."""
    cleaned = _NOT_TIME_RE.sub(" ", text)
    exact = _exact_offset(cleaned, now)
    if exact is not None:
        return exact
    try:
        found = _extract(cleaned, now)
    except Exception as exc:  # a parser bug must never reach the user as a crash
        logger.warning("time extraction failed: %s", type(exc).__name__)
        return TimeQuestion("unreadable")
    if not found:
        return None
    # A duration next to a date (「今年3月1日买的，买了1年」) is not a second time.
    moments = [i for i in found if (i.get("detail") or {}).get("type") != "time_delta"]
    found = moments or found
    phrases = {item["text"] for item in found}
    if len(phrases) > 1:
        return TimeQuestion("several", "、".join(sorted(phrases)))
    item = found[0]
    if direction is Direction.PAST:
        tense = Tense.HAPPENED
    return _judge(item, now, need, direction, tense)


def _exact_offset(text: str, now: datetime) -> ParsedTime | None:
    match = _OFFSET_RE.search(text)
    if match is not None:
        amount = _number(match.group("n"))
        if amount is not None:
            unit = match.group("unit")
            minutes = amount * 60 if unit in ("小时", "钟头") else amount
            at = now - timedelta(minutes=minutes)
            return ParsedTime(at=at, day=local_day(at))
    if _NOW_RE.search(text) and not re.search(r"\d|[昨前今明后][天日晚早]|周|星期|月", text):
        return ParsedTime(at=now, day=local_day(now))
    return None


def _number(token: str) -> float | None:
    if token == "半":
        return 0.5
    if token.isdigit():
        return float(token)
    if token == "十":
        return 10.0
    if token.startswith("十"):  # 十五
        return 10.0 + _CN_DIGITS.get(token[1:], 0)
    if token.endswith("十"):  # 二十
        return 10.0 * _CN_DIGITS.get(token[:-1], 0)
    if len(token) == 3 and token[1] == "十":  # 二十三
        return 10.0 * _CN_DIGITS.get(token[0], 0) + _CN_DIGITS.get(token[2], 0)
    value = _CN_DIGITS.get(token)
    return None if value is None else float(value)


def _extract(text: str, now: datetime) -> list[dict[str, Any]]:
    jionlp = _load_jionlp()
    base = now.astimezone(SHANGHAI).replace(tzinfo=None)
    # jionlp's parser keeps per-call state on a shared object: one call at a time.
    with _lock, contextlib.redirect_stdout(io.StringIO()):
        result: list[dict[str, Any]] = jionlp.ner.extract_time(
            text, time_base=base, with_parsing=True
        )
    return result


def _judge(
    item: dict[str, Any], now: datetime, need: Need, direction: Direction, tense: Tense
) -> ParsedTime | TimeQuestion:
    phrase = str(item["text"])
    detail = item.get("detail") or {}
    if detail.get("type") not in ("time_point", "time_span"):
        # A duration ("3天") or a repetition ("每周一") is not a moment.
        return TimeQuestion("not_a_moment", phrase)
    try:
        start, end = (
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
            for value in detail["time"]
        )
    except (KeyError, TypeError, ValueError):
        return TimeQuestion("unreadable", phrase)
    if _YEARLESS_RE.match(phrase) and start.date() == end.date():
        # jionlp puts a year-less date in the current year; the event's tense decides.
        meant = resolve_year(start.month, start.day, local_day(now), tense)
        if meant is None:
            return TimeQuestion("which_year", phrase)
        # One calendar day (checked above), so both ends move to the same year.
        start, end = start.replace(year=meant.year), end.replace(year=meant.year)
    if direction is Direction.PAST and start > now + _SKEW:
        return TimeQuestion("future", phrase)
    if need is Need.DAY:
        if start.date() != end.date():
            return TimeQuestion("need_day", phrase)
        return ParsedTime(at=start, day=start.date())
    if detail.get("definition") != "accurate" or end - start >= timedelta(hours=1):
        return TimeQuestion("need_hour", phrase)
    at = min(start, now) if direction is Direction.PAST else start
    return ParsedTime(at=at, day=local_day(at))


# ---- when to remind: 「明天上午10点提醒我……」, "remind me tomorrow at 9 to ..." ---------------


@dataclass(frozen=True)
class Due:
    """When a user asked to be reminded; `rest` is the message without the time words."""

    at: datetime
    phrase: str
    rest: str


def parse_due(text: str, now: datetime, *, english: bool = False) -> Due | TimeQuestion | None:
    """The future moment in a reminder request; a day alone means 10:00 that day.

    A part of the day (「明天上午」, "tomorrow morning") is asked about, and so is a moment that
    has passed: a reminder is never set in the past or at a guessed hour."""
    try:
        found = _english_due(text, now) if english else _chinese_due(text, now)
    except Exception as exc:  # a parser bug must never reach the user as a crash
        logger.warning("due-time extraction failed: %s", type(exc).__name__)
        return TimeQuestion("unreadable")
    if isinstance(found, Due) and found.at <= now:
        return TimeQuestion("past", found.phrase)
    return found


def _chinese_due(text: str, now: datetime) -> Due | TimeQuestion | None:
    found = _extract(_NOT_TIME_RE.sub(" ", text), now)
    if not found:
        return None
    if len({item["text"] for item in found}) > 1:
        return TimeQuestion("several", "、".join(sorted({item["text"] for item in found})))
    item = found[0]
    phrase, detail = str(item["text"]), item.get("detail") or {}
    if detail.get("type") != "time_point":
        return TimeQuestion("not_a_moment", phrase)
    start, end = (
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        for value in detail["time"]
    )
    if _YEARLESS_RE.match(phrase) and start.date() == end.date():
        meant = resolve_year(start.month, start.day, local_day(now), Tense.PLANNED)
        if meant is not None:
            start, end = start.replace(year=meant.year), end.replace(year=meant.year)
    rest = text.replace(phrase, " ", 1)
    whole_day = start.time() == datetime.min.time() and end - start > timedelta(hours=23)
    if whole_day:
        at = datetime.combine(start.date(), DAY_REMINDER_TIME, tzinfo=SHANGHAI)
        return Due(at, phrase, rest)
    if detail.get("definition") != "accurate":
        return TimeQuestion("need_hour", phrase)
    return Due(start, phrase, rest)


_AT_HOUR_RE = re.compile(r"\bat (\d{1,2})\b(?!\s*(?:[:.]\d|am|pm|a\.m|p\.m|o'clock))", re.I)


def _english_due(text: str, now: datetime) -> Due | TimeQuestion | None:
    # dateparser is imported here: only an English reminder request pays for it.
    from dateparser.date import DateDataParser
    from dateparser.search import search_dates

    # dateparser drops a bare hour ("tomorrow at 9" comes back as tomorrow at the current
    # time); written as 9:00 it is read. A bare hour is a 24-hour clock, as in Chinese.
    cleaned = _AT_HOUR_RE.sub(lambda m: f"at {m.group(1)}:00", text)
    base = now.astimezone(SHANGHAI).replace(tzinfo=None)
    settings: Any = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}
    found = search_dates(cleaned, languages=["en"], settings=settings) or []
    if not found:
        return None
    if len(found) > 1:
        return TimeQuestion("several", ", ".join(phrase for phrase, _ in found))
    phrase = found[0][0]
    parser = DateDataParser(languages=["en"], settings={**settings, "RETURN_TIME_AS_PERIOD": True})
    data = parser.get_date_data(phrase)
    if data.date_obj is None:
        return TimeQuestion("unreadable", phrase)
    moment = data.date_obj.replace(tzinfo=SHANGHAI)
    rest = cleaned.replace(phrase, " ", 1)
    if data.period == "day":
        at = datetime.combine(moment.date(), DAY_REMINDER_TIME, tzinfo=SHANGHAI)
        return Due(at, phrase, rest)
    if data.period != "time":
        return TimeQuestion("need_hour", phrase)
    return Due(moment, phrase, rest)
