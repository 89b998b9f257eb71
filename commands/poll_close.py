"""Closing a poll: at its closing time, or when a champion closes it (then at once).

The close is a job: members and any answers the bot missed are read first, then
only members' answers sent before the closing time are counted, and the results
are published in the room (and shown on the poll and on every ballot). A secret
poll's held answers are read, counted all at once, and deleted from the chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from bot.registry import CommandSet
from bot.scheduler import Job, NotYet, schedule
from commands.poll_ballots import count_secret, held_answers
from commands.poll_rules import count
from commands.poll_words import end_text, how_answered, results
from storage import inbox, jobs
from storage import polls as store
from storage.polls import Poll, Vote

commands = CommandSet("polls")  # the same help section as the polls themselves

CLOSE_JOB = "poll.close"


def close_at(db: Database, poll_id: int, when: datetime, *, platform: str) -> None:
    schedule(db, CLOSE_JOB, str(poll_id), when, platform=platform)


def close_now(db: Database, poll: Poll, now: datetime, *, platform: str) -> None:
    """Answers sent from now on do not count; the close runs at once."""
    store.start_closing(db, poll.id, now.timestamp())
    jobs.cancel(db, CLOSE_JOB, str(poll.id))
    close_at(db, poll.id, now, platform=platform)


@commands.job(CLOSE_JOB)
async def close_poll(job: Job) -> None:
    """Count and publish. Missed answers are fetched first; only members' answers
    sent before the closing time count."""
    async with job.store.writing() as db:
        poll = store.get(db, int(job.ref))
        start = job.platform.sent_event(db, poll.start_txn) if poll and poll.start_txn else None
    if poll is None or poll.state == "closed":
        return
    if poll.start_txn and start is None:
        raise RuntimeError(f"poll {poll.id} has not been posted yet; trying again later")
    missed = await job.platform.poll_answers(poll.room_id, start) if start else []
    members = await job.platform.joined_members(poll.room_id) - {job.platform.user_id}
    held = await held_answers(job, poll) if poll.secret else {}
    async with job.writing() as db:
        poll = store.get(db, poll.id)
        assert poll is not None
        cutoff = poll.cutoff if poll.cutoff is not None else job.now.timestamp()
        # Answers come on the poll's own platform (the job's): only its events count.
        if inbox.waiting_since(db, int(cutoff * 1000), job.platform.name):
            raise NotYet("answers sent before the close are still waiting to be handled")
        how: list[str] = []
        if poll.secret:
            where = store.held_answers(db, poll.id)
            if {event_id for _, event_id in where} != set(held):
                raise NotYet("a vote came in while the answers were being read")
            counts, voters = count_secret(poll, held)
            before, voters_before = store.tallied_before(db, poll.id)
            counts = {a: n + before.get(a, 0) for a, n in counts.items()}
            voters += voters_before
            people = store.secret_turnout(db, poll.id)[1]
            for room_id, event_id in where:  # counted: delete them from the chat
                job.platform.queue_removal(db, room_id, event_id)
                job.platform.forget_held(event_id)
            store.counted_secret(db, poll.id)
        else:
            for answer in missed:  # fetched now: their time is only what the bot can vouch for
                ts = (  # (or the platform, for a closed poll's final results)
                    answer.ts
                    if answer.vouched
                    else inbox.time_of(db, answer.event_id, answer.ts, job.now, job.platform.name)
                )
                if ts <= int(cutoff * 1000):  # (a late one is told so when it is handled)
                    vote = Vote(answer.sender, ts, answer.event_id, "response", answer.answers)
                    store.add_vote(db, poll.id, vote)
            result = count(
                poll.answer_ids,
                poll.max_selections,
                store.votes(db, poll.id),
                closed_at=int(cutoff * 1000),
                eligible=members,
            )
            counts, voters, people = result.counts, result.voters, len(members)
            how = how_answered(job, result.sources)
        store.finish(db, poll.id, counts, voters, people)
        closed = store.get(db, poll.id)
        assert closed is not None
        ended = "\n".join([end_text(job, closed, counts), *how])
        said = "\n".join([results(job, closed, counts, voters, people), *how])
        if start:  # the end, with the results (one message where the platform can)
            job.platform.queue_poll_end(db, poll.room_id, start, counts, ended, summary=said)
        for person, ballot in store.ballots(db, poll.id):
            ballot_event = job.platform.sent_event(db, ballot)
            if ballot_event:
                room = job.platform.direct_room(db, person)
                job.platform.queue_poll_end(db, room, ballot_event, counts, ended)
        if not start:  # a secret poll: nothing to end in the room, only its results
            job.platform.queue_text(db, poll.room_id, said)
