"""Workshops: when and where, places, who answered (going, maybe, can't come),
the waiting list in order, the access-needs checklist for the organiser, who
came, and (for the team) the training report ``!training`` gives.

Access needs are private: only the organiser and the team see them, as in the
chat. The checklist is sorted by the chat's own rule (``workshop_rules.sort_needs``).
Champions see only the workshops they organise."""

from __future__ import annotations

from aiohttp import web

from bot.roles import Role
from commands.workshop_rules import sort_needs
from storage import workshops
from web import paging
from web.access import owned, viewer
from web.deps import dashboard
from web.names import namer
from web.render import render

routes = web.RouteTableDef()
NAV = [("/workshops", "Workshops", Role.CHAMPION)]

# The answers, in the order shown: (how ``workshops.counts`` keys it, label).
ANSWERS = (("going", "Going, with a place"), ("waiting", "Going, on the waiting list"),
           ("maybe", "Maybe"), ("cantgo", "Can't come"))  # fmt: skip


@routes.get("/workshops", name="workshops")
async def workshop_list(request: web.Request) -> web.Response:
    who = await viewer(request)
    reads = dashboard(request).reads
    own = None if who.is_team else who.user_id
    found = await reads.run(
        workshops.listing, own, before=paging.before(request), limit=paging.PAGE
    )
    going = await reads.run(workshops.going_counts, [w.id for w in found])
    report = await reads.run(workshops.training_report) if who.is_team else None
    return await render(
        request,
        "workshops.html",
        who,
        title="Workshops",
        workshops=[(w, going.get(w.id, 0)) for w in found],
        older=paging.older([w.id for w in found]),
        report=report,
        levels=workshops.LEVELS,
    )


@routes.get("/workshops/{workshop_id:[0-9]{1,18}}", name="workshop")
async def workshop_page(request: web.Request) -> web.Response:
    who = await viewer(request)
    dash = dashboard(request)
    found = await dash.reads.run(workshops.get, int(request.match_info["workshop_id"]))
    w = owned(who, found, lambda w: w.organiser)
    name = namer(dash)
    answers = await dash.reads.run(workshops.rsvps, w.id)  # the waiting list in order
    counts = await dash.reads.run(workshops.counts, w.id)
    people = {
        key: [name(a.user_id) for a in answers if (a.answer, a.waiting) == kind]
        for key, kind in (
            ("going", ("going", False)),
            ("waiting", ("going", True)),
            ("maybe", ("maybe", False)),
            ("cantgo", ("cantgo", False)),
        )
    }
    checklist = sort_needs(await dash.reads.run(workshops.needs_of_going, w.id))
    came = await dash.reads.run(workshops.attendance, w.id)
    return await render(
        request,
        "workshop.html",
        who,
        title="Workshop",
        w=w,
        organiser=name(w.organiser),
        answers=[(label, counts[key], people[key]) for key, label in ANSWERS],
        waiting=people["waiting"],
        needs=[
            (f"workshop.need.{code}", [name(p) for p in who_]) for code, who_ in checklist.by_need
        ],
        worded=[(name(p), words) for p, words in checklist.worded],
        nothing=len(checklist.nothing),
        unanswered=[name(p) for p in checklist.unanswered],
        came=[name(p) for p in came],
    )
