"""Answers to polls: a tap on the native poll, a reply with numbers to the
companion message, or a number emoji reacted to it; and the same on a secret
ballot. Every answer is stored as it arrives (a ballot's is held, see
``commands.poll_ballots``); removing a reaction or an answer takes it back.
"""

from __future__ import annotations

from bot.answers import number_list
from bot.context import Context, Message, PollAnswer, Reaction, Removal
from bot.registry import CommandSet
from commands.poll_ballots import Ballot, forget_ballot_input, hold_secret
from commands.poll_rules import still_open
from commands.poll_words import keycap_number
from storage import polls as store
from storage.polls import Poll, Vote

commands = CommandSet("polls")  # the same help section as the polls themselves

COUNTED = "✅"  # the reaction that says a numbered reply was counted


@commands.on(PollAnswer)
async def native_answer(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, PollAnswer)
    found = _poll_for(ctx, ctx.platform.sent_txn(ctx.db, event.poll))
    vote = Vote(event.sender, event.ts, event.event_id, "response", event.answers)
    return found is not None and _record(ctx, found, vote)


@commands.on(Message)
async def numbered_reply(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    found = _poll_for(
        ctx, ctx.platform.sent_txn(ctx.db, event.reply_to) if event.reply_to else None
    )
    if found is None:
        return False
    poll, ballot = found
    numbers = number_list(event.body) or []
    wrong = [n for n in numbers if not 1 <= n <= len(poll.answers)]
    if not numbers or wrong:
        if ballot is not None:
            forget_ballot_input(ctx, event.event_id)
        if wrong:
            ctx.reply("poll.no_such_choice", number=wrong[0], most=len(poll.answers))
        else:
            ctx.reply("poll.reply_hint")
        return True
    answers = tuple(poll.answer_ids[n - 1] for n in numbers)
    return _record(ctx, found, Vote(event.sender, event.ts, event.event_id, "reply", answers))


@commands.on(Reaction)
async def number_reaction(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Reaction)
    number = keycap_number(event.key)
    found = _poll_for(ctx, ctx.platform.sent_txn(ctx.db, event.target)) if number else None
    if found is None or number is None:
        return False
    poll = found[0]
    if number > len(poll.answers):
        return True
    vote = Vote(event.sender, event.ts, event.event_id, "react", (poll.answer_ids[number - 1],))
    return _record(ctx, found, vote)


@commands.on(Removal)
async def answer_removed(ctx: Context) -> bool:
    """A removed reaction takes that choice back; a removed answer takes the vote back."""
    event = ctx.event
    assert isinstance(event, Removal)
    if (held := store.held_by_event(ctx.db, event.target)) is not None:
        poll = store.get(ctx.db, held[0])
        if poll is not None and event.sender == held[1] and still_open(poll, event.ts):
            store.take_back_secret(ctx.db, *held)
            ctx.platform.forget_held(event.target)
        return True
    found = store.vote_event(ctx.db, event.target)
    if found is None:
        return False
    poll_id, vote = found
    poll = store.get(ctx.db, poll_id)
    if poll is None or not still_open(poll, event.ts):
        return True
    if vote.kind == "react":
        store.add_vote(
            ctx.db, poll_id, Vote(vote.voter, event.ts, event.event_id, "unreact", vote.answers)
        )
    elif store.latest_vote(ctx.db, poll_id, vote.voter) == vote.event_id:
        store.add_vote(ctx.db, poll_id, Vote(vote.voter, event.ts, event.event_id, "retract", ()))
    else:  # an older answer, already replaced: it simply no longer exists
        store.mark_removed(ctx.db, vote.event_id)
    return True


def _poll_for(ctx: Context, txn: str | None) -> tuple[Poll, Ballot | None] | None:
    """The poll a message of the bot's belongs to: a room poll, or someone's ballot.

    A secret poll's announcement in the room takes no answers: ballots do.
    """
    if txn is None:
        return None
    ballot = store.ballot_by_message(ctx.db, txn)
    poll = store.get(ctx.db, ballot[0]) if ballot else store.by_message(ctx.db, txn)
    if poll is None or (poll.secret and ballot is None):
        return None
    return poll, ballot


def _record(ctx: Context, found: tuple[Poll, Ballot | None], vote: Vote) -> bool:
    poll, ballot = found
    if ballot is not None and store.held_by_event(ctx.db, vote.event_id) is not None:
        return True  # seen already
    if ballot is None and store.vote_event(ctx.db, vote.event_id) is not None:
        return True  # counted already (fetched when the poll closed)
    if not still_open(poll, vote.ts):
        if store.tell_closed_once(ctx.db, poll.id, vote.voter):
            ctx.reply("poll.closed_told", number=poll.id)
        if ballot is not None:
            forget_ballot_input(ctx, vote.event_id)
    elif ballot is not None:
        hold_secret(ctx, poll, ballot, vote)
    else:
        store.add_vote(ctx.db, poll.id, vote)
        if vote.kind == "reply":  # a tap shows itself in the poll; a reply needs a sign
            ctx.platform.queue_reaction(ctx.db, ctx.room_id, vote.event_id, COUNTED)
    return True
