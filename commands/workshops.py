"""Workshops and co-production training: announce, answer, remind, record who came.

A champion (or the team) announces a workshop with ``!workshop new``. The
announcement says what, when, where, who it is for and what access there is,
and how to answer: react to it with ✅ going, 🤔 maybe or ❌ can't come, or type
``!going N``, ``!maybe N`` or ``!cantgo N``. A calendar file follows it.

Every answer is kept; a person's answer is their latest one that they have not
taken back (removing a reaction, or deleting the message, takes it back). When a
workshop is full, people going join a waiting list; when someone with a place
stops going, the first on the list gets the place and is told.

People who get a place are asked in a direct chat what they need to take part.
Only the organiser and the team see the answers, and only by direct message.

Reminders go by direct message to everyone with a place, by default one day and
one hour before the start (``workshops.reminders`` in the config). Each is a
scheduled job, so it is sent once, even across restarts; one that fell due while
the bot was down is sent at start-up if the workshop has not started.

Times across clock changes: days before the start keep the clock time ("1 day"
before 10am on a Sunday is 10am on the Saturday, even if the clocks changed in
between); hours and minutes are exact. This is the rule ``bot.when`` uses for
"in 3 days" and "in 2 hours".
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import icalendar
from sqlite_utils import Database

from bot.answers import number_list, parse_number, yes_or_no
from bot.config import Config
from bot.context import Context, Message, Reaction, Removal, UserError
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, schedule
from bot.when import WhenError, parse_duration, parse_when, say_when
from commands.champions import MATRIX_ID
from storage import conversations, jobs, profiles
from storage import projects as project_store
from storage import workshops as store
from storage.conversations import Pending
from storage.workshops import Rsvp, Workshop

commands = CommandSet("workshops")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata

REMINDER_JOB = "workshop.reminder"
NEEDS_ASK = "workshop.needs"
LEVELS = (1, 2, 3)
DEFAULT_MINUTES = 120  # for the calendar file, when the organiser did not say
LONGEST = {"title": 200, "place": 300, "details": 2000, "access": 300, "audience": 300}
MOST_PLACES = 10_000
WORDS_LONGEST = 1000
TEAM_LONGEST = 100

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
_URL = re.compile(r"https?://\S+")


class Speaker(Protocol):
    """A handler's context or a job: anything that can say catalogue messages."""

    config: Config

    def text(self, key: str, **values: object) -> str: ...


# ----- times -------------------------------------------------------------


def _tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.bot.timezone)


def _event_time(ctx: Context) -> datetime:
    ts = getattr(ctx.event, "ts", 0)
    return datetime.fromtimestamp(ts / 1000, UTC) if ts else datetime.now(UTC)


def _ts(ctx: Context) -> int:
    return int(_event_time(ctx).timestamp() * 1000)


def _when(speaker: Speaker, moment: datetime, now: datetime) -> str:
    return say_when(moment, _tz(speaker.config), now)


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


def _reminder_offsets(config: Config) -> list[str]:
    return list(dict.fromkeys(config.workshops.reminders))


def _schedule_reminders(db: Database, config: Config, workshop: Workshop, now: datetime) -> None:
    """One job per reminder still to come; the offsets are kept to cancel them later."""
    scheduled = []
    for before in _reminder_offsets(config):
        at = reminder_time(workshop.start, before, _tz(config))
        if at > now:
            schedule(db, REMINDER_JOB, f"{workshop.id}:{before}", at)
            scheduled.append(before)
    store.set_reminders(db, workshop.id, scheduled)


def _cancel_reminders(db: Database, workshop: Workshop) -> None:
    for before in workshop.reminders:
        jobs.cancel(db, REMINDER_JOB, f"{workshop.id}:{before}")
    store.set_reminders(db, workshop.id, [])


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


def _project_exists(db: Database, number: int) -> bool:
    """Whether project ``number`` exists."""
    return project_store.get(db, number) is not None


# ----- the words ---------------------------------------------------------


def _title_line(speaker: Speaker, w: Workshop) -> list[str]:
    if w.is_training:
        return [
            speaker.text("workshop.title_training", number=w.id, title=w.title),
            speaker.text("workshop.training_level", level=w.level),
        ]
    return [speaker.text("workshop.title", number=w.id, title=w.title)]


