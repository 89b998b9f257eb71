"""Overview: the numbers the team reports (the same as ``!impact``)."""

from __future__ import annotations

from aiohttp import web

from bot.roles import Role
from storage import impact
from web.access import viewer
from web.deps import dashboard
from web.render import render

routes = web.RouteTableDef()
NAV = [("/", "Overview", Role.CHAMPION)]


@routes.get("/", name="overview")
async def overview(request: web.Request) -> web.Response:
    who = await viewer(request)
    dash = dashboard(request)
    db = dash.store.db
    bots = [a.user_id for a in dash.platforms.adapters] if dash.platforms else []
    numbers = (
        [
            ("People involved", impact.people_involved(db, leave_out=bots)),
            ("Polls run", impact.polls_run(db)),
            ("Pieces of feedback", impact.feedback_count(db)),
        ]
        if who.is_team
        else []
    )
    return await render(request, "overview.html", who, title="Overview", numbers=numbers)
