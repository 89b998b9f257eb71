"""Workshops, pure rules: what ``!workshop new`` means, who gets a place, when to remind.

Nothing here touches the database, the network or the clock (the time now is
always passed in). The handlers are in ``commands.workshops`` (announcing and the
organiser's changes), ``commands.workshop_answers`` (answers, the waiting list and
access needs), ``commands.workshop_reminders`` and ``commands.training``; what the
bot says is in ``commands.workshop_words``.

Times across clock changes: days before the start keep the clock time ("1 day"
before 10am on a Sunday is 10am on the Saturday, even if the clocks changed in
between); hours and minutes are exact. This is the rule ``bot.when`` uses for
"in 3 days" and "in 2 hours".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.answers import number_list, parse_number, yes_or_no
from bot.config import Config
from bot.context import UserError
from bot.when import WhenError, parse_duration, parse_when
from storage.workshops import Needs, Rsvp, Workshop

NEEDS_ASK = "workshop.needs"  # the kind of question "what do you need to take part?"
LONGEST = {"title": 200, "place": 300, "details": 2000, "access": 300, "audience": 300}
MOST_PLACES = 10_000
WORDS_LONGEST = 1000

# The reactions people answer with, without the emoji marker U+FE0F.
REACTIONS = {"✅": "going", "🤔": "maybe", "❌": "cantgo"}

# The access-needs checklist, in the order people see it. "other" is always last.
NEEDS = ("bsl", "loop", "step_free", "print", "carer", "transport", "other")
# Words that name a need, for answers in people's own words.
_NEED_WORDS = {
    "bsl": re.compile(r"\bbsl\b|sign language|signer|interpreter"),
    "loop": re.compile(r"\bhearing loop|\bloop\b"),
    "step_free": re.compile(r"step[- ]?free|wheelchair|\bramp|no steps|mobility scooter"),
    "print": re.compile(r"large print|big print|easy read|easy-read"),
    "carer": re.compile(r"\bcarer|\bpa\b|personal assistant|support worker"),
    "transport": re.compile(r"transport|\btaxi|\bbus\b|travel"),
}
_NOTHING = {
    "0", "none", "nothing", "nothing thanks", "nothing thank you", "no need", "nope",
    "i'm fine", "im fine", "i am fine", "all good", "no, nothing", "no nothing",
    "i don't need anything", "i dont need anything", "nothing extra",
}  # fmt: skip
# "1 day", "2 days", "a week", "3d", "1w": offsets that keep the clock time.
_DAYS = re.compile(r"(?<![a-z])(?:\d+\s*(?:d|w|wks?)|days?|weeks?)(?![a-z])")


# ----- times -------------------------------------------------------------


def start_time(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """When a workshop starts, as the organiser wrote it; UserError if that will not do."""
    try:
        return parse_when(text, now, tz)
    except WhenError as err:
        raise UserError(err.key, text=text[:60]) from None


def reminder_time(start: datetime, before: str, tz: ZoneInfo) -> datetime:
    """When to send the reminder ``before`` (like "1 day" or "1 hour") the start.

    Days and weeks keep the clock time, in UK time: "1 day" before 10am on Sunday
    29 March 2026 (after the clocks go forward) is 10am on Saturday 28 March, 23
    hours earlier. Hours and minutes are exact. "1 day 2 hours": the day first,
    then the hours. A clock time that does not exist moves forward by the gap.
    """
    gap = parse_duration(before)
    if gap is None:
        raise ValueError(f"not a length of time: {before!r}")
    if _DAYS.search(before.lower()):
        days, seconds = gap.days, gap.seconds
    else:  # "24 hours" is 24 hours, not a day
        days, seconds = 0, int(gap.total_seconds())
    wall = start.astimezone(tz).replace(tzinfo=None, fold=0) - timedelta(days=days)
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC) - timedelta(seconds=seconds)


def reminder_offsets(config: Config) -> list[str]:
    return list(dict.fromkeys(config.workshops.reminders))


def superseded(
    start: datetime, before: str, offsets: Iterable[str], now: datetime, tz: ZoneInfo
) -> bool:
    """Whether a nearer reminder than ``before`` is due by ``now`` too (the bot was
    down): then only that one is sent, and it says it all."""
    mine = reminder_time(start, before, tz)
    return any(mine < reminder_time(start, other, tz) <= now for other in offsets)


def started(w: Workshop, now: datetime) -> bool:
    return now.timestamp() >= w.starts_at


def closed_key(w: Workshop, now: datetime) -> str | None:
    """Why nobody can answer this workshop now, as a catalogue key; None if they can."""
    if w.state == "cancelled":
        return "workshop.is_cancelled"
    if started(w, now):
        return "workshop.has_started"
    return None


def must_be_changeable(w: Workshop, now: datetime) -> None:
    if w.state == "cancelled":
        raise UserError("workshop.already_cancelled", number=w.id)
    if started(w, now):
        raise UserError("workshop.over", number=w.id)


# ----- what a !workshop new command means ----------------------------------


@dataclass
class Spec:
    title: str
    when: str
    place: str
    details: str = ""
    capacity: int | None = None
    project: int | None = None
    access: str | None = None
    audience: str | None = None
    kind: str = "workshop"
    level: int | None = None
    minutes: int | None = None


_LEVEL_WORDS = {"1": 1, "one": 1, "2": 2, "two": 2, "3": 3, "three": 3}
# Each setting, as the organiser may write it. Settings that take a number take one
# word, so details like "Places are limited" or "Level access throughout" stay details.
_SETTINGS = [
    (
        "capacity",
        r"(?:capacity|places|spaces|max|maximum)\s*:?\s*(?P<v>\S+)(?:\s+(?:people|places|spaces))?",
    ),
    ("capacity", r"(?P<v>\d+)\s+(?:places|spaces|people)"),
    ("kind", r"(?:co-?production\s+)?training(?:\s+level)?(?:\s*:?\s*(?P<v>\S+))?"),
    ("kind", r"(?:co-?production\s+)?level\s*(?P<v>\d+|one|two|three)(?:\s+training)?"),
    ("kind", r"(?P<workshop>workshop)"),
    ("project", r"project\s*:?\s*#?(?P<v>\S+)"),
    ("access", r"(?:access|accessibility)\s*:?\s+(?P<v>.+)"),
    ("audience", r"(?:open to|who it is for|who it's for)\s*:?\s+(?P<v>.+)"),
    ("minutes", r"(?:lasts|length|duration)\s*:?\s*(?P<v>.*)"),
    ("minutes", r"for\s+(?P<v>.+)"),  # only if what follows is a length of time
]
_SETTING_PATTERNS = [(name, re.compile(f"^{rx}$", re.IGNORECASE)) for name, rx in _SETTINGS]


def _setting(part: str) -> tuple[str, object] | None:
    """(field, value) if ``part`` is a setting, None if it is not one.
    Raises UserError for a setting with a value that does not fit."""
    text = " ".join(part.split())
    for name, pattern in _SETTING_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        value = (m.groupdict().get("v") or "").strip()
        if name == "capacity":
            places = parse_number(value)
            if places is None or not 1 <= places <= MOST_PLACES:
                raise UserError("workshop.capacity_not_number", text=value[:40])
            return name, places
        if name == "kind":
            if m.groupdict().get("workshop"):
                return name, ("workshop", None)
            level = _LEVEL_WORDS.get(value.lower())
            if level is None:
                raise UserError("workshop.bad_level", text=text[:40])
            return name, ("training", level)
        if name == "project":
            project = parse_number(value)
            if project is None:
                raise UserError("workshop.project_not_number", text=value[:40])
            return name, project
        if name == "minutes":
            length = parse_duration(value) if value else None
            if length is None or not timedelta(minutes=1) <= length <= timedelta(days=7):
                if text.lower().startswith("for "):
                    return None  # "for carers and staff": not a length, so not a setting
                raise UserError("workshop.bad_length", text=value[:40] or text[:40])
            return name, int(length.total_seconds() // 60)
        return name, value  # access, audience: in the organiser's own words
    return None


def parse_new(text: str) -> Spec:
    """The parts of ``!workshop new``: title | when | where | details, then settings.

    Settings may come in any order after the place; the one part that is not a
    setting is the details. Raises UserError for anything the organiser can fix.
    """
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 3 or not all(parts[:3]):
        raise UserError("workshop.how_to_new")
    spec = Spec(title=parts[0], when=parts[1], place=parts[2])
    seen: set[str] = set()
    details: list[str] = []
    for part in parts[3:]:
        if not part:
            continue
        found = _setting(part)
        if found is None:
            if details:
                raise UserError("workshop.unknown_setting", text=part[:60])
            details.append(part)
            continue
        name, value = found
        if name in seen:
            raise UserError("workshop.setting_twice", setting=part[:40])
        seen.add(name)
        if name == "kind":
            spec.kind, spec.level = value  # type: ignore[misc]
        else:
            setattr(spec, name, value)
    spec.details = details[0] if details else ""
    for field, most in LONGEST.items():
        value = getattr(spec, field) or ""
        if len(value) > most:
            raise UserError(f"workshop.too_long_{field}", length=len(value), most=most)
    return spec


# ----- answers and places -------------------------------------------------------


def reaction_answer(key: str) -> str | None:
    """going, maybe or cantgo for ✅ 🤔 ❌, with or without the emoji marker."""
    return REACTIONS.get(key.replace("\ufe0f", "").strip())


def has_place(r: Rsvp | None) -> bool:
    return r is not None and r.answer == "going" and not r.waiting


def joins_waiting_list(capacity: int | None, going: int, waiting: int) -> bool:
    """Whether someone who now says they are going waits for a place: the workshop is
    full, or others are waiting already (they come first)."""
    return capacity is not None and (going >= capacity or waiting > 0)


# ----- access needs ---------------------------------------------------------------


@dataclass(frozen=True)
class NeedsReply:
    kind: str  # nothing, chosen, words, unclear
    codes: tuple[str, ...] = ()
    words: str | None = None


def read_needs(text: str) -> NeedsReply:
    """Understand an answer to "Do you need anything to take part?"."""
    plain = " ".join(text.strip().lower().split()).rstrip(".! ")
    if not plain:
        return NeedsReply("unclear")
    bare = " ".join(re.sub(r"[,.!]", " ", plain).split())
    if bare in _NOTHING or yes_or_no(plain) is False:
        return NeedsReply("nothing")
    if yes_or_no(plain) is True:
        return NeedsReply("unclear")
    numbers = number_list(plain)
    if numbers is not None:
        if not all(1 <= n <= len(NEEDS) for n in numbers):
            return NeedsReply("unclear")
        return NeedsReply("chosen", tuple(dict.fromkeys(NEEDS[n - 1] for n in numbers)))
    found = tuple(code for code in NEEDS[:-1] if _NEED_WORDS[code].search(plain))
    return NeedsReply("words", found, text.strip()[:WORDS_LONGEST])


@dataclass(frozen=True)
class Checklist:
    """The organiser's access-needs checklist, sorted from the answers of everyone with a place."""

    by_need: tuple[tuple[str, tuple[str, ...]], ...]  # (need, who asked for it), but "other"
    worded: tuple[tuple[str, str], ...]  # (person, what they said in their own words)
    nothing: tuple[str, ...]  # need nothing extra
    unanswered: tuple[str, ...]  # have not said yet


def sort_needs(answers: dict[str, Needs | None]) -> Checklist:
    """``answers``: each person with a place, and what they asked for (None: not yet)."""
    return Checklist(
        by_need=tuple(
            (code, tuple(p for p, n in answers.items() if n and code in n.codes))
            for code in NEEDS[:-1]
        ),
        worded=tuple((p, n.words) for p, n in answers.items() if n and n.words),
        nothing=tuple(p for p, n in answers.items() if n and not n.codes and not n.words),
        unanswered=tuple(p for p, n in answers.items() if n is None),
    )
