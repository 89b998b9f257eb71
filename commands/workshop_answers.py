"""Answers to a workshop: going, maybe or can't go; the waiting list; access needs.

People answer with ``!going N``, ``!maybe N`` or ``!cantgo N``, or by reacting to
the announcement with ✅ 🤔 ❌. Every answer is kept; a person's answer is their
latest one that they have not taken back (removing a reaction, or deleting the
message, takes it back). When a workshop is full, people going join a waiting
list; when someone with a place stops going, the first on the list gets the
place and is told.

People who get a place are asked in a direct chat what they need to take part
(``!needs N`` to tell us later). Only the organiser and the team see the answers.
"""

from __future__ import annotations

from datetime import datetime

from bot.context import Context, Message, Reaction, Removal, UserError
from bot.registry import CommandSet
from commands.common import stop_asking
from commands.workshop_rules import (
    NEEDS,
    NEEDS_ASK,
    WORDS_LONGEST,
    closed_key,
    has_place,
    joins_waiting_list,
    reaction_answer,
    read_needs,
)
from commands.workshop_words import needs_choices, needs_question, needs_saved, say_at
from commands.workshops import find, split_number
from storage import conversations
from storage import workshops as store
from storage.conversations import Pending
from storage.workshops import Rsvp, Workshop

commands = CommandSet("workshops")


# ----- answering: commands, reactions, removals ------------------------------------


def _still_open(ctx: Context) -> Workshop:
    """The workshop the command names, if people may still answer it."""
    number, _ = split_number(ctx.args)
    w = find(ctx, number)
    closed = closed_key(w, ctx.now)
    if closed:
        raise UserError(closed, number=w.id)
    return w


async def _answer_by_command(ctx: Context, answer: str) -> None:
    w = _still_open(ctx)
    now = ctx.now
    event = ctx.event
    at = int(now.timestamp() * 1000)
    store.add_answer(ctx.db, w.id, ctx.sender, event.event_id, answer, at, "command")
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


@commands.on(Reaction)
async def answer_by_reaction(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Reaction)
    answer = reaction_answer(event.key)
    txn = ctx.platform.sent_txn(ctx.db, event.target) if answer else None
    w = store.by_announcement(ctx.db, txn) if txn else None
    if w is None or answer is None:
        return False
    now = ctx.now
    closed = closed_key(w, now)
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
    now = ctx.now
    if removed or w is None or closed_key(w, now):
        return True  # a finished workshop's answers stay as they were
    store.take_back(ctx.db, event.target)
    before, after = _settle(ctx, w, person, now)
    _confirm(ctx, w, before, after, now, by_command=False)
    return True


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
            going, waiting = store.going(ctx.db, w.id), store.waiting_list(ctx.db, w.id)
            full = joins_waiting_list(w.capacity, len(going), len(waiting))
            since = int(now.timestamp() * 1000)
            store.set_rsvp(ctx.db, w.id, person, "going", waiting=full, since=since)
    else:
        store.set_rsvp(ctx.db, w.id, person, latest[0], waiting=False, since=latest[1])
    if has_place(before) and not has_place(store.rsvp(ctx.db, w.id, person)):
        stop_asking(ctx.db, person, NEEDS_ASK, str(w.id))
    _fill_places(ctx, w, now, quietly=person)
    return before, store.rsvp(ctx.db, w.id, person)


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
        when = say_at(ctx, w.start, now)
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
    if has_place(after):
        if has_place(before):
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
    question = needs_question(ctx, w, now)
    ctx.ask(person, NEEDS_ASK, str(w.id), question, choices=needs_choices(ctx))


@commands.command("needs", summary="workshop.myneeds_summary", usage="needs 2")
async def tell_needs(ctx: Context) -> None:
    w = _still_open(ctx)
    now = ctx.now
    mine = store.rsvp(ctx.db, w.id, ctx.sender)
    if mine is None or mine.answer != "going":
        raise UserError("workshop.needs_only_going", number=w.id)
    question = needs_question(ctx, w, now)
    ctx.ask(ctx.sender, NEEDS_ASK, str(w.id), question, choices=needs_choices(ctx))
    if not ctx.is_direct:
        ctx.reply("workshop.asked_privately")


@commands.answer(NEEDS_ASK)
async def needs_answer(ctx: Context, pending: Pending) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    w = store.get(ctx.db, int(pending.ref)) if pending.ref.isdigit() else None
    mine = store.rsvp(ctx.db, w.id, ctx.sender) if w else None
    if w is None or closed_key(w, ctx.now) or mine is None or mine.answer != "going":
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
    ctx.reply_text(needs_saved(ctx, w, codes, words))
