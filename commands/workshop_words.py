"""Workshops, the words: what the bot says about a workshop, and its calendar file.

Every sentence comes from the catalogue (``bot/messages.toml``); these functions
only put the sentences together. The calendar file is RFC 5545, written by the
icalendar library.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import icalendar

from bot.config import Config
from bot.context import Choice, Choices, Listing, Platform
from bot.when import say_when
from commands.workshop_rules import NEEDS, REACTIONS, sort_needs
from storage.workshops import Needs, Workshop

DEFAULT_MINUTES = 120  # for the calendar file, when the organiser did not say
MAYBE = next(key for key, answer in REACTIONS.items() if answer == "maybe")
_URL = re.compile(r"https?://\S+")


class Speaker(Protocol):
    """A handler's context or a job: anything that can say catalogue messages."""

    config: Config
    platform: Platform

    def text(self, key: str, **values: object) -> str: ...


def tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.bot.timezone)


def say_at(speaker: Speaker, moment: datetime, now: datetime) -> str:
    """A time as people say it, in the bot's time zone ("Wednesday 3 June, 2pm")."""
    return say_when(moment, tz(speaker.config), now)


def say_day(speaker: Speaker, moment: datetime) -> str:
    """Just the day of a time ("Wednesday 3 June 2026")."""
    return say_when(moment, tz(speaker.config)).rsplit(", ", 1)[0]


# ----- a workshop, as every view of it starts ---------------------------------------


def _title_line(speaker: Speaker, w: Workshop) -> list[str]:
    if w.is_training:
        return [
            speaker.text("workshop.title_training", number=w.id, title=w.title),
            speaker.text("workshop.training_level", level=w.level),
        ]
    return [speaker.text("workshop.title", number=w.id, title=w.title)]


def _when_line(speaker: Speaker, w: Workshop, now: datetime) -> str:
    when = say_at(speaker, w.start, now)
    if not w.minutes:
        return speaker.text("workshop.when", when=when)
    end = w.start + timedelta(minutes=w.minutes)
    said = say_at(speaker, end, now)
    if end.astimezone(tz(speaker.config)).date() == w.start.astimezone(tz(speaker.config)).date():
        said = said.rsplit(", ", 1)[1]  # the same day: just the time
    return speaker.text("workshop.when_until", when=when, end=said)


def _audience(speaker: Speaker, w: Workshop) -> str:
    if w.audience:
        return speaker.text("workshop.for_custom", who=w.audience)
    if w.is_training and w.level == 1:
        return speaker.text("workshop.for_level1")
    if w.is_training:
        return speaker.text("workshop.for_training")
    return speaker.text("workshop.for_everyone")


def describe(speaker: Speaker, w: Workshop, now: datetime) -> list[str]:
    """What, when, where, who for, what access: the lines every view of a workshop starts with."""
    lines = [
        *_title_line(speaker, w),
        _when_line(speaker, w, now),
        speaker.text("workshop.where", where=w.place),
        _audience(speaker, w),
    ]
    if w.access:
        lines.append(speaker.text("workshop.access", access=w.access))
    if w.capacity:
        lines.append(speaker.text("workshop.places", count=w.capacity))
    if w.project:
        lines.append(speaker.text("workshop.project", project=w.project))
    if w.details:
        lines.append(w.details)
    return lines


def _how_to_answer(speaker: Speaker, w: Workshop) -> list[str]:
    return [
        speaker.text("workshop.how_to_react"),
        speaker.text("workshop.how_to_type", number=w.id),
        speaker.text("workshop.we_will_ask"),
    ]


def announcement(speaker: Speaker, w: Workshop, now: datetime) -> str:
    return "\n".join([*describe(speaker, w, now), "", *_how_to_answer(speaker, w)])


def rsvp_choices(speaker: Speaker, w: Workshop) -> Choices:
    """Going / Maybe / Can't come, for anyone to press where the platform shows
    buttons: a press is that person typing the command (the words say how)."""
    prefix = speaker.config.bot.prefix
    return Choices(
        tuple(
            Choice(f"{prefix}{command} {w.id}", speaker.text(f"workshop.button_{command}"))
            for command in ("going", "maybe", "cantgo")
        ),
        anyone=True,
    )


def need_label(speaker: Speaker, code: str) -> str:
    return speaker.text(f"workshop.need.{code}")


def needs_question(speaker: Speaker, w: Workshop, now: datetime) -> str:
    lines = [
        speaker.text(
            "workshop.needs_intro", number=w.id, title=w.title, when=say_at(speaker, w.start, now)
        ),
        speaker.text("workshop.needs_question"),
    ]
    for number, code in enumerate(NEEDS, 1):
        lines.append(
            speaker.text("workshop.need_line", number=number, label=need_label(speaker, code))
        )
    lines.append(speaker.text("workshop.needs_words"))
    lines.append(speaker.text("workshop.needs_private"))
    return "\n".join(lines)


