"""Suggested themes, for the team only: for the feedback the list's filters select
(the newest ``MOST`` pieces), the bot suggests themes from the words themselves
(``web.themes.suggest_themes``, computed in a worker thread). They are only
suggestions: nothing is kept until a team member accepts some, and then only
the accepted names, added as themes (the same themes as ``!tag``) to the pieces
each suggestion groups. Giving two the same name merges them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.review import one_line, theme_name
from bot.roles import Role
from storage import feedback as store
from web.access import team
from web.deps import dashboard
from web.pages.feedback_filters import chosen, form_choices
from web.render import render
from web.themes import suggest_themes

routes = web.RouteTableDef()
NAV = [("/themes", "Suggested themes", Role.TEAM)]

MOST = 2000  # pieces of feedback the suggestions are made from, newest first
EXAMPLES = 3  # pieces shown with each suggestion
NOTICES = {"added", "none_chosen"}  # web.themes.done.<key>


@routes.get("/themes", name="themes")
async def themes(request: web.Request) -> web.Response:
    who = await team(request)
    dash = dashboard(request)
    picked = chosen(request.query, dash.config.bot.timezone)
    responses = await dash.reads.run(store.selected_words, picked.filters, MOST)
    suggestions = await asyncio.to_thread(suggest_themes, responses)
    words = dict(responses)
    shown: list[dict[str, Any]] = [
        {
            "number": n,
            "suggestion": s,
            "ids": ",".join(str(i) for i in s.feedback_ids),
            "examples": [(i, one_line(words.get(i, ""), 160)) for i in s.feedback_ids[:EXAMPLES]],
        }
        for n, s in enumerate(suggestions, start=1)
    ]
    done = request.query.get("done", "")
    return await render(
        request, "themes.html", who, title="Suggested themes", picked=picked, most=MOST,
        count=len(responses), suggestions=shown,
        notice=f"web.themes.done.{done}" if done in NOTICES else None,
        **await form_choices(dash),
    )  # fmt: skip


def _numbers(text: str) -> list[int]:
    return [int(n) for n in text.split(",")[:MOST] if n.isascii() and n.isdigit() and len(n) < 10]


@routes.post("/themes", name="themes_accept")
async def accept(request: web.Request) -> web.StreamResponse:
    """Adds each accepted suggestion's name, as a theme, to the pieces it grouped."""
    await team(request)
    dash = dashboard(request)
    picked = chosen(request.query, dash.config.bot.timezone)
    form = await request.post()

    def text(key: str) -> str:
        value = form.get(key, "")
        return value if isinstance(value, str) else ""

    accepted: dict[str, set[int]] = {}  # a name given twice: one theme, on both groups
    for number in form.getall("accept", []):
        if not isinstance(number, str):
            continue
        name = theme_name(text(f"name-{number}"))
        if name:
            accepted.setdefault(name, set()).update(_numbers(text(f"ids-{number}")))
    async with dash.store.writing() as db:
        for name, numbers in accepted.items():
            for feedback_id in sorted(numbers):
                item = store.get(db, feedback_id)
                if item is not None and item.state == "saved":
                    store.add_theme(db, feedback_id, name)
    raise web.HTTPSeeOther(picked.link("/themes", done="added" if accepted else "none_chosen"))
