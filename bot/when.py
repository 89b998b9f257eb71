"""Understanding and saying times: "tomorrow 9am" in, "Thursday 22 October, 9am" out.

All times are UK time (the zone in the config, Europe/London), summer or winter.
Capital letters, extra spaces, commas and a full stop at the end do not matter.

What people can type
--------------------

A time from now:
    in 3 days · in 2h · in 90 minutes · in an hour · in half an hour · in 1 week
    in 2h30m · in 1 hour and 30 minutes · in two days
    or without "in": 2h · 3 days
    Hours and minutes are exact ("in 2 hours" is 2 hours from now, even if the
    clocks change). Days and weeks keep the clock time ("in 3 days" at 2pm is
    2pm three days later, even if the clocks change).

A day and a time:
    today 5pm · tomorrow 9am · tomorrow at 14:00 · tonight · tonight 9pm
    friday 5pm · Fri 17:00 · on Friday at 5pm · next tuesday 2pm
    in 3 days at 2pm

A date and a time (day first, then month, as in the UK):
    3 June 2pm · Tue 3 June 2pm · 3rd June at 2.30pm · 3 June 2027 14:00
    June 3 2pm · 3/6 14:00 · 03/06/2027 14:00 · 3/6/27 2pm
    2027-06-03 14:00 · 2027-06-03T14:00

Just a time (the next time it comes round, today or tomorrow):
    2pm · 2:30pm · 2.30pm · 14:00 · 14.00 · noon · midday · 12 noon · midnight

Times are written like 2pm, 2:30pm, 2.30pm or 14:00. "1400" and a bare "2"
are not understood. A day or date always needs a time (except "tonight").

Rules for the unclear cases
---------------------------

- "tonight" alone means today at 8pm. "tonight" with a time needs an evening
  time (noon or later, or midnight), else it is not understood.
- "friday 5pm" is the next Friday at 5pm that is still to come: on a Friday
  before 5pm that is today, after 5pm it is next week. "this friday" is the same.
- "next friday" is the first Friday after today (never today): on a Thursday
  it is tomorrow.
- A date with no year is the nearest such date, before or after today: in
  December "3 January" is next month. If the nearest has passed ("1 November"
  on 1 December), the answer is "that date has passed" (add the year if you
  mean next year): we never jump a year silently. If it is today but the time
  has gone, the answer is "in the past". "29 February" finds the next leap year.
- A weekday given with a date must be that date's weekday.
- A time with no day is today if still to come, else tomorrow.
- "midnight" is the END of the day named: "friday midnight" is the moment
  Friday ends (00:00 on Saturday). "midnight" alone is the end of today.
  "00:00" and "12am" are the clock time, at the START of the day named.
  ``say_when`` follows the same rule: 00:00 is said as "<the day before>, midnight".
- "12 noon", "noon", "midday" and "12pm" are 12:00. A 24-hour time without am
  or pm is read as-is: "2.30" is 02:30 (the bot's reply shows the time it understood).
- Clock changes: a time that does not exist (clocks go forward, for example
  "29 March 2026 1:30am") is not understood. A time that happens twice (clocks
  go back, for example "25 October 2026 1:30am") is the first one, in summer time.
  "in 3 days" that lands in the missing hour moves forward by an hour.
- "in 1 day 2 hours": the days keep the clock time, then the hours are added.
- A result that is not after ``now`` is "in the past"; one more than
  ``YEARS_AHEAD`` years after ``now`` (or past the year 9999) is "too far ahead".
- More than 100 characters is not understood, without further work.

Errors are ``WhenError`` with ``.key`` a messages-catalogue key:
``when.not_understood``, ``when.in_the_past``, ``when.date_passed`` or
``when.too_far``. Each takes only ``{text}`` (what the person typed).

Everything here is pure: no clock is read; ``now`` is always passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.when_words import (
    DATE_FORMS,
    DAY_NAMES,
    DURATION_JOIN,
    DURATION_PART,
    FILLERS,
    MONTH_NAMES,
    MONTHS,
    NUMBER_WORDS,
    SHORT_UNITS,
    SIZES,
    TIME,
    UNITS,
    WEEKDAY_FORM,
    WEEKDAYS,
)

__all__ = [
    "DATE_PASSED",
    "IN_THE_PAST",
    "MAX_LENGTH",
    "NOT_UNDERSTOOD",
    "TOO_FAR",
    "YEARS_AHEAD",
    "WhenError",
    "parse_duration",
    "parse_when",
    "say_when",
]

NOT_UNDERSTOOD = "when.not_understood"
IN_THE_PAST = "when.in_the_past"
DATE_PASSED = "when.date_passed"  # a date with no year that has passed this year
TOO_FAR = "when.too_far"
YEARS_AHEAD = 5  # the catalogue's when.too_far says this number too
MAX_LENGTH = 100
TONIGHT = time(20, 0)  # "tonight" with no time


class WhenError(ValueError):
    """Text that is not a time we understand. .key is a messages-catalogue key to show the person:
    'when.not_understood', 'when.in_the_past', 'when.date_passed' or 'when.too_far'."""

    key: str

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


# ----- small parts -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """A time of day as typed. ``end_of_day`` is "midnight": the moment the day ends."""

    hour: int
    minute: int
    second: int = 0
    end_of_day: bool = False


def _normalise(text: str) -> str:
    s = text.lower().strip()
    s = re.sub(r"(?<=\d)\s?([ap])\.?\s?m\.?(?![a-z])", r"\1m", s)  # 2 p.m. -> 2pm
    s = s.replace(",", " ").replace("@", " at ")
    s = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", s)  # ISO 2027-06-03T14:00
    s = re.sub(r"(?<=[a-z])\.(?=\s|$)", "", s)  # "tue." "sept."
    s = " ".join(s.split())
    return s.rstrip(". ")


def _duration_parts(s: str) -> tuple[int, int] | None:
    """(whole days, seconds) of a duration like "1 week 2 days 3h", or None.

    Weeks and days are kept apart from hours and minutes: days keep the clock time.
    """
    if not s:
        return None
    days = seconds = 0
    seen: set[str] = set()  # "2h 3h" is not a duration
    pos = 0
    while True:
        m = DURATION_PART.match(s, pos)
        if not m:
            return None
        if m["half"]:
            kind, count = "hour", 0
            seconds += 1800
        elif m["n"] is not None:
            kind, count = UNITS.get(m["unit"]) or SHORT_UNITS[m["unit"]], int(m["n"])
        else:
            kind, count = UNITS[m["wunit"]], NUMBER_WORDS[m["word"]]
        if kind in seen:
            return None
        seen.add(kind)
        unit_days, unit_seconds = SIZES[kind]
        days += count * unit_days
        seconds += count * unit_seconds
        pos = m.end()
        if pos == len(s):
            return days, seconds
        join = DURATION_JOIN.match(s, pos)
        assert join is not None  # the pattern can match the empty string
        pos = join.end()
        if pos == len(s):  # a trailing "and"
            return None


def _clock(m: re.Match[str]) -> _Clock:
    if m["word"]:
        if m["word"] == "midnight":
            return _Clock(0, 0, end_of_day=True)
        return _Clock(12, 0)
    if m["ampm"]:
        hour, minute = int(m["h12"]), int(m["m12"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise WhenError(NOT_UNDERSTOOD)
        hour = hour % 12 + (12 if m["ampm"] == "pm" else 0)
        return _Clock(hour, minute)
    hour, minute, second = int(m["h24"]), int(m["m24"]), int(m["s24"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise WhenError(NOT_UNDERSTOOD)
    return _Clock(hour, minute, second)


def _to_utc(day: date, clock: _Clock, tz: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``tz``, in UTC. Missing times are not understood;
    times that happen twice are the first (fold=0)."""
    if clock.end_of_day:
        wall = datetime.combine(day + timedelta(days=1), time(0))
    else:
        wall = datetime.combine(day, time(clock.hour, clock.minute, clock.second))
    moment = wall.replace(tzinfo=tz).astimezone(UTC)
    if moment.astimezone(tz).replace(tzinfo=None) != wall:  # in the hour the clocks skip
        raise WhenError(NOT_UNDERSTOOD)
    return moment