def _when_line(speaker: Speaker, w: Workshop, now: datetime) -> str:
    when = _when(speaker, w.start, now)
    if not w.minutes:
        return speaker.text("workshop.when", when=when)
    end = w.start + timedelta(minutes=w.minutes)
    said = _when(speaker, end, now)
    if end.astimezone(_tz(speaker.config)).date() == w.start.astimezone(_tz(speaker.config)).date():
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


def _announcement(ctx: Context, w: Workshop, now: datetime) -> str:
    return "\n".join([*describe(ctx, w, now), "", *_how_to_answer(ctx, w)])


def _need_label(speaker: Speaker, code: str) -> str:
    return speaker.text(f"workshop.need.{code}")


def _needs_question(ctx: Context, w: Workshop, now: datetime) -> str:
    lines = [
        ctx.text("workshop.needs_intro", number=w.id, title=w.title, when=_when(ctx, w.start, now)),
        ctx.text("workshop.needs_question"),
    ]
    for number, code in enumerate(NEEDS, 1):
        lines.append(ctx.text("workshop.need_line", number=number, label=_need_label(ctx, code)))
    lines.append(ctx.text("workshop.needs_words"))
    lines.append(ctx.text("workshop.needs_private"))
    return "\n".join(lines)


# ----- the calendar file (RFC 5545, written by the icalendar library) --------


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
    return cal.to_ical()


def _send_calendar(ctx: Context, w: Workshop, room_id: str, now: datetime) -> None:
    """Write the file where the platform sends files from, and queue it."""
    folder = ctx.platform.files_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"workshop-{w.id}-{uuid.uuid4().hex}.ics"
    domain = ctx.platform.user_id.split(":", 1)[-1] or "copro-bot"
    path.write_bytes(calendar_file(ctx, w, stamp=now, domain=domain))
    ctx.platform.queue_file(ctx.db, room_id, path, f"workshop-{w.id}.ics", "text/calendar")


# ----- finding a workshop ---------------------------------------------------


