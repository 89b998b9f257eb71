"""Who takes part (team only): where people live and how they are involved, from
what people chose to tell us (``!aboutme``), the same numbers ``!impact`` gives.
A group smaller than five shows as "fewer than 5", by ``!impact``'s own rule
(``project_rules.shown_groups``), so nobody can be picked out."""

from __future__ import annotations

from aiohttp import web

from bot.roles import Role
from commands.project_rules import SMALLEST_GROUP, shown_groups
from storage import profiles
from storage.profiles import RELATIONSHIPS
from web.access import team
from web.deps import dashboard
from web.render import render

routes = web.RouteTableDef()
NAV = [("/people", "Who takes part", Role.TEAM)]


def groups(counts: dict[str, int], known: list[str]) -> list[tuple[str, int | None]]:
    """The rows of one table, as ``!impact`` lists them (none if nobody has said)."""
    return shown_groups(counts, known) if counts else []


@routes.get("/people", name="people")
async def people(request: web.Request) -> web.Response:
    who = await team(request)
    dash = dashboard(request)
    areas = await dash.reads.run(profiles.area_counts)
    said = await dash.reads.run(profiles.relationship_counts)
    labels = {r: dash.messages.get(f"impact.{r.replace(' ', '_')}") for r in RELATIONSHIPS}
    relationships = {labels.get(r, r): n for r, n in said.items()}
    known = [labels[r] for r in RELATIONSHIPS]
    return await render(
        request,
        "people.html",
        who,
        title="Who takes part",
        least=SMALLEST_GROUP,
        tables=[
            ("areas", "Where people live", "Area", groups(areas, list(dash.config.projects.areas))),
            ("relationships", "How people are involved", "How", groups(relationships, known)),
        ],
    )
