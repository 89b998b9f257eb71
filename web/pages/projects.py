"""Projects: each project's stage, who is in it, its invitations, and what
people agreed to (consents, by the version of the terms they were shown).
Champions see only the projects they started."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from bot.roles import Role
from commands.project_rules import invitation_summary
from storage import projects
from storage.projects import Consent
from web.access import owned, viewer
from web.deps import dashboard
from web.names import namer
from web.render import render

routes = web.RouteTableDef()
NAV = [("/projects", "Projects", Role.CHAMPION)]

# The invitation groups ``!project`` tells, in its order: (key, label).
INVITATIONS = (("waiting", "Waiting for an answer"), ("yes", "Said yes"), ("no", "Said no"),
               ("unreachable", "Could not be reached"))  # fmt: skip


def by_terms(consents: list[Consent]) -> list[tuple[str, int, int]]:
    """(terms version, people who agreed to it, of them who have left since), the
    version first agreed to first."""
    agreed = Counter(c.terms_version for c in consents)
    left = Counter(c.terms_version for c in consents if c.withdrawn_at)
    return [(version, n, left[version]) for version, n in agreed.items()]


@routes.get("/projects", name="projects")
async def project_list(request: web.Request) -> web.Response:
    who = await viewer(request)
    found = await dashboard(request).reads.run(projects.listing)
    shown = [p for p in found if who.may_manage(p.created_by)]
    return await render(request, "projects.html", who, title="Projects", projects=shown)


@routes.get("/projects/{project_id:[0-9]{1,18}}", name="project")
async def project_page(request: web.Request) -> web.Response:
    who = await viewer(request)
    dash = dashboard(request)
    project = await dash.reads.run(projects.get, int(request.match_info["project_id"]))
    project = owned(who, project, lambda p: p.created_by)
    name = namer(dash)
    members = await dash.reads.run(projects.members, project.id)
    invited = invitation_summary(await dash.reads.run(projects.invitation_counts, project.id))
    agreed = by_terms(await dash.reads.run(projects.consents, project.id))
    terms = {v: await dash.reads.run(projects.terms_text, v) for v, _, _ in agreed}
    return await render(
        request,
        "project.html",
        who,
        title="Project",
        project=project,
        starter=name(project.created_by) if project.created_by else "",
        members=sorted(name(m) for m in members),
        invitations=[(label, invited[key]) for key, label in INVITATIONS],
        consents=agreed,
        terms=terms,
    )