def needs_choices(speaker: Speaker) -> Choices:
    """The needs as a menu to choose any of, and "nothing", for platforms with menus."""
    options = [Choice(str(n), need_label(speaker, code)) for n, code in enumerate(NEEDS, 1)]
    nothing = Choice("0", speaker.text("workshop.need_nothing"))
    return Choices((*options, nothing), from_list=True, many=True)


def checklist(
    speaker: Speaker,
    w: Workshop,
    answers: dict[str, Needs | None],
    waiting: int,
    now: datetime,
) -> str:
    """The organiser's access-needs checklist: ``answers`` has everyone with a place."""
    show = speaker.platform.mention
    lines = [
        speaker.text(
            "workshop.checklist_title",
            number=w.id,
            title=w.title,
            when=say_at(speaker, w.start, now),
        ),
        speaker.text(
            "workshop.checklist_going",
            going=len(answers),
            waiting=waiting,
        ),
    ]
    sorted_needs = sort_needs(answers)
    for code, people in sorted_needs.by_need:
        who = [show(p) for p in people]
        label = need_label(speaker, code)
        if who:
            lines.append(
                speaker.text(
                    "workshop.checklist_people", label=label, count=len(who), people=", ".join(who)
                )
            )
        else:
            lines.append(speaker.text("workshop.checklist_nobody", label=label))
    if sorted_needs.worded:
        lines.append(speaker.text("workshop.checklist_words"))
        lines += [
            speaker.text("workshop.checklist_words_line", person=show(p), words=words)
            for p, words in sorted_needs.worded
        ]
    unanswered = [show(p) for p in sorted_needs.unanswered]
    lines.append(speaker.text("workshop.checklist_nothing", count=len(sorted_needs.nothing)))
    if unanswered:
        lines.append(
            speaker.text(
                "workshop.checklist_unanswered", count=len(unanswered), people=", ".join(unanswered)
            )
        )
    lines.append(speaker.text("workshop.checklist_private"))
    return "\n".join(lines)


def needs_saved(speaker: Speaker, w: Workshop, codes: tuple[str, ...], words: str | None) -> str:
    lines = [speaker.text("workshop.needs_saved", number=w.id)]
    lines += [
        speaker.text("workshop.need_item", label=need_label(speaker, c))
        for c in codes
        if c != "other"
    ]
    if words:
        lines.append(speaker.text("workshop.needs_saved_words", words=words))
    lines.append(speaker.text("workshop.needs_saved_end", number=w.id))
    return "\n".join(lines)


def reminder(speaker: Speaker, w: Workshop, now: datetime) -> str:
    return "\n".join(
        [
            speaker.text(
                "workshop.reminder", number=w.id, title=w.title, when=say_at(speaker, w.start, now)
            ),
            speaker.text("workshop.where", where=w.place),
            speaker.text("workshop.reminder_cantgo", number=w.id),
        ]
    )


# ----- the calendar file ------------------------------------------------------------


def calendar_file(speaker: Speaker, w: Workshop, *, stamp: datetime, domain: str) -> bytes:
    """An .ics file with the workshop as one event, in UTC (every calendar app
    shows it in the person's own time). The UID stays the same for a workshop and
    SEQUENCE counts its moves, so a calendar updates the event it already has."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//copro-bot//workshops//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    made = hashlib.sha256(f"{w.room_id} {w.created_at}".encode()).hexdigest()[:16]
    event.add("uid", f"workshop-{w.id}-{made}@{domain}")
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", w.start)
    event.add("dtend", w.start + timedelta(minutes=w.minutes or DEFAULT_MINUTES))
    event.add("sequence", w.moves)
    event.add("summary", w.title)
    event.add("location", w.place)
    description = [w.details] if w.details else []
    if w.access:
        description.append(speaker.text("workshop.access", access=w.access))
    description.append(speaker.text("workshop.how_to_answer", number=w.id))
    event.add("description", "\n".join(description))
    link = _URL.search(w.place)
    if link:
        event.add("url", link.group(0))
    event.add("status", "CANCELLED" if w.state == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    return bytes(cal.to_ical())


def listing(w: Workshop, announce_txn: str | None) -> Listing:
    """A workshop for the platform's own list of events. Saying "Interested" there
    is taken as a 🤔 maybe to the announcement, never as going: nobody takes a
    place without saying so."""
    ends = w.start + timedelta(minutes=w.minutes or DEFAULT_MINUTES)
    return Listing(
        w.title, w.details, w.place, w.start, ends, answers_to=announce_txn, interested=MAYBE
    )