def _days_later(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The same clock time ``days`` later, in UTC. Missing times move forward by the gap."""
    wall = now.astimezone(tz).replace(tzinfo=None, fold=0) + timedelta(days=days)
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _date_from(m: re.Match[str], today: date) -> date:
    day = int(m["d"])
    month = MONTHS[m["mname"]] if "mname" in m.groupdict() else int(m["mnum"])
    year_text = m["y"]
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        found = date(year, month, day)  # ValueError: not understood
    else:
        found = _nearest(today, month, day)
    if m["wd"] is not None and WEEKDAYS[m["wd"]] != found.weekday():
        raise WhenError(NOT_UNDERSTOOD)
    return found


def _nearest(today: date, month: int, day: int) -> date:
    """The nearest ``day``/``month`` to ``today``, last year, this year or next; a
    date that has passed is refused, not moved on a year. With none of those (29
    February), the next leap year's."""
    candidates = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if candidates:
        nearest = min(candidates, key=lambda d: (abs((d - today).days), d < today))
        if nearest < today:
            raise WhenError(DATE_PASSED)
        return nearest
    for year in range(today.year + 2, today.year + 9):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise WhenError(NOT_UNDERSTOOD)


# ----- the public functions ----------------------------------------------------------------


def parse_duration(text: str) -> timedelta | None:
    """A length of time: "2h", "90 minutes", "3 days", "1 week", "2h30m", "an hour",
    "half an hour", "1 hour and 30 minutes", "two days". None if it is not one.

    No "in" in front (that is ``parse_when``). "0 minutes" is ``timedelta(0)``.
    """
    if len(text) > MAX_LENGTH:
        return None
    parts = _duration_parts(_normalise(text))
    if parts is None:
        return None
    days, seconds = parts
    try:
        return timedelta(days=days, seconds=seconds)
    except OverflowError:
        return None


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment ``text`` means, as an aware datetime in UTC, strictly after ``now``.

    ``now`` must be aware; ``tz`` is the configured zone (Europe/London).
    Raises ``WhenError`` (``.key`` 'when.not_understood', 'when.in_the_past',
    'when.date_passed' or 'when.too_far').
    See the module docstring for the forms and rules.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if len(text) > MAX_LENGTH:
        raise WhenError(NOT_UNDERSTOOD)
    try:
        moment = _parse(_normalise(text), now, tz)
    except WhenError:
        raise
    except OverflowError:  # past the year 9999
        raise WhenError(TOO_FAR) from None
    except ValueError:  # impossible dates: 31 June
        raise WhenError(NOT_UNDERSTOOD) from None
    if moment <= now:
        raise WhenError(IN_THE_PAST)
    if moment > _years_later(now, YEARS_AHEAD):
        raise WhenError(TOO_FAR)
    return moment


def _years_later(now: datetime, years: int) -> datetime:
    """The same moment ``years`` later (28 February, for 29 February)."""
    try:
        return now.replace(year=now.year + years)
    except ValueError:
        return now.replace(year=now.year + years, day=28)


def _parse(s: str, now: datetime, tz: ZoneInfo) -> datetime:
    times = list(TIME.finditer(s))
    if len(times) > 1 or not s:
        raise WhenError(NOT_UNDERSTOOD)
    today = now.astimezone(tz).date()

    if not times:
        if s == "tonight":
            return _to_utc(today, _Clock(TONIGHT.hour, TONIGHT.minute), tz)
        parts = _duration_parts(s.removeprefix("in "))
        if parts is None:
            raise WhenError(NOT_UNDERSTOOD)  # includes a day or date with no time
        days, seconds = parts
        start = _days_later(now, days, tz) if days else now.astimezone(UTC)
        return start + timedelta(seconds=seconds)

    found = times[0]
    clock = _clock(found)
    rest = (s[: found.start()] + " " + s[found.end() :]).split()
    words = " ".join(w for w in rest if w not in FILLERS)

    def at(day: date) -> datetime:
        return _to_utc(day, clock, tz)

    if words == "":  # just a time: today if still to come, else tomorrow
        moment = at(today)
        return moment if moment > now else at(today + timedelta(days=1))
    if words == "today":
        return at(today)
    if words in ("tomorrow", "tmrw"):
        return at(today + timedelta(days=1))
    if words == "tonight":
        if not (clock.end_of_day or clock.hour >= 12):
            raise WhenError(NOT_UNDERSTOOD)
        return at(today)

    m = WEEKDAY_FORM.fullmatch(words)
    if m:
        wanted = WEEKDAYS[m["wd"]]
        first = 1 if m["rel"] == "next" else 0
        for ahead in range(first, 8):
            day = today + timedelta(days=ahead)
            if day.weekday() != wanted:
                continue
            moment = at(day)
            if moment > now or m["rel"] == "next":
                return moment
        raise AssertionError("unreachable: a weekday comes round within 8 days")

    for form in DATE_FORMS:
        m = form.fullmatch(words)
        if m:
            return at(_date_from(m, today))

    parts = _duration_parts(words.removeprefix("in "))  # "in 3 days at 2pm"
    if parts is not None and parts[1] == 0:
        return at(today + timedelta(days=parts[0]))
    raise WhenError(NOT_UNDERSTOOD)


def say_when(moment: datetime, tz: ZoneInfo, now: datetime | None = None) -> str:
    """``moment`` in plain UK words: "Tuesday 3 June, 2pm", "Friday 6 June, 5:30pm",
    "Thursday 22 October, 12 noon", "Friday 23 October, midnight".

    The year is added ("Thursday 3 June 2027, 2pm") when it differs from ``now``'s year
    in ``tz``, or always when ``now`` is not given. 00:00 is said as midnight at the end
    of the day before, which ``parse_when`` reads back to the same moment. Seconds are
    not said. ``moment`` must be aware.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(tz)
    day = local.date()
    if local.hour == 0 and local.minute == 0:
        day -= timedelta(days=1)
        clock = "midnight"
    elif local.hour == 12 and local.minute == 0:
        clock = "12 noon"
    else:
        hour = local.hour % 12 or 12
        suffix = "am" if local.hour < 12 else "pm"
        clock = f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"
    words = f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]}"
    if now is None or day.year != now.astimezone(tz).year:
        words += f" {day.year}"
    return f"{words}, {clock}"
