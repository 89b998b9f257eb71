"""Reading and saying times (bot/when.py), against a fixed clock in UK time.

``NOW`` is Wednesday 21 October 2026, 10am British Summer Time (09:00 UTC). The
clocks go back on Sunday 25 October 2026 (02:00 BST -> 01:00 GMT) and went
forward on Sunday 29 March 2026 (01:00 GMT -> 02:00 BST); ``SPRING_NOW`` is a
week before that.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.when import (
    DATE_PASSED,
    IN_THE_PAST,
    NOT_UNDERSTOOD,
    TOO_FAR,
    YEARS_AHEAD,
    WhenError,
    parse_duration,
    parse_when,
    say_when,
)

UK = ZoneInfo("Europe/London")
NOW = datetime(2026, 10, 21, 10, 0, tzinfo=UK)  # Wednesday, BST
SPRING_NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UK)  # Friday, GMT


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def uk(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A UK wall-clock time, as UTC (the first, if the clocks go back in that hour)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UK).astimezone(UTC)


def when(text: str, now: datetime = NOW) -> datetime:
    return parse_when(text, now, UK)


def error_key(text: str, now: datetime = NOW) -> str:
    with pytest.raises(WhenError) as caught:
        parse_when(text, now, UK)
    return caught.value.key


# ----- relative times ------------------------------------------------------------------------

RELATIVE = [
    ("in 3 days", uk(2026, 10, 24, 10, 0)),
    ("in 2h", utc(2026, 10, 21, 11, 0)),
    ("in 90 minutes", utc(2026, 10, 21, 10, 30)),
    ("in an hour", utc(2026, 10, 21, 10, 0)),
    ("in half an hour", utc(2026, 10, 21, 9, 30)),
    ("in 1 week", uk(2026, 10, 28, 10, 0)),
    ("in a week", uk(2026, 10, 28, 10, 0)),
    ("in two days", uk(2026, 10, 23, 10, 0)),
    ("in 2h30m", utc(2026, 10, 21, 11, 30)),
    ("in 2h 30m", utc(2026, 10, 21, 11, 30)),
    ("in 1 hour and 30 minutes", utc(2026, 10, 21, 10, 30)),
    ("in 5 mins", utc(2026, 10, 21, 9, 5)),
    ("in 1 day 2 hours", uk(2026, 10, 22, 12, 0)),
    ("2h", utc(2026, 10, 21, 11, 0)),
    ("3 days", uk(2026, 10, 24, 10, 0)),
    ("90 minutes", utc(2026, 10, 21, 10, 30)),
    ("  In   2 Hours.  ", utc(2026, 10, 21, 11, 0)),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_relative_times(text: str, expected: datetime) -> None:
    assert when(text) == expected


def test_days_keep_the_clock_time_when_the_clocks_go_back() -> None:
    # 10am BST on Wednesday; five days later it is 10am GMT, 25 hours on the clock.
    assert when("in 5 days") == utc(2026, 10, 26, 10, 0)
    assert when("in 5 days") - NOW == timedelta(days=5, hours=1)


def test_one_day_across_the_autumn_change_keeps_the_clock_time() -> None:
    now = datetime(2026, 10, 24, 23, 0, tzinfo=UK)  # Saturday 11pm BST = 22:00 UTC
    assert when("in 1 day", now) == utc(2026, 10, 25, 23, 0)  # Sunday 11pm GMT
    assert when("in 24 hours", now) == utc(2026, 10, 25, 22, 0)  # exact: Sunday 10pm GMT
    assert when("in 4 hours", now) == utc(2026, 10, 25, 2, 0)  # exact, past the change


def test_one_day_across_the_spring_change_keeps_the_clock_time() -> None:
    now = datetime(2026, 3, 28, 14, 0, tzinfo=UK)  # Saturday 2pm GMT
    assert when("in 1 day", now) == utc(2026, 3, 29, 13, 0)  # Sunday 2pm BST
    assert when("in 24 hours", now) == utc(2026, 3, 29, 14, 0)  # exact: Sunday 3pm BST
    assert say_when(when("in 1 day", now), UK, now) == "Sunday 29 March, 2pm"


def test_days_that_land_in_the_missing_hour_move_forward() -> None:
    now = datetime(2026, 3, 26, 1, 30, tzinfo=UK)  # Thursday 1:30am GMT
    moment = when("in 3 days", now)
    assert moment == utc(2026, 3, 29, 1, 30)  # 2:30am BST: the hour 1am-2am does not exist
    assert say_when(moment, UK, now) == "Sunday 29 March, 2:30am"


def test_days_that_land_in_the_repeated_hour_take_the_first() -> None:
    now = datetime(2026, 10, 24, 1, 30, tzinfo=UK)  # Saturday 1:30am BST
    assert when("in 1 day", now) == utc(2026, 10, 25, 0, 30)  # 1:30am BST, not GMT


# ----- today, tomorrow, tonight ----------------------------------------------------------------

DAY_WORDS = [
    ("today 5pm", uk(2026, 10, 21, 17, 0)),
    ("Today at 5pm.", uk(2026, 10, 21, 17, 0)),
    ("5pm today", uk(2026, 10, 21, 17, 0)),
    ("tomorrow 9am", uk(2026, 10, 22, 9, 0)),
    ("tomorrow at 14:00", uk(2026, 10, 22, 14, 0)),
    ("TOMORROW AT 2PM", uk(2026, 10, 22, 14, 0)),
    ("noon tomorrow", uk(2026, 10, 22, 12, 0)),
    ("tmrw 9am", uk(2026, 10, 22, 9, 0)),
    ("tonight", uk(2026, 10, 21, 20, 0)),
    ("tonight 9pm", uk(2026, 10, 21, 21, 0)),
    ("tonight at 7:30pm", uk(2026, 10, 21, 19, 30)),
    ("tonight midnight", uk(2026, 10, 22, 0, 0)),
    ("in 3 days at 2pm", uk(2026, 10, 24, 14, 0)),
    ("in 1 week at 9am", uk(2026, 10, 28, 9, 0)),
]


@pytest.mark.parametrize(("text", "expected"), DAY_WORDS)
def test_day_words(text: str, expected: datetime) -> None:
    assert when(text) == expected


def test_tonight_is_eight_pm_and_can_pass() -> None:
    assert when("tonight", datetime(2026, 10, 21, 19, 59, tzinfo=UK)) == uk(2026, 10, 21, 20, 0)
    assert error_key("tonight", datetime(2026, 10, 21, 20, 0, tzinfo=UK)) == IN_THE_PAST


# ----- weekdays (NOW is a Wednesday) -----------------------------------------------------------

WEEKDAYS = [
    ("friday 5pm", uk(2026, 10, 23, 17, 0)),
    ("Fri 17:00", uk(2026, 10, 23, 17, 0)),
    ("on Friday at 5pm", uk(2026, 10, 23, 17, 0)),
    ("this friday 5pm", uk(2026, 10, 23, 17, 0)),
    ("5pm friday", uk(2026, 10, 23, 17, 0)),
    ("fri @ 5pm", uk(2026, 10, 23, 17, 0)),
    ("next tuesday 2pm", uk(2026, 10, 27, 14, 0)),
    ("tues 2pm", uk(2026, 10, 27, 14, 0)),
    ("thurs 9am", uk(2026, 10, 22, 9, 0)),
    # "next" is the first such day after today: on a Wednesday, next Thursday is tomorrow.
    ("next thursday 9am", uk(2026, 10, 22, 9, 0)),
    # Today's weekday: today if the time is still to come, else a week on.
    ("wednesday 11am", uk(2026, 10, 21, 11, 0)),
    ("wed 9am", uk(2026, 10, 28, 9, 0)),
    ("wednesday 10am", uk(2026, 10, 28, 10, 0)),  # exactly now is not "to come"
    # "next" is never today.
    ("next wednesday 11am", uk(2026, 10, 28, 11, 0)),
    ("friday midnight", uk(2026, 10, 24, 0, 0)),  # the end of Friday
    ("wednesday midnight", uk(2026, 10, 22, 0, 0)),  # the end of today
]


@pytest.mark.parametrize(("text", "expected"), WEEKDAYS)
def test_weekdays(text: str, expected: datetime) -> None:
    assert when(text) == expected


def test_weekday_on_that_day_before_and_after_the_time() -> None:
    friday_morning = datetime(2026, 10, 23, 9, 0, tzinfo=UK)
    friday_evening = datetime(2026, 10, 23, 18, 0, tzinfo=UK)
    assert when("friday 5pm", friday_morning) == uk(2026, 10, 23, 17, 0)
    assert when("friday 5pm", friday_evening) == uk(2026, 10, 30, 17, 0)
    assert when("next friday 5pm", friday_morning) == uk(2026, 10, 30, 17, 0)


# ----- UK dates ---------------------------------------------------------------------------------

# 3 December 2026 is a Thursday, 6 weeks after NOW; 3 June 2027 is a Thursday too.
DEC_3_2PM = uk(2026, 12, 3, 14, 0)
JUNE_3_2PM = uk(2027, 6, 3, 14, 0)
DATES = [
    ("Thu 3 December 2pm", DEC_3_2PM),
    ("Thursday 3 December 2pm", DEC_3_2PM),
    ("3 December 2pm", DEC_3_2PM),
    ("3 december, 2pm", DEC_3_2PM),
    ("3 June 2027 14:00", JUNE_3_2PM),
    ("3rd December at 2.30pm", uk(2026, 12, 3, 14, 30)),
    ("the 3rd of December at 2pm", DEC_3_2PM),
    ("3 Dec 2pm", DEC_3_2PM),
    ("3december 2pm", DEC_3_2PM),
    ("December 3 2pm", DEC_3_2PM),
    ("June 3rd 2027 2pm", JUNE_3_2PM),
    ("3/12 14:00", DEC_3_2PM),
    ("03/06/2027 14:00", JUNE_3_2PM),
    ("3/6/27 2pm", JUNE_3_2PM),
    ("2027-06-03 14:00", JUNE_3_2PM),
    ("2027-06-03T14:00", JUNE_3_2PM),
    ("2027-06-03T14:00:00", JUNE_3_2PM),
    ("2pm 3 December", DEC_3_2PM),
    ("Thursday 3 June 2027, 2pm", JUNE_3_2PM),
    ("Tue. 1 Dec. 2pm", uk(2026, 12, 1, 14, 0)),
    ("Fri 1 January 9am", uk(2027, 1, 1, 9, 0)),
    ("23 Sept 2027 9am", uk(2027, 9, 23, 9, 0)),
    # Day first, as in the UK.
    ("12/1 9am", uk(2027, 1, 12, 9, 0)),
    ("1/12 9am", uk(2026, 12, 1, 9, 0)),
    ("13/12 9am", uk(2026, 12, 13, 9, 0)),
    # No year: the nearest such date, if it is still to come.
    ("21 October 11am", uk(2026, 10, 21, 11, 0)),
    ("20 April 9am", uk(2027, 4, 20, 9, 0)),  # 181 days ahead, 184 days ago
    ("29 February 9am", uk(2028, 2, 29, 9, 0)),
    ("31 December midnight", uk(2027, 1, 1, 0, 0)),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_dates(text: str, expected: datetime) -> None:
    assert when(text) == expected


# ----- times on their own -----------------------------------------------------------------------

TIMES = [
    ("2pm", uk(2026, 10, 21, 14, 0)),
    ("2 pm", uk(2026, 10, 21, 14, 0)),
    ("2 p.m.", uk(2026, 10, 21, 14, 0)),
    ("2:30pm", uk(2026, 10, 21, 14, 30)),
    ("2.30pm", uk(2026, 10, 21, 14, 30)),
    ("14:00", uk(2026, 10, 21, 14, 0)),
    ("14.00", uk(2026, 10, 21, 14, 0)),
    ("10:01", uk(2026, 10, 21, 10, 1)),
    ("noon", uk(2026, 10, 21, 12, 0)),
    ("midday", uk(2026, 10, 21, 12, 0)),
    ("12 noon", uk(2026, 10, 21, 12, 0)),
    ("12pm", uk(2026, 10, 21, 12, 0)),
    ("12:30pm", uk(2026, 10, 21, 12, 30)),
    ("midnight", uk(2026, 10, 22, 0, 0)),  # the end of today
    ("12 midnight", uk(2026, 10, 22, 0, 0)),
    # Already gone today, so tomorrow.
    ("9am", uk(2026, 10, 22, 9, 0)),
    ("9 a.m.", uk(2026, 10, 22, 9, 0)),
    ("10am", uk(2026, 10, 22, 10, 0)),
    ("12am", uk(2026, 10, 22, 0, 0)),  # the clock time 00:00, tomorrow's start
    ("00:00", uk(2026, 10, 22, 0, 0)),
    ("12:30am", uk(2026, 10, 22, 0, 30)),
    ("2.30", uk(2026, 10, 22, 2, 30)),  # 24-hour: half past two in the morning
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_times(text: str, expected: datetime) -> None:
    assert when(text) == expected


def test_midnight_is_the_end_of_the_day_named_and_12am_the_start() -> None:
    assert when("tomorrow midnight") == uk(2026, 10, 23, 0, 0)
    assert when("tomorrow 12am") == uk(2026, 10, 22, 0, 0)
    assert when("tomorrow 00:00") == uk(2026, 10, 22, 0, 0)


# ----- clock changes -----------------------------------------------------------------------------

CLOCK_CHANGES = [
    # Spring, 29 March 2026: 1am GMT becomes 2am BST.
    ("28 March 2026 11pm", SPRING_NOW, utc(2026, 3, 28, 23, 0)),
    ("29 March 2026 12:59am", SPRING_NOW, utc(2026, 3, 29, 0, 59)),
    ("29 March 2026 2am", SPRING_NOW, utc(2026, 3, 29, 1, 0)),
    ("29 March 2026 2:01am", SPRING_NOW, utc(2026, 3, 29, 1, 1)),
    ("29 March 3am", SPRING_NOW, utc(2026, 3, 29, 2, 0)),
    ("29/3/2026 14:00", SPRING_NOW, utc(2026, 3, 29, 13, 0)),
    ("sunday 1:30am", SPRING_NOW, utc(2026, 3, 22, 1, 30)),  # the Sunday before: GMT
    # Autumn, 25 October 2026: 2am BST becomes 1am GMT, so 1am-2am happens twice.
    ("25 October 12:59am", NOW, utc(2026, 10, 24, 23, 59)),
    ("25 October 1am", NOW, utc(2026, 10, 25, 0, 0)),  # the first 1am (BST)
    ("25 October 1:30am", NOW, utc(2026, 10, 25, 0, 30)),  # the first 1:30am (BST)
    ("sunday 1:30am", NOW, utc(2026, 10, 25, 0, 30)),
    ("25 October 2am", NOW, utc(2026, 10, 25, 2, 0)),  # GMT from here on
    ("25 October 2:01am", NOW, utc(2026, 10, 25, 2, 1)),
    ("26 October 9am", NOW, utc(2026, 10, 26, 9, 0)),
    ("24 October 9am", NOW, utc(2026, 10, 24, 8, 0)),
]


@pytest.mark.parametrize(("text", "now", "expected"), CLOCK_CHANGES)
def test_clock_changes(text: str, now: datetime, expected: datetime) -> None:
    assert when(text, now) == expected


@pytest.mark.parametrize(
    "text", ["29 March 2026 1am", "29 March 2026 1:30am", "29/3 1:59am", "sunday 1:30am"]
)
def test_a_time_the_clocks_skip_is_not_understood(text: str) -> None:
    before_sunday = datetime(2026, 3, 25, 12, 0, tzinfo=UK)  # Wednesday before the change
    assert error_key(text, before_sunday) == NOT_UNDERSTOOD


# ----- what is refused ---------------------------------------------------------------------------

PAST = [
    "today 9am",
    "today 10am",  # exactly now
    "21 October 9am",  # today's date, time gone: not moved to next year
    "3 June 2026 2pm",
    "3/6/26 2pm",
    "2026-06-03 14:00",
    "1 January 2020 9am",
    "in 0 minutes",
]


@pytest.mark.parametrize("text", PAST)
def test_the_past_is_refused(text: str) -> None:
    assert error_key(text) == IN_THE_PAST


NOT_TIMES = [
    "",
    "   ",
    ".",
    "banana",
    "soon",
    "in",
    "in banana",
    "next",
    "next week",
    "next friday",  # no time
    "friday",
    "tomorrow",
    "today",
    "3 June",
    "3/6",
    "2027-06-03",
    "1400",  # write 14:00 or 2pm
    "2",
    "at 2",
    "2 o'clock",
    "13pm",
    "0am",
    "2:60pm",
    "25:00",
    "24:00",
    "14:60",
    "tomorrow 9am 10am",
    "tomorrow friday 9am",
    "Tue 3 June 2027 2pm",  # 3 June 2027 is a Thursday
    "Mon 3/12 2pm",
    "31 June 2pm",
    "30 February 9am",
    "29/2/2027 9am",  # not a leap year
    "12/13 9am",  # month 13: dates are day first
    "0/6 9am",
    "tonight 9am",  # not the evening
    "tonight 11:30",
    "in 2 weeks 3 weeks",
    "3 days 2 hours at 2pm",  # hours and a time
    "3 June 0 2pm",
    "1.5 hours",
    "friday 5pm or so",
    "in 2 months",
    "3.6.2027 2pm",
    "٣ June 2pm",  # digits from other scripts
]


# A date with no year that has passed: never moved to next year without asking.
# NOW is Wednesday 21 October 2026.
PASSED_DATES = [
    "20 October 9am",  # yesterday
    "1 October 2pm",
    "23 Sept 9am",
    "3 June 2pm",  # 140 days ago, nearer than next June
    "Wed 3 June 2pm",  # 3 June 2026 was a Wednesday
    "3/6 14:00",
    "1 May 10am",
]


@pytest.mark.parametrize("text", PASSED_DATES)
def test_a_date_with_no_year_that_has_passed_is_refused(text: str) -> None:
    assert error_key(text) == DATE_PASSED


def test_a_date_with_no_year_on_1_december() -> None:
    december = datetime(2026, 12, 1, 12, 0, tzinfo=UK)
    assert error_key("1 November 2pm", december) == DATE_PASSED
    assert error_key("1 December 9am", december) == IN_THE_PAST  # today, the time has gone
    assert when("3 January 2pm", december) == uk(2027, 1, 3, 14, 0)  # next month
    assert when("1 June 2pm", december) == uk(2027, 6, 1, 14, 0)  # 182 days ahead
    assert when("1 November 2027 2pm", december) == uk(2027, 11, 1, 14, 0)  # with the year


def test_a_date_with_no_year_in_january_may_be_last_december() -> None:
    january = datetime(2027, 1, 3, 12, 0, tzinfo=UK)
    assert error_key("20 December 2pm", january) == DATE_PASSED
    assert when("20 December 2027 2pm", january) == uk(2027, 12, 20, 14, 0)


# Far ahead: refused kindly, whatever the way it is written.
TOO_FAR_AHEAD = [
    "9999-12-31 23:30",
    "31/12/9999 midnight",  # the moment 9999 ends: past the year 9999
    "in 999999 weeks",
    "in 9999 days",
    "1 January 2032 9am",  # more than 5 years after NOW
    "2040-06-03 14:00",
]


@pytest.mark.parametrize("text", TOO_FAR_AHEAD)
def test_a_time_too_far_ahead_is_refused(text: str) -> None:
    assert error_key(text) == TOO_FAR


def test_five_years_ahead_is_still_accepted() -> None:
    assert when("21 October 2031 9am") == uk(2031, 10, 21, 9, 0)
    assert error_key("21 October 2031 11am") == TOO_FAR
    assert YEARS_AHEAD == 5


@pytest.mark.parametrize("text", NOT_TIMES)
def test_other_text_is_not_understood(text: str) -> None:
    assert error_key(text) == NOT_UNDERSTOOD


def test_long_text_is_refused_quickly() -> None:
    assert error_key("tomorrow 9am " + "x" * 100) == NOT_UNDERSTOOD
    started = time.perf_counter()
    assert error_key("1 " * 500_000) == NOT_UNDERSTOOD
    assert parse_duration("1h " * 500_000) is None
    assert time.perf_counter() - started < 0.5


def test_text_of_100_characters_is_read() -> None:
    text = "tomorrow 9am".ljust(100)
    assert len(text) == 100
    assert when(text) == uk(2026, 10, 22, 9, 0)


def test_when_error_is_a_value_error_with_a_key() -> None:
    err = WhenError(NOT_UNDERSTOOD)
    assert isinstance(err, ValueError)
    assert err.key == "when.not_understood"
    assert WhenError(IN_THE_PAST).key == "when.in_the_past"


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware") as caught:
        parse_when("tomorrow 9am", datetime(2026, 10, 21, 10, 0), UK)
    assert not isinstance(caught.value, WhenError)


# ----- the result -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), RELATIVE[:3] + DAY_WORDS[:3] + DATES[:3])
def test_the_result_is_aware_utc(text: str, expected: datetime) -> None:
    moment = when(text)
    assert moment.tzinfo is UTC
    assert moment == expected


def test_now_may_be_given_in_any_zone() -> None:
    now_utc = NOW.astimezone(UTC)
    assert when("tomorrow 9am", now_utc) == when("tomorrow 9am")
    assert when("in 3 days", now_utc) == when("in 3 days")


def test_the_clock_passed_in_is_the_only_clock() -> None:
    later = datetime(2031, 5, 1, 9, 0, tzinfo=UK)  # a Thursday
    assert when("tomorrow 9am", later) == uk(2031, 5, 2, 9, 0)
    assert when("in 2h", later) == later + timedelta(hours=2)
    assert when("3 June 2pm", later) == uk(2031, 6, 3, 14, 0)
    assert error_key("3 June 2pm", datetime(2031, 6, 4, 9, 0, tzinfo=UK)) == DATE_PASSED


def test_the_configured_zone_is_used() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_when("tomorrow 9am", NOW, tokyo) == utc(2026, 10, 22, 0, 0)


# ----- parse_duration -----------------------------------------------------------------------------

DURATIONS = [
    ("2h", timedelta(hours=2)),
    ("90 minutes", timedelta(minutes=90)),
    ("3 days", timedelta(days=3)),
    ("1 week", timedelta(weeks=1)),
    ("2h30m", timedelta(hours=2, minutes=30)),
    ("2h 30m", timedelta(hours=2, minutes=30)),
    ("2 h", timedelta(hours=2)),
    ("an hour", timedelta(hours=1)),
    ("a day", timedelta(days=1)),
    ("half an hour", timedelta(minutes=30)),
    ("1 hour and 30 minutes", timedelta(minutes=90)),
    ("1 hour, 30 minutes", timedelta(minutes=90)),
    ("two weeks", timedelta(weeks=2)),
    ("twelve hours", timedelta(hours=12)),
    ("1w 2d", timedelta(days=9)),
    ("5 mins", timedelta(minutes=5)),
    ("3 hrs", timedelta(hours=3)),
    ("2 Days.", timedelta(days=2)),
    ("0 minutes", timedelta(0)),
]


@pytest.mark.parametrize(("text", "expected"), DURATIONS)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2",
        "2pm",
        "14:00",
        "banana",
        "in 2h",  # "in" belongs to parse_when
        "am",
        "a m",
        "a h",
        "2h 3h",
        "2 hours and",
        "and 2 hours",
        "2 months",
        "2 hoursx",
        "1.5 hours",
        "tomorrow",
        "x" * 101,
    ],
)
def test_parse_duration_says_none_for_other_text(text: str) -> None:
    assert parse_duration(text) is None


# ----- say_when ----------------------------------------------------------------------------------

SAYINGS = [
    (uk(2026, 10, 23, 17, 0), "Friday 23 October, 5pm"),
    (uk(2026, 10, 23, 17, 30), "Friday 23 October, 5:30pm"),
    (uk(2026, 10, 22, 9, 0), "Thursday 22 October, 9am"),
    (uk(2026, 10, 22, 9, 5), "Thursday 22 October, 9:05am"),
    (uk(2026, 10, 22, 12, 0), "Thursday 22 October, 12 noon"),
    (uk(2026, 10, 22, 12, 30), "Thursday 22 October, 12:30pm"),
    (uk(2026, 10, 22, 11, 59), "Thursday 22 October, 11:59am"),
    (uk(2026, 10, 22, 13, 0), "Thursday 22 October, 1pm"),
    (uk(2026, 10, 22, 23, 59), "Thursday 22 October, 11:59pm"),
    (uk(2026, 10, 23, 0, 0), "Thursday 22 October, midnight"),  # the end of Thursday
    (uk(2026, 10, 23, 0, 30), "Friday 23 October, 12:30am"),
    (uk(2026, 10, 23, 1, 0), "Friday 23 October, 1am"),
    (uk(2026, 10, 26, 10, 0), "Monday 26 October, 10am"),  # after the clocks go back
    (utc(2026, 10, 25, 0, 30), "Sunday 25 October, 1:30am"),  # the first 1:30am
    (utc(2026, 10, 25, 1, 30), "Sunday 25 October, 1:30am"),  # the second 1:30am
    (uk(2026, 12, 31, 20, 0), "Thursday 31 December, 8pm"),
    (uk(2027, 1, 1, 0, 0), "Thursday 31 December, midnight"),  # the day is still 2026
    (uk(2027, 1, 1, 9, 0), "Friday 1 January 2027, 9am"),
    (uk(2027, 6, 3, 14, 0), "Thursday 3 June 2027, 2pm"),
    (uk(2027, 6, 3, 14, 0, 59), "Thursday 3 June 2027, 2pm"),  # seconds are not said
]


@pytest.mark.parametrize(("moment", "expected"), SAYINGS)
def test_say_when(moment: datetime, expected: str) -> None:
    assert say_when(moment, UK, NOW) == expected


def test_say_when_in_summer_time() -> None:
    assert say_when(utc(2026, 6, 2, 13, 0), UK, NOW) == "Tuesday 2 June, 2pm"
    assert say_when(utc(2026, 6, 2, 13, 0), UK, utc(2026, 1, 1, 0, 0)) == "Tuesday 2 June, 2pm"


def test_say_when_shows_the_year_of_the_person_not_of_utc() -> None:
    # 11:30pm on 31 December in UK time; in Tokyo it is already next year.
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UK)
    assert say_when(uk(2027, 1, 1, 9, 0), UK, now) == "Friday 1 January 2027, 9am"
    assert say_when(uk(2026, 12, 31, 23, 45), UK, now) == "Thursday 31 December, 11:45pm"


def test_say_when_without_now_always_says_the_year() -> None:
    assert say_when(uk(2026, 10, 23, 17, 0), UK) == "Friday 23 October 2026, 5pm"


def test_say_when_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        say_when(datetime(2026, 10, 23, 17, 0), UK, NOW)


# ----- round trips: what we say back reads right, and reads back the same ------------------------

ROUND_TRIPS = [
    ("tomorrow 9am", "Thursday 22 October, 9am"),
    ("friday 5:30pm", "Friday 23 October, 5:30pm"),
    ("next tuesday 2pm", "Tuesday 27 October, 2pm"),
    ("today noon", "Wednesday 21 October, 12 noon"),
    ("midnight", "Wednesday 21 October, midnight"),
    ("friday midnight", "Friday 23 October, midnight"),
    ("31 December midnight", "Thursday 31 December, midnight"),
    ("in 3 days", "Saturday 24 October, 10am"),
    ("in 5 days", "Monday 26 October, 10am"),
    ("in 90 minutes", "Wednesday 21 October, 11:30am"),
    ("3/12 14:00", "Thursday 3 December, 2pm"),
    ("2027-06-03T14:00", "Thursday 3 June 2027, 2pm"),
    ("1 Jan 9am", "Friday 1 January 2027, 9am"),
    ("25 October 1:30am", "Sunday 25 October, 1:30am"),
    ("25 October 2am", "Sunday 25 October, 2am"),
    ("tomorrow 12:15am", "Thursday 22 October, 12:15am"),
    ("tonight", "Wednesday 21 October, 8pm"),
]


@pytest.mark.parametrize(("text", "said"), ROUND_TRIPS)
def test_round_trip(text: str, said: str) -> None:
    moment = when(text)
    assert say_when(moment, UK, NOW) == said
    assert when(said) == moment
    assert when(said.replace(",", "")) == moment


@pytest.mark.parametrize("text", [t for t, _ in DATES + WEEKDAYS + TIMES + DAY_WORDS])
def test_everything_we_say_reads_back_to_the_same_moment(text: str) -> None:
    moment = when(text)
    assert when(say_when(moment, UK, NOW)) == moment
    assert when(say_when(moment, UK)) == moment  # with the year
