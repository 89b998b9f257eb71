"""Quick polls anyone can answer, in any chat app, counted exactly.

A poll is posted twice: as a native poll (apps like Element show buttons) and
as a plain companion message listing the choices by number, for apps that do
not show polls. People answer by tapping a choice, by replying with a number,
or by reacting to the companion message with a number emoji. Every answer is
stored as it arrives; the count is made by ``poll_rules.count`` from what is
stored, so it is the same however often it is made.

Secret ballots go to each person by direct message. An answer to a ballot
never reaches the disk: the inbox keeps a stub, the database keeps only that
the person has voted and where their answer is, and the answer itself stays on
the chat server (and in the bot's memory) until the close. Then all answers are
counted at once, only the totals are stored, and the answers are deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.answers import number_list
from bot.config import Config
from bot.context import (
    Context,
    Incoming,
    Message,
    PollAnswer,
    PollLayout,
    Reaction,
    Removal,
    UserError,
)
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job, NotYet, schedule
from bot.when import WhenError, parse_when, say_when
from commands.common import by_number_or_newest
from commands.poll_rules import (
    PollError,
    Result,
    Vote,
    count,
    parse_poll,
    results_text_parts,
    turnout,
)
from storage import inbox, jobs
from storage import polls as store
from storage.polls import Poll

commands = CommandSet("polls")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata

CLOSE_JOB = "poll.close"
BALLOTS_JOB = "poll.ballots"
COUNTED = "✅"  # the reaction that says a numbered reply was counted
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


def who_may_start(config: Config) -> Role:
    return Role.MEMBER if config.polls.members_can_start else Role.CHAMPION


# ----- the words ---------------------------------------------------------


def _tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.bot.timezone)


def _choices(ctx: Context | Job, poll: Poll) -> list[str]:
    return [
        ctx.text("poll.choice", number=i, label=label) for i, label in enumerate(poll.labels, 1)
    ]


def _companion(ctx: Context, poll: Poll) -> str:
    lines = [ctx.text("poll.title", number=poll.id, question=poll.question), *_choices(ctx, poll)]
    lines.append("")
    lines.append(ctx.text("poll.how_to_answer"))
    if len(poll.answers) <= len(KEYCAPS):
        lines.append(ctx.text("poll.how_to_react", first=KEYCAPS[0], second=KEYCAPS[1]))
    if poll.max_selections > 1:
        lines.append(ctx.text("poll.choose_up_to", count=poll.max_selections))
    if not poll.disclosed:
        lines.append(ctx.text("poll.results_later"))
    if poll.closes_at is not None:
        moment = datetime.fromtimestamp(poll.closes_at, UTC)
        lines.append(ctx.text("poll.closes_on", when=say_when(moment, _tz(ctx.config), ctx.now)))
    return "\n".join(lines)


def _results(
    ctx: Context | Job, poll: Poll, counts: dict[str, int], voters: int, members: int | None
) -> str:
    closed = poll.state == "closed" or members is not None
    title = "poll.closed_title" if closed else "poll.results_title"
    lines = [ctx.text(title, number=poll.id, question=poll.question)]
    result = Result({a: counts.get(a, 0) for a in poll.answer_ids}, voters, {})
    for label, n, percent, drawn in results_text_parts(poll.labels, result, members or 0):
        lines.append(ctx.text("poll.result_line", label=label, count=n, percent=percent, bar=drawn))
    if members is None:
        lines.append(ctx.text("poll.answered_so_far", count=voters))
    else:
        lines.append(
            ctx.text(
                "poll.turnout", voters=voters, members=members, percent=turnout(voters, members)
            )
        )
    return "\n".join(lines)


def _layout(ctx: Context | Job, poll: Poll) -> PollLayout:
    fallback = "\n".join([poll.question, *_choices(ctx, poll)])
    return PollLayout(poll.question, poll.answers, poll.max_selections, poll.disclosed, fallback)


# ----- commands ----------------------------------------------------------


@commands.command(
    "poll",
    summary="poll.summary",
    usage="poll Which day suits you? | Tuesday | Thursday",
    role=who_may_start,
)
async def start_poll(ctx: Context) -> None:
    try:
        spec = parse_poll(ctx.args)
    except PollError as err:
        raise UserError(err.key, **err.values) from None
    sent_at = ctx.now
    closes_at = None
    if spec.closes is not None:
        try:
            closes_at = parse_when(spec.closes, sent_at, _tz(ctx.config))
        except WhenError as err:
            raise UserError(err.key, text=spec.closes[:60]) from None
    answers = [(f"a{i}", label) for i, label in enumerate(spec.options, 1)]
    poll_id = store.create(
        ctx.db,
        ctx.room_id,
        ctx.sender,
        spec.question,
        answers,
        spec.max_selections,
        spec.disclosed,
        spec.secret,
        closes_at.timestamp() if closes_at else None,
    )
    poll = store.get(ctx.db, poll_id)
    assert poll is not None
    if spec.secret:
        announcement = ctx.platform.queue_text(
            ctx.db,
            ctx.room_id,
            ctx.text("poll.secret_announce", number=poll_id, question=poll.question),
        )
        store.set_messages(ctx.db, poll_id, None, announcement)
        schedule(ctx.db, BALLOTS_JOB, str(poll_id), sent_at)
    else:
        start = ctx.platform.queue_poll(ctx.db, ctx.room_id, _layout(ctx, poll))
        companion = ctx.platform.queue_text(ctx.db, ctx.room_id, _companion(ctx, poll))
        store.set_messages(ctx.db, poll_id, start, companion)
    if closes_at is not None:
        schedule(ctx.db, CLOSE_JOB, str(poll_id), closes_at)


@commands.command("polls", summary="poll.list_summary")
async def list_polls(ctx: Context) -> None:
    open_polls = store.open_in_room(ctx.db, ctx.room_id)
    if not open_polls:
        ctx.reply("poll.none_open")
        return
    lines = [ctx.text("poll.list_intro")]
    for poll in open_polls:
        if poll.closes_at is None:
            lines.append(ctx.text("poll.list_line", number=poll.id, question=poll.question))
        else:
            moment = datetime.fromtimestamp(poll.closes_at, UTC)
            lines.append(
                ctx.text(
                    "poll.list_line_closes",
                    number=poll.id,
                    question=poll.question,
                    when=say_when(moment, _tz(ctx.config), ctx.now),
                )
            )
    ctx.reply_text("\n".join(lines))


@commands.command("poll results", summary="poll.results_summary", usage="poll results 2")
async def show_results(ctx: Context) -> None:
    poll = _find(ctx, open_only=False)
    if poll.state == "closed":
        ctx.reply_text(_results(ctx, poll, poll.results or {}, poll.voters or 0, poll.members))
        return
    if not poll.disclosed:
        raise UserError("poll.results_hidden", number=poll.id)
    if poll.secret:
        # Totals that change as each person votes would tell who chose what.
        voters, _ = store.secret_turnout(ctx.db, poll.id)
        raise UserError("poll.secret_so_far", number=poll.id, count=voters)
    cutoff = int(poll.cutoff * 1000) if poll.cutoff else None
    result = count(
        poll.answer_ids, poll.max_selections, store.votes(ctx.db, poll.id), closed_at=cutoff
    )
    ctx.reply_text(_results(ctx, poll, result.counts, result.voters, None))


@commands.command(
    "poll close", summary="poll.close_summary", usage="poll close 2", role=Role.CHAMPION
)
async def close_by_hand(ctx: Context) -> None:
    poll = _find(ctx, open_only=True)
    if ctx.sender != poll.creator and ctx.role < Role.TEAM:
        raise UserError("poll.not_yours", number=poll.id)
    now = ctx.now
    store.start_closing(ctx.db, poll.id, now.timestamp())
    jobs.cancel(ctx.db, CLOSE_JOB, str(poll.id))
    schedule(ctx.db, CLOSE_JOB, str(poll.id), now)
    ctx.reply("poll.closing", number=poll.id)


def _find(ctx: Context, *, open_only: bool) -> Poll:
    """The poll named by number, or the newest one in this room."""

    def here(number: int) -> Poll | None:
        poll = store.get(ctx.db, number)
        return poll if poll is not None and poll.room_id == ctx.room_id else None

    def newest() -> Poll | None:
        return store.newest_in_room(ctx.db, ctx.room_id, state="open" if open_only else None)

    none = "poll.none_open" if open_only else "poll.none_here"
    poll = by_number_or_newest(ctx.args, here, newest, "poll.number_needed", "poll.not_found", none)
    if open_only and poll.state != "open":
        raise UserError("poll.already_closed", number=poll.id)
    return poll


# ----- answers -----------------------------------------------------------


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
            _forget_ballot_input(ctx, event.event_id)
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
        if poll is not None and event.sender == held[1] and _still_open(poll, event.ts):
            store.take_back_secret(ctx.db, *held)
            ctx.platform.forget_held(event.target)
        return True
    found = store.vote_event(ctx.db, event.target)
    if found is None:
        return False
    poll_id, vote = found
    poll = store.get(ctx.db, poll_id)
    if poll is None or not _still_open(poll, event.ts):
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


def keycap_number(key: str) -> int | None:
    """1 to 10 for the keycap number emoji, with or without the emoji marker."""
    plain = key.replace("\ufe0f", "")
    for number, keycap in enumerate(KEYCAPS, 1):
        if plain == keycap.replace("\ufe0f", ""):
            return number
    return None


Ballot = tuple[int, str, bool]  # (poll ID, voter, has voted)


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


def _still_open(poll: Poll, ts: int) -> bool:
    return poll.state != "closed" and (poll.cutoff is None or ts / 1000 <= poll.cutoff)


def _record(ctx: Context, found: tuple[Poll, Ballot | None], vote: Vote) -> bool:
    poll, ballot = found
    if ballot is not None:
        _hold_secret(ctx, poll, ballot, vote)
    elif store.vote_event(ctx.db, vote.event_id) is not None:
        pass  # counted already (fetched when the poll closed)
    elif not _still_open(poll, vote.ts):
        _tell_closed(ctx, poll, vote.voter)
    else:
        store.add_vote(ctx.db, poll.id, vote)
        if vote.kind == "reply":  # a tap shows itself in the poll; a reply needs a sign
            ctx.platform.queue_reaction(ctx.db, ctx.room_id, vote.event_id, COUNTED)
    return True


def _tell_closed(ctx: Context, poll: Poll, voter: str) -> None:
    if store.tell_closed_once(ctx.db, poll.id, voter):
        ctx.reply("poll.closed_told", number=poll.id)


def _forget_ballot_input(ctx: Context, event_id: str) -> None:
    """Keep no trace of what someone sent to a secret ballot that is not their
    vote: not in the inbox, not in memory, not in the chat."""
    inbox.scrub(ctx.db, event_id)  # (a sealed answer's row is a stub already)
    ctx.platform.forget_held(event_id)
    ctx.platform.queue_removal(ctx.db, ctx.room_id, event_id)


def _hold_secret(ctx: Context, poll: Poll, ballot: Ballot, vote: Vote) -> None:
    """A person's first valid answer to their ballot is their vote. It is held (on
    the chat server and in memory) until the close; only that they have voted, and
    where the answer is, is stored. Anything else they send to it is deleted."""
    _, voter, voted = ballot
    if store.held_by_event(ctx.db, vote.event_id) is not None:
        return  # seen already
    chosen = list(dict.fromkeys(vote.answers))
    if not _still_open(poll, vote.ts):
        _tell_closed(ctx, poll, vote.voter)
    elif vote.voter != voter or vote.kind == "unreact" or not chosen:
        pass
    elif voted:
        ctx.say("poll.already_voted", number=poll.id)
    elif any(a not in poll.answer_ids for a in chosen):
        ctx.say("poll.ballot_not_understood")
    else:
        store.hold_secret(ctx.db, poll.id, voter, ctx.room_id, vote.event_id)
        ctx.say("poll.ballot_counted", number=poll.id)
        return
    _forget_ballot_input(ctx, vote.event_id)


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


# ----- scheduled work ----------------------------------------------------


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
            start = job.platform.queue_poll(db, room, _layout(job, poll))
            lines = [job.text("poll.ballot_intro", number=poll.id), *_choices(job, poll)]
            lines += ["", job.text("poll.ballot_how_to_answer")]
            companion = job.platform.queue_text(db, room, "\n".join(lines))
            store.add_ballot(db, poll.id, person, start, companion)


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
    held = await _held_answers(job, poll) if poll.secret else {}
    async with job.writing() as db:
        poll = store.get(db, poll.id)
        assert poll is not None
        cutoff = poll.cutoff if poll.cutoff is not None else job.now.timestamp()
        if inbox.waiting_since(db, int(cutoff * 1000)):
            raise NotYet("answers sent before the close are still waiting to be handled")
        how: list[str] = []
        if poll.secret:
            where = store.held_answers(db, poll.id)
            if {event_id for _, event_id in where} != set(held):
                raise NotYet("a vote came in while the answers were being read")
            counts, voters = _count_secret(poll, held)
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
                ts = inbox.time_of(db, answer.event_id, answer.ts, job.now)
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
            how = _how_answered(job, result.sources)
        store.finish(db, poll.id, counts, voters, people)
        closed = store.get(db, poll.id)
        assert closed is not None
        end_text = "\n".join([_end_text(job, closed, counts), *how])
        if start:
            job.platform.queue_poll_end(db, poll.room_id, start, counts, end_text)
        for person, ballot in store.ballots(db, poll.id):
            ballot_event = job.platform.sent_event(db, ballot)
            if ballot_event:
                room = job.platform.direct_room(db, person)
                job.platform.queue_poll_end(db, room, ballot_event, counts, end_text)
        results = _results(job, closed, counts, voters, people)
        job.platform.queue_text(db, poll.room_id, "\n".join([results, *how]))


async def _held_answers(job: Job, poll: Poll) -> dict[str, Incoming | None]:
    """Every ballot answer waiting to be counted, by event ID (from the bot's
    memory, or from the chat server after a restart)."""
    async with job.store.writing() as db:
        where = store.held_answers(db, poll.id)
    return {event_id: await job.platform.held_answer(room, event_id) for room, event_id in where}


def _count_secret(poll: Poll, held: dict[str, Incoming | None]) -> tuple[dict[str, int], int]:
    """All the ballot answers counted at once: the totals, and how many voted."""
    votes = [
        Vote(event_id, 0, event_id, "response", chosen)
        for event_id, answer in held.items()
        if (chosen := _ballot_choice(poll, answer))
    ]
    result = count(poll.answer_ids, poll.max_selections, votes)
    return result.counts, result.voters


def _how_answered(job: Job, sources: dict[str, int]) -> list[str]:
    """How many answered each way, when some did not tap the poll (apps count only taps)."""
    if not sources.get("reply") and not sources.get("react"):
        return []
    lines = [job.text("poll.how_answered")]
    for source, key in (
        ("response", "poll.answered_by_tap"),
        ("reply", "poll.answered_by_reply"),
        ("react", "poll.answered_by_reaction"),
    ):
        if sources.get(source):
            lines.append(job.text(key, count=sources[source]))
    return lines


def _end_text(job: Job, poll: Poll, counts: dict[str, int]) -> str:
    best = max(counts.values(), default=0)
    if best == 0:
        return job.text("poll.ended_no_answers")
    labels = dict(poll.answers)
    top = [labels[a] for a, n in counts.items() if n == best]
    return job.text("poll.ended" if len(top) == 1 else "poll.ended_tie", top=", ".join(top))