def _split_number(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    return (parts[0] if parts else ""), (parts[1].strip() if len(parts) > 1 else "")


def _find(ctx: Context, number_text: str, *, guess: bool = True) -> Workshop:
    """The workshop named by number. With no number (and ``guess``), the one coming up
    in this room, if there is just one; changes by the organiser always need the number."""
    text = number_text.strip()
    if not text:
        here = store.upcoming(ctx.db, _event_time(ctx).timestamp(), room_id=ctx.room_id)
        if guess and len(here) == 1:
            return here[0]
        raise UserError("workshop.which_one")
    number = parse_number(text)
    if number is None:
        raise UserError("workshop.number_needed", text=text[:20])
    found = store.get(ctx.db, number)
    if found is None:
        raise UserError("workshop.not_found", number=number)
    return found


def _started(w: Workshop, now: datetime) -> bool:
    return now.timestamp() >= w.starts_at


def _closed_key(w: Workshop, now: datetime) -> str | None:
    """Why nobody can answer this workshop now, as a catalogue key; None if they can."""
    if w.state == "cancelled":
        return "workshop.is_cancelled"
    if _started(w, now):
        return "workshop.has_started"
    return None


def _must_organise(ctx: Context, w: Workshop) -> None:
    if ctx.sender != w.organiser and ctx.role < Role.TEAM:
        raise UserError("workshop.not_yours", number=w.id)


def _organised(ctx: Context) -> tuple[Workshop, str]:
    """The workshop named by number (always needed here), if the asker organises
    it; with the rest of the text."""
    number, rest = _split_number(ctx.args)
    w = _find(ctx, number, guess=False)
    _must_organise(ctx, w)
    return w, rest


def _to_change(ctx: Context) -> tuple[Workshop, str, datetime]:
    """As _organised, if the workshop can still change; with the time now."""
    w, rest = _organised(ctx)
    now = _event_time(ctx)
    _must_be_changeable(w, now)
    return w, rest, now


def _must_be_changeable(w: Workshop, now: datetime) -> None:
    if w.state == "cancelled":
        raise UserError("workshop.already_cancelled", number=w.id)
    if _started(w, now):
        raise UserError("workshop.over", number=w.id)


# ----- commands: announcing ---------------------------------------------------


@commands.command(
    "workshop new",
    summary="workshop.new_summary",
    usage="workshop new Planning day | Wed 3 June 2pm | Town Hall | Tea and cake",
    role=Role.CHAMPION,
)
async def new_workshop(ctx: Context) -> None:
    spec = parse_new(ctx.args)
    now = _event_time(ctx)
    try:
        start = parse_when(spec.when, now, _tz(ctx.config))
    except WhenError as err:
        raise UserError(err.key, text=spec.when[:60]) from None
    if spec.project is not None and not _project_exists(ctx.db, spec.project):
        raise UserError("workshop.no_such_project", project=spec.project)
    workshop_id = store.create(
        ctx.db,
        room_id=ctx.room_id,
        organiser=ctx.sender,
        title=spec.title,
        starts_at=start.timestamp(),
        place=spec.place,
        details=spec.details,
        minutes=spec.minutes,
        capacity=spec.capacity,
        project=spec.project,
        access=spec.access,
        audience=spec.audience,
        kind=spec.kind,
        level=spec.level,
    )
    w = store.get(ctx.db, workshop_id)
    assert w is not None
    txn = ctx.platform.queue_text(ctx.db, ctx.room_id, _announcement(ctx, w, now))
    store.set_announcement(ctx.db, w.id, txn)
    _schedule_reminders(ctx.db, ctx.config, w, now)
    _send_calendar(ctx, w, ctx.room_id, now)


@commands.command("workshops", summary="workshop.list_summary")
async def list_workshops(ctx: Context) -> None:
    now = _event_time(ctx)
    coming = store.upcoming(ctx.db, now.timestamp())
    if not coming:
        ctx.reply("workshop.none_coming")
        return
    lines = [ctx.text("workshop.list_intro")]
    for w in coming[:20]:
        key = "workshop.list_line_training" if w.is_training else "workshop.list_line"
        line = ctx.text(
            key,
            number=w.id,
            title=w.title,
            when=_when(ctx, w.start, now),
            where=w.place,
            level=w.level or "",
        )
        if w.capacity:
            left = w.capacity - store.counts(ctx.db, w.id)["going"]
            extra = (
                ctx.text("workshop.list_places_left", count=left)
                if left > 0
                else ctx.text("workshop.list_full")
            )
            line = f"{line} {extra}"
        lines.append(line)
    lines.append(ctx.text("workshop.list_more", number=coming[0].id))
    ctx.reply_text("\n".join(lines))


@commands.command("workshop", summary="workshop.show_summary", usage="workshop 2")
async def show_workshop(ctx: Context) -> None:
    if not ctx.args.strip():
        await list_workshops(ctx)
        return
    number, _ = _split_number(ctx.args)
    w = _find(ctx, number)
    now = _event_time(ctx)
    lines = describe(ctx, w, now)
    lines.append("")
    closed = _closed_key(w, now)
    if closed:
        lines.append(ctx.text(closed.replace("workshop.", "workshop.show_"), number=w.id))
    counts = store.counts(ctx.db, w.id)
    lines.append(
        ctx.text(
            "workshop.counts", going=counts["going"], maybe=counts["maybe"], cantgo=counts["cantgo"]
        )
    )
    if w.capacity:
        left = w.capacity - counts["going"]
        if left > 0:
            lines.append(ctx.text("workshop.places_left", count=left))
        else:
            lines.append(ctx.text("workshop.full", count=counts["waiting"]))
    mine = store.rsvp(ctx.db, w.id, ctx.sender)
    if mine is not None:
        lines.append(_your_answer(ctx, w, mine))
    if not closed:
        lines.append(ctx.text("workshop.how_to_answer", number=w.id))
    ctx.reply_text("\n".join(lines))


def _your_answer(ctx: Context, w: Workshop, mine: Rsvp) -> str:
    if mine.answer == "going" and mine.waiting:
        position = store.waiting_list(ctx.db, w.id).index(mine.user_id) + 1
        return ctx.text("workshop.you_are_waiting", position=position)
    return ctx.text(f"workshop.you_said_{mine.answer}")


@commands.command(
    "workshop calendar", summary="workshop.calendar_summary", usage="workshop calendar 2"
)
async def send_calendar(ctx: Context) -> None:
    number, _ = _split_number(ctx.args)
    w = _find(ctx, number)
    if w.state == "cancelled":
        raise UserError("workshop.is_cancelled", number=w.id)
    _send_calendar(ctx, w, ctx.room_id, _event_time(ctx))


# ----- commands: the organiser --------------------------------------------------


@commands.command(
    "workshop needs",
    summary="workshop.needs_summary",
    usage="workshop needs 2",
    role=Role.CHAMPION,
)
async def needs_checklist(ctx: Context) -> None:
    w, _ = _organised(ctx)
    _tell_privately(ctx, _checklist(ctx, w, _event_time(ctx)), "workshop.sent_privately")


def _tell_privately(ctx: Context, text: str, elsewhere_key: str) -> None:
    """Send ``text`` to the sender's direct chat; if they asked elsewhere, say so there."""
    room = ctx.private_room()
    if room == ctx.room_id:
        ctx.reply_text(text)
    else:
        ctx.platform.queue_text(ctx.db, room, text)
        ctx.reply(elsewhere_key)


def _checklist(ctx: Context, w: Workshop, now: datetime) -> str:
    people = store.going(ctx.db, w.id)
    answers = {p: store.needs(ctx.db, w.id, p) for p in people}
    lines = [
        ctx.text(
            "workshop.checklist_title", number=w.id, title=w.title, when=_when(ctx, w.start, now)
        ),
        ctx.text(
            "workshop.checklist_going",
            going=len(people),
            waiting=len(store.waiting_list(ctx.db, w.id)),
        ),
    ]
    for code in NEEDS[:-1]:
        who = [p for p, n in answers.items() if n and code in n.codes]
        label = _need_label(ctx, code)
        if who:
            lines.append(
                ctx.text(
                    "workshop.checklist_people", label=label, count=len(who), people=", ".join(who)
                )
            )
        else:
            lines.append(ctx.text("workshop.checklist_nobody", label=label))
    worded = [(p, n.words) for p, n in answers.items() if n and n.words]
    if worded:
        lines.append(ctx.text("workshop.checklist_words"))
        lines += [
            ctx.text("workshop.checklist_words_line", person=p, words=words) for p, words in worded
        ]
    nothing = [p for p, n in answers.items() if n and not n.codes and not n.words]
    unanswered = [p for p, n in answers.items() if n is None]
    lines.append(ctx.text("workshop.checklist_nothing", count=len(nothing)))
    if unanswered:
        lines.append(
            ctx.text(
                "workshop.checklist_unanswered", count=len(unanswered), people=", ".join(unanswered)
            )
        )
    lines.append(ctx.text("workshop.checklist_private"))
    return "\n".join(lines)


@commands.command(
    "workshop cancel",
    summary="workshop.cancel_summary",
    usage="workshop cancel 2 The hall is closed",
    role=Role.CHAMPION,
)
async def cancel_workshop(ctx: Context) -> None:
    w, reason, now = _to_change(ctx)
    reason = reason[:300]
    store.cancel(ctx.db, w.id, reason or None)
    _cancel_reminders(ctx.db, w)
    when = _when(ctx, w.start, now)
    because = [ctx.text("workshop.cancel_reason", reason=reason)] if reason else []
    people = [r.user_id for r in store.rsvps(ctx.db, w.id)]
    for person in people:
        text = [ctx.text("workshop.cancelled_dm", number=w.id, title=w.title, when=when), *because]
        ctx.platform.queue_direct(ctx.db, person, "\n".join(text))
        _stop_asking(ctx.db, w, person)
    room_text = [ctx.text("workshop.cancelled_room", number=w.id, title=w.title, when=when)]
    ctx.platform.queue_text(ctx.db, w.room_id, "\n".join(room_text + because))
    done = "workshop.cancel_done" if people else "workshop.cancel_done_nobody"
    ctx.reply(done, number=w.id, count=len(people))


@commands.command(
    "workshop move",
    summary="workshop.move_summary",
    usage="workshop move 2 Friday 2pm",
    role=Role.CHAMPION,
)
async def move_workshop(ctx: Context) -> None:
    w, when_text, now = _to_change(ctx)
    if not when_text:
        raise UserError("workshop.move_how")
    try:
        start = parse_when(when_text, now, _tz(ctx.config))
    except WhenError as err:
        raise UserError(err.key, text=when_text[:60]) from None
    if start.timestamp() == w.starts_at:
        raise UserError("workshop.same_time", number=w.id)
    before = _when(ctx, w.start, now)
    _cancel_reminders(ctx.db, w)
    store.move(ctx.db, w.id, start.timestamp())
    moved = store.get(ctx.db, w.id)
    assert moved is not None
    _schedule_reminders(ctx.db, ctx.config, moved, now)
    when = _when(ctx, moved.start, now)
    people = store.rsvps(ctx.db, w.id)
    for r in people:
        key = "workshop.moved_dm_going" if r.answer == "going" else f"workshop.moved_dm_{r.answer}"
        ctx.platform.queue_direct(
            ctx.db, r.user_id, ctx.text(key, number=w.id, title=w.title, when=when, before=before)
        )
    ctx.platform.queue_text(
        ctx.db,
        w.room_id,
        ctx.text("workshop.moved_room", number=w.id, title=w.title, when=when, before=before),
    )
    _send_calendar(ctx, moved, w.room_id, now)
    done = "workshop.move_done" if people else "workshop.move_done_nobody"
    ctx.reply(done, number=w.id, when=when, count=len(people))


# ----- answering: commands, reactions, removals ------------------------------------


async def _answer_by_command(ctx: Context, answer: str) -> None:
    number, _ = _split_number(ctx.args)
    w = _find(ctx, number)
    now = _event_time(ctx)
    closed = _closed_key(w, now)
    if closed:
        raise UserError(closed, number=w.id)
    event = ctx.event
    store.add_answer(ctx.db, w.id, ctx.sender, event.event_id, answer, _ts(ctx), "command")
    before, after = _settle(ctx, w, ctx.sender, now)
    _confirm(ctx, w, before, after, now, by_command=True)


@commands.command("going", summary="workshop.going_summary", usage="going 2")
async def going(ctx: Context) -> None:
    await _answer_by_command(ctx, "going")


@commands.command("maybe", summary="workshop.maybe_summary", usage="maybe 2")
async def maybe(ctx: Context) -> None:
    await _answer_by_command(ctx, "maybe")


@commands.command("cantgo", summary="workshop.cantgo_summary", usage="cantgo 2")
async def cantgo(ctx: Context) -> None:
    await _answer_by_command(ctx, "cantgo")


def reaction_answer(key: str) -> str | None:
    """going, maybe or cantgo for ✅ 🤔 ❌, with or without the emoji marker."""
    return REACTIONS.get(key.replace("\ufe0f", "").strip())


@commands.on(Reaction)
async def answer_by_reaction(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Reaction)
    answer = reaction_answer(event.key)
    txn = ctx.platform.sent_txn(ctx.db, event.target) if answer else None
    w = store.by_announcement(ctx.db, txn) if txn else None
    if w is None or answer is None:
        return False
    now = _event_time(ctx)
    closed = _closed_key(w, now)
    if closed:
        ctx.tell(event.sender, closed, number=w.id)
        return True
    if store.add_answer(ctx.db, w.id, event.sender, event.event_id, answer, event.ts, "react"):
        before, after = _settle(ctx, w, event.sender, now)
        _confirm(ctx, w, before, after, now, by_command=False)
    return True


@commands.on(Removal)
async def answer_taken_back(ctx: Context) -> bool:
    """A removed reaction (or a deleted !going message) takes that answer back."""
    event = ctx.event
    assert isinstance(event, Removal)
    found = store.answer_event(ctx.db, event.target)
    if found is None:
        return False
    workshop_id, person, removed = found
    w = store.get(ctx.db, workshop_id)
    now = _event_time(ctx)
    if removed or w is None or _closed_key(w, now):
        return True  # a finished workshop's answers stay as they were
    store.take_back(ctx.db, event.target)
    before, after = _settle(ctx, w, person, now)
    _confirm(ctx, w, before, after, now, by_command=False)
    return True


def _has_place(r: Rsvp | None) -> bool:
    return r is not None and r.answer == "going" and not r.waiting


def _settle(
    ctx: Context, w: Workshop, person: str, now: datetime
) -> tuple[Rsvp | None, Rsvp | None]:
    """Bring the person's answer up to date from what they have said, then give any
    free places to the waiting list. Returns their answer (before, after)."""
    before = store.rsvp(ctx.db, w.id, person)
    latest = store.latest_answer(ctx.db, w.id, person)
    if latest is None:
        store.clear_rsvp(ctx.db, w.id, person)
    elif latest[0] == "going":
        if before is None or before.answer != "going":
            full = w.capacity is not None and (
                len(store.going(ctx.db, w.id)) >= w.capacity
                or bool(store.waiting_list(ctx.db, w.id))
            )
            since = int(now.timestamp() * 1000)
            store.set_rsvp(ctx.db, w.id, person, "going", waiting=full, since=since)
    else:
        store.set_rsvp(ctx.db, w.id, person, latest[0], waiting=False, since=latest[1])
    if _has_place(before) and not _has_place(store.rsvp(ctx.db, w.id, person)):
        _stop_asking(ctx.db, w, person)
    _fill_places(ctx, w, now, quietly=person)
    return before, store.rsvp(ctx.db, w.id, person)


def _stop_asking(db: Database, w: Workshop, person: str) -> None:
    """Stop waiting for the person's access needs for this workshop."""
    waiting = conversations.pending(db, person)
    if waiting and waiting.kind == NEEDS_ASK and waiting.ref == str(w.id):
        conversations.finish(db, person, NEEDS_ASK)


def _fill_places(ctx: Context, w: Workshop, now: datetime, *, quietly: str) -> None:
    """Give each free place to the first on the waiting list, and tell them (except
    ``quietly``, the person whose answer is being handled: they hear from ``_confirm``)."""
    if w.capacity is None:
        return
    while len(store.going(ctx.db, w.id)) < w.capacity:
        waiting = store.waiting_list(ctx.db, w.id)
        if not waiting:
            return
        first = waiting[0]
        mine = store.rsvp(ctx.db, w.id, first)
        assert mine is not None
        store.set_rsvp(ctx.db, w.id, first, "going", waiting=False, since=mine.since)
        if first == quietly:
            continue
        when = _when(ctx, w.start, now)
        ctx.tell(first, "workshop.promoted", number=w.id, title=w.title, when=when)
        _ask_needs(ctx, w, first, now)


def _confirm(
    ctx: Context,
    w: Workshop,
    before: Rsvp | None,
    after: Rsvp | None,
    now: datetime,
    *,
    by_command: bool,
) -> None:
    """Tell the person what their answer means now. A command gets a reply; a
    reaction gets a direct message only when there is something to say or ask."""
    if after is None:
        return  # an answer taken back: nothing to say
    person = after.user_id
    if _has_place(after):
        if _has_place(before):
            if by_command:
                ctx.reply("workshop.already_going", number=w.id)
            return
        if by_command:
            ctx.reply("workshop.going_saved", number=w.id)
        _ask_needs(ctx, w, person, now)
        return
    if after.answer == "going":  # on the waiting list
        position = store.waiting_list(ctx.db, w.id).index(person) + 1
        still = before is not None and before.answer == "going"
        key = "workshop.still_waiting" if still else "workshop.waiting_saved"
        if by_command:
            ctx.reply(key, number=w.id, position=position)
        elif not still:
            ctx.tell(person, key, number=w.id, position=position)
        return
    if by_command:
        ctx.reply(f"workshop.{after.answer}_saved", number=w.id)


# ----- access needs -----------------------------------------------------------------


def _ask_needs(ctx: Context, w: Workshop, person: str, now: datetime) -> None:
    """Ask what the person needs to take part, unless they have told us already.

    A person answers one question at a time: if the bot is waiting for their
    answer to something else, they are told how to tell us later instead.
    """
    if store.needs(ctx.db, w.id, person) is not None:
        ctx.tell(person, "workshop.needs_kept", number=w.id)
        return
    waiting = conversations.pending(ctx.db, person)
    if waiting is not None and (waiting.kind, waiting.ref) != (NEEDS_ASK, str(w.id)):
        ctx.tell(person, "workshop.needs_later", number=w.id)
        return
    ctx.ask(person, NEEDS_ASK, str(w.id), _needs_question(ctx, w, now))


@commands.command("needs", summary="workshop.myneeds_summary", usage="needs 2")
async def tell_needs(ctx: Context) -> None:
    number, _ = _split_number(ctx.args)
    w = _find(ctx, number)
    now = _event_time(ctx)
    closed = _closed_key(w, now)
    if closed:
        raise UserError(closed, number=w.id)
    mine = store.rsvp(ctx.db, w.id, ctx.sender)
    if mine is None or mine.answer != "going":
        raise UserError("workshop.needs_only_going", number=w.id)
    ctx.ask(ctx.sender, NEEDS_ASK, str(w.id), _needs_question(ctx, w, now))
    if not ctx.is_direct:
        ctx.reply("workshop.asked_privately")


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


@commands.answer(NEEDS_ASK)
async def needs_answer(ctx: Context, pending: Pending) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    w = store.get(ctx.db, int(pending.ref)) if pending.ref.isdigit() else None
    mine = store.rsvp(ctx.db, w.id, ctx.sender) if w else None
    if w is None or _closed_key(w, _event_time(ctx)) or mine is None or mine.answer != "going":
        conversations.finish(ctx.db, ctx.sender, NEEDS_ASK)
        return False  # the question no longer stands: treat it as any other message
    said = read_needs(event.body)
    if pending.data.get("step") == "words":  # they chose "something else": this is what
        words = None if said.kind == "nothing" else event.body.strip()[:WORDS_LONGEST]
        _save_needs(ctx, w, tuple(pending.data.get("codes", [])), words)
        return True
    if said.kind == "unclear":
        ctx.reply("workshop.needs_not_understood", most=len(NEEDS))
        return True
    if said.kind == "nothing":
        store.save_needs(ctx.db, w.id, ctx.sender, [], None)
        conversations.finish(ctx.db, ctx.sender, NEEDS_ASK)
        ctx.reply("workshop.needs_none_saved", number=w.id)
        return True
    if said.kind == "chosen" and "other" in said.codes:
        codes = [c for c in said.codes if c != "other"]
        conversations.update(ctx.db, pending, {"step": "words", "codes": codes})
        ctx.reply("workshop.needs_tell_more")
        return True
    if said.kind == "words" and not said.codes and not ctx.answers_question(pending):
        return False  # words that name no need, and not a reply to the question: new input
    _save_needs(ctx, w, said.codes, said.words)
    return True


def _save_needs(ctx: Context, w: Workshop, codes: tuple[str, ...], words: str | None) -> None:
    codes = tuple(c for c in codes if c != "other")
    if words:
        codes = (*codes, "other")
    store.save_needs(ctx.db, w.id, ctx.sender, codes, words)
    conversations.finish(ctx.db, ctx.sender, NEEDS_ASK)
    lines = [ctx.text("workshop.needs_saved", number=w.id)]
    lines += [
        ctx.text("workshop.need_item", label=_need_label(ctx, c)) for c in codes if c != "other"
    ]
    if words:
        lines.append(ctx.text("workshop.needs_saved_words", words=words))
    lines.append(ctx.text("workshop.needs_saved_end", number=w.id))
    ctx.reply_text("\n".join(lines))


# ----- reminders ---------------------------------------------------------------------


@commands.job(REMINDER_JOB)
async def send_reminder(job: Job) -> None:
    """Remind everyone with a place, if the workshop is still on and has not started.

    If the bot was down and a nearer reminder is due too, only that one is sent.
    """
    number, _, before = job.ref.partition(":")
    async with job.writing() as db:
        w = store.get(db, int(number))
        if w is None or w.state != "open" or job.now >= w.start:
            return
        tz = _tz(job.config)
        mine = reminder_time(w.start, before, tz)
        for other in w.reminders:
            if mine < reminder_time(w.start, other, tz) <= job.now:
                return  # the bot was down: a nearer reminder is due as well, and says it all
        lines = [
            job.text(
                "workshop.reminder",
                number=w.id,
                title=w.title,
                when=_when(job, w.start, job.now),
            ),
            job.text("workshop.where", where=w.place),
            job.text("workshop.reminder_cantgo", number=w.id),
        ]
        for person in store.going(db, w.id):
            job.platform.queue_direct(db, person, "\n".join(lines))


# ----- who came, and training ------------------------------------------------------------


@commands.command(
    "attended",
    summary="workshop.attended_summary",
    usage="attended 2 @sam:council.org @pat:council.org",
    role=Role.CHAMPION,
)
async def record_attendance(ctx: Context) -> None:
    w, rest = _organised(ctx)
    if w.state == "cancelled":
        raise UserError("workshop.already_cancelled", number=w.id)
    if not _started(w, _event_time(ctx)):
        raise UserError("workshop.not_started_yet", number=w.id)
    people = [p for p in re.split(r"[\s,]+", rest) if p]
    if not people:
        raise UserError("workshop.attended_how")
    wrong = [p for p in people if not MATRIX_ID.match(p)]
    if wrong:
        raise UserError("workshop.attended_bad_id", text=wrong[0][:80])
    added = [
        p for p in dict.fromkeys(people) if store.record_attendance(ctx.db, w.id, p, ctx.sender)
    ]
    if w.is_training:
        for person in added:
            lines = [ctx.text("workshop.training_done", level=w.level)]
            profile = profiles.get(ctx.db, person)
            if profile is None or not (profile.staff_team or "").strip():
                lines.append(ctx.text("workshop.training_team_ask"))
            ctx.platform.queue_direct(ctx.db, person, "\n".join(lines))
    lines = [ctx.text("workshop.attended_saved", number=w.id, count=len(added))]
    already = len(set(people)) - len(added)
    if already:
        lines.append(ctx.text("workshop.attended_already", count=already))
    ctx.reply_text("\n".join(lines))


@commands.command("myteam", summary="workshop.myteam_summary", usage="myteam Adult Social Care")
async def my_team(ctx: Context) -> None:
    """Council staff say which team they work in (for the training report). Optional."""
    team = " ".join(ctx.args.split())
    if not team:
        raise UserError("workshop.myteam_how")
    if team.lower() in ("remove", "none", "delete"):
        profiles.save(ctx.db, ctx.sender, staff_team="")
        ctx.reply("workshop.myteam_removed")
        return
    if len(team) > TEAM_LONGEST:
        raise UserError("workshop.myteam_too_long", most=TEAM_LONGEST)
    profiles.save(ctx.db, ctx.sender, staff_team=team)
    ctx.reply("workshop.myteam_saved", team=team)


@commands.command("training", summary="workshop.training_summary", role=Role.TEAM)
async def training_report(ctx: Context) -> None:
    done = store.completions(ctx.db)
    if not done:
        ctx.reply("workshop.training_none")
        return
    by_level = Counter(level for _, level, _ in done)
    lines = [ctx.text("workshop.training_title")]
    lines += [
        ctx.text("workshop.training_report_level", level=n, count=by_level[n]) for n in LEVELS
    ]
    # Teams in people's own words: "Adult Social Care" and "adult social care" are one.
    teams: dict[str, Counter[int]] = {}
    spellings: dict[str, Counter[str]] = {}
    no_team: set[str] = set()
    for person, level, _ in done:
        profile = profiles.get(ctx.db, person)
        team = " ".join((profile.staff_team or "").split()) if profile else ""
        if not team:
            no_team.add(person)
            continue
        teams.setdefault(team.casefold(), Counter())[level] += 1
        spellings.setdefault(team.casefold(), Counter())[team] += 1
    if teams:
        lines.append(ctx.text("workshop.training_by_team"))
        for key, levels in sorted(teams.items()):
            # The commonest spelling; on a tie, the one with capitals.
            name = min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            lines.append(
                ctx.text(
                    "workshop.training_team_line",
                    team=name,
                    one=levels[1],
                    two=levels[2],
                    three=levels[3],
                )
            )
    if no_team:
        lines.append(ctx.text("workshop.training_no_team", count=len(no_team)))
    ctx.reply_text("\n".join(lines))


@commands.command("mytraining", summary="workshop.mytraining_summary")
async def my_training(ctx: Context) -> None:
    came = store.attended(ctx.db, ctx.sender)
    first: dict[int, Workshop] = {}
    others = 0
    for w in came:
        if w.is_training and w.level:
            first.setdefault(w.level, w)
        else:
            others += 1
    lines = [ctx.text("workshop.mytraining_title")]
    for level in LEVELS:
        if level in first:
            day = say_when(first[level].start, _tz(ctx.config)).rsplit(", ", 1)[0]
            lines.append(ctx.text("workshop.mytraining_done", level=level, date=day))
        else:
            lines.append(ctx.text("workshop.mytraining_not_yet", level=level))
    if others:
        lines.append(ctx.text("workshop.mytraining_others", count=others))
    lines.append(ctx.text("workshop.mytraining_next"))
    _tell_privately(ctx, "\n".join(lines), "workshop.sent_privately")
