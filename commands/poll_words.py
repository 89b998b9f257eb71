"""What the bot says about a poll: the companion message, ballots, results and how
people answered; and the number emoji people react with.

Nothing here touches the database or the network; the time now is the handler's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.context import Choice, Choices, Context, PollLayout
from bot.scheduler import Job
from bot.when import say_when
from commands.poll_rules import Result, results_text_parts, turnout
from storage.polls import Poll

KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


def tz(config: Config) -> ZoneInfo:
    return ZoneInfo(config.bot.timezone)


def keycap_number(key: str) -> int | None:
    """1 to 10 for the keycap number emoji, with or without the emoji marker."""
    plain = key.replace("\ufe0f", "")
    for number, keycap in enumerate(KEYCAPS, 1):
        if plain == keycap.replace("\ufe0f", ""):
            return number
    return None


def when_closes(ctx: Context, poll: Poll) -> str:
    """When a poll with a closing time closes, as people say it."""
    assert poll.closes_at is not None
    moment = datetime.fromtimestamp(poll.closes_at, UTC)
    return say_when(moment, tz(ctx.config), ctx.now)


def choices(ctx: Context | Job, poll: Poll) -> list[str]:
    return [
        ctx.text("poll.choice", number=i, label=label) for i, label in enumerate(poll.labels, 1)
    ]


def companion(ctx: Context, poll: Poll) -> str:
    lines = [ctx.text("poll.title", number=poll.id, question=poll.question), *choices(ctx, poll)]
    lines.append("")
    native = ctx.platform.poll_not_native(ctx.room_id, layout(ctx, poll)) is None
    lines.append(ctx.text("poll.how_to_answer" if native else "poll.how_to_reply"))
    if len(poll.answers) <= len(KEYCAPS):
        lines.append(ctx.text("poll.how_to_react", first=KEYCAPS[0], second=KEYCAPS[1]))
    if poll.max_selections > 1:
        lines.append(ctx.text("poll.choose_up_to", count=poll.max_selections))
    if not poll.disclosed:
        lines.append(ctx.text("poll.results_later"))
    if poll.closes_at is not None:
        lines.append(ctx.text("poll.closes_on", when=when_closes(ctx, poll)))
    return "\n".join(lines)


MOST_BUTTONS = 25  # the most buttons a message can have where polls are buttons (Discord)


def ballot_buttons(poll: Poll) -> Choices | None:
    """A ballot's choices as buttons, one vote a press, for a platform whose own
    polls cannot be secret (None: too many, or more than one may be chosen)."""
    if poll.max_selections != 1 or len(poll.answers) > MOST_BUTTONS:
        return None
    return Choices(tuple(Choice(str(n), label) for n, label in enumerate(poll.labels, 1)))


def ballot_text(job: Job, poll: Poll) -> str:
    """The companion of a secret ballot, sent to each person by direct message:
    where the platform shows the ballot as words, with buttons under it if it can."""
    lines = [job.text("poll.ballot_intro", number=poll.id), *choices(job, poll)]
    how = "poll.ballot_how_to_answer"
    if job.platform.poll_not_native(poll.room_id, layout(job, poll)) is not None:
        how = "poll.ballot_how_to_tap" if ballot_buttons(poll) else "poll.ballot_how_to_reply"
    lines += ["", job.text(how)]
    return "\n".join(lines)


def results(
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


def layout(ctx: Context | Job, poll: Poll) -> PollLayout:
    fallback = "\n".join([poll.question, *choices(ctx, poll)])
    return PollLayout(
        poll.question,
        poll.answers,
        poll.max_selections,
        poll.disclosed,
        fallback,
        closes_at=poll.closes_at,
        secret=poll.secret,
    )


def how_answered(job: Job, sources: dict[str, int]) -> list[str]:
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


def end_text(job: Job, poll: Poll, counts: dict[str, int]) -> str:
    best = max(counts.values(), default=0)
    if best == 0:
        return job.text("poll.ended_no_answers")
    labels = dict(poll.answers)
    top = [labels[a] for a, n in counts.items() if n == best]
    return job.text("poll.ended" if len(top) == 1 else "poll.ended_tie", top=", ".join(top))
