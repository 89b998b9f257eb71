"""The words and patterns ``bot.when`` understands: day and month names (and
their short forms), number words, units of time, and the regular expressions
built from them. ASCII only, so digits from other scripts are never read as
numbers. See ``bot.when`` for what people can type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# ----- words -------------------------------------------------------------------------------

WEEKDAYS: dict[str, int] = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
MONTHS: dict[str, int] = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
# Words that join the parts of a date and carry no meaning of their own.
FILLERS = frozenset({"at", "on", "the", "of"})


def _alt(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first so "tuesday" wins over "tue"."""
    return "|".join(sorted(words, key=len, reverse=True))


# ----- patterns (ASCII only: no surprises from other scripts' digits) ---------------------

TIME = re.compile(
    r"\b(?:"
    r"(?P<h12>\d{1,2})(?:[:.](?P<m12>\d{2}))?\s?(?P<ampm>am|pm)"
    r"|(?P<h24>\d{1,2})[:.](?P<m24>\d{2})(?::(?P<s24>\d{2}))?"
    r"|(?:12\s?)?(?P<word>noon|midday|midnight)"
    r")\b",
    re.ASCII,
)

_WD = r"(?:(?P<wd>" + _alt(WEEKDAYS) + r") )?"
_MON = r"(?P<mname>" + _alt(MONTHS) + r")"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_YEAR4 = r"(?: (?P<y>\d{4}))?"
DATE_FORMS = [
    re.compile(_WD + _DAY + " ?" + _MON + _YEAR4, re.ASCII),  # 3 june 2027
    re.compile(_WD + _MON + " " + _DAY + _YEAR4, re.ASCII),  # june 3 2027
    re.compile(_WD + r"(?P<d>\d{1,2})/(?P<mnum>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?", re.ASCII),
    re.compile(_WD + r"(?P<y>\d{4})-(?P<mnum>\d{1,2})-(?P<d>\d{1,2})", re.ASCII),  # ISO
]
WEEKDAY_FORM = re.compile(r"(?:(?P<rel>next|this) )?(?P<wd>" + _alt(WEEKDAYS) + ")", re.ASCII)

# Each unit word, and what it is: "w" is a week. Short forms only after digits.
SHORT_UNITS = {"w": "week", "wk": "week", "wks": "week", "d": "day", "h": "hour", "m": "minute"}
UNITS = {
    "week": "week",
    "weeks": "week",
    "day": "day",
    "days": "day",
    "hour": "hour",
    "hours": "hour",
    "hr": "hour",
    "hrs": "hour",
    "minute": "minute",
    "minutes": "minute",
    "min": "minute",
    "mins": "minute",
}
# (days, seconds) in one of each: days keep the clock time, seconds are exact.
SIZES = {"week": (7, 0), "day": (1, 0), "hour": (0, 3600), "minute": (0, 60)}
# One part of a duration: "2h", "90 minutes", "an hour", "half an hour". Single
# letters ("h", "m") only straight after digits, so "a m" is not a minute.
DURATION_PART = re.compile(
    r"(?:"
    r"(?P<half>half an? hour)"
    r"|(?P<n>\d{1,6}) ?(?P<unit>" + _alt([*SHORT_UNITS, *UNITS]) + r")"
    r"|(?P<word>" + _alt(NUMBER_WORDS) + r") (?P<wunit>" + _alt(UNITS) + r")"
    r")(?![a-z])",
    re.ASCII,
)
DURATION_JOIN = re.compile(r" and | ?", re.ASCII)
