"""Polls: each poll's question, state, who started it and when it closes; its
result as a chart and a table; turnout; and how people answered.

What a poll shows follows ``!poll results`` exactly (``web.poll_results``):
hidden results only after the close, and a secret ballot only its turnout while
it is open. Champions see only the polls they started."""

from __future__ import annotations

from aiohttp import web

from bot.roles import Role, role_of
from storage import polls
from storage.polls import Poll
from web import paging
from web.access import Viewer, owned, viewer
from web.deps import dashboard
from web.names import namer
from web.poll_results import chart, result_of
from web.render import render

routes = web.RouteTableDef()
NAV = [("/polls", "Polls", Role.CHAMPION)]


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
    poll = owned(who, poll, lambda p: p.creator)
    view = await result_of(reads, poll)
    say = dashboard(request).messages.get
    drawn = chart(
        poll,
        view,
        say("web.polls.chart_title", number=poll.id),
        say("web.polls.chart_description"),
    )
    return await render(
        request,
        "poll.html",
        who,
        title=f"Poll {poll.id}",
        poll=poll,
        view=view,
        chart=drawn,
        starter=_starters(request, [poll])[poll.creator],
    )


def _own(who: Viewer) -> str | None:
    """Whose polls a list shows: everyone's for the team, a champion's own."""
    return None if who.is_team else who.user_id
