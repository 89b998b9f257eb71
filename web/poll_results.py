"""What the dashboard shows of a poll's result, by ``!poll results``' own rule
(``poll_rules.what_shows``): the final count once closed; nothing of hidden
results before the close; only how many have voted in an open secret ballot;
otherwise the count so far. Read through ``Reads`` (never blocking the bot)."""

from __future__ import annotations

from dataclasses import dataclass

from commands.poll_rules import (
    FINAL,
    SO_FAR,
    TURNOUT_ONLY,
    Result,
    count_so_far,
    results_text_parts,
    turnout,
    what_shows,
)
from storage import polls
from storage.polls import Poll
from web.charts import bar_chart
from web.reads import Reads

# How people answered, in the order shown: (how it is stored, label).
WAYS = (("response", "Tapped a choice in the poll"), ("reply", "Sent a number as a reply"),
        ("react", "Sent a number as a reaction"))  # fmt: skip


@dataclass(frozen=True)
class Shown:
    """What the page shows of one poll's result."""

    shows: str  # poll_rules.what_shows
    rows: list[tuple[str, int, int]]  # (answer, people, percent of those who answered)
    answered: int | None  # how many answered (None: not to be shown)
    could: int | None  # out of how many could (None: not known)
    ways: list[tuple[str, int]] | None  # how they answered (None: not recorded)

    @property
    def turnout(self) -> int | None:
        """Percent of those who could answer who did, if known."""
        known = self.answered is not None and self.could
        return turnout(self.answered or 0, self.could or 0) if known else None


def shown(poll: Poll, result: Result | None, secret_turnout: tuple[int, int] | None) -> Shown:
    """The result as ``!poll results`` would give it, for the page."""
    shows = what_shows(poll)
    if shows == TURNOUT_ONLY and secret_turnout is not None:
        return Shown(shows, [], secret_turnout[0], secret_turnout[1], None)
    if shows == FINAL:
        counts = {a: (poll.results or {}).get(a, 0) for a in poll.answer_ids}
        result = Result(counts=counts, voters=poll.voters or 0, selections={})
        could, sources = poll.members, poll.sources
    elif shows == SO_FAR and result is not None:
        could, sources = None, result.sources
    else:
        return Shown(shows, [], None, None, None)
    parts = results_text_parts(poll.labels, result, could or 0)
    rows = [(label, number, percent) for label, number, percent, _ in parts]
    ways = None if sources is None else [(label, sources.get(way, 0)) for way, label in WAYS]
    return Shown(shows, rows, result.voters, could, ways)


async def result_of(reads: Reads, poll: Poll) -> Shown:
    """Read what is needed, and only that, for what this poll may show now."""
    shows = what_shows(poll)
    result = count_so_far(poll, await reads.run(polls.votes, poll.id)) if shows == SO_FAR else None
    secret = await reads.run(polls.secret_turnout, poll.id) if shows == TURNOUT_ONLY else None
    return shown(poll, result, secret)


def chart(poll: Poll, view: Shown, title: str, description: str) -> str | None:
    """The result as a bar chart, the same numbers as its table (None if no result
    is shown). An SVG that escapes its own text: the one thing pages show ``|safe``."""
    if not view.rows:
        return None
    bars = [(label, number) for label, number, _ in view.rows]
    return bar_chart(title, description, bars, chart_id=f"poll-{poll.id}")
