"""Overview. For the team: the numbers ``!impact`` gives (the same lines, from the
same gathering), responses per week, and what is waiting for review. For a
champion: their own open polls, projects still going and workshops to come
(``web/pages/overview_reads.py`` reads them)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.roles import Role
from web import charts
from web.access import viewer
from web.deps import dashboard
from web.pages.overview_reads import WEEKS, own_view, team_view
from web.render import render

routes = web.RouteTableDef()
NAV = [("/", "Overview", Role.CHAMPION)]


def has_page(request: web.Request, prefix: str) -> bool:
    """Whether the dashboard has a page at ``prefix`` ("/feedback", "/polls/{"): the
    overview links only to pages that are there."""
    return any(r.canonical.startswith(prefix) for r in request.app.router.resources())


@routes.get("/", name="overview")
async def overview(request: web.Request) -> web.Response:
    who = await viewer(request)
    dash = dashboard(request)
    now = datetime.fromtimestamp(dash.clock(), UTC)
    if who.is_team:
        team = await dash.reads.run(team_view, dash, now)
        chart = charts.weekly_chart(
            dash.messages.get("web.overview.chart_title", weeks=WEEKS),
            dash.messages.get("web.overview.chart_about"),
            [(week.monday, week.count) for week in team.weeks],
            chart_id="weekly",
        )
        return await render(
            request, "overview.html", who, title="Overview", team=team, weeks=WEEKS,
            chart=chart, review_list=has_page(request, "/feedback"),
        )  # fmt: skip
    served = frozenset(p for p in ("/polls/", "/projects/", "/workshops/") if has_page(request, p))
    own = await dash.reads.run(own_view, who.user_id, now, served)
    return await render(request, "overview.html", who, title="Overview", own=own)
