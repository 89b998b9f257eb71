"""Polls: each poll's question, state, who started it and when it closes; its
result as a chart and a table; turnout; and how people answered.

What a poll shows follows ``!poll results`` exactly (``poll_rules.what_shows``):
hidden results only after the close, and a secret ballot only its turnout while
it is open. Champions see only the polls they started."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.roles import Role, role_of
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
from web import paging
from web.access import Viewer, check_owner, viewer
from web.deps import dashboard
from web.names import namer
from web.render import render

routes = web.RouteTableDef()
NAV = [("/polls", "Polls", Role.CHAMPION)]

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
        return (
            turnout(self.answered, self.could) if self.answered is not None and self.could else None
        )


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


def _starters(request: web.Request, found: list[Poll]) -> dict[str, str]:
    """Who started each poll, by pseudonym and role (each person looked up once)."""
    dash = dashboard(request)
    name = namer(dash)
    return {
        person: f"{name(person)} ({role_of(dash.config, dash.store.db, person).name.lower()})"
        for person in {poll.creator for poll in found}
    }


@routes.get("/polls", name="polls")
async def poll_list(request: web.Request) -> web.Response:
    who = await viewer(request)
    found = await dashboard(request).reads.run(
        polls.listing, _own(who), before=paging.before(request), limit=paging.PAGE
    )
    starters = _starters(request, found)
    rows = [(poll, starters[poll.creator]) for poll in found]
    more = paging.older([poll.id for poll in found])
    return await render(request, "polls.html", who, title="Polls", polls=rows, older=more)


@routes.get("/polls/{poll_id:[0-9]{1,18}}", name="poll")
async def poll_page(request: web.Request) -> web.Response:
    who = await viewer(request)
    reads = dashboard(request).reads
    poll = await reads.run(polls.get, int(request.match_info["poll_id"]))
    if poll is None:
        raise web.HTTPNotFound()
    check_owner(who, poll.creator)
    shows = what_shows(poll)
    result = count_so_far(poll, await reads.run(polls.votes, poll.id)) if shows == SO_FAR else None
    secret = await reads.run(polls.secret_turnout, poll.id) if shows == TURNOUT_ONLY else None
    view = shown(poll, result, secret)
    return await render(
        request,
        "poll.html",
        who,
        title=f"Poll {poll.id}",
        poll=poll,
        view=view,
        chart=None,
        starter=_starters(request, [poll])[poll.creator],
    )


def _own(who: Viewer) -> str | None:
    """Whose polls a list shows: everyone's for the team, a champion's own."""
    return None if who.is_team else who.user_id
