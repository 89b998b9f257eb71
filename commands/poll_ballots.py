"""Secret ballots: one for each person in the room, by direct message.

An answer to a ballot never reaches the disk: the inbox keeps a stub, the database
keeps only that the person has voted and where their answer is, and the answer
itself stays on the chat server (and in the bot's memory) until the close. Then
all answers are counted at once (``commands.poll_close``), only the totals are
stored, and the answers are deleted. Anything else sent to a ballot is deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.answers import number_list
from bot.context import Context, Incoming, Message, PollAnswer, Reaction
from bot.registry import CommandSet
from bot.scheduler import Job, schedule
from commands.poll_rules import count
from commands.poll_words import ballot_buttons, ballot_text, keycap_number, layout
from storage import inbox
from storage import polls as store
from storage.polls import Poll, Vote

commands = CommandSet("polls")  # the same help section as the polls themselves

BALLOTS_JOB = "poll.ballots"

Ballot = tuple[int, str, bool]  # (poll ID, voter, has voted)


def announce(ctx: Context, poll: Poll) -> None:
    """Say in the room that a secret poll has started; the ballots follow in a job."""
    announcement = ctx.platform.queue_text(
        ctx.db,
        ctx.room_id,
        ctx.text("poll.secret_announce", number=poll.id, question=poll.question),
    )
    store.set_messages(ctx.db, poll.id, None, announcement)
    schedule(ctx.db, BALLOTS_JOB, str(poll.id), ctx.now, platform=ctx.platform.name)


@commands.job(BALLOTS_JOB)
async def send_ballots(job: Job) -> None:
    """Send a secret ballot to everyone in the room (members are read first)."""
    async with job.store.writing() as db:
        poll = store.get(db, int(job.ref))
    if poll is None:
        return
    members = await job.platform.joined_members(poll.room_id) - {job.platform.user_id}
    async with job.writing() as db:
        for person in sorted(members):
            room = job.platform.direct_room(db, person)
            start = job.platform.queue_poll(db, room, layout(job, poll))
            words, buttons = ballot_text(job, poll), ballot_buttons(poll)
            companion = (
                job.platform.queue_question(db, room, person, words, buttons)
                if buttons is not None
                else job.platform.queue_text(db, room, words)
            )
            store.add_ballot(db, poll.id, person, start, companion)


def forget_ballot_input(ctx: Context, event_id: str) -> None:
    """Keep no trace of what someone sent to a secret ballot that is not their
    vote: not in the inbox, not in memory, not in the chat."""
    inbox.scrub(ctx.db, event_id)  # (a sealed answer's row is a stub already)
    ctx.platform.forget_held(event_id)
    ctx.platform.queue_removal(ctx.db, ctx.room_id, event_id)


def hold_secret(ctx: Context, poll: Poll, ballot: Ballot, vote: Vote) -> None:
    """A person's first valid answer to their ballot, while the poll is open, is their
    vote. It is held (on the chat server and in memory) until the close; only that
    they have voted, and where the answer is, is stored. Anything else they send to
    it is deleted."""
    _, voter, voted = ballot
    chosen = list(dict.fromkeys(vote.answers))
    if vote.voter != voter or vote.kind == "unreact" or not chosen:
        pass
    elif voted:
        ctx.say("poll.already_voted", number=poll.id)
    elif any(a not in poll.answer_ids for a in chosen):
        ctx.say("poll.ballot_not_understood")
    else:
        store.hold_secret(ctx.db, poll.id, voter, ctx.room_id, vote.event_id)
        ctx.say("poll.ballot_counted", number=poll.id)
        return
    forget_ballot_input(ctx, vote.event_id)


def _ballot_choice(poll: Poll, answer: Incoming | None) -> tuple[str, ...]:
    """What a held ballot answer chose, read again at the close (empty: nothing valid)."""
    if isinstance(answer, PollAnswer):
        chosen: tuple[str, ...] = answer.answers
    elif isinstance(answer, Message):
        numbers = number_list(answer.body) or []
        if not numbers or any(not 1 <= n <= len(poll.answers) for n in numbers):
            return ()
        chosen = tuple(poll.answer_ids[n - 1] for n in numbers)
    elif isinstance(answer, Reaction) and (number := keycap_number(answer.key)) is not None:
        chosen = (poll.answer_ids[number - 1],) if number <= len(poll.answers) else ()
    else:
        return ()
    if any(a not in poll.answer_ids for a in chosen):
        return ()
    return tuple(dict.fromkeys(chosen))[: poll.max_selections]


async def held_answers(job: Job, poll: Poll) -> dict[str, Incoming | None]:
    """Every ballot answer waiting to be counted, by event ID (from the bot's
    memory, or from the chat server after a restart)."""
    async with job.store.writing() as db:
        where = store.held_answers(db, poll.id)
    return {event_id: await job.platform.held_answer(room, event_id) for room, event_id in where}


def count_secret(poll: Poll, held: dict[str, Incoming | None]) -> tuple[dict[str, int], int]:
    """All the ballot answers counted at once: the totals, and how many voted."""
    votes = [
        Vote(event_id, 0, event_id, "response", chosen)
        for event_id, answer in held.items()
        if (chosen := _ballot_choice(poll, answer))
    ]
    result = count(poll.answer_ids, poll.max_selections, votes)
    return result.counts, result.voters


@commands.forgets_in_chat
def delete_held_answers(ctx: Context, person: str) -> Callable[[], None]:
    """``!forget me``: their ballot answers not counted yet are only in their chat,
    so they are deleted there too (once they are forgotten here)."""
    held = store.answers_waiting_from(ctx.db, person)

    def delete() -> None:
        for room_id, event_id in held:
            ctx.platform.queue_removal(ctx.db, room_id, event_id)
            ctx.platform.forget_held(event_id)

    return delete
