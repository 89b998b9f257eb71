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

This module announces workshops, shows them and makes the organiser's changes.
The rest of the capability, in the same help section: ``commands.workshop_new``
(reading ``!workshop new``), ``commands.workshop_answers`` (answers, the waiting
list, access needs), ``commands.workshop_reminders``, ``commands.training`` (who
came) and ``commands.training_records`` (training records, ``!myteam``); pure
rules in ``commands.workshop_rules``, the words and the calendar file in
``commands.workshop_words``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import by_number_or_newest, stop_asking
from commands.workshop_reminders import cancel_reminders, schedule_reminders
from commands.workshop_rules import NEEDS_ASK, closed_key, must_be_changeable, start_time
from commands.workshop_words import (
    announcement,
    calendar_file,
    checklist,
    describe,
    listing,
    rsvp_choices,
    say_at,
    tz,
)
from storage import workshops as store
from storage.workshops import Rsvp, Workshop

commands = CommandSet("workshops")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata


# ----- finding a workshop, and saying things privately ------------------------------


def split_number(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    return (parts[0] if parts else ""), (parts[1].strip() if len(parts) > 1 else "")


def find(ctx: Context, number_text: str, *, guess: bool = True) -> Workshop:
    """The workshop named by number. With no number (and ``guess``), the one coming up
    in this room, if there is just one; changes by the organiser always need the number."""

    def only_one_here() -> Workshop | None:
        here = store.upcoming(ctx.db, ctx.now.timestamp(), room_id=ctx.room_id)
        return here[0] if guess and len(here) == 1 else None

    return by_number_or_newest(
        number_text,
        lambda number: store.get(ctx.db, number),
        only_one_here,
        "workshop.number_needed",
        "workshop.not_found",
        "workshop.which_one",
    )


def _must_organise(ctx: Context, w: Workshop) -> None:
    if ctx.sender != w.organiser and ctx.role < Role.TEAM:
        raise UserError("workshop.not_yours", number=w.id)


def organised(ctx: Context) -> tuple[Workshop, str]:
    """The workshop named by number (always needed here), if the asker organises
    it; with the rest of the text."""
    number, rest = split_number(ctx.args)
    w = find(ctx, number, guess=False)
    _must_organise(ctx, w)
    return w, rest


def _to_change(ctx: Context) -> tuple[Workshop, str, datetime]:
    """As organised, if the workshop can still change; with the time now."""
    w, rest = organised(ctx)
    now = ctx.now
    must_be_changeable(w, now)
    return w, rest, now


def tell_privately(ctx: Context, text: str, elsewhere_key: str) -> None:
    """Send ``text`` to the sender's direct chat; if they asked elsewhere, say so there."""
    room = ctx.private_room()
    if room == ctx.room_id:
        ctx.reply_text(text)
    else:
        ctx.platform.queue_text(ctx.db, room, text)
        ctx.reply(elsewhere_key)


def send_calendar_file(ctx: Context, w: Workshop, room_id: str, now: datetime) -> None:
    """Write the file where the platform sends files from, and queue it."""
    folder = ctx.platform.files_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"workshop-{w.id}-{uuid.uuid4().hex}.ics"
    path.write_bytes(calendar_file(ctx, w, stamp=now, domain=ctx.platform.uid_domain))
    ctx.platform.queue_file(ctx.db, room_id, path, f"workshop-{w.id}.ics", "text/calendar")


# ----- announcing (``!workshop new`` is commands.workshop_new) -----------------


def announce(ctx: Context, w: Workshop, now: datetime) -> None:
    """Post a new workshop's announcement and its calendar file; schedule its reminders;
    show it in the platform's own list of events, if it has one."""
    text, choices = announcement(ctx, w, now), rsvp_choices(ctx, w)
    txn = ctx.platform.queue_question(ctx.db, ctx.room_id, ctx.sender, text, choices)
    store.set_announcement(ctx.db, w.id, txn)
    schedule_reminders(ctx.db, ctx.config, w, now, platform=ctx.platform.name)
    send_calendar_file(ctx, w, ctx.room_id, now)
    ctx.platform.queue_listing(ctx.db, w.room_id, f"workshop:{w.id}", listing(w, txn))


@commands.command("workshops", summary="workshop.list_summary")
async def list_workshops(ctx: Context) -> None:
    now = ctx.now
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
            when=say_at(ctx, w.start, now),
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
    number, _ = split_number(ctx.args)
    w = find(ctx, number)
    now = ctx.now
    lines = describe(ctx, w, now)
    lines.append("")
    closed = closed_key(w, now)
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
    number, _ = split_number(ctx.args)
    w = find(ctx, number)
    if w.state == "cancelled":
        raise UserError("workshop.is_cancelled", number=w.id)
    send_calendar_file(ctx, w, ctx.room_id, ctx.now)


# ----- commands: the organiser --------------------------------------------------


@commands.command(
    "workshop needs",
    summary="workshop.needs_summary",
    usage="workshop needs 2",
    role=Role.CHAMPION,
)
async def needs_checklist(ctx: Context) -> None:
    w, _ = organised(ctx)
    answers = store.needs_of_going(ctx.db, w.id)
    waiting = len(store.waiting_list(ctx.db, w.id))
    tell_privately(ctx, checklist(ctx, w, answers, waiting, ctx.now), "workshop.sent_privately")


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
    cancel_reminders(ctx.db, w)
    when = say_at(ctx, w.start, now)
    because = [ctx.text("workshop.cancel_reason", reason=reason)] if reason else []
    people = [r.user_id for r in store.rsvps(ctx.db, w.id)]
    for person in people:
        text = [ctx.text("workshop.cancelled_dm", number=w.id, title=w.title, when=when), *because]
        ctx.platform.queue_direct(ctx.db, person, "\n".join(text))
        stop_asking(ctx.db, person, NEEDS_ASK, str(w.id))
    room_text = [ctx.text("workshop.cancelled_room", number=w.id, title=w.title, when=when)]
    ctx.platform.queue_text(ctx.db, w.room_id, "\n".join(room_text + because))
    ctx.platform.queue_listing(ctx.db, w.room_id, f"workshop:{w.id}", None)
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
    start = start_time(when_text, now, tz(ctx.config))
    if start.timestamp() == w.starts_at:
        raise UserError("workshop.same_time", number=w.id)
    before = say_at(ctx, w.start, now)
    cancel_reminders(ctx.db, w)
    store.move(ctx.db, w.id, start.timestamp())
    moved = store.get(ctx.db, w.id)
    assert moved is not None
    schedule_reminders(ctx.db, ctx.config, moved, now, platform=ctx.platform.name)
    when = say_at(ctx, moved.start, now)
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
    send_calendar_file(ctx, moved, w.room_id, now)
    ctx.platform.queue_listing(
        ctx.db, w.room_id, f"workshop:{w.id}", listing(moved, moved.announce_txn)
    )
    done = "workshop.move_done" if people else "workshop.move_done_nobody"
    ctx.reply(done, number=w.id, when=when, count=len(people))
