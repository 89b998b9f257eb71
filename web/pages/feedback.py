"""Feedback review, for the team only: the list (newest first, filtered, paged by
keyset), the queue (the oldest not yet reviewed, one at a time) and one response,
with its actions: add or remove a theme, mark reviewed or not, and "we did"
(the same as ``!wedid``: ``bot.review.we_did``). Each action is a POST that
redirects back with a notice named by a fixed key (``done``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.review import one_line, theme_name
from bot.review import we_did as record_we_did
from bot.roles import Role
from storage import export
from storage import feedback as store
from web.access import team
from web.deps import Dashboard, dashboard
from web.pages.feedback_filters import (
    Chosen,
    chosen,
    feedback_id,
    form_choices,
    said_on,
    who_said,
)
from web.render import render

routes = web.RouteTableDef()
NAV = [("/feedback", "Feedback", Role.TEAM), ("/feedback/queue", "Review queue", Role.TEAM)]

PAGE_SIZE = 50
# What an action may say after it redirects: web.feedback.done.<key>.
NOTICES = {
    "tagged",
    "untagged",
    "reviewed",
    "unreviewed",
    "told",
    "not_told",
    "theme_needed",
    "outcome_needed",
}


def _chosen(request: web.Request) -> Chosen:
    return chosen(request.query, dashboard(request).config.bot.timezone)


def _notice(request: web.Request) -> str | None:
    done = request.query.get("done", "")
    return f"web.feedback.done.{done}" if done in NOTICES else None


def _secret(dash: Dashboard) -> bytes:
    return export.pseudonym_secret(dash.config.storage.data_dir)


@routes.get("/feedback", name="feedback_list")
async def feedback_list(request: web.Request) -> web.Response:
    who = await team(request)
    dash, picked = dashboard(request), _chosen(request)
    before = request.query.get("before", "")
    older_than = int(before) if before.isascii() and before.isdigit() else None
    found = await dash.reads.run(store.review_page, picked.filters, older_than, PAGE_SIZE + 1)
    page, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    choices = await form_choices(dash)
    secret, tz = _secret(dash), dash.config.bot.timezone
    rows = [
        {
            "row": row,
            "words": one_line(row.text),
            "said_on": said_on(row.created_at, tz),
            "who": who_said(secret, row.user_id, row.contact_ok),
            "project": choices["projects"].get(row.project_id or 0, ""),
            "question": one_line(choices["questions"].get(row.question_id or 0, ""), 80),
        }
        for row in page
    ]
    older = picked.link("/feedback", before=page[-1].id) if more and page else None
    return await render(
        request,
        "feedback_list.html",
        who,
        title="Feedback",
        rows=rows,
        picked=picked,
        older=older,
        first_page=picked.link("/feedback") if older_than is not None else None,
        **choices,
    )


@routes.get("/feedback/queue", name="feedback_queue")
async def feedback_queue(request: web.Request) -> web.Response:
    """The oldest response the filters select that nobody has reviewed, after
    number ``after`` (the "next" link skips one for now)."""
    who = await team(request)
    dash, picked = dashboard(request), _chosen(request)
    after_text = request.query.get("after", "")
    after = int(after_text) if after_text.isascii() and after_text.isdigit() else 0
    number = await dash.reads.run(store.first_waiting, picked.filters, after)
    values: dict[str, Any] = {"queue": True, "after": after, "next": None}
    if number is not None:
        values |= await _one(dash, number)
        values["next"] = picked.link("/feedback/queue", after=number)
    else:
        values |= await form_choices(dash)
    return await render(
        request, "feedback_one.html", who, title="Review queue", picked=picked,
        notice=_notice(request), **values,
    )  # fmt: skip


@routes.get(r"/feedback/{id:\d+}", name="feedback_one")
async def feedback_one(request: web.Request) -> web.Response:
    who = await team(request)
    dash = dashboard(request)
    values = await _one(dash, feedback_id(request))
    return await render(
        request, "feedback_one.html", who, title=f"Feedback {values['item'].id}",
        picked=_chosen(request), notice=_notice(request), queue=False, after=0, **values,
    )  # fmt: skip


async def _one(dash: Dashboard, number: int) -> dict[str, Any]:
    item = await dash.reads.run(store.get, number)
    if item is None or item.state != "saved":
        raise web.HTTPNotFound()
    themes = await dash.reads.run(store.themes, number)
    outcomes = await dash.reads.run(store.outcomes, number)
    choices = await form_choices(dash)
    question = choices["questions"].get(item.question_id or 0)
    project_id = item.project_id
    if project_id is None and item.question_id is not None:
        asked = await dash.reads.run(store.question, item.question_id)
        project_id = asked.project_id if asked else None
    tz = dash.config.bot.timezone
    return {
        "item": item,
        "said_on": said_on(item.created_at, tz),
        "said_by": who_said(_secret(dash), item.user_id, item.contact_ok),
        "may_tell": bool(item.user_id and item.contact_ok),
        "project": choices["projects"].get(project_id or 0),
        "question": question,
        "themes": themes,
        "outcomes": outcomes,
        **choices,
    }


# ----- actions -------------------------------------------------------------------


def _back(request: web.Request, number: int, done: str) -> web.HTTPSeeOther:
    """Where an action returns to: the queue it came from, or the response."""
    picked = _chosen(request)
    if request.query.get("back") == "queue":
        after = request.query.get("after", "")
        skipped = after if after.isascii() and after.isdigit() else None
        return web.HTTPSeeOther(picked.link("/feedback/queue", after=skipped, done=done))
    return web.HTTPSeeOther(picked.link(f"/feedback/{number}", done=done))


def _saved(db: Any, number: int) -> store.Feedback:
    item = store.get(db, number)
    if item is None or item.state != "saved":
        raise web.HTTPNotFound()
    return item


async def _field(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name, "")
    return value if isinstance(value, str) else ""


@routes.post(r"/feedback/{id:\d+}/theme", name="feedback_tag")
async def tag(request: web.Request) -> web.StreamResponse:
    await team(request)
    number, theme = feedback_id(request), theme_name(await _field(request, "theme"))
    async with dashboard(request).store.writing() as db:
        _saved(db, number)
        if theme:
            store.add_theme(db, number, theme)
    raise _back(request, number, "tagged" if theme else "theme_needed")


@routes.post(r"/feedback/{id:\d+}/theme/remove", name="feedback_untag")
async def untag(request: web.Request) -> web.StreamResponse:
    await team(request)
    number, theme = feedback_id(request), await _field(request, "theme")
    async with dashboard(request).store.writing() as db:
        _saved(db, number)
        store.remove_theme(db, number, theme)
    raise _back(request, number, "untagged")


@routes.post(r"/feedback/{id:\d+}/reviewed", name="feedback_reviewed")
async def reviewed(request: web.Request) -> web.StreamResponse:
    who = await team(request)
    number, mark = feedback_id(request), await _field(request, "reviewed") != "no"
    async with dashboard(request).store.writing() as db:
        _saved(db, number)
        store.mark_reviewed(db, number, who.user_id, mark)
    raise _back(request, number, "reviewed" if mark else "unreviewed")


@routes.post(r"/feedback/{id:\d+}/wedid", name="feedback_we_did")
async def we_did(request: web.Request) -> web.StreamResponse:
    """What changed, recorded and told exactly as ``!wedid`` does."""
    who = await team(request)
    dash = dashboard(request)
    number, outcome = feedback_id(request), (await _field(request, "outcome")).strip()
    if dash.platforms is None:  # served with no chat platform: nobody could be told
        raise web.HTTPNotFound()
    if not outcome:
        raise _back(request, number, "outcome_needed")
    async with dash.store.writing() as db:
        saved = _saved(db, number)
        told = record_we_did(db, dash.platforms, dash.messages, saved, outcome, who.user_id)
    if told and dash.signals is not None:
        dash.signals.to_send.set()
    raise _back(request, number, "told" if told else "not_told")
